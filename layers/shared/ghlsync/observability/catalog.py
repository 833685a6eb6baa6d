"""The metrics an operator reads: every name the dashboard and the alarms (template.yaml) use.

The code emits these through the names below (`MetricName`, `sync_outcome_metric`), never by
retyping them, and tests/template checks that every metric the template names is in `CATALOG`
with the namespace and the dimensions it is emitted with, so widgets and alarms cannot drift from
the code.

Dimensions stay bounded whatever the number of locations and connections: `service` (one per
stack), `app` (the registered apps and `ghl`), and small closed sets (`direction`, `outcome`,
`family`, `feed`). Location and connection ids are never dimensions (thousands of locations would
be thousands of metrics per name); they ride along as EMF properties on the same log line, where
CloudWatch Logs Insights groups by them (README "Operate").
"""

from dataclasses import dataclass
from enum import StrEnum

SERVICE = ("service",)
BY_APP = ("service", "app")


class MetricName(StrEnum):
    # End-to-end latency of an applied change, milliseconds (a distribution: p50/p95/p99).
    SYNC_LATENCY_FROM_SOURCE = "SyncLatencyFromSource"  # the source's own timestamp -> applied
    SYNC_LATENCY_FROM_RECEIPT = "SyncLatencyFromReceipt"  # webhook (or sweep) received -> applied
    # Every outbound API call (retries included), by app, endpoint family and outcome.
    OUTBOUND_CALLS = "OutboundCalls"
    # What an app's rate-limit answers leave of its budget, percent (GHL's headers, Kixie's quota).
    API_WINDOW_HEADROOM = "ApiWindowHeadroomPercent"
    API_DAILY_HEADROOM = "ApiDailyHeadroomPercent"
    # How far behind the present a sweep feed has been read to its end, seconds.
    SWEEP_LAG = "SweepLagSeconds"
    SWEEP_CONNECTIONS_FAILED = "SweepConnectionsFailed"
    CONFLICTS_OPENED = "ConflictsOpened"
    CONFLICTS_RESOLVED = "ConflictsResolved"
    DEAD_LETTERED = "DeadLettered"
    SYNC_RETRIES = "SyncRetries"
    TOKEN_REFRESH_FAILED = "TokenRefreshFailed"
    TOKEN_RECONNECT_NEEDED = "TokenReconnectNeeded"
    KIXIE_QUOTA_REFUSED = "KixieQuotaRefused"
    # The scheduled connection check: 1 per checked connection with a failed capability, else 0.
    CONNECTION_CHECK_FAILED = "ConnectionCheckFailed"
    # How long an unfinished bulk sync has not moved (its checkpoint's last save), seconds.
    BULK_SYNC_IDLE = "BulkSyncIdleSeconds"


def sync_outcome_metric(decision: str) -> str:
    """The worker's per-event count of one decision (`SyncApplied`, `SyncConflict`, ...)."""
    return f"Sync{decision.capitalize()}"


# The decisions the worker counts per handled event (sync.outcome.Decision but `failed`, which is
# retried or dead-lettered; a test keeps the two in step).
DECISIONS = ("applied", "echo", "conflict", "skipped")


@dataclass(frozen=True)
class MetricSpec:
    unit: str
    dimension_sets: tuple[tuple[str, ...], ...]
    high_resolution: bool = False


_LATENCY = MetricSpec("Milliseconds", (("service", "app", "direction"), SERVICE), high_resolution=True)

CATALOG: dict[str, MetricSpec] = {
    MetricName.SYNC_LATENCY_FROM_SOURCE: _LATENCY,
    MetricName.SYNC_LATENCY_FROM_RECEIPT: _LATENCY,
    MetricName.OUTBOUND_CALLS: MetricSpec("Count", (("service", "app", "family", "outcome"), BY_APP)),
    MetricName.API_WINDOW_HEADROOM: MetricSpec("Percent", (BY_APP,)),
    MetricName.API_DAILY_HEADROOM: MetricSpec("Percent", (BY_APP,)),
    MetricName.SWEEP_LAG: MetricSpec("Seconds", (("service", "app", "feed"), SERVICE)),
    MetricName.SWEEP_CONNECTIONS_FAILED: MetricSpec("Count", (SERVICE,)),
    MetricName.CONFLICTS_OPENED: MetricSpec("Count", (BY_APP, SERVICE)),
    MetricName.CONFLICTS_RESOLVED: MetricSpec("Count", (BY_APP, SERVICE)),
    MetricName.DEAD_LETTERED: MetricSpec("Count", (SERVICE,)),
    MetricName.SYNC_RETRIES: MetricSpec("Count", (SERVICE,)),
    MetricName.TOKEN_REFRESH_FAILED: MetricSpec("Count", (SERVICE,)),
    MetricName.TOKEN_RECONNECT_NEEDED: MetricSpec("Count", (SERVICE,)),
    MetricName.KIXIE_QUOTA_REFUSED: MetricSpec("Count", (SERVICE,)),
    MetricName.CONNECTION_CHECK_FAILED: MetricSpec("Count", (BY_APP, SERVICE)),
    MetricName.BULK_SYNC_IDLE: MetricSpec("Seconds", (BY_APP, SERVICE)),
    **{sync_outcome_metric(d): MetricSpec("Count", (SERVICE,)) for d in DECISIONS},
}
