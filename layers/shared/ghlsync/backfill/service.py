"""The worker's entry: a backfill work item to the runner, every other event to the engine."""

from ghlsync.backfill.jobs import JobStore
from ghlsync.backfill.resume import DueBackfills, Enqueue
from ghlsync.backfill.runner import BackfillRunner
from ghlsync.config import get_settings
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.queue import SyncQueue
from ghlsync.store.connections import Connection, ConnectionStore
from ghlsync.store.dynamo import sync_table
from ghlsync.sync import wiring
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.outcome import Decision, Outcome


class BackfillRouter:
    """What `SyncWorker` runs: the same failure semantics (retries, DLQ) for both kinds of item."""

    def __init__(self, engine: SyncEngine, runner: BackfillRunner, connections: ConnectionStore) -> None:
        self._engine = engine
        self._runner = runner
        self._connections = connections

    def handle(self, event: ChangeEvent) -> Outcome:
        if event.action is not ChangeAction.BACKFILL:
            return self._engine.handle(event)
        connection = self._connections.get(event.connection_id) if event.connection_id else None
        if connection is None or not connection.active:
            return Outcome(Decision.SKIPPED, "backfill of an unknown or disabled connection")
        return self._runner.step(connection, event)


def _enqueue_on(queue: SyncQueue | None) -> Enqueue:
    sync_queue = queue if queue is not None else SyncQueue.from_settings()

    def enqueue(event: ChangeEvent, deduplication_id: str, group_id: str) -> None:
        sync_queue.enqueue(event, deduplication_id=deduplication_id, group_id=group_id)

    return enqueue


def default_runner(queue: SyncQueue | None = None) -> BackfillRunner:
    """The runner over the container's engine, connectors (the location's one GHL client and its
    pacer: the budget live traffic spends too) and queue."""
    connectors = wiring.default_connectors()

    def headroom(connection: Connection) -> tuple[float | None, float | None]:
        return connectors.ghl_client_for(connection).pacer.headroom()

    return BackfillRunner.over(
        sync_table(),
        engine=wiring.default_engine(),
        hub_for=connectors.hub_for,
        app_for=connectors.app_for,
        headroom=headroom,
        enqueue=_enqueue_on(queue),
        # Late-bound: the in-process World points `wall_clock` at its sandboxes' clock.
        now=lambda: wiring.wall_clock(),
        daily_reset_hour_utc=get_settings().ghl_daily_reset_utc_hour,
    )


def default_due_backfills(queue: SyncQueue | None = None) -> DueBackfills:
    """The scheduled resume over the sync table and queue; now is `wiring.wall_clock`, as the
    runner's, so a pause and its end are read on one clock."""
    table = sync_table()
    return DueBackfills(
        JobStore(table), ConnectionStore(table), _enqueue_on(queue), now=lambda: wiring.wall_clock()
    )


def default_router() -> BackfillRouter:
    """Built once per container by the worker (which caches it), over `wiring`'s defaults."""
    return BackfillRouter(wiring.default_engine(), default_runner(), ConnectionStore(sync_table()))
