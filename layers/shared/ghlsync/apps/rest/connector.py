"""RestConnector: the Connector protocols over any REST app, driven by its spec alone.

Each method fills the spec's request for its operation, sends it on the shared loop (`SpecApi`)
and maps records through the field map (`transforms`). What the spec leaves out is not declared
(`inbound.capabilities_for`), so the engine never calls it. Deletes are idempotent (an id already
gone is what was asked). Tags: by endpoint (one call with the list, or one per tag), or as a list
field written whole: the app's current list with the delta applied, so a tag nobody removed stays.
Rule `new_contact_tasks`: right after this connector creates a contact, the templates are created
as its tasks, once (a create happens once per link).
"""

import random
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError

from ghlsync.apps.base import ContactPage, InboundRequest
from ghlsync.apps.rest.api import SpecApi
from ghlsync.apps.rest.credentials import RestCredentials, authenticator_for, budgets_for
from ghlsync.apps.rest.inbound import WebhookReader, capabilities_for, polled_event
from ghlsync.apps.rest.model import AppSpec, EndpointTags, EntitySpec, FieldTags, RequestSpec
from ghlsync.apps.rest.transforms import UnreadableRecord, format_time, parse_time, to_app, to_canonical
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import NotFound
from ghlsync.core.events import ChangeEvent
from ghlsync.http.errors import value_at
from ghlsync.mapping.canonical import Canonical, CanonicalContact, CanonicalNote, CanonicalTask

