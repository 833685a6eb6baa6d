"""WorkflowApi: one connection's GHL contact bundle, and its task and note writes, for an app.

Rules (README "Workflow API"):
- Auth: the connection's key in `X-Api-Key` (`keys.key_matches`, constant time). No key, a wrong
  key and an unknown connection answer alike (401), so a caller learns nothing about connections.
- Scope: a contact is named by its GHL id or by `app:<id>` through the connection's contact link.
  Every GHL call goes through the location's own client (token scoped to the location), so another
  location's contact is "not found" (404) exactly like a missing one.
- Cost: a bundle makes one GHL call per part asked for, nothing else (links are DynamoDB reads).
- Writes: refused (403) for a read-only connection (`settings.read_only`) before any call, and when
  GHL refuses the token's scope. A write leaves the links and shadows as the sync engine's own
  write would: the GHL webhook that follows hashes to the GHL shadow and is dropped as an echo.
  A task or note that the connection copies from GHL to the app needs the app's own id (`appId`)
  to be linked; without one the engine would copy it back to the app, so the write is refused
  (422). A linked record keeps its app shadow: the app said nothing about its own copy.
- Every write that reaches GHL is audited (applied, or failed with the reason).
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ghlsync.apps.base import Connector
from ghlsync.core.entities import EntityKind
from ghlsync.ghl.client import GhlClient
from ghlsync.mapping import ghl as mapping
from ghlsync.mapping.canonical import CanonicalNote, CanonicalTask
from ghlsync.store.audit import AuditStore
from ghlsync.store.connections import Connection
from ghlsync.store.links import Link, LinkStore, Shadow, Side
from ghlsync.sync.shadows import normalize
from ghlsync.workflow import errors
from ghlsync.workflow.bundle import Part, appointment_json, contact_json, note_json, task_json
from ghlsync.workflow.ghl_answers import ghl_answers
from ghlsync.workflow.keys import key_matches
from ghlsync.workflow.requests import (
    NoteBody,
    TaskCompletedBody,
    TaskCreateBody,
    TaskUpdateBody,
    contact_ref,
    valid_ghl_id,
)

AUDIT_SOURCE = "workflow_api"
# GHL requires a due date; a task created without one is due this long after its creation.
DEFAULT_DUE = timedelta(days=1)
_CONNECTION_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

Child = CanonicalTask | CanonicalNote


class ConnectionReader(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...


class KeyReader(Protocol):
    def workflow_key_digest(self, connection_id: str) -> str | None: ...


class Connectors(Protocol):
    """What the workflow API needs of `ghlsync.sync.wiring.ConnectorCache`."""

    def ghl_client_for(self, connection: Connection) -> GhlClient: ...
    def app_for(self, connection: Connection) -> Connector: ...
    def field_map_for(self, connection: Connection) -> mapping.GhlFieldMap: ...


@dataclass(frozen=True)
class ContactInScope:
    ghl_id: str
    app_id: str | None  # the linked app-side contact, if any


class WorkflowApi:
    def __init__(
        self,
        *,
        connections: ConnectionReader,
        keys: KeyReader,
        links: LinkStore,
        audit: AuditStore,
        connectors: Connectors,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._connections = connections
        self._keys = keys
        self._links = links
        self._audit = audit
        self._connectors = connectors
        self._clock = clock

    # -- auth and scope -------------------------------------------------------------------------
    def authorize(self, connection_id: str, presented_key: str | None) -> Connection:
        """The connection the key opens; NotAuthorized otherwise (same answer for every reason)."""
        known = (
            bool(connection_id) and len(connection_id) <= 64 and set(connection_id) <= _CONNECTION_ID_CHARS
        )
        connection = self._connections.get(connection_id) if known and presented_key else None
        digest = self._keys.workflow_key_digest(connection_id) if connection is not None else None
        if connection is None or not key_matches(presented_key, digest):
            raise errors.NotAuthorized("missing or invalid X-Api-Key for this connection")
        if not connection.active:
            raise errors.WritesRefused(f"connection {connection_id} is disabled")
        return connection

    @staticmethod
    def require_writes(connection: Connection) -> None:
        """WritesRefused for a read-only connection, before anything is parsed or called."""
        if connection.settings.read_only:
            raise errors.WritesRefused(
                f"connection {connection.connection_id} is read-only (settings.read_only): the "
                "workflow API only reads for it; ask the operator to grant contacts.write and clear read_only"
            )

    def contact_in_scope(self, connection: Connection, reference: str) -> ContactInScope:
        """The GHL contact `reference` names (its GHL id, or `app:<id>` through the contact link).
        Whether it is in the location is proven by the GHL call that follows (404 otherwise)."""
        parsed = contact_ref(reference)
        if parsed is None:
            raise errors.NotFound("contact not found")
        side, record_id = parsed
        if side == "app":
            link = self._links.get(connection.connection_id, EntityKind.CONTACT, Side.APP, record_id)
            if link is None or not link.active:
                raise errors.NotFound("contact not found")
            return ContactInScope(ghl_id=link.ghl.id, app_id=record_id)
        link = self._links.get(connection.connection_id, EntityKind.CONTACT, Side.GHL, record_id)
        return ContactInScope(
            ghl_id=record_id, app_id=link.app.id if link is not None and link.active else None
        )

    # -- reads ----------------------------------------------------------------------------------
    def bundle(self, connection: Connection, contact: str, parts: frozenset[Part]) -> dict[str, Any]:
        """The contact's bundle: one GHL call per part in `parts`."""
        scope = self.contact_in_scope(connection, contact)
        client = self._connectors.ghl_client_for(connection)
        fields = self._connectors.field_map_for(connection)
        document: dict[str, Any] = {
            "connectionId": connection.connection_id,
            "contactId": scope.ghl_id,
            "appId": scope.app_id,
        }
        with ghl_answers(write=False, missing="contact not found"):
            if Part.CONTACT in parts:
                found = mapping.contact_to_canonical(client.get_contact(scope.ghl_id), fields)
                document["contact"] = contact_json(found)
            if Part.TASKS in parts:
                document["tasks"] = [
                    task_json(mapping.task_to_canonical(t, fields, scope.ghl_id))
                    for t in client.list_tasks(scope.ghl_id)
                ]
            if Part.NOTES in parts:
                document["notes"] = [
                    note_json(mapping.note_to_canonical(n, scope.ghl_id), n)
                    for n in client.list_notes(scope.ghl_id)
                ]
            if Part.APPOINTMENTS in parts:
                document["appointments"] = [
                    appointment_json(a) for a in client.list_appointments(scope.ghl_id)
                ]
        return document

    def list_tasks(self, connection: Connection, contact: str) -> dict[str, Any]:
        return {"tasks": self.bundle(connection, contact, frozenset({Part.TASKS}))["tasks"]}

    def list_notes(self, connection: Connection, contact: str) -> dict[str, Any]:
        return {"notes": self.bundle(connection, contact, frozenset({Part.NOTES}))["notes"]}

    # -- task writes ----------------------------------------------------------------------------
    def create_task(self, connection: Connection, contact: str, body: TaskCreateBody) -> dict[str, Any]:
        self.require_writes(connection)
        scope = self.contact_in_scope(connection, contact)
        self._check_linkable(connection, EntityKind.TASK, body.app_id, linked=None)
        fields = self._connectors.field_map_for(connection)
        wanted = CanonicalTask(
            title=body.title,
            body=body.body,
            due_date=body.due_date,
            completed=body.completed,
            assignee=body.assignee,
        )
        client = self._connectors.ghl_client_for(connection)
        with self._audited(connection, EntityKind.TASK, "create", scope.ghl_id, body.app_id, wanted) as row:
            created = client.create_task(
                scope.ghl_id, mapping.task_create(wanted, fields, default_due=self._clock() + DEFAULT_DUE)
            )
            task = mapping.task_to_canonical(created, fields, scope.ghl_id)
            row["ghl_id"] = task.id
        app_id = self._remember(connection, EntityKind.TASK, task, scope, body.app_id, previous=None)
        return {**task_json(task), "appId": app_id}

    def update_task(
        self, connection: Connection, contact: str, task_id: str, body: TaskUpdateBody
    ) -> dict[str, Any]:
        changed = body.changed()
        if not changed:
            raise errors.Unprocessable(
                "body: give at least one of title, body, dueDate, completed, assignee", field="body"
            )
        self.require_writes(connection)
        scope = self.contact_in_scope(connection, contact)
        linked = self._child_link(connection, EntityKind.TASK, task_id)
        self._check_linkable(connection, EntityKind.TASK, body.app_id, linked=linked)
        fields = self._connectors.field_map_for(connection)
        wanted = CanonicalTask(
            title=body.title or "",
            body=body.body,
            due_date=body.due_date,
            completed=bool(body.completed),
            assignee=body.assignee,
        )
        client = self._connectors.ghl_client_for(connection)
        with self._audited(
            connection, EntityKind.TASK, "update", task_id, body.app_id, wanted, changed
        ) as row:
            updated = client.update_task(scope.ghl_id, task_id, mapping.task_update(wanted, changed, fields))
            task = mapping.task_to_canonical(updated, fields, scope.ghl_id)
            row["ghl_id"] = task.id
        app_id = self._remember(connection, EntityKind.TASK, task, scope, body.app_id, previous=linked)
        return {**task_json(task), "appId": app_id}

    def set_task_completed(
        self, connection: Connection, contact: str, task_id: str, body: TaskCompletedBody
    ) -> dict[str, Any]:
        self.require_writes(connection)
        scope = self.contact_in_scope(connection, contact)
        linked = self._child_link(connection, EntityKind.TASK, task_id)
        self._check_linkable(connection, EntityKind.TASK, body.app_id, linked=linked)
        fields = self._connectors.field_map_for(connection)
        client = self._connectors.ghl_client_for(connection)
        marker = CanonicalTask(title="", completed=body.completed)
        with self._audited(
            connection, EntityKind.TASK, "complete", task_id, body.app_id, marker, {"completed"}
        ) as row:
            updated = client.set_task_completed(scope.ghl_id, task_id, body.completed)
            task = mapping.task_to_canonical(updated, fields, scope.ghl_id)
            row["ghl_id"] = task.id
        app_id = self._remember(connection, EntityKind.TASK, task, scope, body.app_id, previous=linked)
        return {**task_json(task), "appId": app_id}

    # -- note writes ----------------------------------------------------------------------------
    def create_note(self, connection: Connection, contact: str, body: NoteBody) -> dict[str, Any]:
        self.require_writes(connection)
        scope = self.contact_in_scope(connection, contact)
        self._check_linkable(connection, EntityKind.NOTE, body.app_id, linked=None)
        wanted = CanonicalNote(body=body.body)
        client = self._connectors.ghl_client_for(connection)
        with self._audited(connection, EntityKind.NOTE, "create", scope.ghl_id, body.app_id, wanted) as row:
            raw = client.create_note(scope.ghl_id, mapping.note_create(wanted))
            note = mapping.note_to_canonical(raw, scope.ghl_id)
            row["ghl_id"] = note.id
        app_id = self._remember(connection, EntityKind.NOTE, note, scope, body.app_id, previous=None)
        return {**note_json(note, raw), "appId": app_id}

    def update_note(
        self, connection: Connection, contact: str, note_id: str, body: NoteBody
    ) -> dict[str, Any]:
        self.require_writes(connection)
        scope = self.contact_in_scope(connection, contact)
        linked = self._child_link(connection, EntityKind.NOTE, note_id)
        self._check_linkable(connection, EntityKind.NOTE, body.app_id, linked=linked)
        wanted = CanonicalNote(body=body.body)
        client = self._connectors.ghl_client_for(connection)
        with self._audited(connection, EntityKind.NOTE, "update", note_id, body.app_id, wanted) as row:
            raw = client.update_note(scope.ghl_id, note_id, mapping.note_update(wanted))
            note = mapping.note_to_canonical(raw, scope.ghl_id)
            row["ghl_id"] = note.id
        app_id = self._remember(connection, EntityKind.NOTE, note, scope, body.app_id, previous=linked)
        return {**note_json(note, raw), "appId": app_id}

    # -- links, shadows, audit ------------------------------------------------------------------
    def _child_link(self, connection: Connection, entity: EntityKind, ghl_id: str) -> Link | None:
        if not valid_ghl_id(ghl_id):
            raise errors.NotFound(f"{entity.value} not found")
        link = self._links.get(connection.connection_id, entity, Side.GHL, ghl_id)
        if link is not None and not link.active:
            raise errors.NotFound(f"{entity.value} not found")
        return link

    def _check_linkable(
        self, connection: Connection, entity: EntityKind, app_id: str | None, *, linked: Link | None
    ) -> None:
        """Refuse a write the engine would copy back to the app (see the module docstring)."""
        if linked is not None:
            if app_id is not None and app_id != linked.app.id:
                raise errors.Unprocessable(
                    f"appId: this {entity.value} is already linked to another app record", field="appId"
                )
            return
        if app_id is None:
            support = self._connectors.app_for(connection).capabilities.support(entity)
            if support is not None and support.to_app:
                raise errors.Unprocessable(
                    f"appId: required, because this connection copies GHL {entity.value}s to "
                    f"{connection.app}; give the {connection.app} id of this {entity.value} so the "
                    "write is linked to it and not copied back",
                    field="appId",
                )
            return
        if self._links.get(connection.connection_id, entity, Side.APP, app_id) is not None:
            raise errors.Unprocessable(
                f"appId: another GHL {entity.value} is already linked to this app record", field="appId"
            )

    def _remember(
        self,
        connection: Connection,
        entity: EntityKind,
        record: Child,
        scope: ContactInScope,
        app_id: str | None,
        *,
        previous: Link | None,
    ) -> str | None:
        """Store the GHL side as just written, so its webhook is an echo; returns the linked app id."""
        written = normalize(record).model_copy(update={"parent_id": scope.ghl_id})
        assert written.id is not None
        ghl_shadow = Shadow(
            id=written.id,
            parent_id=scope.ghl_id,
            content_hash=written.content_hash(),
            fields=written.fields(),
            source_time=written.updated_at,
        )
        if previous is not None:
            link = previous.with_side(Side.GHL, ghl_shadow).model_copy(update={"synced_at": self._clock()})
        elif app_id is not None:
            app_shadow = ghl_shadow.model_copy(update={"id": app_id, "parent_id": scope.app_id})
            link = Link(
                connection_id=connection.connection_id,
                entity=entity,
                ghl=ghl_shadow,
                app=app_shadow,
                synced_at=self._clock(),
            )
        else:
            return None
        self._links.save(link, previous=previous)
        return link.app.id

    @contextmanager
    def _audited(
        self,
        connection: Connection,
        entity: EntityKind,
        action: str,
        source_id: str,
        app_id: str | None,
        wanted: Child,
        changed: frozenset[str] | set[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """One audit row per write that reaches for GHL: applied, or failed with the answer given.
        The caller puts the written record's GHL id in the yielded row (`ghl_id`)."""
        fields_changed = frozenset(changed) if changed is not None else frozenset(wanted.fields())
        row: dict[str, Any] = {
            "location_id": connection.location_id,
            "connection_id": connection.connection_id,
            "event_id": f"workflow-{uuid.uuid4().hex}",
            "event_type": f"Workflow{entity.value.capitalize()}{action.capitalize()}",
            "source": AUDIT_SOURCE,
            "entity": entity.value,
            "action": action,
            "source_id": source_id,
            "ghl_id": None,
            "app_id": app_id,
            "fields_changed": fields_changed,
        }
        try:
            with ghl_answers(write=True, missing=f"contact or {entity.value} not found"):
                yield row
        except errors.WorkflowError as refused:
            self._audit.record(**row, decision="failed", reason=f"{refused.status}: {refused.message}")
            raise
        self._audit.record(**row, decision="applied", reason="workflow API write", writes=1)


def default_workflow_api() -> WorkflowApi:
    """The API over the environment's sync table and secrets, and the container's connectors
    (`wiring.default_connectors`: the location's one GHL client, shared with everything else)."""
    from ghlsync.config import get_settings
    from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
    from ghlsync.store.dynamo import secrets_client, sync_table
    from ghlsync.sync import wiring

    table = sync_table()
    return WorkflowApi(
        connections=ConnectionStore(table),
        keys=ConnectionSecrets(secrets_client(), get_settings().connection_secret_prefix),
        links=LinkStore(table),
        audit=AuditStore(table),
        connectors=wiring.default_connectors(),
    )
