"""Bulk sync: every matching GHL contact of a connection's location to its app, resumably, within
the app's daily quota (`connections_cli bulk-sync`; Kixie's PowerList, issue 11 flow 3).

The job lists the location's contacts with POST /contacts/search (`GhlHub.search_pages`: 100 per
call, oldest added first, `--tag T` as a search filter) and hands each one to the engine as its
upsert event would be (`SyncEngine.sync_listed_contact`): from the listed record, never re-read,
with its digest (open tasks, latest notes, listed per contact: GHL has no location-wide notes
listing) in the same one write, and links, shadows and an audit row exactly as the live path
leaves them, so later live events of the contact are echoes or one-write changes. A contact the
app cannot hold (no phone) is skipped with the engine's reason; one already in sync costs no app
call (its shadow says so), which also makes a repeat of any part of a run harmless.

Resuming: one checkpoint per connection (`CheckpointStore` cursor `bulk-sync`, a JSON
`BulkProgress`): the search cursor of the page being worked on, how many of its contacts are done,
and the counts. It is saved after every page and whenever the job stops; a run continues from it
unless `restart` (or the last run finished). A different selection while one is unfinished is
refused rather than silently dropping the unfinished one.

The daily quota (`MeteredConnector`, Kixie: 10,000 calls per UTC day): the app calls the job spent
per UTC day are kept in the checkpoint (the connector's own count lives only as long as the process)
and seed the connector's count at the start of a run, so a run in a new process refuses exactly
where the day's quota ends. Before each contact the quota is checked; when it is spent the job
saves and stops (`Stop.QUOTA_SPENT`), and the next run after 00:00 UTC resumes.

GHL's budget (100 per 10 s and 200,000 per day per location) is shared with live traffic: the
location's one GHL client paces the window (`RateLimitPacer`), and before each page and contact
the job checks the daily headroom GHL last reported; below `ghl_reserve_percent` it saves and
stops (`Stop.GHL_BUDGET`), leaving the rest of the day to webhooks. A `deadline` (a Lambda
invocation's remaining time) stops it the same way (`Stop.OUT_OF_TIME`); the next run resumes.

The loop is shared: `ghlsync.refresh` (eKyte's scheduled business-enriched refresh) is this job
with its own checkpoint, listing (contacts enriched with their business) and app checks.
"""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ghlsync.apps.base import BatchedLookups, Connector, MeteredConnector
from ghlsync.apps.ghl_hub import CanonicalContactPage, GhlHub
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import ConnectorError
from ghlsync.core.events import BULK_SYNC_EVENT_TYPE, GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.ghl.client import MAX_PAGE_SIZE
from ghlsync.ghl.pagination import SearchCursor
from ghlsync.http.budget import DailyQuota
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.outcome import Decision, PermanentSyncError, TransientSyncError

CHECKPOINT_NAME = "bulk-sync"
EVENT_TYPE = BULK_SYNC_EVENT_TYPE


class BulkSyncRefused(Exception):
    """The job cannot start as asked (wrong app, another selection unfinished): nothing was done."""


class Stop(StrEnum):
    FINISHED = "finished"
    QUOTA_SPENT = "quota_spent"
    FAILED = "stopped"  # a transient failure that outlasted the retries: run again to resume
    GHL_BUDGET = "ghl_budget"  # GHL's daily headroom fell to the reserve left for live traffic
    OUT_OF_TIME = "out_of_time"  # the invocation's deadline: the next invocation resumes


class BulkProgress(BaseModel):
    """The checkpoint of one connection's bulk sync (also its summary)."""

    selection: str
    page: int | None = None
    search_after: list[Any] | None = None
    offset: int = Field(default=0, ge=0)  # contacts of the cursor's page already handled
    done: int = 0
    total: int | None = None
    synced: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> contacts
    failed: int = 0
    finished: bool = False
    quota_day: str | None = None  # YYYY-MM-DD (UTC) of `quota_used`
    quota_used: int = 0  # app calls bulk jobs of this connection spent that day
    saved_at: datetime | None = None  # when a run last saved it (an unfinished one idle long is stuck)
    finished_at: datetime | None = None  # when a run last reached the listing's end

    @property
    def cursor(self) -> SearchCursor | None:
        if self.page is None and self.search_after is None:
            return None
        return SearchCursor(
            page=self.page, search_after=tuple(self.search_after) if self.search_after else None
        )

    def at(self, cursor: SearchCursor | None) -> None:
        """The next page to work on starts at `cursor` (None: the listing's start)."""
        self.page = cursor.page if cursor else None
        self.search_after = list(cursor.search_after) if cursor and cursor.search_after else None
        self.offset = 0


def selection_of(tag: str | None) -> str:
    return f"tag:{tag}" if tag else "all"


