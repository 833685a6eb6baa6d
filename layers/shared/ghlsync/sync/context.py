"""One event applied to one connection: the state every sync step shares.

`SyncRun` holds the connection, the event, both sides' connectors (built on first use), the tally
for the outcome and the audit row, and the small helpers the steps in `sync.contacts`,
`sync.children` and `sync.deletes` call. It makes no decisions itself.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ghlsync.apps.base import RECORD_OPS, Capabilities, Connector, EntitySupport, Operation, as_tags
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.mapping.canonical import Canonical
from ghlsync.store.connections import Connection
from ghlsync.store.links import Link, LinkStore, Side
from ghlsync.sync import tags
from ghlsync.sync.conflicts import FieldConflict
from ghlsync.sync.outcome import Decision, PermanentSyncError
from ghlsync.sync.telemetry import SyncMetrics


@dataclass
class StepResult:
    decision: Decision
    reason: str = ""


@dataclass
class Tally:
    """What one connection's run did, for the outcome and the audit row."""

    writes: int = 0
    fields_changed: set[str] = field(default_factory=set)
    ghl_id: str | None = None
    app_id: str | None = None
    # What a side could not take of an otherwise applied change (appended to the audit reason).
    remarks: list[str] = field(default_factory=list)
    # Fields edited on both sides within the skew window, with the link they were found on.
    conflicts: list[tuple[Link, tuple[FieldConflict, ...]]] = field(default_factory=list)
    # Field changes a side holds no route for (it does not declare updating the kind): the event
    # is audited `skipped` with these when nothing else was written, never as applied.
    unsupported: list[str] = field(default_factory=list)


