"""The scheduled sweep: convergence for what webhooks missed (DESIGN §2, §4 rule 6).

Webhooks give latency; sweeps give convergence. Every run, for each active connection of an
active tenant:

1. Change feeds. GHL (`GhlHub.list_changes`: contacts by `dateUpdated`, oldest first) and the app
   (`list_changes`, when its capabilities declare a change feed) are read from the feed's
   checkpoint. Each change is compared with the link's shadow: one the shadow already reflects
   (same or older source timestamp, or a tombstoned link) is skipped; the rest are enqueued on the
   sync FIFO queue as the connector produced them. Their event ids are stable for the same
   (side, entity, id, updated_at), so a repeat within 5 minutes is dropped by FIFO deduplication
   and a later one is a no-op for the engine (stale / echo).
2. Checkpoints. A checkpoint is the instant the next read starts from, and only moves forward;
   it is written only after every enqueue before it succeeded. After a feed was read to its end
   it moves to the newest change seen minus the overlap (default 2 minutes: clock skew between
   servers, and GHL's search index, which can show a change a few seconds late). At most
   `SWEEP_MAX_EVENTS_PER_FEED` changes are enqueued per feed and run; the next run starts at the
   oldest change left over (an ordered feed, GHL's, stops reading there; an unordered one, an
   app's, is read to its end to find it). A feed cut short by the time budget resumes after the
   last change handled if it is ordered, and does not move if not (unseen changes may be older
   than the ones seen). A connection without a checkpoint is read from its creation.
   A feed that sees only a bounded window (`ChangeFeed.window`; eKyte: the last 15 minutes) whose
   checkpoint is older than the window has a gap: it is reported (`feed_gaps`, metric
   `SweepFeedGaps`, a warning naming the interval) and, when the connector offers a full listing,
   recovered by reading every record changed since the checkpoint through it (the checkpoint then
   moves to the listing's start); without one, the window is read and the gap stays in the report
   for an operator (a backfill). A windowed feed read to its end moves to the read's start minus
   the overlap even when it showed nothing, so a quiet feed never drifts out of its window.
   A connector whose feed asks for a scheduled full pass (`ChangeFeed.full_pass_every`; the
   generic connector's `rules.full_pass`) gets one more feed, `app#full`, on the runs at least that
   cadence after the last complete pass: its full listing from the epoch, each record enqueued
   unless its link already reflects it, under the same bounds (a pass cut short runs again).
3. Deletes no webhook reported. A bounded page of links (`SWEEP_DELETE_CHECKS_PER_CONNECTION`,
   tombstones included) is checked per run, round-robin over contacts, tasks and notes (the kinds
   both sides can re-read) with a cursor stored beside the checkpoints: each active link's record
   is read on GHL, then on the app (not when the app's feed showed it in this run: its listing
   proved it is there; GHL's search index lags, so GHL is read); the first side where it is gone
   gets a DELETE event. The
   engine confirms it by a fresh read and applies the connection's delete policy, leaving a
   tombstone. A transient read failure stops the walk (the next run resumes at that link); a
   permanent one is reported and walked past.

Bounds: the Lambda's remaining time (minus `SWEEP_RESERVE_SECONDS`) is checked before each change
is pulled from a feed (a page is fetched only when a change is pulled) and before each link check;
each feed enqueues at most `SWEEP_MAX_EVENTS_PER_FEED` changes per run; connections left when time
runs out are counted as `not_reached`. A connection whose feed or check fails (app
down, token missing) is reported in `failed` with the stage and the error; the others go on.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghlsync.apps.base import RECORD_OPS, ChangeFeed, Connector, as_change_feed, as_full_listing
from ghlsync.config import Settings, get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.observability import emf, logger, metrics
from ghlsync.observability.catalog import MetricName
from ghlsync.queue import SyncQueue
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection, ConnectionStore
from ghlsync.store.dynamo import sync_table
from ghlsync.store.links import Link, LinkStore, Shadow, Side
from ghlsync.store.tenants import Tenant, TenantStatus, TenantStore
from ghlsync.sync.engine import classify
from ghlsync.sync.outcome import PermanentSyncError
from ghlsync.sync.shadows import latest

GHL_FEED = "ghl#contact"
APP_FEED = "app"
APP_FULL_PASS = "app#full"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DELETES_CURSOR = "deletes"
# The order the delete check walks the link kinds in, wrapping around: every kind the dispatch
# table reaches (contacts, tasks, notes).
DELETE_KINDS = tuple(RECORD_OPS)
MAX_ERROR_CHARS = 300
# A record the app's feed showed as there in this run: (side, kind, id); the delete check skips its
# read on that side.
type Listed = tuple[Side, EntityKind, str]


class SweepSettings(BaseSettings):
    """The sweep's knobs (env vars SWEEP_<NAME>)."""

    model_config = SettingsConfigDict(env_prefix="SWEEP_", extra="ignore", frozen=True)

    # How far before the newest change seen the next read starts (clock skew, search index lag).
    overlap_seconds: int = Field(default=120, ge=0, le=3600)
    # Changes enqueued per feed and connection in one run; the rest wait for the next run.
    max_events_per_feed: int = Field(default=2000, ge=1, le=100_000)
    # Links checked for deletes per connection and run (two reads at most each); 0 turns it off.
    delete_checks_per_connection: int = Field(default=25, ge=0, le=10_000)
    # Stop starting new work when the invocation has less than this left.
    reserve_seconds: int = Field(default=30, ge=1, le=600)


