"""What the sync engine asks of each side: declared capabilities, and small protocols per capability.

GHL itself is wrapped the same way (`apps.ghl_hub`), so the engine treats hub and spoke alike and
only the direction differs. Every method speaks canonical entities; a connector maps its app's
shapes in and out through `ghlsync.mapping`.

A connector declares what it can do in `capabilities` and implements exactly that:

| declared | protocol it then implements |
|---|---|
| `entities[CONTACT]` | `ContactConnector` (only the operations in its `operations`) |
| `entities[CONTACT]` with `UPSERT` | `UpsertContactConnector` (an app written whole, never read) |
| `digests` | `DigestConnector` (a per-contact digest of the contact's tasks and/or notes) |
| `entities[TASK]` / `entities[NOTE]` | `TaskConnector` / `NoteConnector` |
| `tags.writes` other than NONE | `TagConnector` (`remove_tags` only for ADD_REMOVE) |
| `inbound.webhooks` | `WebhookConnector` |
| `inbound.feed` | `ChangeFeedConnector`; with `feed.full_listing` also `FullListingConnector` |
| `id_listing` | `IdListingConnector` (every record id of those kinds: the sweep's delete diff) |
| `snapshot_feed` | `SnapshotFeedConnector` (the current records of kinds without a modification time) |

The engine, the sweep and ingress read the declaration before they call: a flow the app does not
declare is audited `skipped: unsupported`, the sweep leaves out feeds and delete checks the app
lacks, and ingress answers 404 for an app that declares no webhooks. `RECORD_OPS` is the one table
from entity kind to the calls that reach that kind of record.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, cast, runtime_checkable

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.http.budget import DailyQuota
from ghlsync.mapping.canonical import Canonical, CanonicalContact, CanonicalNote, CanonicalTask


class Flow(StrEnum):
    """Which way an entity moves between GHL and the app."""

    TO_APP = "to_app"
    FROM_APP = "from_app"
    BOTH = "both"


class Operation(StrEnum):
    READ = "read"  # get one record by id
    FIND = "find"  # identity lookup by email / phone (contacts)
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"  # the records under one contact (tasks, notes)
    # Contacts only: the app keys a contact by its content (Kixie: a PowerList entry by phone) and
    # has no read, find or update: every change of the hub's contact is written whole with one
    # upsert (`UpsertContactConnector`), and what was written is all the engine knows of that side.
    UPSERT = "upsert"


# What a side that can be read and written holds; UPSERT is the alternative to it, not a part.
ALL_OPERATIONS = frozenset(Operation) - {Operation.UPSERT}


@dataclass(frozen=True)
class EntitySupport:
    """How the app holds one kind of record.

    - `rereadable`: the record can be read again by id. When it cannot (a Kixie call event), the
      change event carries the record (`ChangeEvent.record`) and the engine uses that instead.
    - `contact_scoped`: the record hangs under a contact on this side (GHL tasks and notes); eKyte
      tasks live in workspaces instead.
    """

    flow: Flow = Flow.BOTH
    operations: frozenset[Operation] = ALL_OPERATIONS
    rereadable: bool = True
    contact_scoped: bool = True

    def can(self, operation: Operation) -> bool:
        return operation in self.operations

    @property
    def to_app(self) -> bool:
        return self.flow is not Flow.FROM_APP

    @property
    def from_app(self) -> bool:
        return self.flow is not Flow.TO_APP


class TagWrites(StrEnum):
    ADD_REMOVE = "add_remove"
    ADD_ONLY = "add_only"  # Payaca documents no removal
    NONE = "none"


@dataclass(frozen=True)
class TagSupport:
    """Whether the app's contact tags can be written, and how it compares tag names. The engine
    always treats tag identity case-insensitively and writes each side in that side's spelling;
    `case_insensitive` says whether the app itself does (the contract suite checks it).
    `max_length`: the longest tag the app accepts; the engine sends the other tags of a change
    and reports the longer ones (never cut: a shortened tag would be another tag)."""

    writes: TagWrites = TagWrites.ADD_REMOVE
    case_insensitive: bool = False
    max_length: int | None = None

    def too_long(self, tags: Iterable[str]) -> frozenset[str]:
        if self.max_length is None:
            return frozenset()
        return frozenset(tag for tag in tags if len(tag.strip()) > self.max_length)

    @property
    def can_add(self) -> bool:
        return self.writes is not TagWrites.NONE

    @property
    def can_remove(self) -> bool:
        return self.writes is TagWrites.ADD_REMOVE


@dataclass(frozen=True)
class ChangeFeed:
    """The app lists its changes since a checkpoint (sweeps; apps without webhooks).

    - `ordered`: changes come oldest first, so a read cut short resumes after the last one;
    - `window`: how far back a listing can see (eKyte: the last 15 minutes); None: any checkpoint.
      A checkpoint older than the window is a gap the sweep reports and, with `full_listing`,
      recovers by a listing that sees past the window (`FullListingConnector.list_all_changes`).
    - `full_pass_every`: besides the feed, the sweep runs that full listing from the epoch on this
      cadence (a run at least this long after the last complete one; the generic connector's
      `rules.full_pass`: every contact its filter selects); None: never on a schedule.
    """

    ordered: bool = False
    window: timedelta | None = None
    full_listing: bool = False
    full_pass_every: timedelta | None = None


@dataclass(frozen=True)
class Inbound:
    """How the app tells us about changes: webhooks, a change feed, both, or neither.

    `busy_status` is what ingress answers a webhook it cannot queue right now: the status that
    makes this app deliver again. GHL retries only a 429 (the default); Payaca retries 5xx and
    timeouts but never a 4xx, so it declares 503.
    """

    webhooks: bool = False
    feed: ChangeFeed | None = None
    busy_status: int = 429

    def __post_init__(self) -> None:
        if not 400 <= self.busy_status <= 599:
            raise ValueError("busy_status must be a 4xx or 5xx status")


class Lookup(StrEnum):
    """Synchronous lookups an app calls on us (answered by our own endpoint, not by the connector)."""

    CALLER_ID = "caller_id"  # Kixie asks who is calling: GET /kixie/{conn}/lookup


@dataclass(frozen=True)
class Capabilities:
    """What a connector declares it can do; anything not declared is never called.

    `entities` maps each kind the app syncs to how it holds it (absent: not synced). `digests` lists
    the kinds (tasks, notes) the app holds only as a digest on the contact (Kixie's
    `nextCallRefresher`): a hub change to one of them refreshes its contact's digest instead of
    syncing the record itself. `lookups` lists
    the synchronous lookups the app calls on us (Kixie's caller-ID lookup). `coupled_fields` lists the
    canonical fields the app stores as one value (Kayako keeps one `full_name` for first and last
    name): the engine merges such a group as one joined value, and what the app reads back may
    split differently from what we sent, so after a write the whole group comes from its result.
    """

    entities: Mapping[EntityKind, EntitySupport]
    tags: TagSupport = field(default_factory=TagSupport)
    inbound: Inbound = field(default_factory=Inbound)
    lookups: frozenset[Lookup] = frozenset()
    coupled_fields: tuple[frozenset[str], ...] = ()
    digests: frozenset[EntityKind] = frozenset()
    # Every contact can be listed in resumable pages (`ContactListingConnector`): a backfill
    # matches against the listing instead of looking each contact up.
    lists_contacts: bool = False
    # Kinds whose every record id the app lists in pages (`IdListingConnector`): the sweep finds
    # their deletes by diffing one listing per period against the links, instead of reading links.
    id_listing: frozenset[EntityKind] = frozenset()
    # Kinds that carry no modification time but whose current records the app lists in pages
    # (`SnapshotFeedConnector`; GHL tasks through the location-wide task search): the sweep
    # compares each with its link's shadow, since no timestamp says what changed.
    snapshot_feed: frozenset[EntityKind] = frozenset()

    def support(self, entity: EntityKind) -> EntitySupport | None:
        return self.entities.get(entity)

    def can(self, entity: EntityKind, operation: Operation) -> bool:
        support = self.entities.get(entity)
        return support is not None and support.can(operation)

    def rereadable(self, entity: EntityKind) -> bool:
        support = self.entities.get(entity)
        return support is not None and support.rereadable and support.can(Operation.READ)

    @property
    def upserts_contacts(self) -> bool:
        """Contacts are written whole by upsert and never read (`Operation.UPSERT`)."""
        return self.can(EntityKind.CONTACT, Operation.UPSERT)


def every_operation(*kinds: EntityKind) -> dict[EntityKind, EntitySupport]:
    """`entities` for kinds that flow both ways with every operation (GHL, Kayako)."""
    return {kind: EntitySupport() for kind in kinds}


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request as a connector sees it: raw bytes, lower-cased header names."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    path_params: Mapping[str, str]


# The connector methods that change a side (dry runs and test doubles record these).
WRITE_METHODS = frozenset(
    {
        "create_contact",
        "update_contact",
        "delete_contact",
        "add_tags",
        "remove_tags",
        "create_task",
        "update_task",
        "delete_task",
        "create_note",
        "update_note",
        "delete_note",
        "upsert_contact",
        "refresh_digest",
    }
)


class Connector(Protocol):
    """What every connector has; the rest comes from the protocols its capabilities declare."""

    name: str
    capabilities: Capabilities


class ContactConnector(Connector, Protocol):
    def get_contact(self, contact_id: str) -> CanonicalContact | None: ...
    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        """The records matching `email` or `phone`, each whole, as `get_contact` would answer it
        (tags and custom fields included): the engine merges a match without reading it again."""
        ...

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact: ...
    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact: ...
    def delete_contact(self, contact_id: str) -> None: ...


@dataclass(frozen=True)
class ContactChildren:
    """A hub contact's current tasks and notes (the kinds the app `digests`; others empty)."""

    tasks: list[CanonicalTask] = field(default_factory=list)
    notes: list[CanonicalNote] = field(default_factory=list)


class UpsertContactConnector(Connector, Protocol):
    """An app that keys contacts by their content and cannot be read (`Operation.UPSERT`)."""

    def contact_key(self, contact: CanonicalContact) -> str:
        """The id the app holds `contact` under (Kixie: its E.164 phone); RecordRefused when the
        app cannot hold it at all (no phone)."""
        ...

    def upsert_contact(
        self,
        key: str,
        contact: CanonicalContact,
        previous: CanonicalContact | None,
        children: ContactChildren | None = None,
    ) -> CanonicalContact:
        """Write `contact` (the hub's record, under the hub's id) under `key`, never clearing what
        it does not send; `previous` is what was
        last written for this contact (None: never), under its own id, so an entry under an old key
        can be removed. Returns the app's record as written (id `key`); may skip the call when
        nothing it holds changed. With `children` (an app that keeps `digests`), the digest built
        from them travels in the same write (a bulk sync: one call per contact, never skipped)."""
        ...


@dataclass(frozen=True)
class ContactPage:
    """One page of a full contact listing; `next_cursor` (opaque, JSON-safe) resumes after it."""

    contacts: list[CanonicalContact]
    next_cursor: str | None
    total: int | None = None


class ContactListingConnector(Connector, Protocol):
    def contact_pages(self, *, start: str | None, page_size: int) -> Iterator[ContactPage]:
        """Every contact, a page per call, from `start` (None: the beginning)."""
        ...


@runtime_checkable
class MeteredConnector(Protocol):
    """An app whose account has a daily request quota counted on our side (Kixie)."""

    @property
    def daily_quota(self) -> DailyQuota: ...


@runtime_checkable
class BatchedLookups(Protocol):
    """An app whose identity lookups a job of many contacts can share (eKyte: one persons index
    per run instead of one listing per contact). Inside `batched()`, the app may answer lookups
    from what it read earlier in the batch plus what it created since."""

    def batched(self) -> AbstractContextManager[None]: ...


class DigestConnector(Connector, Protocol):
    def refresh_digest(
        self, contact: CanonicalContact, tasks: list[CanonicalTask], notes: list[CanonicalNote]
    ) -> None:
        """Replace the digest on `contact` (the app's record as last written) with one built from
        the hub contact's current tasks and notes (only the kinds `digests` names are listed);
        RecordRefused when the contact is not held there yet."""
        ...


class TagConnector(Connector, Protocol):
    """Tag writes. Each returns the contact's tags as the app's answer lists them (the engine checks
    that the write took), or None when the answer lists none."""

    def add_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None: ...
    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None: ...


class TaskConnector(Connector, Protocol):
    """Tasks; `contact_id` is the parent contact's id on this side."""

    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None: ...
    def list_tasks(self, contact_id: str) -> list[CanonicalTask]: ...
    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask: ...
    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask: ...
    def delete_task(self, contact_id: str, task_id: str) -> None: ...


class NoteConnector(Connector, Protocol):
    def get_note(self, contact_id: str, note_id: str) -> CanonicalNote | None: ...
    def list_notes(self, contact_id: str) -> list[CanonicalNote]: ...
    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote: ...
    def update_note(self, contact_id: str, note_id: str, note: CanonicalNote) -> CanonicalNote: ...
    def delete_note(self, contact_id: str, note_id: str) -> None: ...


class WebhookConnector(Connector, Protocol):
    def verify_webhook(self, request: InboundRequest) -> None:
        """Raise WebhookRejected unless the request provably comes from the app."""
        ...

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        """Normalise a verified request into change events; raise MalformedWebhook if unreadable."""
        ...


class ChangeFeedConnector(Connector, Protocol):
    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Changes since a checkpoint, for sweeps and apps without webhooks."""
        ...


class FullListingConnector(Connector, Protocol):
    def list_all_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Every record changed since `since` as an upsert event, read through a slower listing
        that sees past the feed's window (eKyte: its BI API's date filters; an app without
        filters lists everything): the recovery when a checkpoint fell out of the window."""
        ...


class IdListingConnector(Connector, Protocol):
    def list_ids(self, entity: EntityKind) -> Iterator[str]:
        """The id of every record of `entity` the app holds now (a kind in `id_listing`), a page
        per call, one page in memory at a time."""
        ...


class SnapshotFeedConnector(Connector, Protocol):
    def list_current(self, entity: EntityKind) -> Iterator[ChangeEvent]:
        """Every current record of `entity` (a kind in `snapshot_feed`) as an upsert event that
        carries the record (`ChangeEvent.record`) and its contact (`parent_id`); the event id is
        stable for the same content, so an unchanged record repeats the same id."""
        ...


# -- the one entity-dispatch table -------------------------------------------------------------
# `parent_id` is the record's contact id on the connector's side (ignored for contacts).


def _read_contact(connector: Connector, parent_id: str, record_id: str) -> Canonical | None:
    return cast(ContactConnector, connector).get_contact(record_id)


def _read_task(connector: Connector, parent_id: str, record_id: str) -> Canonical | None:
    return cast(TaskConnector, connector).get_task(parent_id, record_id)


def _read_note(connector: Connector, parent_id: str, record_id: str) -> Canonical | None:
    return cast(NoteConnector, connector).get_note(parent_id, record_id)


def _list_tasks(connector: Connector, parent_id: str) -> list[Canonical]:
    return list(cast(TaskConnector, connector).list_tasks(parent_id))


def _list_notes(connector: Connector, parent_id: str) -> list[Canonical]:
    return list(cast(NoteConnector, connector).list_notes(parent_id))


def _create_contact(connector: Connector, parent_id: str, record: Any) -> Canonical:
    return cast(ContactConnector, connector).create_contact(record)


def _create_task(connector: Connector, parent_id: str, record: Any) -> Canonical:
    return cast(TaskConnector, connector).create_task(parent_id, record)


def _create_note(connector: Connector, parent_id: str, record: Any) -> Canonical:
    return cast(NoteConnector, connector).create_note(parent_id, record)


def _update_contact(
    connector: Connector, parent_id: str, record_id: str, record: Any, changed: frozenset[str]
) -> Canonical:
    return cast(ContactConnector, connector).update_contact(record_id, record, changed)


def _update_task(
    connector: Connector, parent_id: str, record_id: str, record: Any, changed: frozenset[str]
) -> Canonical:
    return cast(TaskConnector, connector).update_task(parent_id, record_id, record, changed)


def _update_note(
    connector: Connector, parent_id: str, record_id: str, record: Any, changed: frozenset[str]
) -> Canonical:
    return cast(NoteConnector, connector).update_note(parent_id, record_id, record)


def _delete_contact(connector: Connector, parent_id: str, record_id: str) -> None:
    cast(ContactConnector, connector).delete_contact(record_id)


def _delete_task(connector: Connector, parent_id: str, record_id: str) -> None:
    cast(TaskConnector, connector).delete_task(parent_id, record_id)


def _delete_note(connector: Connector, parent_id: str, record_id: str) -> None:
    cast(NoteConnector, connector).delete_note(parent_id, record_id)


@dataclass(frozen=True)
class RecordOps:
    """The calls that reach one kind of record on a connector that declares it."""

    model: type[Canonical]
    read: Callable[[Connector, str, str], Canonical | None]
    create: Callable[[Connector, str, Any], Canonical]
    update: Callable[[Connector, str, str, Any, frozenset[str]], Canonical]
    delete: Callable[[Connector, str, str], None]
    # The records under one contact (None: the kind is not listed per contact).
    list_under: Callable[[Connector, str], list[Canonical]] | None = None


RECORD_OPS: dict[EntityKind, RecordOps] = {
    EntityKind.CONTACT: RecordOps(
        CanonicalContact, _read_contact, _create_contact, _update_contact, _delete_contact
    ),
    EntityKind.TASK: RecordOps(
        CanonicalTask, _read_task, _create_task, _update_task, _delete_task, _list_tasks
    ),
    EntityKind.NOTE: RecordOps(
        CanonicalNote, _read_note, _create_note, _update_note, _delete_note, _list_notes
    ),
}


def as_contacts(connector: Connector) -> ContactConnector:
    """The connector's contact calls (callers check `capabilities` first)."""
    return cast(ContactConnector, connector)


def as_upserts(connector: Connector) -> UpsertContactConnector:
    return cast(UpsertContactConnector, connector)


def as_digest(connector: Connector) -> DigestConnector:
    return cast(DigestConnector, connector)


def as_tags(connector: Connector) -> TagConnector:
    return cast(TagConnector, connector)


def as_webhooks(connector: Connector) -> WebhookConnector:
    return cast(WebhookConnector, connector)


def as_change_feed(connector: Connector) -> ChangeFeedConnector:
    return cast(ChangeFeedConnector, connector)


def as_contact_listing(connector: Connector) -> ContactListingConnector:
    return cast(ContactListingConnector, connector)


def as_full_listing(connector: Connector) -> FullListingConnector:
    return cast(FullListingConnector, connector)


def as_id_listing(connector: Connector) -> IdListingConnector:
    return cast(IdListingConnector, connector)


def as_snapshot_feed(connector: Connector) -> SnapshotFeedConnector:
    return cast(SnapshotFeedConnector, connector)
