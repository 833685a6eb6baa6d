"""Test doubles for the engine tests (no tests here): an in-memory Connector and a moto sync table.

`FakeConnector` implements the Connector protocol over dicts, stamps `updated_at` from a clock the
test controls, and records every call so tests can assert exactly which writes happened.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ghlsync.apps.base import (
    WRITE_METHODS,
    Capabilities,
    ChangeFeed,
    Inbound,
    InboundRequest,
    every_operation,
)
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.store.audit import AuditRecord, AuditStore
from ghlsync.store.connections import Connection, ConnectionSettings, ConnectionStore
from ghlsync.store.links import Link, LinkStore, Side
from ghlsync.sync.engine import SyncEngine
from sandbox.stack.aws import table_request
from sandbox.stack.template import load_template

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class FakeConnector:
    def __init__(
        self,
        name: str,
        clock: FakeClock,
        *,
        entities: frozenset[EntityKind] = frozenset({EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE}),
    ) -> None:
        self.name = name
        self.capabilities = Capabilities(
            entities=every_operation(*entities), inbound=Inbound(webhooks=True, feed=ChangeFeed())
        )
        self.clock = clock
        self.contacts: dict[str, CanonicalContact] = {}
        self.tasks: dict[str, CanonicalTask] = {}
        self.notes: dict[str, CanonicalNote] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        # method name -> exception raised on the next call of that method
        self.fail_next: dict[str, Exception] = {}
        self._ids = itertools.count(1)

    # -- helpers for tests ----------------------------------------------------------------
    def writes(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [call for call in self.calls if call[0] in WRITE_METHODS]

    def seed_contact(self, **fields: Any) -> CanonicalContact:
        contact = CanonicalContact(
            id=fields.pop("id", None) or self._new_id("c"), updated_at=self.clock(), **fields
        )
        self.contacts[contact.id or ""] = contact
        return contact

    def edit_contact(self, contact_id: str, **fields: Any) -> CanonicalContact:
        """A user editing the record in the app's UI (not a call of the engine)."""
        contact = self.contacts[contact_id].model_copy(update={**fields, "updated_at": self.clock()})
        self.contacts[contact_id] = contact
        return contact

    def seed_task(self, contact_id: str, **fields: Any) -> CanonicalTask:
        task = CanonicalTask(id=self._new_id("t"), parent_id=contact_id, updated_at=self.clock(), **fields)
        self.tasks[task.id or ""] = task
        return task

    def seed_note(self, contact_id: str, **fields: Any) -> CanonicalNote:
        note = CanonicalNote(id=self._new_id("n"), parent_id=contact_id, updated_at=self.clock(), **fields)
        self.notes[note.id or ""] = note
        return note

    def _new_id(self, prefix: str) -> str:
        return f"{self.name}-{prefix}{next(self._ids)}"

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        failure = self.fail_next.pop(method, None)
        if failure is not None:
            raise failure

    # -- contacts -------------------------------------------------------------------------
    def get_contact(self, contact_id: str) -> CanonicalContact | None:
        self._record("get_contact", contact_id)
        return self.contacts.get(contact_id)

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        self._record("find_contacts", email, phone)
        return [
            c
            for c in self.contacts.values()
            if (email and c.email and c.email.lower() == email) or (phone and c.phone == phone)
        ]

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact:
        self._record("create_contact", contact)
        created = contact.model_copy(update={"id": self._new_id("c"), "updated_at": self.clock()})
        self.contacts[created.id or ""] = created
        return created

    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact:
        self._record("update_contact", contact_id, contact, changed)
        current = self.contacts[contact_id]
        updates: dict[str, Any] = {name: getattr(contact, name) for name in changed if name != "tags"}
        updated = current.model_copy(update={**updates, "updated_at": self.clock()})
        self.contacts[contact_id] = updated
        return updated

    def delete_contact(self, contact_id: str) -> None:
        self._record("delete_contact", contact_id)
        self.contacts.pop(contact_id, None)

    def add_tags(self, contact_id: str, tags: frozenset[str]) -> None:
        self._record("add_tags", contact_id, tags)
        current = self.contacts[contact_id]
        self.contacts[contact_id] = current.model_copy(
            update={"tags": current.tags | tags, "updated_at": self.clock()}
        )

    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> None:
        self._record("remove_tags", contact_id, tags)
        current = self.contacts[contact_id]
        self.contacts[contact_id] = current.model_copy(
            update={"tags": current.tags - tags, "updated_at": self.clock()}
        )

    # -- tasks ----------------------------------------------------------------------------
    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None:
        self._record("get_task", contact_id, task_id)
        task = self.tasks.get(task_id)
        return task if task is not None and task.parent_id == contact_id else None

    def list_tasks(self, contact_id: str) -> list[CanonicalTask]:
        self._record("list_tasks", contact_id)
        return [t for t in self.tasks.values() if t.parent_id == contact_id]

    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask:
        self._record("create_task", contact_id, task)
        created = task.model_copy(
            update={"id": self._new_id("t"), "parent_id": contact_id, "updated_at": self.clock()}
        )
        self.tasks[created.id or ""] = created
        return created

    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask:
        self._record("update_task", contact_id, task_id, task, changed)
        current = self.tasks[task_id]
        updated = current.model_copy(
            update={**{name: getattr(task, name) for name in changed}, "updated_at": self.clock()}
        )
        self.tasks[task_id] = updated
        return updated

    def delete_task(self, contact_id: str, task_id: str) -> None:
        self._record("delete_task", contact_id, task_id)
        self.tasks.pop(task_id, None)

    # -- notes ----------------------------------------------------------------------------
    def get_note(self, contact_id: str, note_id: str) -> CanonicalNote | None:
        self._record("get_note", contact_id, note_id)
        note = self.notes.get(note_id)
        return note if note is not None and note.parent_id == contact_id else None

    def list_notes(self, contact_id: str) -> list[CanonicalNote]:
        self._record("list_notes", contact_id)
        return [n for n in self.notes.values() if n.parent_id == contact_id]

    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote:
        self._record("create_note", contact_id, note)
        created = note.model_copy(
            update={"id": self._new_id("n"), "parent_id": contact_id, "updated_at": self.clock()}
        )
        self.notes[created.id or ""] = created
        return created

    def update_note(self, contact_id: str, note_id: str, note: CanonicalNote) -> CanonicalNote:
        self._record("update_note", contact_id, note_id, note)
        updated = self.notes[note_id].model_copy(update={"body": note.body, "updated_at": self.clock()})
        self.notes[note_id] = updated
        return updated

    def delete_note(self, contact_id: str, note_id: str) -> None:
        self._record("delete_note", contact_id, note_id)
        self.notes.pop(note_id, None)

    # -- inbound (not used by the engine) -------------------------------------------------
    def verify_webhook(self, request: InboundRequest) -> None:
        return None

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        return []

    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        return iter(())