class Unsupported(Exception):
    """A step needs an operation a side does not declare: the event is skipped `unsupported`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SyncRun:
    def __init__(
        self,
        *,
        connection: Connection,
        event: ChangeEvent,
        links: LinkStore,
        connectors: dict[Side, Callable[[Connection], Connector]],
        metrics: SyncMetrics,
        clock: Callable[[], datetime],
        tally: Tally,
        listed: Canonical | None = None,
        with_digest: bool = False,
        counterpart: tuple[Canonical, str] | None = None,
    ) -> None:
        """`listed`: the event's own record as the caller already read it (a bulk listing), used
        instead of a re-read; `with_digest`: an upserted contact's write carries its digest too;
        `counterpart`: the other side's record a backfill matched from its listing, and by which
        rule (it stands for the identity lookup of an unlinked contact)."""
        self.connection = connection
        self.listed = listed
        self.counterpart = counterpart
        self.with_digest = with_digest
        self.event = event
        self.links = links
        self.settings = connection.settings
        self.source = Side.GHL if event.from_ghl else Side.APP
        self.tally = tally
        self._build = connectors
        self._built: dict[Side, Connector] = {}
        self._metrics = metrics
        self._clock = clock

    # -- the sides ----------------------------------------------------------------------------

    def connector(self, side: Side) -> Connector:
        if side not in self._built:
            self._built[side] = self._build[side](self.connection)
        return self._built[side]

    def capabilities(self, side: Side) -> Capabilities:
        return self.connector(side).capabilities

    def side_name(self, side: Side) -> str:
        return "ghl" if side is Side.GHL else self.connection.app

    def require(self, side: Side, entity: EntityKind, operation: Operation) -> EntitySupport:
        """The side's support for `entity`, when it declares `operation` on it; else Unsupported."""
        support = self.capabilities(side).support(entity)
        if support is None or not support.can(operation):
            raise Unsupported(f"unsupported: {self.side_name(side)} cannot {operation.value} {entity.value}s")
        return support

    # -- records through the dispatch table ---------------------------------------------------

    def read(self, side: Side, entity: EntityKind, parent_id: str, record_id: str) -> Canonical | None:
        """The record as the side holds it now. A side whose records cannot be re-read answers with
        the record the event carries (for the event's own record, and for its parent contact when
        the event carries that too) or, for the counterpart of a linked record, with its shadow:
        the last content synced there."""
        listed = self.listed
        if (
            listed is not None
            and side is self.source
            and (entity, record_id)
            == (
                self.event.entity,
                self.event.entity_id,
            )
        ):
            return listed
        if not self.capabilities(side).rereadable(entity):
            return self._unreadable_record(side, entity, record_id)
        return RECORD_OPS[entity].read(self.connector(side), parent_id, record_id)

    def _unreadable_record(self, side: Side, entity: EntityKind, record_id: str) -> Canonical | None:
        model = RECORD_OPS[entity].model
        event = self.event
        if side is self.source and record_id == event.entity_id and event.entity is entity:
            if event.record is None:
                raise Unsupported(
                    f"unsupported: {self.side_name(side)} {entity.value}s cannot be re-read and the event "
                    "carries no record"
                )
            return model.model_validate({**event.record, "id": record_id})
        if (
            side is self.source
            and entity is EntityKind.CONTACT
            and record_id == event.parent_id
            and event.parent_record is not None
        ):
            return model.model_validate({**event.parent_record, "id": record_id})
        link = self.get_link(entity, side, record_id)
        shadow = link.side(side) if link is not None else None
        if shadow is None or shadow.fields is None:
            return None
        ids: dict[str, Any] = {"id": shadow.id, "updated_at": shadow.source_time}
        if "parent_id" in model.model_fields:
            ids["parent_id"] = shadow.parent_id
        return model.model_validate({**shadow.fields, **ids})

    def write_tags(self, side: Side, contact_id: str, delta: tags.TagDelta) -> tags.TagDelta:
        """Send `delta` (spelled as `side` stores its tags) to the side, within the tag writes it
        declares; returns the part sent. A side whose answer lists its tags must show the write
        took: a tag it does not keep, or keeps after its removal, is a permanent failure rather
        than a difference that quietly comes back on the next change."""
        declared = self.capabilities(side).tags
        sent = tags.TagDelta(
            add=self.storable_tags(side, delta.add) if declared.can_add else frozenset(),
            remove=delta.remove if declared.can_remove else frozenset(),
        )
        if sent.empty:
            return sent  # a side that declares no tag writes need not implement them
        connector = as_tags(self.connector(side))
        for part, write in (
            (tags.TagDelta(add=sent.add), connector.add_tags),
            (tags.TagDelta(remove=sent.remove), connector.remove_tags),
        ):
            if part.empty:
                continue
            reported = write(contact_id, part.add | part.remove)
            self.wrote(1, {"tags"})
            if reported is None:
                continue
            not_added, not_removed = tags.missing_after_write(reported, part)
            if not_added or not_removed:
                raise PermanentSyncError(
                    f"{self.side_name(side)} contact {contact_id} did not take the tag write: "
                    f"missing {sorted(not_added)}, still present {sorted(not_removed)}"
                )
        return sent

    def storable_tags(self, side: Side, wanted: frozenset[str]) -> frozenset[str]:
        """`wanted` without the tags the side declares too long; those are counted and remarked
        so the rest of the change still goes through."""
        declared = self.capabilities(side).tags
        refused = declared.too_long(wanted)
        if not refused:
            return wanted
        self.count("tags_refused", len(refused))
        # Lengths, not names: audit rows carry no field values (the contact's id is on the row).
        lengths = ", ".join(str(n) for n in sorted(len(tag.strip()) for tag in refused))
        self.tally.remarks.append(
            f"{len(refused)} tag(s) not sent to {self.side_name(side)}, which takes at most "
            f"{declared.max_length} characters (lengths {lengths})"
        )
        return wanted - refused

    def cannot_update(self, side: Side, entity: EntityKind, fields: Iterable[str]) -> None:
        """A merge wants to change `fields` on a side that declares no update of `entity`."""
        names = ", ".join(sorted(fields))
        self.count("unsupported_updates")
        self.tally.unsupported.append(
            f"unsupported by {self.side_name(side)}: cannot update {entity.value}s ({names})"
        )

    # -- bookkeeping --------------------------------------------------------------------------

    def wrote(self, count: int = 1, fields: Iterable[str] = ()) -> None:
        self.tally.writes += count
        self.tally.fields_changed.update(fields)

    def note_ids(self, side: Side, record_id: str | None, entity: EntityKind) -> None:
        """Remember the ids for the audit row: the event's own entity wins over its parent contact."""
        primary = entity is self.event.entity
        if side is Side.GHL and (primary or self.tally.ghl_id is None):
            self.tally.ghl_id = record_id
        if side is Side.APP and (primary or self.tally.app_id is None):
            self.tally.app_id = record_id

    def count(self, name: str, value: int = 1) -> None:
        self._metrics.count(
            name,
            app=self.connection.app,
            location_id=self.event.location_id,
            connection_id=self.connection.connection_id,
            value=value,
        )

    def echo(self, reason: str) -> StepResult:
        self.count("echo_suppressed")
        return StepResult(Decision.ECHO, reason)

    def now(self) -> datetime:
        return self._clock()

    def get_link(self, entity: EntityKind, side: Side, record_id: str) -> Link | None:
        return self.links.get(self.connection.connection_id, entity, side, record_id)