class Queue(Protocol):
    def enqueue(self, event: ChangeEvent) -> str: ...


class Connections(Protocol):
    def all(self) -> Iterator[Connection]: ...


class Tenants(Protocol):
    def get(self, location_id: str) -> Tenant | None: ...


class Deadline:
    """The invocation's time budget: `remaining_ms` is the Lambda context's clock."""

    def __init__(self, remaining_ms: Callable[[], int], reserve_seconds: int) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_seconds * 1000

    def expired(self) -> bool:
        return self._remaining_ms() <= self._reserve_ms


class ConnectionFailure(BaseModel):
    connection_id: str
    location_id: str
    stage: str  # connect | ghl_changes | app_changes | deletes
    error: str


class FeedGap(BaseModel):
    """A checkpoint older than what the feed can still show: changes in between may be missed."""

    connection_id: str
    feed: str
    checkpoint: datetime
    window_start: datetime  # the oldest instant the feed still shows
    recovered: bool  # read by a full listing instead


class SweepSummary(BaseModel):
    connections: int = 0  # connections swept (active, of an active tenant)
    skipped: int = 0  # connections disabled, or their tenant not active
    not_reached: int = 0  # left for the next run: the time budget ran out first
    enqueued: int = 0  # feed changes put on the sync queue (DELETE events: deletes_found)
    already_synced: int = 0  # changes the links' shadows already reflect
    deletes_found: int = 0  # linked records gone on one side (DELETE events enqueued)
    links_checked: int = 0  # links walked for deletes (tombstones included)
    deferred: int = 0  # changes over SWEEP_MAX_EVENTS_PER_FEED, left for the next run
    truncated_feeds: int = 0  # feeds cut short by a bound or the time budget (they resume next run)
    feed_gaps: list[FeedGap] = Field(default_factory=list)
    failed: list[ConnectionFailure] = Field(default_factory=list)


@dataclass(frozen=True)
class _Feed:
    name: str
    side: Side
    connector: Connector
    declared: ChangeFeed
    full_pass: bool = False  # the scheduled full listing (`ChangeFeed.full_pass_every`)

    @property
    def ordered(self) -> bool:
        """Changes come oldest first, so a cut-short read can resume after the last one."""
        return self.declared.ordered


