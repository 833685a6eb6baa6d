"""The scheduled connection check: `connections_cli check`'s read-only calls, for every connection.

Hourly by default (template parameter `ConnectionCheckSchedule`; its own function, not a part of
the sweep: the sweep runs every 5 minutes, which is far more often than credentials or webhook
secrets go bad, and a check must still run, and say so, when the sweep itself is the thing that
is stuck). For each active connection of an active tenant (a tenant that needs reconnecting has
its own alarm) it runs `connection_check.check_connection` through the connection's own
connector: a handful of reads (auth, one listing of the last hour's changes, a lookup of an
address nobody has, one record read), nothing written; against Kixie's daily quota that is a few
dozen calls a day.

The same run reports a bulk sync left unfinished (`connections_cli bulk-sync`, which an operator
runs and resumes): `BulkSyncIdleSeconds`, how long since its checkpoint last moved. One that
stopped for a spent daily quota is idle until the operator resumes it after 00:00 UTC, so the
alarm's threshold (`BulkSyncStuckAlarmSeconds`) is longer than a day.

Each connection's verdict (when, and the capabilities that failed with their redacted reasons) is
stored as its `check` cursor beside its checkpoints, where `ghlsync status` reads it. Each checked
connection emits `ConnectionCheckFailed` (1 when a capability failed or the connector could not be
built, 0 when all passed) by app: the alarm's sum is the number of failing connections, and the
ids travel as EMF properties, never dimensions (catalog module docstring).
"""

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from ghlsync.apps.base import Connector
from ghlsync.apps.spec import ConnectorSpec
from ghlsync.bulk_sync import load_progress
from ghlsync.connection_check import CHECK_WINDOW, Verdict, check_connection
from ghlsync.core.errors import redact
from ghlsync.observability import emf, logger
from ghlsync.observability.catalog import MetricName
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection
from ghlsync.store.tenants import Tenant, TenantStatus
from ghlsync.sweep import Deadline

CHECK_CURSOR = "check"
RESERVE_SECONDS = 20
MAX_REASON_CHARS = 300


class CheckVerdict(BaseModel):
    """A connection's last scheduled check: when, and what failed (empty: everything passed)."""

    checked_at: datetime
    failed: dict[str, str] = Field(default_factory=dict)  # capability -> reason (secrets redacted)

    @property
    def summary(self) -> str:
        return f"failed: {', '.join(self.failed)}" if self.failed else "ok"


def last_verdict(checkpoints: CheckpointStore, connection_id: str) -> CheckVerdict | None:
    raw = checkpoints.get_cursor(connection_id, CHECK_CURSOR)
    if raw is None:
        return None
    try:
        return CheckVerdict.model_validate_json(raw)
    except ValidationError:
        return None  # another version's verdict: the next run writes a fresh one


class CheckSummary(BaseModel):
    checked: int = 0
    skipped: int = 0  # disabled connections, or their tenant not active
    not_reached: int = 0  # the time budget ran out first; the next run checks them
    failed: list[str] = Field(default_factory=list)  # connection ids
    bulk_syncs_unfinished: int = 0


class Connections(Protocol):
    def all(self) -> Iterator[Connection]: ...


class Tenants(Protocol):
    def get(self, location_id: str) -> Tenant | None: ...


