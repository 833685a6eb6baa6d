"""Sweeper: one scheduled run over every connection (the stages are in feeds and deletes)."""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from ghlsync.apps.base import Connector
from ghlsync.config import Settings, get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.observability import logger, metrics
from ghlsync.observability.catalog import MetricName
from ghlsync.queue import SyncQueue
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection, ConnectionStore
from ghlsync.store.dynamo import sync_table
from ghlsync.store.links import LinkStore, Side
from ghlsync.store.tenants import TenantStatus, TenantStore
from ghlsync.sweep.deletes import DeleteFinder
from ghlsync.sweep.feeds import APP_FEED, APP_FULL_PASS, GHL_FEED, ChangeFeeds, Feed, Listed
from ghlsync.sweep.model import (
    ConnectionFailure,
    Connections,
    Deadline,
    Queue,
    SweepSettings,
    SweepSummary,
    Tenants,
    describe,
)


class Sweeper:
    def __init__(
        self,
        *,
        connections: Connections,
        tenants: Tenants,
        checkpoints: CheckpointStore,
        links: LinkStore,
        queue: Queue,
        hub_for: Callable[[Connection], Connector],
        app_for: Callable[[Connection], Connector],
        settings: SweepSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._connections = connections
        self._tenants = tenants
        self._hub_for = hub_for
        self._app_for = app_for
        self._settings = settings
        self._summary = SweepSummary()
        self._feeds = ChangeFeeds(
            checkpoints=checkpoints, links=links, queue=queue, settings=settings, clock=clock
        )
        self._deletes = DeleteFinder(
            checkpoints=checkpoints,
            links=links,
            queue=queue,
            settings=settings,
            clock=clock,
            report=self._report,
        )

    def run(self, remaining_ms: Callable[[], int]) -> SweepSummary:
        """Sweep every connection within the time `remaining_ms` reports; returns what was done."""
        deadline = Deadline(remaining_ms, self._settings.reserve_seconds)
        summary = self._summary = SweepSummary()
        tenant_active: dict[str, bool] = {}
        for connection in self._connections.all():
            if not connection.active:
                summary.skipped += 1
                continue
            if deadline.expired():
                summary.not_reached += 1
                continue
            location = connection.location_id
            if location not in tenant_active:
                tenant = self._tenants.get(location)
                # A location without a tenant row (set up by hand with a private-integration
                # token) is swept, like the engine handles its events.
                tenant_active[location] = tenant is None or tenant.status is TenantStatus.ACTIVE
            if not tenant_active[location]:
                summary.skipped += 1
                continue
            summary.connections += 1
            self._sweep_connection(connection, deadline, summary)
        _record_metrics(summary)
        logger.info(
            "sweep done",
            extra=summary.model_dump(mode="json", exclude={"failed", "feed_gaps"})
            | {"failed": len(summary.failed), "feed_gaps": len(summary.feed_gaps)},
        )
        return summary

    def _sweep_connection(self, connection: Connection, deadline: Deadline, summary: SweepSummary) -> None:
        try:
            hub, app = self._hub_for(connection), self._app_for(connection)
        except Exception as error:
            self._report(connection, "connect", error)
            return
        feeds = [
            Feed(name, side, connector, declared)
            for name, side, connector in ((GHL_FEED, Side.GHL, hub), (APP_FEED, Side.APP, app))
            if (declared := connector.capabilities.inbound.feed) is not None
        ]
        declared = app.capabilities.inbound.feed
        if declared is not None and self._feeds.full_pass_due(connection, declared):
            feeds.append(Feed(APP_FULL_PASS, Side.APP, app, declared, full_pass=True))
        listed: set[Listed] = set()
        for feed in feeds:
            stage = "ghl_changes" if feed.side is Side.GHL else "app_changes"
            try:
                self._feeds.sweep_feed(connection, feed, deadline, summary, listed)
            except Exception as error:
                self._report(connection, "app_full_pass" if feed.full_pass else stage, error)
        try:
            if EntityKind.TASK in hub.capabilities.snapshot_feed:
                if app.capabilities.support(EntityKind.TASK) is not None:
                    self._feeds.sweep_snapshots(connection, Side.GHL, hub, deadline, summary)
            else:
                self._feeds.rotate_task_lists(connection, hub, app, deadline, summary)
        except Exception as error:
            self._report(connection, "ghl_tasks", error)
        try:
            self._deletes.find(connection, hub, app, deadline, summary, frozenset(listed))
        except Exception as error:
            self._report(connection, "deletes", error)

    def _report(self, connection: Connection, stage: str, error: Exception) -> None:
        logger.exception(
            "sweep failed for a connection",
            extra={
                "connection_id": connection.connection_id,
                "location_id": connection.location_id,
                "stage": stage,
            },
        )
        self._summary.failed.append(
            ConnectionFailure(
                connection_id=connection.connection_id,
                location_id=connection.location_id,
                stage=stage,
                error=describe(error),
            )
        )


def _record_metrics(summary: SweepSummary) -> None:
    for name, value in (
        ("SweepConnections", summary.connections),
        ("SweepEventsEnqueued", summary.enqueued),
        ("SweepAlreadySynced", summary.already_synced),
        ("SweepEventsDeferred", summary.deferred),
        ("SweepDeletesFound", summary.deletes_found),
        ("SweepLinksChecked", summary.links_checked),
        ("SweepIdsListed", summary.ids_listed),
        ("SweepFeedsTruncated", summary.truncated_feeds),
        ("SweepFeedGaps", len(summary.feed_gaps)),
        ("SweepConnectionsNotReached", summary.not_reached),
        (MetricName.SWEEP_CONNECTIONS_FAILED, len({f.connection_id for f in summary.failed})),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# ---- wiring: built once per container from the environment ------------------------------------


def build_sweeper(
    hub_for: Callable[[Connection], Connector],
    app_for: Callable[[Connection], Connector],
    settings: Settings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Sweeper:
    """A Sweeper over the environment's table and queue, reaching each side through `hub_for` /
    `app_for` (the engine's `ConnectorCache` in production; tests route it to the sandboxes and
    give it their clock)."""
    table = sync_table()
    return Sweeper(
        connections=ConnectionStore(table),
        tenants=TenantStore(table),
        checkpoints=CheckpointStore(table),
        links=LinkStore(table),
        queue=SyncQueue.from_settings(settings or get_settings()),
        hub_for=hub_for,
        app_for=app_for,
        settings=SweepSettings(),
        clock=clock,
    )


@cache
def default_sweeper() -> Sweeper:
    """The sweeper over the container's one connector cache (`wiring.default_connectors`, which
    the in-process stacks route to their sandboxes)."""
    from ghlsync.sync import wiring  # the clients load with the sweeper

    connectors = wiring.default_connectors()
    return build_sweeper(
        connectors.hub_for, connectors.app_for, get_settings(), clock=lambda: wiring.wall_clock()
    )
