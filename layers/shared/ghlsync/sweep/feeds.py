"""Change feeds: what changed since each feed's checkpoint, compared with the links' shadows.

Timestamped feeds (GHL contacts by `dateUpdated`, an app's `list_changes`) are read from their
checkpoints (see the package docstring for how checkpoints move). Snapshot feeds (`snapshot_feed`:
GHL tasks, which carry no modification time) list the current records and compare each with its
link's shadow by content hash; without one, the hub's tasks are read per linked contact, a bounded
rotation per run (`SWEEP_TASK_LISTS_PER_RUN`).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from ghlsync.apps.base import (
    RECORD_OPS,
    ChangeFeed,
    Connector,
    Operation,
    as_change_feed,
    as_full_listing,
    as_snapshot_feed,
)
from ghlsync.apps.ghl_hub import listed_task_event
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.mapping.canonical import CanonicalTask
from ghlsync.observability import emf, logger
from ghlsync.observability.catalog import MetricName
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection
from ghlsync.store.links import LinkStore, Side
from ghlsync.sweep.model import Deadline, FeedGap, Queue, SweepSettings, SweepSummary, aware
from ghlsync.sync.shadows import latest, normalize

GHL_FEED = "ghl#contact"
APP_FEED = "app"
APP_FULL_PASS = "app#full"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A record the app's feed showed as there in this run: (side, kind, id); the delete check skips its
# read on that side.
type Listed = tuple[Side, EntityKind, str]
TASK_LISTS_CURSOR = "ghl-task-lists"


@dataclass(frozen=True)
class Feed:
    name: str
    side: Side
    connector: Connector
    declared: ChangeFeed
    full_pass: bool = False  # the scheduled full listing (`ChangeFeed.full_pass_every`)

    @property
    def ordered(self) -> bool:
        """Changes come oldest first, so a cut-short read can resume after the last one."""
        return self.declared.ordered


class ChangeFeeds:
    def __init__(
        self,
        *,
        checkpoints: CheckpointStore,
        links: LinkStore,
        queue: Queue,
        settings: SweepSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._checkpoints = checkpoints
        self._links = links
        self._queue = queue
        self._settings = settings
        self._overlap = timedelta(seconds=settings.overlap_seconds)
        self._clock = clock

    # -- timestamped feeds ------------------------------------------------------------------

    def sweep_feed(
        self,
        connection: Connection,
        feed: Feed,
        deadline: Deadline,
        summary: SweepSummary,
        listed: set[Listed] | None = None,
    ) -> None:
        """Enqueue the feed's changes; `listed` gains every record an app's feed showed as there
        (not GHL's: its search index lags, and can still show a contact just deleted)."""
        cid = connection.connection_id
        since = self._checkpoints.get(cid, feed.name) or aware(connection.created_at) - self._overlap
        newest: datetime | None = None  # the newest change read
        last: datetime | None = None  # the last change handled (enqueued or already synced)
        deferred: datetime | None = None  # the oldest change left for the next run by the bound
        enqueued = 0
        finished = False
        opened_at = aware(self._clock())
        changes, listed_at = self._open_feed(connection, feed, since, summary)
        try:
            while not deadline.expired():
                event = next(changes, None)
                if event is None:
                    finished = True
                    break
                if listed is not None and feed.side is Side.APP and event.action is ChangeAction.UPSERT:
                    listed.add((feed.side, event.entity, event.entity_id))
                changed = aware(event.occurred_at)
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
            self._report_lag(connection, feed.name)

    def full_pass_due(self, connection: Connection, declared: ChangeFeed) -> bool:
        """A scheduled full pass is due when the last complete one (`mark_swept`: a pass cut short
        by a bound marks its oldest deferral, so it runs again) is at least its cadence ago."""
        if declared.full_pass_every is None or not declared.full_listing:
            return False
        through = self._checkpoints.swept_through(connection.connection_id, APP_FULL_PASS)
        return through is None or aware(self._clock()) - through >= declared.full_pass_every

    def _report_lag(self, connection: Connection, feed: str) -> None:
        """Sweep lag: how long ago the feed was last known read through (a stuck or overloaded feed
        grows it run after run; a healthy one stays near the schedule's rate)."""
        through = self._checkpoints.swept_through(connection.connection_id, feed)
        if through is None:
            return
        emf.emit(
            {MetricName.SWEEP_LAG: max(0.0, (aware(self._clock()) - through).total_seconds())},
            dimensions={"app": connection.app, "feed": feed},
            properties={"location_id": connection.location_id, "connection_id": connection.connection_id},
        )

    def _open_feed(
        self, connection: Connection, feed: Feed, since: datetime, summary: SweepSummary
    ) -> tuple[Iterator[ChangeEvent], datetime | None]:
        """The feed's changes from `since`, and the instant a full listing started (None: not one).

        A checkpoint older than the feed's window is a gap: reported, then recovered by a full
        listing where the connector offers one, else read from the oldest instant still shown."""
        window = feed.declared.window
        now = aware(self._clock())
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
        feed: Feed,
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

    # -- snapshot feeds (records without a modification time) -----------------------------

    def sweep_snapshots(
        self,
        connection: Connection,
        side: Side,
        connector: Connector,
        deadline: Deadline,
        summary: SweepSummary,
    ) -> None:
        """Every kind the side lists whole (`snapshot_feed`), each record against its shadow."""
        for entity in sorted(connector.capabilities.snapshot_feed):
            self._handle_listed(
                connection, side, as_snapshot_feed(connector).list_current(entity), deadline, summary
            )

    def rotate_task_lists(
        self,
        connection: Connection,
        hub: Connector,
        app: Connector,
        deadline: Deadline,
        summary: SweepSummary,
    ) -> None:
        """Without the task search: the GHL task lists of the next `task_lists_per_run` linked
        contacts (a cursor beside the checkpoints), each task against its shadow."""
        limit = self._settings.task_lists_per_run
        both = hub.capabilities.support(EntityKind.TASK) and app.capabilities.support(EntityKind.TASK)
        if limit == 0 or not both or not hub.capabilities.can(EntityKind.TASK, Operation.LIST):
            return
        cid = connection.connection_id
        after = self._checkpoints.get_cursor(cid, TASK_LISTS_CURSOR) or None
        contacts = self._links.iter_links(cid, EntityKind.CONTACT, Side.GHL, after=after, page_size=limit)
        read = 0
        wrapped = True
        for link in contacts:
            if read >= limit or deadline.expired():
                wrapped = False
                break
            if link.active:
                now = self._clock()
                tasks = (
                    listed_task_event(connection.location_id, t, now) for t in _tasks_of(hub, link.ghl.id)
                )
                self._handle_listed(connection, Side.GHL, tasks, deadline, summary)
                read += 1
            after = link.ghl.id
        self._checkpoints.set_cursor(cid, TASK_LISTS_CURSOR, "" if wrapped else after or "")

    def _handle_listed(
        self,
        connection: Connection,
        side: Side,
        events: Iterator[ChangeEvent],
        deadline: Deadline,
        summary: SweepSummary,
    ) -> None:
        """Enqueue the listed records whose content differs from their link's shadow, and the
        unlinked ones whose contact is linked (a lost create); the rest are already synced."""
        enqueued = 0
        cid = connection.connection_id
        for event in events:
            if deadline.expired() or enqueued >= self._settings.max_events_per_feed:
                summary.truncated_feeds += 1  # the rest are listed again by the next run
                break
            link = self._links.get(cid, event.entity, side, event.entity_id)
            if link is None:
                parent = event.parent_id and self._links.get(cid, EntityKind.CONTACT, side, event.parent_id)
                changed = bool(parent)
            elif not link.active or event.record is None:
                changed = False
            else:
                record = RECORD_OPS[event.entity].model.model_validate(event.record)
                changed = normalize(record).content_hash() != link.side(side).content_hash
            if changed:
                self._queue.enqueue(event)
                enqueued += 1
                summary.enqueued += 1
            else:
                summary.already_synced += 1


def _tasks_of(hub: Connector, contact_id: str) -> list[CanonicalTask]:
    list_under = RECORD_OPS[EntityKind.TASK].list_under
    return cast(list[CanonicalTask], list_under(hub, contact_id) if list_under else [])
