"""KayakoConnector: the Connector protocol over Kayako REST v1 (target-apps.md §1).

Contact = user, task = case requested by the user, note = user note, tags = user tags (always as
add/remove deltas: POST and DELETE users/:id/tags, never the replacing PUT). Ids on this side are
Kayako's integer ids as strings. Mapping rules live in `ghlsync.mapping.kayako`.

Inbound: Kayako automation endpoints are unsigned, so the endpoint URL carries the connection's
secret token (`?token=`) or sends it as `X-Ghlsync-Token`; the body is the JSON documented in
sandbox/apps/kayako/automations.py. Sweeps list users and cases by `updated_at`.
"""

import hashlib
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from ghlsync.apps.base import (
    Capabilities,
    ChangeFeed,
    ContactPage,
    Inbound,
    InboundRequest,
    TagSupport,
    every_operation,
)
from ghlsync.apps.kayako.api import KayakoApi
from ghlsync.apps.kayako.errors import KayakoNotFound, KayakoValidationError
from ghlsync.apps.kayako.settings import KayakoCredentials, KayakoSettings
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.http.paging import PageData, offset_pages
from ghlsync.http.verify import SharedSecretVerifier
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.kayako import (
    KayakoAutomationPayload,
    KayakoCase,
    KayakoMappingError,
    KayakoNote,
    KayakoUser,
    case_to_task,
    note_params,
    note_to_canonical,
    task_create_params,
    task_update_params,
    user_create_params,
    user_to_contact,
    user_update_params,
)

SOURCE = "kayako"
TOKEN_HEADER = "x-ghlsync-token"
TOKEN_QUERY = "token"
USER_INCLUDE = {"include": "identity_email,identity_phone"}

# automation event -> (entity, action)
_EVENTS: dict[str, tuple[EntityKind, ChangeAction]] = {
    "user.created": (EntityKind.CONTACT, ChangeAction.UPSERT),
    "user.updated": (EntityKind.CONTACT, ChangeAction.UPSERT),
    "user.deleted": (EntityKind.CONTACT, ChangeAction.DELETE),
    "tags.updated": (EntityKind.CONTACT, ChangeAction.TAGS),
    "case.created": (EntityKind.TASK, ChangeAction.UPSERT),
    "case.updated": (EntityKind.TASK, ChangeAction.UPSERT),
    "case.deleted": (EntityKind.TASK, ChangeAction.DELETE),
    "note.created": (EntityKind.NOTE, ChangeAction.UPSERT),
    "note.updated": (EntityKind.NOTE, ChangeAction.UPSERT),
    "note.deleted": (EntityKind.NOTE, ChangeAction.DELETE),
}


def _kayako_id(value: str) -> int:
    """Kayako ids are positive integers; anything else cannot exist there."""
    if not value.isdigit() or int(value) < 1:
        raise KayakoNotFound(f"{value!r} is not a Kayako id")
    return int(value)


