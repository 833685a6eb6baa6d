"""A connection's backfill: plan it, start it, and run one work item (page) of it.

A job is three phases, each a run of pages, one page per work item on the sync queue (message
group `backfill-<connection>`: the job's pages stay in order without holding up the location's
live events): list the app and index it (`index_app`), list GHL and link or create (`match_hub`),
create on GHL what no GHL contact claimed (`create_hub`). Each work item checks it is the job's
next step (`JobStore.advance` is conditional on it), holds the connection's backfill lease while it
writes, saves the job and queues the next item; a crash or timeout before the save leaves the step
where it was, and the SQS retry does that page again (harmless: see ghlsync.backfill.jobs).

Writes go through the engine: a pair by `SyncEngine.sync_listed_pair` (linked from the two listed
records, shadows and an audit row as the live path leaves them), a missing record by
`sync_listed_contact` (the engine's identity lookup first, so a record a live event created
meanwhile is matched, not duplicated); an ambiguous contact is audited as a conflict
(`record_ambiguous`) and nothing is merged.

The GHL budget is the location's, shared with live traffic through its one client pacer: before
each contact the job waits while less than (1 - burst_share) of the burst window is left, and
pauses (`JobStatus.PAUSED`, until GHL's day resets: ghlsync.backfill.resume, which the hourly
schedule resumes it from) when the day's budget falls under `daily_reserve`.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from ghlsync.apps.base import Connector, ContactPage, as_contact_listing
from ghlsync.backfill.children import queue_children
from ghlsync.backfill.index import DynamoIndex, KeyIndex, MemoryIndex
from ghlsync.backfill.jobs import BackfillJob, JobStatus, JobStore, Phase
from ghlsync.backfill.pages import PageWork, PlanOnly, Tallies
from ghlsync.backfill.resume import Enqueue, next_reset, queue_step, resume
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import BACKFILL_EVENT_TYPE, GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.connections import Connection
from ghlsync.store.leases import LeaseStore
from ghlsync.store.links import LinkStore, Side
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.outcome import Decision, Outcome, PermanentSyncError, TransientSyncError

LEASE_TTL_S = 60.0  # twice the worker's timeout: a page killed by it frees the lease soon after


class BackfillRefused(Exception):
    """The connection cannot be backfilled (an app that lists no contacts, a disabled connection)."""


Headroom = Callable[[Connection], tuple[float | None, float | None]]  # (window %, daily %)


class EngineApply:
    """The writes of a page, through the engine's own paths."""

    def __init__(self, engine: SyncEngine, connection: Connection, job_id: str, now: Callable[[], datetime]):
        self._engine = engine
        self._connection = connection
        self._job_id = job_id
        self._now = now

    def _event(self, record: CanonicalContact, *, from_hub: bool) -> ChangeEvent:
        assert record.id is not None
        side = "ghl" if from_hub else "app"
        return ChangeEvent(
            event_id=f"backfill-{self._job_id}-{side}-{record.id}",
            location_id=self._connection.location_id,
            source=GHL_SOURCE if from_hub else self._connection.app,
            connection_id=None if from_hub else self._connection.connection_id,
            entity=EntityKind.CONTACT,
            action=ChangeAction.UPSERT,
            entity_id=record.id,
            occurred_at=record.updated_at or self._now(),
            event_type=BACKFILL_EVENT_TYPE,
        )

    @staticmethod
    def _named(outcome: Outcome, done: str, *, conflict: str = "ambiguous") -> str:
        if outcome.decision is Decision.CONFLICT:
            return conflict
        if outcome.decision is Decision.SKIPPED:
            return "skipped_by_engine"
        return done

    def link(self, hub: CanonicalContact, app: CanonicalContact, via: str) -> str:
        try:
            outcome = self._engine.sync_listed_pair(
                self._connection, self._event(hub, from_hub=True), hub, app, via
            )
        except PermanentSyncError:
            return "failed"
        # A field both sides hold differently is a merge conflict (recorded; the pair is linked).
        return self._named(outcome, f"linked_by_{via}", conflict=f"linked_by_{via}")

    def ambiguous(self, hub: CanonicalContact, reason: str) -> str:
        self._engine.record_ambiguous(self._connection, self._event(hub, from_hub=True), reason)
        return "ambiguous"

    def create_on_app(self, hub: CanonicalContact) -> str:
        try:
            outcome = self._engine.sync_listed_contact(self._connection, self._event(hub, from_hub=True), hub)
        except PermanentSyncError:
            return "failed"
        return self._named(outcome, "created_on_app")

    def create_on_hub(self, app: CanonicalContact) -> str:
        try:
            outcome = self._engine.sync_listed_contact(
                self._connection, self._event(app, from_hub=False), app
            )
        except PermanentSyncError:
            return "failed"
        return self._named(outcome, "created_on_hub")