def delete_event_id(connection: Connection, side: Side, entity: EntityKind, record_id: str) -> str:
    """Stable per missing record. A GHL record's id leaves out the connection: its event fans out
    to every connection of the location anyway, so the sweeps of sibling connections de-duplicate."""
    scope = GHL_SOURCE if side is Side.GHL else f"{connection.app}:{connection.connection_id}"
    key = f"{scope}:{entity.value}:{record_id}"
    return "sweep-delete-" + hashlib.sha256(key.encode()).hexdigest()


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


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
        self._checkpoints = checkpoints
        self._links = links
        self._queue = queue
        self._hub_for = hub_for
        self._app_for = app_for
        self._settings = settings
        self._overlap = timedelta(seconds=settings.overlap_seconds)
        self._clock = clock

    def run(self, remaining_ms: Callable[[], int]) -> SweepSummary:
        """Sweep every connection within the time `remaining_ms` reports; returns what was done."""
        deadline = Deadline(remaining_ms, self._settings.reserve_seconds)
        summary = SweepSummary()
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

    # -- one connection -------------------------------------------------------------------

    def _sweep_connection(self, connection: Connection, deadline: Deadline, summary: SweepSummary) -> None:
        try:
            hub, app = self._hub_for(connection), self._app_for(connection)
        except Exception as error:
            self._failed(connection, "connect", error, summary)
            return
        feeds = [
            _Feed(name, side, connector, connector.capabilities.inbound.feed)
            for name, side, connector in ((GHL_FEED, Side.GHL, hub), (APP_FEED, Side.APP, app))
            if connector.capabilities.inbound.feed is not None
        ]
        declared = app.capabilities.inbound.feed
        if declared is not None and self._full_pass_due(connection, declared):
            feeds.append(_Feed(APP_FULL_PASS, Side.APP, app, declared, full_pass=True))
        listed: set[Listed] = set()
        for feed in feeds:
            stage = "ghl_changes" if feed.side is Side.GHL else "app_changes"
            stage = "app_full_pass" if feed.full_pass else stage
            try:
                self._sweep_feed(connection, feed, deadline, summary, listed)
            except Exception as error:
                self._failed(connection, stage, error, summary)
        try:
            self._find_deletes(connection, hub, app, deadline, summary, frozenset(listed))
        except Exception as error:
            self._failed(connection, "deletes", error, summary)

    def _failed(self, connection: Connection, stage: str, error: Exception, summary: SweepSummary) -> None:
        logger.exception(
            "sweep failed for a connection",
            extra={
                "connection_id": connection.connection_id,
                "location_id": connection.location_id,
                "stage": stage,
            },
        )
        summary.failed.append(
            ConnectionFailure(
                connection_id=connection.connection_id,
                location_id=connection.location_id,
                stage=stage,
                error=_describe(error),
            )
        )

    # -- change feeds ---------------------------------------------------------------------

    def _sweep_feed(
        self,
        connection: Connection,
        feed: _Feed,
        deadline: Deadline,
        summary: SweepSummary,
        listed: set["Listed"],
    ) -> None:
        """Enqueue the feed's changes; `listed` gains every record an app's feed showed as there
        (not GHL's: its search index lags, and can still show a contact just deleted)."""
        cid = connection.connection_id
        since = self._checkpoints.get(cid, feed.name) or _aware(connection.created_at) - self._overlap
        newest: datetime | None = None  # the newest change read
        last: datetime | None = None  # the last change handled (enqueued or already synced)
        deferred: datetime | None = None  # the oldest change left for the next run by the bound
        enqueued = 0
        finished = False
        opened_at = _aware(self._clock())
        changes, listed_at = self._open_feed(connection, feed, since, summary)
        try:
            while not deadline.expired():
                event = next(changes, None)
                if event is None:
                    finished = True
                    break
                if feed.side is Side.APP and event.action is ChangeAction.UPSERT:
                    listed.add((feed.side, event.entity, event.entity_id))
                changed = _aware(event.occurred_at)
                newest = changed if newest is None else max(newest, changed)
                if self._already_synced(connection, feed.side, event):
                    summary.already_synced += 1
                elif enqueued < self._settings.max_events_per_feed:
                    self._queue.enqueue(event)
                    enqueued += 1
                    summary.enqueued += 1
                else:
                    summary.deferred += 1
                    deferred = changed if deferred is None else min(deferred, changed)
                    if feed.ordered:
                        break  # everything after it is newer: the next run starts here
                    continue  # an unordered feed is read to its end to find its oldest deferral
                last = changed
        finally:
            close = getattr(changes, "close", None)
            if close is not None:
                close()
        resume = self._resume_position(feed, finished, newest, last, deferred)
        if finished and deferred is None and feed.declared.window is not None and listed_at is None:
            # A windowed feed read to its end has shown everything up to the read: a quiet one must
            # still move, or its checkpoint would fall out of the window with nothing missed.
            resume = opened_at - self._overlap
        if listed_at is not None:
            # A full listing saw every record as of its start: the feed resumes from there.
            resume = deferred if deferred is not None else (listed_at - self._overlap if finished else None)
        if not finished or deferred is not None:
            summary.truncated_feeds += 1
            logger.info(
                "sweep feed cut short; it resumes next run",
                extra={"connection_id": cid, "feed": feed.name, "enqueued": enqueued, "resume": str(resume)},
            )
        if resume is not None:
            self._checkpoints.advance(cid, feed.name, resume)
        if finished or deferred is not None:
            self._checkpoints.mark_swept(cid, feed.name, opened_at if deferred is None else deferred)
        if not feed.full_pass:  # its lag is its cadence, not a stuck feed
            self._report_lag(connection, feed)

    def _full_pass_due(self, connection: Connection, declared: ChangeFeed) -> bool:
        """A scheduled full pass is due when the last complete one (`mark_swept`: a pass cut short
        by a bound marks its oldest deferral, so it runs again) is at least its cadence ago."""
        if declared.full_pass_every is None or not declared.full_listing:
            return False
        through = self._checkpoints.swept_through(connection.connection_id, APP_FULL_PASS)
        return through is None or _aware(self._clock()) - through >= declared.full_pass_every

    def _report_lag(self, connection: Connection, feed: "_Feed") -> None:
        """Sweep lag: how long ago the feed was last known read through (a stuck or overloaded feed
        grows it run after run; a healthy one stays near the schedule's rate)."""
        through = self._checkpoints.swept_through(connection.connection_id, feed.name)
        if through is None:
            return
        emf.emit(
            {MetricName.SWEEP_LAG: max(0.0, (_aware(self._clock()) - through).total_seconds())},
            dimensions={"app": connection.app, "feed": feed.name},
            properties={"location_id": connection.location_id, "connection_id": connection.connection_id},
        )

    def _open_feed(
        self, connection: Connection, feed: _Feed, since: datetime, summary: SweepSummary
    ) -> tuple[Iterator[ChangeEvent], datetime | None]:
        """The feed's changes from `since`, and the instant a full listing started (None: not one).

        A checkpoint older than the feed's window is a gap: reported, then recovered by a full
        listing where the connector offers one, else read from the oldest instant still shown."""
        window = feed.declared.window
        now = _aware(self._clock())
        if feed.full_pass:
            return iter(as_full_listing(feed.connector).list_all_changes(EPOCH)), now
        if window is None or now - since <= window:
            return iter(as_change_feed(feed.connector).list_changes(since)), None
        gap = FeedGap(
            connection_id=connection.connection_id,
            feed=feed.name,
            checkpoint=since,
            window_start=now - window,
            recovered=feed.declared.full_listing,
        )
        summary.feed_gaps.append(gap)
        logger.warning(
            "sweep feed checkpoint is older than the feed's window",
            extra={"location_id": connection.location_id, **gap.model_dump(mode="json")},
        )
        if feed.declared.full_listing:
            return iter(as_full_listing(feed.connector).list_all_changes(since)), now
        return iter(as_change_feed(feed.connector).list_changes(now - window)), None

    def _resume_position(
        self,
        feed: _Feed,
        finished: bool,
        newest: datetime | None,
        last: datetime | None,
        deferred: datetime | None,
    ) -> datetime | None:
        """Where the next run reads the feed from; None: where this one did."""
        if feed.ordered:
            if deferred is not None:
                return deferred
            if finished:
                return None if newest is None else newest - self._overlap
            return last  # out of time: resume after the last change handled, no overlap needed
        if not finished or newest is None:
            return None  # unseen changes may be older than any seen
        position = newest - self._overlap
        return position if deferred is None else min(position, deferred)

    def _already_synced(self, connection: Connection, side: Side, event: ChangeEvent) -> bool:
        """The link's shadow already reflects this change (or the record was deleted and tombstoned)."""
        link = self._links.get(connection.connection_id, event.entity, side, event.entity_id)
        if link is None:
            return False
        if not link.active:
            return True
        # Millisecond precision on both, as the engine compares them.
        known, changed = latest(link.side(side).source_time), latest(event.occurred_at)
        return known is not None and changed is not None and changed <= known

    # -- deletes --------------------------------------------------------------------------

    def _find_deletes(
        self,
        connection: Connection,
        hub: Connector,
        app: Connector,
        deadline: Deadline,
        summary: SweepSummary,
        listed: frozenset["Listed"] = frozenset(),
    ) -> None:
        """`listed`: records this run's feeds showed as there, so not read again for existence."""
        limit = self._settings.delete_checks_per_connection
        kinds = [k for k in DELETE_KINDS if hub.capabilities.rereadable(k) and app.capabilities.rereadable(k)]
        if limit == 0 or not kinds:
            return
        cid = connection.connection_id
        kind, after = _parse_cursor(self._checkpoints.get_cursor(cid, DELETES_CURSOR), kinds)
        first_kind = kind
        checked = 0
        try:
            while True:
                links = self._links.iter_links(cid, kind, Side.GHL, after=after, page_size=limit - checked)
                exhausted = False
                while checked < limit and not deadline.expired():
                    link = next(links, None)
                    if link is None:
                        exhausted = True
                        break
                    checked += 1
                    if link.active and self._check_link(connection, link, hub, app, summary, listed):
                        summary.deletes_found += 1
                    after = link.ghl.id  # only once checked: a transient failure is retried next run
                if not exhausted:
                    break
                kind, after = kinds[(kinds.index(kind) + 1) % len(kinds)], None
                if kind is first_kind:
                    break  # every kind visited once this run
        finally:
            summary.links_checked += checked
            self._checkpoints.set_cursor(cid, DELETES_CURSOR, f"{kind.value}#{after or ''}")

    def _check_link(
        self,
        connection: Connection,
        link: Link,
        hub: Connector,
        app: Connector,
        summary: SweepSummary,
        listed: frozenset["Listed"] = frozenset(),
    ) -> bool:
        """True if a side's record is gone (its DELETE enqueued). A permanent error on one link (a
        403, an unreadable record) is reported and the walk goes past it; a transient one stops the
        walk here, to be retried by the next run."""
        try:
            return self._report_if_missing(connection, link, hub, app, listed)
        except Exception as error:
            if not isinstance(classify(error), PermanentSyncError):
                raise
            self._failed(connection, "deletes", error, summary)
            return False

    def _report_if_missing(
        self,
        connection: Connection,
        link: Link,
        hub: Connector,
        app: Connector,
        listed: frozenset["Listed"] = frozenset(),
    ) -> bool:
        for side, connector in ((Side.GHL, hub), (Side.APP, app)):
            shadow = link.side(side)
            if (side, link.entity, shadow.id) in listed:
                continue  # a feed of this run just showed it: there, no read needed
            if not _exists(connector, link.entity, shadow):
                self._queue.enqueue(self._delete_event(connection, link, side))
                logger.info(
                    "sweep found a deleted record",
                    extra={
                        "connection_id": connection.connection_id,
                        "entity": link.entity.value,
                        "side": side.value,
                        "record_id": shadow.id,
                    },
                )
                return True
        return False

    def _delete_event(self, connection: Connection, link: Link, side: Side) -> ChangeEvent:
        shadow = link.side(side)
        from_ghl = side is Side.GHL
        return ChangeEvent(
            event_id=delete_event_id(connection, side, link.entity, shadow.id),
            location_id=connection.location_id,
            source=GHL_SOURCE if from_ghl else connection.app,
            connection_id=None if from_ghl else connection.connection_id,
            entity=link.entity,
            action=ChangeAction.DELETE,
            entity_id=shadow.id,
            parent_id=shadow.parent_id,
            occurred_at=self._clock(),
            event_type="SweepRecordMissing",
        )


def _exists(connector: Connector, entity: EntityKind, shadow: Shadow) -> bool:
    support = connector.capabilities.support(entity)
    scoped = entity is not EntityKind.CONTACT and (support is None or support.contact_scoped)
    if scoped and shadow.parent_id is None:
        return True  # cannot be read without its contact's id; nothing to conclude
    return RECORD_OPS[entity].read(connector, shadow.parent_id or "", shadow.id) is not None


def _parse_cursor(cursor: str | None, kinds: list[EntityKind]) -> tuple[EntityKind, str | None]:
    """`<kind>#<ghl record id>` (empty id: from the kind's start); anything else starts over."""
    if cursor:
        name, _, record_id = cursor.partition("#")
        for kind in kinds:
            if kind.value == name:
                return kind, record_id or None
    return kinds[0], None


def _record_metrics(summary: SweepSummary) -> None:
    for name, value in (
        ("SweepConnections", summary.connections),
        ("SweepEventsEnqueued", summary.enqueued),
        ("SweepAlreadySynced", summary.already_synced),
        ("SweepEventsDeferred", summary.deferred),
        ("SweepDeletesFound", summary.deletes_found),
        ("SweepLinksChecked", summary.links_checked),
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