def create_sync_table(name: str = "ghl-sync-test") -> Any:
    """The sync table as template.yaml declares it (keys, gsi1, gsi2); call inside mock_aws."""
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    return dynamodb.create_table(TableName=name, **_sync_table_request())


@cache
def _sync_table_request() -> dict[str, Any]:
    return table_request(load_template().resources["SyncTable"]["Properties"])


_event_ids = itertools.count(1)


def make_event(
    *,
    source: str,
    entity: EntityKind,
    action: ChangeAction,
    entity_id: str,
    occurred_at: datetime,
    location_id: str = "loc1",
    connection_id: str | None = None,
    parent_id: str | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> ChangeEvent:
    return ChangeEvent(
        event_id=event_id or f"evt-{next(_event_ids)}",
        location_id=location_id,
        source=source,
        connection_id=connection_id,
        entity=entity,
        action=action,
        entity_id=entity_id,
        parent_id=parent_id,
        occurred_at=occurred_at,
        event_type=f"{entity.value}.{action.value}",
        data=data or {},
    )


class RecordingMetrics:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(
        self, name: str, *, app: str, location_id: str, connection_id: str | None, value: int = 1
    ) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def emit(self, values: Any, *, dimensions: Any, location_id: str, connection_id: str | None) -> None:
        for name, value in values.items():
            self.counts[name] = self.counts.get(name, 0) + (sum(value) if isinstance(value, list) else value)


@dataclass
class Harness:
    """An engine over moto stores and two fake connectors, one active connection `conn1`."""

    clock: FakeClock
    ghl: FakeConnector
    app: FakeConnector
    connections: ConnectionStore
    links: LinkStore
    audit: AuditStore
    metrics: RecordingMetrics
    engine: SyncEngine
    connection: Connection

    def ghl_event(self, entity: EntityKind, action: ChangeAction, entity_id: str, **kw: Any) -> ChangeEvent:
        kw.setdefault("occurred_at", self.clock())
        return make_event(source="ghl", entity=entity, action=action, entity_id=entity_id, **kw)

    def app_event(self, entity: EntityKind, action: ChangeAction, entity_id: str, **kw: Any) -> ChangeEvent:
        kw.setdefault("occurred_at", self.clock())
        return make_event(
            source=self.connection.app,
            connection_id=self.connection.connection_id,
            entity=entity,
            action=action,
            entity_id=entity_id,
            **kw,
        )

    def link_of(self, entity: EntityKind, side: Side, record_id: str) -> Link | None:
        return self.links.get(self.connection.connection_id, entity, side, record_id)

    def audit_rows(self) -> list[AuditRecord]:
        return list(self.audit.for_connection(self.connection.connection_id))

    def reset_calls(self) -> None:
        self.ghl.calls.clear()
        self.app.calls.clear()

    def reconfigure(self, **settings: Any) -> None:
        self.connection = self.connection.model_copy(
            update={
                "settings": ConnectionSettings.model_validate(
                    {**self.connection.settings.model_dump(), **settings}
                )
            }
        )
        self.connections.put(self.connection)


def build_harness(table: Any, **settings: Any) -> Harness:
    clock = FakeClock()
    ghl = FakeConnector("ghl", clock)
    app = FakeConnector("kayako", clock)
    connections = ConnectionStore(table)
    connection = Connection(
        connection_id="conn1", location_id="loc1", app="kayako", settings=ConnectionSettings(**settings)
    )
    connections.put(connection)
    links = LinkStore(table)
    audit = AuditStore(table, clock=clock)
    metrics = RecordingMetrics()
    engine = SyncEngine(
        connections=connections,
        links=links,
        audit=audit,
        hub_for=lambda _connection: ghl,
        app_for=lambda _connection: app,
        metrics=metrics,
        clock=clock,
    )
    return Harness(clock, ghl, app, connections, links, audit, metrics, engine, connection)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with throwaway credentials so nothing can reach a real account."""
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


@pytest.fixture
def table(aws_env: None) -> Any:
    return create_sync_table()


@pytest.fixture
def h(table: Any) -> Harness:
    return build_harness(table)
