"""The Connector protocol: what the sync engine asks of each side.

GHL itself is wrapped in the same protocol (`apps.ghl_hub`), so the engine treats hub and spoke
alike and only the direction differs. Every method speaks canonical entities; a connector maps
its app's shapes in and out through `ghlsync.mapping`.

A connector that lacks an entity declares it in `capabilities` and the engine skips that flow
(recorded in the audit trail as `skipped: unsupported`), rather than calling a method that raises.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask


@dataclass(frozen=True)
class Capabilities:
    entities: frozenset[EntityKind]
    tags: bool = True
    deletes: bool = True
    webhooks: bool = True
    change_listing: bool = True
    # Canonical fields the app stores as one value (Kayako keeps one `full_name` for first and
    # last name). Writing any of a group rewrites all of it, and what the app reads back may split
    # differently from what we sent, so the engine takes the whole group from the write's result.
    coupled_fields: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request as a connector sees it: raw bytes, lower-cased header names."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    path_params: Mapping[str, str]


# The Connector methods that change a side (dry runs and test doubles record these).
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
    }
)


class Connector(Protocol):
    name: str
    capabilities: Capabilities

    # -- contacts ------------------------------------------------------------------------
    def get_contact(self, contact_id: str) -> CanonicalContact | None: ...
    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]: ...
    def create_contact(self, contact: CanonicalContact) -> CanonicalContact: ...
    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact: ...
    def delete_contact(self, contact_id: str) -> None: ...
    def add_tags(self, contact_id: str, tags: frozenset[str]) -> None: ...
    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> None: ...

    # -- tasks (parent = contact id on this side) ---------------------------------------
    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None: ...
    def list_tasks(self, contact_id: str) -> list[CanonicalTask]: ...
    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask: ...
    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask: ...
    def delete_task(self, contact_id: str, task_id: str) -> None: ...

    # -- notes --------------------------------------------------------------------------
    def get_note(self, contact_id: str, note_id: str) -> CanonicalNote | None: ...
    def list_notes(self, contact_id: str) -> list[CanonicalNote]: ...
    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote: ...
    def update_note(self, contact_id: str, note_id: str, note: CanonicalNote) -> CanonicalNote: ...
    def delete_note(self, contact_id: str, note_id: str) -> None: ...

    # -- inbound ------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest) -> None:
        """Raise WebhookRejected unless the request provably comes from the app."""
        ...

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        """Normalise a verified request into change events; raise MalformedWebhook if unreadable."""
        ...

    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Changes since a checkpoint, for sweeps and apps without webhooks."""
        ...