class RecentReads:
    """The last `size` user reads (record, ETag, tags), oldest dropped first; `take` removes."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._reads: OrderedDict[int, tuple[KayakoUser, str | None, list[str]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._reads)

    def put(self, user_id: int, read: tuple[KayakoUser, str | None, list[str]]) -> None:
        if self._size == 0:
            return
        self._reads[user_id] = read
        self._reads.move_to_end(user_id)
        while len(self._reads) > self._size:
            self._reads.popitem(last=False)

    def take(self, user_id: int) -> tuple[KayakoUser, str | None, list[str]] | None:
        return self._reads.pop(user_id, None)


def _tags_param(tags: frozenset[str]) -> str:
    bad = sorted(t for t in tags if "," in t)
    if bad:
        raise KayakoValidationError(f"Kayako tags are comma-separated; cannot send {bad}")
    return ",".join(sorted(tags))


class KayakoConnector:
    name = SOURCE
    capabilities = Capabilities(
        entities=every_operation(EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE),
        # Kayako's tag name matching is undocumented (target-apps.md §1.7): not claimed.
        tags=TagSupport(case_insensitive=False),
        # Automation webhooks, and users/cases listed by updated_at (unordered, no window).
        inbound=Inbound(webhooks=True, feed=ChangeFeed(ordered=False)),
        coupled_fields=(frozenset({"first_name", "last_name"}),),
        lists_contacts=True,
        # Users and cases page through GET /users and /cases; notes only per user (not listed).
        id_listing=frozenset({EntityKind.CONTACT, EntityKind.TASK}),
    )

    def __init__(
        self,
        http: httpx.Client,
        settings: KayakoSettings,
        *,
        secret: KayakoCredentials,
        location_id: str,
        connection_id: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._api = KayakoApi(http, settings, secret, sleep=sleep, clock=clock, rng=rng)
        self._settings = settings
        self._webhook_verifier = SharedSecretVerifier(
            secret.webhook_token.get_secret_value(),
            query=TOKEN_QUERY,
            header=TOKEN_HEADER,
            label="Kayako endpoint token",
        )
        self._location_id = location_id
        self._connection_id = connection_id
        # The last reads of users (record, ETag, tags), consumed by the next update of that user:
        # the engine always reads before it writes, so the update needs no second GET for its
        # If-Match. A read that went stale meanwhile fails the update with 412 (retried, re-read).
        # Bounded: a warm container reads many users and must not keep them all.
        self._last_read = RecentReads(settings.read_cache_size)

    # -- contacts ---------------------------------------------------------------------------
    def _read_user(self, user_id: int) -> tuple[KayakoUser, str | None]:
        response = self._api.call("GET", f"users/{user_id}", params=USER_INCLUDE)
        return KayakoUser.model_validate(response.data), response.etag

    def _tags(self, user_id: int) -> list[str]:
        return [str(t["name"]) for t in self._api.paginate(f"users/{user_id}/tags")]

    def get_contact(self, contact_id: str) -> CanonicalContact | None:
        try:
            user, etag = self._read_user(_kayako_id(contact_id))
        except KayakoNotFound:
            return None
        tags = self._tags(user.id)
        self._last_read.put(user.id, (user, etag, tags))
        return user_to_contact(user, tags, self._settings)

    def contact_pages(self, *, start: str | None, page_size: int) -> Iterator[ContactPage]:
        """Every customer (agents are not contacts), oldest first, `page_size` users per GET /users;
        the cursor is the next offset. A listed user carries no tags (Kayako lists them per user
        only), so a backfill links on fields and leaves the tag union to the first live change."""

        def fetch(offset: int, limit: int) -> PageData:
            params: dict[str, str | int] = {**USER_INCLUDE, "offset": offset, "limit": limit}
            return PageData(self._api.call("GET", "users", params=params).body)

        first = int(start) if start else 0
        for page in offset_pages(fetch, limit=page_size, total_path="total_count", start=first):
            users = (KayakoUser.model_validate(raw) for raw in page.items)
            yield ContactPage(
                contacts=[
                    user_to_contact(user, [], self._settings)
                    for user in users
                    if user.role is None or user.role.id == self._settings.customer_role_id
                ],
                next_cursor=None if page.next_cursor is None else str(page.next_cursor),
                total=page.total,
            )

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        """Users whose email identity matches exactly (case-insensitive). Kayako documents no
        phone lookup, so a phone alone finds nothing and the engine falls back to creating."""
        if not email or not email.strip():
            return []
        matches = self._api.paginate("autocomplete/emails", {"address": email.strip()})
        user_ids = dict.fromkeys(int(m["parent"]["id"]) for m in matches if m.get("parent"))
        found = (self.get_contact(str(user_id)) for user_id in user_ids)
        return [contact for contact in found if contact is not None]

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact:
        params = self._mapped(user_create_params, contact, self._settings)
        response = self._api.call("POST", "users", params=USER_INCLUDE, body=params)
        user = KayakoUser.model_validate(response.data)
        if contact.tags:
            self.add_tags(str(user.id), contact.tags)
        return user_to_contact(user, contact.tags, self._settings)

    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact:
        user_id = _kayako_id(contact_id)
        last_read = self._last_read.take(user_id)
        if last_read is None:
            user, etag = self._read_user(user_id)
            tags = self._tags(user_id)
        else:
            user, etag, tags = last_read
        params = self._mapped(user_update_params, contact, changed, self._settings)
        if params:
            response = self._api.call(
                "PUT", f"users/{user_id}", params=USER_INCLUDE, body=params, if_match=etag
            )
            user = KayakoUser.model_validate(response.data)
        identities_changed = False
        if "email" in changed and contact.email:
            identities_changed |= self._make_primary("email", user, contact.email.strip())
        if "phone" in changed and contact.phone:
            identities_changed |= self._make_primary("phone", user, contact.phone.strip())
        if not identities_changed:
            # The PUT answered with the user, and tags are never written here.
            return user_to_contact(user, tags, self._settings)
        updated = self.get_contact(contact_id)
        if updated is None:
            raise KayakoNotFound(f"Kayako user {user_id} disappeared during the update", status=404)
        return updated

    def _make_primary(self, kind: str, user: KayakoUser, value: str) -> bool:
        """Email and phone are identities: reuse the user's identity or add one, as primary.
        Other identities stay (Kayako keeps every address a customer wrote from), except that with
        `replace_changed_email` the former primary email is deleted once the new one is primary:
        the contact's address changed, and the old one must be free for whoever has it now.
        Says whether anything was written."""
        identities = (
            [(e.id, e.email, e.is_primary) for e in user.email_identities()]
            if kind == "email"
            else [(p.id, p.number, p.is_primary) for p in user.phone_identities()]
        )
        former_primaries = [
            identity_id
            for identity_id, current, is_primary in identities
            if is_primary and current.lower() != value.lower()
        ]
        for identity_id, current, is_primary in identities:
            if current.lower() == value.lower():
                if is_primary:
                    return False
                self._api.call("PUT", f"identities/{kind}s/{identity_id}", body={"is_primary": True})
                break
        else:
            field = "email" if kind == "email" else "number"
            self._api.call(
                "POST", f"identities/{kind}s", body={"user_id": user.id, field: value, "is_primary": True}
            )
        if kind == "email" and self._settings.replace_changed_email:
            for identity_id in former_primaries:
                # Only a non-primary identity can be removed, hence after the promotion above.
                self._delete(f"identities/emails/{identity_id}")
        return True

    def delete_contact(self, contact_id: str) -> None:
        self._delete(f"users/{_kayako_id(contact_id)}")

    def add_tags(self, contact_id: str, tags: frozenset[str]) -> None:
        if tags:
            self._api.call("POST", f"users/{_kayako_id(contact_id)}/tags", body={"tags": _tags_param(tags)})

    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> None:
        if tags:
            self._api.call(
                "DELETE", f"users/{_kayako_id(contact_id)}/tags", params={"tags": _tags_param(tags)}
            )

    # -- tasks ------------------------------------------------------------------------------
    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None:
        try:
            response = self._api.call("GET", f"cases/{_kayako_id(task_id)}")
        except KayakoNotFound:
            return None
        return case_to_task(KayakoCase.model_validate(response.data), self._settings)

    def list_tasks(self, contact_id: str) -> list[CanonicalTask]:
        cases = self._api.paginate(f"users/{_kayako_id(contact_id)}/cases")
        return [case_to_task(KayakoCase.model_validate(c), self._settings) for c in cases]

    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask:
        params = self._mapped(task_create_params, task, _kayako_id(contact_id), self._settings)
        response = self._api.call("POST", "cases", body=params)
        return case_to_task(KayakoCase.model_validate(response.data), self._settings)

    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask:
        case_id = _kayako_id(task_id)
        params = self._mapped(task_update_params, task, changed, self._settings)
        if not params:
            current = self.get_task(contact_id, task_id)
            if current is None:
                raise KayakoNotFound(f"Kayako case {case_id} not found", status=404)
            return current
        response = self._api.call("PUT", f"cases/{case_id}", body=params)
        return case_to_task(KayakoCase.model_validate(response.data), self._settings)

    def delete_task(self, contact_id: str, task_id: str) -> None:
        self._delete(f"cases/{_kayako_id(task_id)}")

    # -- notes ------------------------------------------------------------------------------
    def get_note(self, contact_id: str, note_id: str) -> CanonicalNote | None:
        try:
            response = self._api.call("GET", f"users/{_kayako_id(contact_id)}/notes/{_kayako_id(note_id)}")
        except KayakoNotFound:
            return None
        return note_to_canonical(KayakoNote.model_validate(response.data), contact_id)

    def list_notes(self, contact_id: str) -> list[CanonicalNote]:
        notes = self._api.paginate(f"users/{_kayako_id(contact_id)}/notes")
        return [note_to_canonical(KayakoNote.model_validate(n), contact_id) for n in notes]

    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote:
        params = self._mapped(note_params, note, self._settings)
        response = self._api.call("POST", f"users/{_kayako_id(contact_id)}/notes", body=params)
        return note_to_canonical(KayakoNote.model_validate(response.data), contact_id)

    def update_note(self, contact_id: str, note_id: str, note: CanonicalNote) -> CanonicalNote:
        params = self._mapped(note_params, note, self._settings)
        path = f"users/{_kayako_id(contact_id)}/notes/{_kayako_id(note_id)}"
        response = self._api.call("PUT", path, body=params)
        return note_to_canonical(KayakoNote.model_validate(response.data), contact_id)

    def delete_note(self, contact_id: str, note_id: str) -> None:
        self._delete(f"users/{_kayako_id(contact_id)}/notes/{_kayako_id(note_id)}")

    # -- inbound ----------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest) -> None:
        self._webhook_verifier.verify(request.body, request.headers, request.query)

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        try:
            payload = KayakoAutomationPayload.model_validate_json(request.body)
        except ValidationError as exc:
            raise MalformedWebhook(
                f"not a Kayako automation payload: {exc.error_count()} problem(s)"
            ) from exc
        kind = _EVENTS.get(payload.event)
        if kind is None:
            return []  # a trigger we do not sync (organizations, ...): acknowledged, nothing to do
        entity, action = kind
        # The payload has no delivery id: a hash of the exact body (per connection) is the key.
        digest = hashlib.sha256(connection_id.encode() + b"\n" + request.body).hexdigest()
        return [
            ChangeEvent(
                event_id=f"kayako-{digest}",
                location_id=location_id,
                source=SOURCE,
                connection_id=connection_id,
                entity=entity,
                action=action,
                entity_id=str(payload.id),
                parent_id=None if entity is EntityKind.CONTACT else str(payload.user_id),
                occurred_at=payload.updated_at,
                event_type=payload.event,
                data=payload.data,
            )
        ]

    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Customers and cases with updated_at >= since (inclusive: a same-second change is never
        lost; repeats carry the same event id and are de-duplicated). Notes and tags move the
        user's updated_at, so they surface as the user's upsert. Whether Kayako honours `since`
        is UNVERIFIED, so the filter is applied here as well."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        params = {"since": since.isoformat()}
        for raw in self._api.paginate("users", params):
            user = KayakoUser.model_validate(raw)
            if user.role is not None and user.role.id != self._settings.customer_role_id:
                continue  # agents are not contacts
            if user.updated_at is not None and user.updated_at >= since:
                yield self._swept(EntityKind.CONTACT, user.id, None, user.updated_at, "user.swept", raw)
        for raw in self._api.paginate("cases", params):
            case = KayakoCase.model_validate(raw)
            if case.updated_at is not None and case.updated_at >= since and case.requester is not None:
                yield self._swept(
                    EntityKind.TASK, case.id, case.requester.id, case.updated_at, "case.swept", raw
                )

    def list_ids(self, entity: EntityKind) -> Iterator[str]:
        """Customer ids (agents left out) or case ids, a page of `page_size` per call."""
        if entity is EntityKind.TASK:
            yield from (str(KayakoCase.model_validate(raw).id) for raw in self._api.paginate("cases"))
            return
        for raw in self._api.paginate("users"):
            user = KayakoUser.model_validate(raw)
            if user.role is None or user.role.id == self._settings.customer_role_id:
                yield str(user.id)

    # -- helpers ----------------------------------------------------------------------------
    def _swept(
        self,
        entity: EntityKind,
        entity_id: int,
        parent_id: int | None,
        updated_at: datetime,
        kind: str,
        raw: dict[str, Any],
    ) -> ChangeEvent:
        key = f"{self._connection_id}:{entity.value}:{entity_id}:{updated_at.isoformat()}"
        return ChangeEvent(
            event_id="kayako-" + hashlib.sha256(key.encode()).hexdigest(),
            location_id=self._location_id,
            source=SOURCE,
            connection_id=self._connection_id,
            entity=entity,
            action=ChangeAction.UPSERT,
            entity_id=str(entity_id),
            parent_id=None if parent_id is None else str(parent_id),
            occurred_at=updated_at,
            event_type=kind,
            data=raw,
        )

    def _delete(self, path: str) -> None:
        """Deletes are idempotent: a record that is already gone is what was asked for (a retry
        after a timed-out delete must not dead-letter the event)."""
        try:
            self._api.call("DELETE", path)
        except KayakoNotFound:
            return

    @staticmethod
    def _mapped(build: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        try:
            return build(*args)
        except KayakoMappingError as exc:
            raise KayakoValidationError(str(exc)) from exc
