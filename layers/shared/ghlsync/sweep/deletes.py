"""Deletes no webhook reported: a diff of id listings once per period, reads only where none exists.

- Listed kinds (both sides, or one, declare `id_listing`: GHL contacts and tasks, Kayako users and
  cases). Once per `delete_scan_hours` (a connection setting, default daily) per kind, every id of
  that kind is listed on each side that can list it, then the connection's links of the kind are
  walked: an active link whose record is missing from a listing gets a DELETE event. A link synced
  after the listing began is left for the next period (its record may be newer than the listing).
  A quiet run between two diffs makes no delete call at all; a delete is found within one period.
  The period's marker (a cursor per kind beside the checkpoints) moves only when the kind's diff
  finished: a failure or the time budget leaves it due, and the next run lists it again.
- Read kinds (the sides that cannot list a kind: notes everywhere, apps without listings). A
  bounded page of links (`SWEEP_DELETE_CHECKS_PER_CONNECTION`, tombstones included) is checked per
  run, round-robin over the kinds with a cursor: each active link's record is read on those sides;
  the first side where it is gone gets a DELETE event. A transient read failure stops the walk (the
  next run resumes at that link); a permanent one is reported and walked past.

Either way the engine confirms a DELETE by a fresh read before it applies the connection's delete
policy, so a listing that missed a record (a search index a moment behind) costs one read, never a
wrong delete.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from ghlsync.apps.base import RECORD_OPS, Connector, as_id_listing
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.observability import logger
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection
from ghlsync.store.links import Link, LinkStore, Shadow, Side
from ghlsync.sweep.feeds import Listed
from ghlsync.sweep.model import Deadline, Queue, Report, SweepSettings, SweepSummary, aware, delete_event_id
from ghlsync.sync.engine import classify
from ghlsync.sync.outcome import PermanentSyncError

DELETES_CURSOR = "deletes"
LISTED_PREFIX = "deletes-listed#"
# The order the deletes are looked for in: every kind the dispatch table reaches.
DELETE_KINDS = tuple(RECORD_OPS)


class OutOfTime(Exception):
    """The time budget ran out during a diff: the kind stays due."""


class DeleteFinder:
    def __init__(
        self,
        *,
        checkpoints: CheckpointStore,
        links: LinkStore,
        queue: Queue,
        settings: SweepSettings,
        clock: Callable[[], datetime],
        report: Report,
    ) -> None:
        self._checkpoints = checkpoints
        self._links = links
        self._queue = queue
        self._settings = settings
        self._clock = clock
        self._overlap = timedelta(seconds=settings.overlap_seconds)
        self._report = report

    def find(
        self,
        connection: Connection,
        hub: Connector,
        app: Connector,
        deadline: Deadline,
        summary: SweepSummary,
        listed: frozenset[Listed] = frozenset(),
    ) -> None:
        """`listed`: records this run's app feed showed as there, so not read again for existence."""
        sides = {Side.GHL: hub, Side.APP: app}
        read_sides: dict[EntityKind, list[Side]] = {}
        for kind in DELETE_KINDS:
            if not (hub.capabilities.support(kind) and app.capabilities.support(kind)):
                continue
            listing = [side for side, c in sides.items() if kind in c.capabilities.id_listing]
            unlisted = [side for side in sides if side not in listing]
            # A side that can neither list nor re-read the kind (Kixie's calls) leaves it unread.
            if unlisted and all(sides[side].capabilities.rereadable(kind) for side in unlisted):
                read_sides[kind] = unlisted
            if listing and self._diff_due(connection, kind):
                try:
                    self._diff(connection, kind, {side: sides[side] for side in listing}, deadline, summary)
                except OutOfTime:
                    return
                except Exception as error:
                    self._report(connection, "deletes", error)
        if read_sides:
            self._read_links(connection, sides, read_sides, deadline, summary, listed)

    # -- listed kinds ---------------------------------------------------------------------

    def _diff_due(self, connection: Connection, kind: EntityKind) -> bool:
        marker = self._checkpoints.get_cursor(connection.connection_id, LISTED_PREFIX + kind.value)
        last = datetime.fromisoformat(marker) if marker else aware(connection.created_at)
        period = timedelta(hours=connection.settings.delete_scan_hours)
        return aware(self._clock()) - last >= period

    def _diff(
        self,
        connection: Connection,
        kind: EntityKind,
        listing: dict[Side, Connector],
        deadline: Deadline,
        summary: SweepSummary,
    ) -> None:
        started = aware(self._clock())
        present: dict[Side, set[str]] = {}
        for side, connector in listing.items():
            ids: set[str] = set()
            for record_id in as_id_listing(connector).list_ids(kind):
                ids.add(record_id)
                if len(ids) % 100 == 0 and deadline.expired():
                    raise OutOfTime
            present[side] = ids
            summary.ids_listed += len(ids)
        cid = connection.connection_id
        for link in self._links.iter_links(cid, kind, Side.GHL):
            if deadline.expired():
                raise OutOfTime
            if not link.active or (
                link.synced_at is not None and aware(link.synced_at) >= started - self._overlap
            ):
                continue  # a tombstone, or linked while the listing ran: the next period decides
            for side, ids in present.items():
                if link.side(side).id not in ids:
                    self._enqueue_delete(connection, link, side)
                    summary.deletes_found += 1
                    break
        self._checkpoints.set_cursor(cid, LISTED_PREFIX + kind.value, started.isoformat())

    # -- read kinds -----------------------------------------------------------------------

    def _read_links(
        self,
        connection: Connection,
        sides: dict[Side, Connector],
        read_sides: dict[EntityKind, list[Side]],
        deadline: Deadline,
        summary: SweepSummary,
        listed: frozenset[Listed],
    ) -> None:
        limit = self._settings.delete_checks_per_connection
        kinds = list(read_sides)
        if limit == 0:
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
                    if link.active and self._check_link(connection, link, sides, read_sides[kind], listed):
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
        sides: dict[Side, Connector],
        read: list[Side],
        listed: frozenset[Listed] = frozenset(),
    ) -> bool:
        """True if a side's record is gone (its DELETE enqueued). A permanent error on one link (a
        403, an unreadable record) is reported and the walk goes past it; a transient one stops the
        walk here, to be retried by the next run."""
        try:
            for side in read:
                if (side, link.entity, link.side(side).id) in listed:
                    continue  # a feed of this run just showed it: there, no read needed
                if not _exists(sides[side], link.entity, link.side(side)):
                    self._enqueue_delete(connection, link, side)
                    return True
            return False
        except Exception as error:
            if not isinstance(classify(error), PermanentSyncError):
                raise
            self._report(connection, "deletes", error)
            return False

    def _enqueue_delete(self, connection: Connection, link: Link, side: Side) -> None:
        shadow = link.side(side)
        from_ghl = side is Side.GHL
        self._queue.enqueue(
            ChangeEvent(
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
        )
        logger.info(
            "sweep found a deleted record",
            extra={
                "connection_id": connection.connection_id,
                "entity": link.entity.value,
                "side": side.value,
                "record_id": shadow.id,
            },
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