class BackfillRunner:
    def __init__(
        self,
        *,
        engine: SyncEngine,
        links: LinkStore,
        jobs: JobStore,
        leases: LeaseStore,
        index_for: Callable[[str], KeyIndex],
        hub_for: Callable[[Connection], Connector],
        app_for: Callable[[Connection], Connector],
        headroom: Headroom,
        enqueue: Enqueue,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        daily_reset_hour_utc: int = 0,
    ) -> None:
        """`daily_reset_hour_utc`: when GHL's day starts again, the hour a paused job may resume."""
        self._engine = engine
        self._links = links
        self._jobs = jobs
        self._leases = leases
        self._index_for = index_for
        self._hub_for = hub_for
        self._app_for = app_for
        self._headroom = headroom
        self._enqueue = enqueue
        self._now = now
        self._sleep = sleep
        self._reset_hour = daily_reset_hour_utc

    @classmethod
    def over(cls, table: object, **parts: object) -> "BackfillRunner":
        """The runner over the sync table (links, jobs, leases and the index all live there)."""
        return cls(
            links=LinkStore(table),  # type: ignore[arg-type]
            jobs=JobStore(table),  # type: ignore[arg-type]
            leases=LeaseStore(table),  # type: ignore[arg-type]
            index_for=lambda job_id: DynamoIndex(table, job_id),  # type: ignore[arg-type]
            **parts,  # type: ignore[arg-type]
        )

    def _check(self, connection: Connection) -> None:
        if not connection.active:
            raise BackfillRefused(f"connection {connection.connection_id} is disabled")
        capabilities = self._app_for(connection).capabilities
        if not capabilities.lists_contacts:
            # What brings GHL's contacts to such an app instead: the job that needs no listing.
            instead = "bulk-sync" if capabilities.upserts_contacts else "refresh"
            raise BackfillRefused(
                f"{connection.app} cannot list its contacts: nothing to match against; "
                f"`connections_cli {instead} {connection.connection_id}` brings GHL's contacts to it"
            )

    def _hub_pages(self, connection: Connection, start: str | None, size: int) -> Iterator[ContactPage]:
        return as_contact_listing(self._hub_for(connection)).contact_pages(start=start, page_size=size)

    # -- plan ----------------------------------------------------------------------------------
    def plan(self, connection: Connection) -> Tallies:
        """Both listings, matched as the job would, with nothing written anywhere."""
        self._check(connection)
        tallies = Tallies()
        work = PageWork(connection, MemoryIndex(), self._links, PlanOnly(), tallies)
        size = connection.settings.backfill.page_size
        for page in as_contact_listing(self._app_for(connection)).contact_pages(start=None, page_size=size):
            work.index_app_page(page.contacts)
        for page in self._hub_pages(connection, None, size):
            work.hub_page(page.contacts)
        cursor: str | None = None
        while True:
            records, cursor = work.index.unclaimed(cursor, size)
            work.app_rest_page(records)
            if cursor is None:
                return tallies

    # -- start / resume ---------------------------------------------------------------------------
    def start(self, connection: Connection, *, requeue: bool = False) -> BackfillJob:
        """A new job (JobRunning when one is running), or the paused one resumed; its next work
        item is queued. `requeue`: a running job's next work item is queued again (its item was
        lost, e.g. dead-lettered); if the old one is still queued, whichever runs second is stale."""
        self._check(connection)
        current = self._jobs.get(connection.connection_id)
        if requeue and current is not None and current.status is JobStatus.RUNNING:
            self._queue_step(current, again=True)
            return current
        if current is not None and current.status is JobStatus.PAUSED:
            resume(self._jobs, current, self._enqueue, self._now())
            return current
        now = self._now()
        job = BackfillJob(
            job_id=uuid.uuid4().hex[:16],
            connection_id=connection.connection_id,
            location_id=connection.location_id,
            started_at=now,
            updated_at=now,
        )
        self._jobs.start(job)
        self._queue_step(job)
        return job

    def _queue_step(self, job: BackfillJob, *, again: bool = False) -> None:
        queue_step(job, self._enqueue, self._now(), again=again)

    # -- one work item -------------------------------------------------------------------------
    def step(self, connection: Connection, item: ChangeEvent) -> Outcome:
        job = self._jobs.get(connection.connection_id)
        step = int(item.data.get("step", -1))
        if (
            job is None
            or job.job_id != item.entity_id
            or job.step != step
            or job.status is not JobStatus.RUNNING
        ):
            return Outcome(Decision.SKIPPED, "stale backfill work item: the job moved on")
        owner = uuid.uuid4().hex
        lease = f"backfill#{connection.connection_id}"
        if not self._leases.acquire(lease, owner, LEASE_TTL_S):
            raise TransientSyncError("another worker is running this backfill's page")
        try:
            return self._run_page(connection, job, step)
        finally:
            self._leases.release(lease, owner)

    def _children(self, connection: Connection, job_id: str) -> Callable[[str, str], int]:
        def queue(ghl_id: str, app_id: str) -> int:
            connectors = {Side.GHL: self._hub_for(connection), Side.APP: self._app_for(connection)}
            ids = {Side.GHL: ghl_id, Side.APP: app_id}
            return queue_children(connection, ids, connectors, self._enqueue, job_id, self._now)

        return queue

    def _daily_spent(self, connection: Connection) -> bool:
        daily = self._headroom(connection)[1]
        return daily is not None and daily < 100 * connection.settings.backfill.daily_reserve

    def _gate(self, connection: Connection) -> Callable[[], None]:
        share = connection.settings.backfill.burst_share

        def wait_for_share() -> None:
            for _ in range(30):  # a window is 10 s: never longer than a few windows
                window = self._headroom(connection)[0]
                if window is None or window >= 100 * (1 - share):
                    return
                self._sleep(1.0)

        return wait_for_share

    def _daily_spent_since_pause(self, connection: Connection, job: BackfillJob) -> bool:
        """The day's budget (less the live reserve) is spent, as the last GHL answer said. Once a
        pause has run out the reading is yesterday's: one page goes ahead and reads today's."""
        if job.paused_until is not None and self._now() >= job.paused_until:
            return False
        return self._daily_spent(connection)

    def _pause(self, job: BackfillJob, step: int) -> Outcome:
        job.status, job.paused_until = JobStatus.PAUSED, next_reset(self._now(), self._reset_hour)
        job.updated_at = self._now()
        self._jobs.advance(job, from_step=step)
        return Outcome(Decision.SKIPPED, "GHL daily budget reserved for live traffic: paused")

    def _run_page(self, connection: Connection, job: BackfillJob, step: int) -> Outcome:
        if self._daily_spent_since_pause(connection, job):
            return self._pause(job, step)
        try:
            return self._page(connection, job, step)
        except TransientSyncError:
            if self._daily_spent(connection):  # GHL refused the day's last requests mid-page
                return self._pause(job, step)
            raise

    def _page(self, connection: Connection, job: BackfillJob, step: int) -> Outcome:
        tallies = Tallies(dict(job.counts), dict(job.skipped))
        work = PageWork(
            connection,
            self._index_for(job.job_id),
            self._links,
            EngineApply(self._engine, connection, job.job_id, self._now),
            tallies,
            before_each=self._gate(connection),
            children=self._children(connection, job.job_id)
            if connection.settings.backfill.children
            else None,
        )
        size = connection.settings.backfill.page_size
        if job.phase is Phase.INDEX_APP:
            page = next(
                iter(
                    as_contact_listing(self._app_for(connection)).contact_pages(
                        start=job.cursor, page_size=size
                    )
                )
            )
            work.index_app_page(page.contacts)
            job.total_app, cursor = page.total, page.next_cursor
        elif job.phase is Phase.MATCH_HUB:
            page = next(iter(self._hub_pages(connection, job.cursor, size)))
            work.hub_page(page.contacts)
            job.total_hub, cursor = page.total, page.next_cursor
            if page.total is not None and tallies.counts.get("listed_hub", 0) >= page.total:
                cursor = None  # a full last page: the search's total says so, no empty page asked
        else:
            records, cursor = work.index.unclaimed(job.cursor, size)
            work.app_rest_page(records)
        job.counts, job.skipped = tallies.counts, tallies.skipped
        job.cursor = cursor
        if cursor is None:
            job.phase = {Phase.INDEX_APP: Phase.MATCH_HUB, Phase.MATCH_HUB: Phase.CREATE_HUB}.get(
                job.phase, Phase.DONE
            )
        if job.phase is Phase.DONE:
            job.status = JobStatus.FINISHED
        job.step, job.updated_at, job.paused_until = step + 1, self._now(), None
        if not self._jobs.advance(job, from_step=step):
            return Outcome(Decision.SKIPPED, "stale backfill work item: the job moved on")
        if job.status is JobStatus.RUNNING:
            self._queue_step(job)
        return Outcome(Decision.APPLIED, f"backfill step {step} ({job.phase.value})")