CONTACT, TASK, NOTE = EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RestConnector:
    def __init__(
        self,
        http: httpx.Client,
        spec: AppSpec,
        credentials: RestCredentials,
        *,
        name: str,
        location_id: str,
        connection_id: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        persist: Callable[[dict[str, str]], None],
        default_country: str | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.name = name
        self.capabilities = capabilities_for(spec)
        self._spec = spec
        self._location_id = location_id
        self._connection_id = connection_id
        self._wall_clock = wall_clock
        self._country = spec.default_country or default_country
        self._api = SpecApi(
            http,
            spec,
            authenticator=authenticator_for(spec, credentials, persist=persist, wall_clock=wall_clock),
            budgets=budgets_for(spec, sleep=sleep, clock=clock, wall_clock=wall_clock),
            sleep=sleep,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        webhooks = spec.inbound.webhooks
        secret = credentials.webhook_secret
        self._webhooks = (
            WebhookReader(webhooks, secret.get_secret_value(), wall_clock=wall_clock)
            if webhooks is not None and secret is not None
            else None
        )

    # -- records ----------------------------------------------------------------------------
    def _entity(self, kind: EntityKind) -> EntitySpec:
        found = self._spec.entities.present().get(kind)
        assert found is not None, f"{kind} is not declared"  # the engine reads capabilities first
        return found

    def _request(self, kind: EntityKind, operation: str) -> RequestSpec:
        request = getattr(self._entity(kind), operation)
        assert request is not None, f"{kind} {operation} is not declared"
        return request

    def _identity(self, kind: EntityKind, record: dict[str, Any]) -> dict[str, Any]:
        shape = self._entity(kind).record
        record_id = value_at(record, shape.id)
        if isinstance(record_id, bool) or not isinstance(record_id, str | int) or str(record_id) == "":
            raise UnreadableRecord(f"{self._spec.name} sent a {kind.value} without an id at {shape.id}")
        found: dict[str, Any] = {"id": str(record_id)}
        if shape.updated_at is not None:
            what = f"{kind.value}.{shape.updated_at}"
            found["updated_at"] = parse_time(
                value_at(record, shape.updated_at), shape.updated_at_format, what
            )
        if shape.parent_id is not None:
            parent = value_at(record, shape.parent_id)
            found["parent_id"] = None if parent is None else str(parent)
        return found

    def _canonical[M: Canonical](
        self, kind: EntityKind, model: type[M], record: dict[str, Any], **extra: Any
    ) -> M:
        entity = self._entity(kind)
        fields = to_canonical(entity, record, default_country=self._country, what=kind.value)
        identity = self._identity(kind, record)
        if kind is not CONTACT and identity.get("parent_id") is None:
            identity["parent_id"] = extra.pop("parent_id", None)
        extra.pop("parent_id", None)
        try:
            return model.model_validate({**fields, **identity, **extra})
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_input=False)
            )
            raise UnreadableRecord(f"{self._spec.name} sent an unreadable {kind.value}: {problems}") from None

    def _body(self, kind: EntityKind, record: Any, changed: frozenset[str] | None = None) -> dict[str, Any]:
        return to_app(self._entity(kind), record.model_dump(), default_country=self._country, changed=changed)

    def _read(self, kind: EntityKind, values: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self._api.one(self._request(kind, "get"), values, self._entity(kind).record)
        except NotFound:
            return None

    def _write(
        self, kind: EntityKind, operation: str, values: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Send a create/update; the record it answers with, or a fresh read when it answers none."""
        request = self._request(kind, operation)
        response = self._api.call(request, values, record=body)
        decoded = self._api.decoded(response, request)
        shape = self._entity(kind).record
        found = decoded if not shape.single else value_at(decoded, shape.single)
        if isinstance(found, dict) and found:
            return found
        if operation == "create":
            raise UnreadableRecord(f"{self._spec.name} answered a {kind.value} create without the record")
        return self._read(kind, values)

    def _delete(self, kind: EntityKind, values: dict[str, Any]) -> None:
        try:
            self._api.call(self._request(kind, "delete"), values)
        except NotFound:
            return

    # -- contacts ---------------------------------------------------------------------------
    def _tags_of(self, record: dict[str, Any]) -> list[str]:
        tags = self._spec.tags
        path = (
            tags.read
            if isinstance(tags, EndpointTags)
            else tags.field
            if isinstance(tags, FieldTags)
            else None
        )
        found = value_at(record, path) if path else None
        return [str(t) for t in found if isinstance(t, str | int)] if isinstance(found, list) else []

    def _contact(self, record: dict[str, Any]) -> CanonicalContact:
        return self._canonical(CONTACT, CanonicalContact, record, tags=frozenset(self._tags_of(record)))

    def get_contact(self, contact_id: str) -> CanonicalContact | None:
        record = self._read(CONTACT, {"id": contact_id})
        return None if record is None else self._contact(record)

    def contact_pages(self, *, start: str | None, page_size: int) -> Iterator[ContactPage]:
        """Every contact of the contact `list` (with the full pass's filter), a page per call, from
        `start` (a page's cursor). Pages are the spec's size (`paging.page_size`): the app's own
        limit, so `page_size` is not used."""
        request = self._request(CONTACT, "list")
        shape = self._entity(CONTACT).record
        for page in self._api.pages(request, {}, shape, params=self._contact_filter(), start=start):
            yield ContactPage(
                contacts=[self._contact(record) for record in page.items],
                next_cursor=None if page.next_cursor is None else str(page.next_cursor),
                total=page.total,
            )

    def list_ids(self, entity: EntityKind) -> Iterator[str]:
        """Every contact id of the contact `list` (the one kind in `id_listing`), a page per call."""
        assert entity is CONTACT, entity
        for page in self.contact_pages(start=None, page_size=0):
            yield from (contact.id for contact in page.contacts if contact.id)

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        """Contacts whose e-mail (else phone) the app's lookup matches, confirmed here too."""
        entity = self._entity(CONTACT)
        for operation, value, key in (("find_by_email", email, "email"), ("find_by_phone", phone, "phone")):
            request = getattr(entity, operation)
            if request is None or not value or not value.strip():
                continue
            found = [self._contact(r) for r in self._api.many(request, {key: value.strip()}, entity.record)]
            wanted = value.strip().lower()
            matches = [c for c in found if (getattr(c, key) or "").strip().lower() == wanted]
            if matches:
                return matches
        return []

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact:
        body = self._body(CONTACT, contact)
        if isinstance(self._spec.tags, FieldTags) and contact.tags:
            body[self._spec.tags.field] = sorted(contact.tags)
        record = self._write(CONTACT, "create", {}, body)
        assert record is not None
        created = self._contact(record)
        assert created.id is not None
        if isinstance(self._spec.tags, EndpointTags) and contact.tags:
            self.add_tags(created.id, contact.tags)
            created = created.model_copy(update={"tags": contact.tags})
        self._new_contact_tasks(str(created.id))
        return created

    def _new_contact_tasks(self, contact_id: str) -> None:
        now = datetime.fromtimestamp(self._wall_clock(), UTC)
        for template in self._spec.rules.new_contact_tasks:
            due = None if template.due_in_days is None else now + timedelta(days=template.due_in_days)
            self.create_task(
                contact_id, CanonicalTask(title=template.title, body=template.body, due_date=due)
            )

    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact:
        body = self._body(CONTACT, contact, changed - {"tags"})
        record = self._write(CONTACT, "update", {"id": contact_id}, body) if body else None
        record = record or self._read(CONTACT, {"id": contact_id})
        if record is None:
            raise NotFound(f"{self._spec.name} contact {contact_id} not found", status=404)
        return self._contact(record)

    def delete_contact(self, contact_id: str) -> None:
        self._delete(CONTACT, {"id": contact_id})

    # -- tags -------------------------------------------------------------------------------
    def _tag_calls(self, request: RequestSpec, contact_id: str, tags: frozenset[str]) -> None:
        if "{tag}" in request.path:
            for tag in sorted(tags):
                self._api.call(request, {"id": contact_id, "tag": tag, "tags": [tag]})
        else:
            self._api.call(request, {"id": contact_id, "tags": sorted(tags)})

    def _replace_tags(self, contact_id: str, add: frozenset[str], remove: frozenset[str]) -> list[str]:
        tags = self._spec.tags
        assert isinstance(tags, FieldTags)
        record = self._read(CONTACT, {"id": contact_id})
        if record is None:
            raise NotFound(f"{self._spec.name} contact {contact_id} not found", status=404)
        gone = {t.strip().lower() for t in remove}
        current = [t for t in self._tags_of(record) if t.strip().lower() not in gone]
        held = {t.strip().lower() for t in current}
        wanted = current + sorted(t for t in add if t.strip().lower() not in held)
        written = self._write(CONTACT, "update", {"id": contact_id}, {tags.field: wanted})
        return self._tags_of(written) if written is not None else wanted

    def add_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None:
        spec = self._spec.tags
        if isinstance(spec, FieldTags):
            return self._replace_tags(contact_id, tags, frozenset())
        assert isinstance(spec, EndpointTags)
        self._tag_calls(spec.add, contact_id, tags)
        return None

    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None:
        spec = self._spec.tags
        if isinstance(spec, FieldTags):
            return self._replace_tags(contact_id, frozenset(), tags)
        assert isinstance(spec, EndpointTags) and spec.remove is not None
        with suppress(NotFound):  # the tag is not there: what was asked
            self._tag_calls(spec.remove, contact_id, tags)
        return None

    # -- tasks and notes --------------------------------------------------------------------
    def _child(self, kind: EntityKind, record: dict[str, Any] | None, contact_id: str) -> Any:
        model = CanonicalTask if kind is TASK else CanonicalNote
        return None if record is None else self._canonical(kind, model, record, parent_id=contact_id)

    def _get_child(self, kind: EntityKind, contact_id: str, record_id: str) -> Any:
        return self._child(kind, self._read(kind, {"id": record_id, "contact_id": contact_id}), contact_id)

    def _list_children(self, kind: EntityKind, contact_id: str) -> list[Any]:
        entity = self._entity(kind)
        return [
            self._child(kind, record, contact_id)
            for record in self._api.many(
                self._request(kind, "list"), {"contact_id": contact_id}, entity.record
            )
        ]

    def _create_child(self, kind: EntityKind, contact_id: str, record: Any) -> Any:
        return self._child(
            kind,
            self._write(kind, "create", {"contact_id": contact_id}, self._body(kind, record)),
            contact_id,
        )

    def _update_child(
        self, kind: EntityKind, contact_id: str, record_id: str, record: Any, changed: frozenset[str] | None
    ) -> Any:
        values = {"id": record_id, "contact_id": contact_id}
        written = self._write(kind, "update", values, self._body(kind, record, changed))
        if written is None:
            raise NotFound(f"{self._spec.name} {kind.value} {record_id} not found", status=404)
        return self._child(kind, written, contact_id)

    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None:
        return self._get_child(TASK, contact_id, task_id)

    def list_tasks(self, contact_id: str) -> list[CanonicalTask]:
        return self._list_children(TASK, contact_id)

    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask:
        return self._create_child(TASK, contact_id, task)

    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask:
        return self._update_child(TASK, contact_id, task_id, task, changed)

    def delete_task(self, contact_id: str, task_id: str) -> None:
        self._delete(TASK, {"id": task_id, "contact_id": contact_id})

    def get_note(self, contact_id: str, note_id: str) -> CanonicalNote | None:
        return self._get_child(NOTE, contact_id, note_id)

    def list_notes(self, contact_id: str) -> list[CanonicalNote]:
        return self._list_children(NOTE, contact_id)

    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote:
        return self._create_child(NOTE, contact_id, note)

    def update_note(self, contact_id: str, note_id: str, note: CanonicalNote) -> CanonicalNote:
        return self._update_child(NOTE, contact_id, note_id, note, None)

    def delete_note(self, contact_id: str, note_id: str) -> None:
        self._delete(NOTE, {"id": note_id, "contact_id": contact_id})

    # -- inbound ----------------------------------------------------------------------------
    def _reader(self) -> WebhookReader:
        assert self._webhooks is not None, "webhooks are not declared, or the secret lacks webhook_secret"
        return self._webhooks

    def verify_webhook(self, request: InboundRequest) -> None:
        self._reader().verify(request)

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        return self._reader().parse(request, location_id=location_id, connection_id=connection_id)

    def _listed(
        self,
        kind: EntityKind,
        request: RequestSpec,
        values: dict[str, Any],
        since: datetime,
        params: dict[str, str],
    ) -> Iterator[ChangeEvent]:
        entity = self._entity(kind)
        for record in self._api.many(request, values, entity.record, params=params):
            identity = self._identity(kind, record)
            updated_at = identity.get("updated_at")
            if updated_at is not None and updated_at < since:
                continue  # the app's filter is not trusted to be exact
            yield polled_event(
                location_id=self._location_id,
                connection_id=self._connection_id,
                entity=kind,
                record_id=identity["id"],
                parent_id=identity.get("parent_id"),
                updated_at=updated_at or since,
                kind=f"{kind.value}.polled",
            )

    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Records changed at or after `since` (inclusive: a same-second change is never lost;
        repeats carry the same event id), contacts first (with the full pass's filter), then tasks
        and notes."""
        if self._spec.inbound.polling is None:
            return  # the feed is there for the scheduled full pass only
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        for kind, entity in self._spec.entities.present().items():
            request = entity.list_changed_since
            if request is None:
                continue
            value = format_time(since, request.since_format)
            params = self._contact_filter() if kind is CONTACT else {}
            yield from self._listed(kind, request, {"since": value}, since, params)

    def _contact_filter(self) -> dict[str, str]:
        """The full pass's filter (`rules.full_pass.filter`): which of the app's contacts sync."""
        full_pass = self._spec.rules.full_pass
        return dict(full_pass.filter) if full_pass is not None else {}

    def list_all_changes(self, since: datetime = _EPOCH) -> Iterator[ChangeEvent]:
        """The full pass (the sweep's, from the epoch): every contact of the contact `list` (with
        the full-pass filter) changed since `since`, then every task and note the app lists as
        changed since then."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        yield from self._listed(CONTACT, self._request(CONTACT, "list"), {}, since, self._contact_filter())
        for kind in (TASK, NOTE):
            entity = self._spec.entities.present().get(kind)
            if entity is not None and entity.list_changed_since is not None:
                request = entity.list_changed_since
                value = format_time(since, request.since_format)
                yield from self._listed(kind, request, {"since": value}, since, {})