class ScheduledCheck:
    def __init__(
        self,
        *,
        connections: Connections,
        tenants: Tenants,
        checkpoints: CheckpointStore,
        app_for: Callable[[Connection], Connector],
        credentials_for: Callable[[str], Mapping[str, Any]],
        spec_for: Callable[[str], ConnectorSpec],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._connections = connections
        self._tenants = tenants
        self._checkpoints = checkpoints
        self._app_for = app_for
        self._credentials_for = credentials_for
        self._spec_for = spec_for
        self._clock = clock

    def run(self, remaining_ms: Callable[[], int]) -> CheckSummary:
        deadline = Deadline(remaining_ms, RESERVE_SECONDS)
        summary = CheckSummary()
        for connection in self._connections.all():
            tenant = self._tenants.get(connection.location_id) if connection.active else None
            if not connection.active or (tenant is not None and tenant.status is not TenantStatus.ACTIVE):
                summary.skipped += 1
            elif deadline.expired():
                summary.not_reached += 1
            else:
                summary.checked += 1
                verdict = self.check(connection)
                if verdict.failed:
                    summary.failed.append(connection.connection_id)
                if self._report_idle_bulk_sync(connection):
                    summary.bulk_syncs_unfinished += 1
        logger.info("connection check done", extra=summary.model_dump(mode="json"))
        return summary

    def check(self, connection: Connection) -> CheckVerdict:
        """Check one connection, store its verdict and emit its metric."""
        now = self._clock()
        try:
            failed = self._failed_capabilities(connection, now)
        except Exception as error:  # no connector (bad settings, no secret) or a broken check: say so
            logger.exception(
                "connection check could not run", extra={"connection_id": connection.connection_id}
            )
            failed = {"setup": redact(f"{type(error).__name__}: {error}")}
        verdict = CheckVerdict(
            checked_at=now, failed={name: reason[:MAX_REASON_CHARS] for name, reason in failed.items()}
        )
        self._checkpoints.set_cursor(connection.connection_id, CHECK_CURSOR, verdict.model_dump_json())
        emf.emit(
            {MetricName.CONNECTION_CHECK_FAILED: 1 if verdict.failed else 0},
            dimensions={"app": connection.app},
            properties={
                "location_id": connection.location_id,
                "connection_id": connection.connection_id,
                "failed_capabilities": sorted(verdict.failed),
            },
        )
        return verdict

    def _report_idle_bulk_sync(self, connection: Connection) -> bool:
        """Emit how long the connection's unfinished bulk sync has been idle; False: none is."""
        progress = load_progress(self._checkpoints, connection.connection_id)
        if progress is None or progress.finished or progress.saved_at is None:
            return False
        emf.emit(
            {MetricName.BULK_SYNC_IDLE: max(0.0, (self._clock() - progress.saved_at).total_seconds())},
            dimensions={"app": connection.app},
            properties={"location_id": connection.location_id, "connection_id": connection.connection_id},
        )
        return True

    def _failed_capabilities(self, connection: Connection, now: datetime) -> dict[str, str]:
        credentials = self._credentials_for(connection.connection_id)
        verdicts: list[Verdict] = check_connection(
            self._app_for(connection),
            self._spec_for(connection.app),
            credentials,
            connection_id=connection.connection_id,
            since=now - CHECK_WINDOW,
        )
        secrets = [str(value) for value in credentials.values()]
        return {v.capability: redact(v.detail, *secrets) for v in verdicts if v.ok is False}


def build_scheduled_check(
    app_for: Callable[[Connection], Connector], clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> ScheduledCheck:
    """The check over the environment's table and connection secrets, reaching each app through
    `app_for` (the engine's `ConnectorCache`; the in-process stacks route it to their sandboxes)."""
    from ghlsync.apps.registry import spec_for
    from ghlsync.config import get_settings
    from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
    from ghlsync.store.dynamo import secrets_client, sync_table
    from ghlsync.store.tenants import TenantStore

    table = sync_table()
    vault = ConnectionSecrets(secrets_client(), get_settings().connection_secret_prefix)
    return ScheduledCheck(
        connections=ConnectionStore(table),
        tenants=TenantStore(table),
        checkpoints=CheckpointStore(table),
        app_for=app_for,
        credentials_for=vault.credentials,
        spec_for=spec_for,
        clock=clock,
    )


@cache
def default_scheduled_check() -> ScheduledCheck:
    from ghlsync.sync import wiring  # the clients load with the check

    return build_scheduled_check(wiring.default_connectors().app_for)