def _day(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d")


def load_progress(
    checkpoints: CheckpointStore, connection_id: str, name: str = CHECKPOINT_NAME
) -> BulkProgress | None:
    """The connection's checkpoint `name` (bulk sync's, or a job built on it such as the refresh);
    None when it has none, or an unreadable one."""
    raw = checkpoints.get_cursor(connection_id, name)
    if raw is None:
        return None
    with suppress(ValidationError, ValueError):
        return BulkProgress.model_validate(json.loads(raw))
    return None  # an unreadable checkpoint (another version's): start over


class BulkSync:
    """One connection's bulk sync. `report` is told the progress after every page (stderr)."""

    checkpoint_name = CHECKPOINT_NAME
    event_type = EVENT_TYPE
    event_prefix = "bulk"
    job = "bulk sync"

    def __init__(
        self,
        connection: Connection,
        *,
        engine: SyncEngine,
        hub: Connector,
        app: Connector,
        checkpoints: CheckpointStore,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.monotonic,
        report: Callable[[BulkProgress, float], None] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        deadline: Callable[[], bool] = lambda: False,
        ghl_reserve_percent: float = 20.0,
    ) -> None:
        """`deadline` says when to stop (a Lambda's time left); `ghl_reserve_percent` is the share
        of GHL's daily budget the job leaves to live traffic."""
        self._refuse_unless(connection, app)
        if not isinstance(hub, GhlHub):
            raise BulkSyncRefused(f"{self.job} lists contacts on GHL")
        self._connection = connection
        self._engine = engine
        self._hub = hub
        self._app = app
        self._deadline = deadline
        self._ghl_reserve = ghl_reserve_percent
        self._quota: DailyQuota | None = app.daily_quota if isinstance(app, MeteredConnector) else None
        self._checkpoints = checkpoints
        self._now = now
        self._timer = timer
        self._report = report
        self._page_size = page_size

    @staticmethod
    def _refuse_unless(connection: Connection, app: Connector) -> None:
        if not app.capabilities.upserts_contacts:
            raise BulkSyncRefused(
                f"bulk-sync writes contacts to apps that take them by upsert; {connection.app} does not"
            )

    # -- the checkpoint ---------------------------------------------------------------------------
    def load(self) -> BulkProgress | None:
        return load_progress(self._checkpoints, self._connection.connection_id, self.checkpoint_name)

    def _save(self, progress: BulkProgress) -> None:
        progress.saved_at = self._now()
        self._checkpoints.set_cursor(
            self._connection.connection_id, self.checkpoint_name, progress.model_dump_json()
        )

    def _start(self, tag: str | None, restart: bool) -> BulkProgress:
        wanted = selection_of(tag)
        earlier = self.load()
        if earlier is not None and not earlier.finished and not restart and earlier.selection != wanted:
            raise BulkSyncRefused(
                f"an unfinished {self.job} of {earlier.selection} is at {earlier.done} contacts; "
                "run it again to resume it, or pass --restart to start this one over"
            )
        if earlier is not None and not earlier.finished and not restart:
            return earlier
        fresh = BulkProgress(selection=wanted)
        if earlier is not None:  # the day's quota spent stays spent whatever is restarted
            fresh.quota_day, fresh.quota_used = earlier.quota_day, earlier.quota_used
            fresh.finished_at = earlier.finished_at
        return fresh

    # -- the quota -----------------------------------------------------------------------------
    def _seed_quota(self, progress: BulkProgress) -> None:
        if self._quota is None:
            return
        today = _day(self._now())
        self._quota.count_from(progress.quota_used if progress.quota_day == today else 0)
        progress.quota_day = today

    def _spent(self) -> bool:
        return self._quota is not None and self._quota.used >= self._quota.limit

    def _ghl_low(self) -> bool:
        """GHL's daily headroom, as its last answer for this location reported, is at the reserve."""
        daily = self._hub.budget_headroom()[1]
        return daily is not None and daily <= self._ghl_reserve

    def _must_stop(self, *, ghl: bool = True) -> Stop | None:
        """`ghl=False` at a run's start: GHL's headroom reading may be an earlier day's, and the
        run's first listing call reads it afresh before any contact is handled."""
        if self._spent():
            return Stop.QUOTA_SPENT
        if ghl and self._ghl_low():
            return Stop.GHL_BUDGET
        if self._deadline():
            return Stop.OUT_OF_TIME
        return None

    def _note_quota(self, progress: BulkProgress) -> None:
        if self._quota is not None:
            progress.quota_day, progress.quota_used = _day(self._now()), self._quota.used

    # -- the run -------------------------------------------------------------------------------
    def run(self, *, tag: str | None = None, restart: bool = False) -> tuple[Stop, BulkProgress, str]:
        """Sync until the listing ends, the quota is spent or a transient failure outlasts its
        retries; returns why it stopped, the progress (saved) and a one-line message."""
        progress = self._start(tag, restart)
        self._seed_quota(progress)
        started, done_before = self._timer(), progress.done
        stop, detail = Stop.FAILED, "interrupted"  # what the checkpoint says if this is cut short
        try:
            with self._scope():
                stop, detail = self._loop(tag, progress, started, done_before)
        except TransientSyncError as error:
            stop, detail = self._must_stop() or Stop.FAILED, error.reason
        except ConnectorError as error:  # the listing itself failed (after its retries)
            stop, detail = self._must_stop() or Stop.FAILED, f"{type(error).__name__}: {error}"
        finally:
            self._note_quota(progress)
            progress.finished = stop is Stop.FINISHED
            if progress.finished:
                progress.finished_at = self._now()
            self._save(progress)
        return stop, progress, self._message(stop, progress, detail)

    def _scope(self) -> AbstractContextManager[None]:
        """Lookups shared across the run where the app offers it (eKyte's persons index)."""
        return self._app.batched() if isinstance(self._app, BatchedLookups) else nullcontext()

    def _loop(
        self, tag: str | None, progress: BulkProgress, started: float, done_before: int
    ) -> tuple[Stop, str]:
        if (early := self._must_stop(ghl=False)) is not None:
            return early, ""
        for page in self._pages(tag, progress):
            stop, detail = self._page(page, progress)
            if stop is not Stop.FINISHED:
                return stop, detail
            progress.at(page.next_cursor)
            self._save(progress)
            if self._report is not None:
                self._report(progress, self._rate(progress.done - done_before, started))
            if progress.total is not None and progress.done >= progress.total:
                break  # a full last page: the search's total says so, no empty page is asked for
        return Stop.FINISHED, ""

    def _listing(self, tag: str | None, progress: BulkProgress) -> Iterator[CanonicalContactPage]:
        return self._hub.search_pages(tag=tag, start=progress.cursor, page_size=self._page_size)

    def _pages(self, tag: str | None, progress: BulkProgress) -> Iterator[CanonicalContactPage]:
        for page in self._listing(tag, progress):
            if page.total is not None:
                progress.total = max(page.total, progress.done)
            yield page

    def _page(self, page: CanonicalContactPage, progress: BulkProgress) -> tuple[Stop, str]:
        for contact in page.contacts[progress.offset :]:
            if (early := self._must_stop()) is not None:
                return early, ""
            try:
                self._one(contact, progress)
            except TransientSyncError as error:
                # Refused by a budget itself (a contact that needed one call more than was left)?
                return self._must_stop() or Stop.FAILED, error.reason
            progress.offset += 1
            progress.done += 1
        return Stop.FINISHED, ""

    def _one(self, contact: CanonicalContact, progress: BulkProgress) -> None:
        assert contact.id is not None
        occurred = contact.updated_at or self._now()
        stamp = int(occurred.timestamp() * 1000)
        event = ChangeEvent(
            event_id=f"{self.event_prefix}-{self._connection.connection_id}-{contact.id}-{stamp}",
            location_id=self._connection.location_id,
            source=GHL_SOURCE,
            entity=EntityKind.CONTACT,
            action=ChangeAction.UPSERT,
            entity_id=contact.id,
            occurred_at=occurred,
            event_type=self.event_type,
        )
        try:
            outcome = self._engine.sync_listed_contact(self._connection, event, contact)
        except PermanentSyncError:
            progress.failed += 1  # audited by the engine; the next contacts go on
            return
        if outcome.decision is Decision.APPLIED and outcome.writes:
            progress.synced += 1
        elif outcome.decision in (Decision.APPLIED, Decision.ECHO):
            progress.unchanged += 1
        else:
            reason = outcome.reason or outcome.decision.value
            progress.skipped[reason] = progress.skipped.get(reason, 0) + 1

    def _rate(self, handled: int, started: float) -> float:
        elapsed = self._timer() - started
        return handled / elapsed if elapsed > 0 else 0.0

    def _message(self, stop: Stop, progress: BulkProgress, detail: str) -> str:
        total = progress.total if progress.total is not None else progress.done
        app = self._connection.app.capitalize()
        if stop is Stop.QUOTA_SPENT:
            return (
                f"{app}'s daily quota is spent: {progress.done} of {total} done; "
                "run again after 00:00 UTC to resume"
            )
        if stop is Stop.GHL_BUDGET:
            return (
                f"GHL's daily budget is down to the {self._ghl_reserve:g}% kept for live traffic: "
                f"{progress.done} of {total} done; run again later to resume"
            )
        if stop is Stop.OUT_OF_TIME:
            return f"out of time at {progress.done} of {total}; the next run resumes"
        if stop is Stop.FAILED:
            return f"stopped at {progress.done} of {total}: {detail}; run again to resume"
        return f"{self.job} finished: {progress.done} of {total} contacts"
