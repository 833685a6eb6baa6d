"""In-memory Kayako state and the rules the real API enforces on it.

Every mutation goes through `KayakoStore`, whether it comes from the HTTP API or from a `ui_*`
helper (an agent editing in Kayako's UI), and every mutation is reported to the change listeners
(the automation endpoints), exactly as Kayako's triggers fire whatever the source of a change.

Resource shapes follow shared/reference/target-apps.md §1: integer ids, nested references
`{"id", "resource_type"}`, ISO-8601 timestamps with an offset, `resource_url` on every resource.
"""

import bisect
import itertools
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ROLES: dict[int, tuple[str, str]] = {
    1: ("Administrator", "ADMIN"),
    2: ("Agent", "AGENT"),
    3: ("Collaborator", "COLLABORATOR"),
    4: ("Customer", "CUSTOMER"),
}
CUSTOMER_ROLE_ID = 4
AGENT_ROLE_TYPES = frozenset({"ADMIN", "AGENT", "COLLABORATOR"})
CASE_STATUSES: dict[int, tuple[str, str]] = {
    1: ("New", "NEW"),
    2: ("Open", "OPEN"),
    3: ("Pending", "PENDING"),
    4: ("Completed", "COMPLETED"),
    5: ("Closed", "CLOSED"),
}
NEW_STATUS_ID = 1
CHANNELS = frozenset({"MAIL", "HELPCENTER", "TWITTER", "MESSENGER", "FACEBOOK", "NOTE"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EVENT_NAME = re.compile(r"^[A-Za-z_. ]+$")
MORE_INFO = "https://developer.kayako.com/api/v1/reference/errors/"

Json = dict[str, Any]


class ApiError(Exception):
    """An error the real API would answer with `{"status", "errors": [{code, parameter?, ...}]}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter
        self.headers = headers or {}

    def body(self) -> Json:
        error: Json = {"code": self.code, "message": self.message, "more_info": MORE_INFO + self.code}
        if self.parameter is not None:
            error["parameter"] = self.parameter
        return {"status": self.status, "errors": [error]}


def field_required(parameter: str) -> ApiError:
    return ApiError(
        400, "FIELD_REQUIRED", "This action requires the field to be specified", parameter=parameter
    )


def field_invalid(parameter: str, why: str) -> ApiError:
    return ApiError(400, "FIELD_INVALID", why, parameter=parameter)


def not_found() -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", "Requested resource is not available or does not exist")


def iso(instant: float) -> str:
    return datetime.fromtimestamp(int(instant), UTC).isoformat()


def ref(resource_id: int | None, resource_type: str) -> Json | None:
    return None if resource_id is None else {"id": resource_id, "resource_type": resource_type}


@dataclass
class User:
    id: int
    full_name: str
    role_id: int
    created_at: float
    updated_at: float
    last_active_at: float
    designation: str | None = None
    is_enabled: bool = True
    custom_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Identity:
    """An email or phone identity of a user (`kind` is the resource suffix: email or phone)."""

    id: int
    kind: str
    user_id: int
    value: str
    is_primary: bool
    created_at: float
    updated_at: float
    is_validated: bool = False
    is_notification_enabled: bool = True


@dataclass
class Note:
    id: int
    user_id: int
    creator_id: int | None
    body_text: str
    is_pinned: bool
    created_at: float
    updated_at: float


@dataclass
class Case:
    id: int
    subject: str
    requester_id: int
    creator_id: int | None
    channel: str
    contents: str
    status_id: int
    created_at: float
    updated_at: float
    assigned_agent_id: int | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TimelineEvent:
    """An external event posted to `webhook/:token/incoming`, shown on the user's timeline."""

    id: int
    user_id: int
    event: str
    properties: dict[str, Any]
    triggered_at: str | None
    created_at: float


@dataclass(frozen=True)
class Change:
    """One data change, as the automation endpoints report it (see sandbox/apps/kayako/automations.py)."""

    event: str  # user.created, case.updated, note.deleted, tags.updated, ...
    id: int
    user_id: int
    updated_at: str
    data: Json


ChangeListener = Callable[[Change], None]


class KayakoStore:
    """Users, identities, notes, tags and cases of one Kayako instance. Thread-safe (one lock)."""

    def __init__(self, clock: Callable[[], float], base_url: str) -> None:
        self.clock = clock
        self.base_url = base_url  # resource_url prefix for data sent outside a request (automations)
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.identities: dict[str, dict[int, Identity]] = {"email": {}, "phone": {}}
        # Indexes over `identities`, kept by _add_identity and _drop_identity, so that serialising a
        # user or finding an address does not read every identity (a page of 100 users at 10,000).
        self._identities_by_user: dict[str, dict[int, dict[int, Identity]]] = {"email": {}, "phone": {}}
        self._identities_by_value: dict[str, dict[str, dict[int, Identity]]] = {"email": {}, "phone": {}}
        # The users in `since` order ((updated_at, id)), sorted on the first listing after a change:
        # a listing page then costs its page, not a sort of every user.
        self._users_by_change: list[User] | None = None
        self.notes: dict[int, Note] = {}
        self.cases: dict[int, Case] = {}
        self.user_tags: dict[int, list[str]] = {}
        self.tag_ids: dict[str, int] = {}
        self.passwords: dict[str, tuple[str, int]] = {}  # login email (lower) -> (password, user id)
        self.listeners: list[ChangeListener] = []
        self.event_tokens: set[str] = set()
        self.timeline: list[TimelineEvent] = []
        self._next_id: dict[str, int] = {}

    # -- helpers --------------------------------------------------------------------------
    def _new_id(self, kind: str) -> int:
        self._next_id[kind] = self._next_id.get(kind, 0) + 1
        return self._next_id[kind]

    def _emit(self, event: str, resource_id: int, user_id: int, updated_at: float, data: Json) -> None:
        # Every mutation is reported here (add_agent, which is not, drops the order itself): any of
        # them may add, remove or re-date a user.
        self._users_by_change = None
        change = Change(event=event, id=resource_id, user_id=user_id, updated_at=iso(updated_at), data=data)
        for listener in self.listeners:
            listener(change)

    def _touch_user(self, user: User, now: float) -> None:
        """Kayako moves `last_active_at` (and we move `updated_at`) when a note or tag changes."""
        user.updated_at = now
        user.last_active_at = now

    def user(self, user_id: int) -> User:
        found = self.users.get(user_id)
        if found is None:
            raise not_found()
        return found

    def is_agent(self, user_id: int) -> bool:
        user = self.users.get(user_id)
        return user is not None and ROLES[user.role_id][1] in AGENT_ROLE_TYPES

    def identities_of(self, user_id: int, kind: str) -> list[Identity]:
        found = self._identities_by_user[kind].get(user_id, {}).values()
        # Documented order: primary first, then most recently updated.
        return sorted(found, key=lambda i: (not i.is_primary, -i.updated_at, -i.id))

    def find_identity(self, kind: str, value: str) -> Identity | None:
        """The oldest identity with this value, whatever its case."""
        return next(iter(self._identities_by_value[kind].get(value.strip().lower(), {}).values()), None)

    # -- users ----------------------------------------------------------------------------
    def add_agent(
        self, email: str, password: str, full_name: str = "Sandbox Agent", role_id: int = 2
    ) -> User:
        with self.lock:
            now = self.clock()
            agent = User(self._new_id("user"), full_name, role_id, now, now, now)
            self.users[agent.id] = agent
            self._users_by_change = None
            self._add_identity(agent.id, "email", email, primary=True, now=now)
            self.passwords[email.lower()] = (password, agent.id)
            return agent

    def create_user(self, params: Json) -> User:
        with self.lock:
            full_name = _required_str(params, "full_name")
            role_id = _required_int(params, "role_id")
            if role_id not in ROLES:
                raise field_invalid("role_id", "Unknown role")
            email = _optional_str(params, "email")
            phone = _optional_str(params, "phone")
            if email is not None:
                self._check_email_free(email)
            custom_fields = _custom_fields(params)
            now = self.clock()
            user = User(
                self._new_id("user"),
                full_name,
                role_id,
                now,
                now,
                now,
                designation=_optional_str(params, "designation"),
                is_enabled=_bool(params.get("is_enabled", True), "is_enabled"),
                custom_fields={k: v for k, v in custom_fields.items() if v is not None},
            )
            self.users[user.id] = user
            if email is not None:
                self._add_identity(user.id, "email", email, primary=True, now=now)
            if phone is not None:
                self._add_identity(user.id, "phone", phone, primary=True, now=now)
            self._emit("user.created", user.id, user.id, now, self.user_json(user))
            return user

    def update_user(self, user_id: int, params: Json) -> User:
        with self.lock:
            user = self.user(user_id)
            if "full_name" in params:
                user.full_name = _required_str(params, "full_name")
            if "role_id" in params:
                role_id = _required_int(params, "role_id")
                if role_id not in ROLES:
                    raise field_invalid("role_id", "Unknown role")
                user.role_id = role_id
            if "designation" in params:
                user.designation = _optional_str(params, "designation")
            if "is_enabled" in params:
                user.is_enabled = _bool(params["is_enabled"], "is_enabled")
            for key, value in _custom_fields(params).items():
                if value is None:
                    user.custom_fields.pop(key, None)
                else:
                    user.custom_fields[key] = value
            now = self.clock()
            user.updated_at = now
            user.last_active_at = now
            self._emit("user.updated", user.id, user.id, now, self.user_json(user))
            return user

    def delete_user(self, user_id: int) -> None:
        with self.lock:
            user = self.user(user_id)
            data = self.user_json(user)
            del self.users[user_id]
            self.user_tags.pop(user_id, None)
            for kind in self.identities:
                for identity in list(self._identities_by_user[kind].get(user_id, {}).values()):
                    self._drop_identity(identity)
            for note in [n for n in self.notes.values() if n.user_id == user_id]:
                del self.notes[note.id]
            self._emit("user.deleted", user_id, user_id, self.clock(), data)

    def list_users(self, since: float | None) -> list[User]:
        users, _ = self.users_page(since, 0, len(self.users))
        return users

    def users_page(self, since: float | None, offset: int, limit: int) -> tuple[list[User], int]:
        """`limit` users from `offset` of the listing, and the listing's length. Without `since`
        the listing is by id; with it (date pagination), the users changed at or after `since`
        (whole seconds, inclusive), oldest change first."""
        with self.lock:
            if since is None:
                # Ids only grow and a user is stored when created: `users` is in id order.
                by_id = self.users.values()
                return list(itertools.islice(by_id, offset, offset + limit)), len(by_id)
            if self._users_by_change is None:
                self._users_by_change = sorted(self.users.values(), key=lambda u: (u.updated_at, u.id))
            by_change = self._users_by_change
            # int(updated_at) >= int(since) is updated_at >= int(since): timestamps are positive.
            first = bisect.bisect_left(by_change, float(int(since)), key=lambda u: u.updated_at)
            start = first + offset
            return by_change[start : start + limit], len(by_change) - first

    # -- identities -----------------------------------------------------------------------
    def _check_email_free(self, email: str) -> None:
        if not _EMAIL.match(email.strip()):
            raise field_invalid("email", "The value of the field is not a valid email address")
        if self.find_identity("email", email) is not None:
            raise field_invalid("email", "The email address is already in use")

    def _add_identity(self, user_id: int, kind: str, value: str, *, primary: bool, now: float) -> Identity:
        if primary:
            for other in self.identities_of(user_id, kind):
                other.is_primary = False
                other.updated_at = now
        identity = Identity(self._new_id(kind), kind, user_id, value.strip(), primary, now, now)
        self.identities[kind][identity.id] = identity
        self._identities_by_user[kind].setdefault(user_id, {})[identity.id] = identity
        self._identities_by_value[kind].setdefault(identity.value.lower(), {})[identity.id] = identity
        return identity

    def _drop_identity(self, identity: Identity) -> None:
        del self.identities[identity.kind][identity.id]
        _unindex(self._identities_by_user[identity.kind], identity.user_id, identity.id)
        _unindex(self._identities_by_value[identity.kind], identity.value.lower(), identity.id)

    def identity(self, kind: str, identity_id: int) -> Identity:
        found = self.identities[kind].get(identity_id)
        if found is None:
            raise not_found()
        return found

    def create_identity(self, kind: str, params: Json) -> Identity:
        value_param = "email" if kind == "email" else "number"
        with self.lock:
            user = self.user(_required_int(params, "user_id"))
            value = _required_str(params, value_param)
            if kind == "email":
                self._check_email_free(value)
            elif self.find_identity("phone", value) is not None:
                raise field_invalid("number", "The phone number is already in use")
            now = self.clock()
            primary = _bool(params.get("is_primary", False), "is_primary")
            identity = self._add_identity(user.id, kind, value, primary=primary, now=now)
            identity.is_validated = _bool(params.get("is_validated", False), "is_validated")
            identity.is_notification_enabled = _bool(
                params.get("is_notification_enabled", True), "is_notification_enabled"
            )
            user.updated_at = now
            self._emit("user.updated", user.id, user.id, now, self.user_json(user))
            return identity

    def update_identity(self, kind: str, identity_id: int, params: Json) -> Identity:
        """Only the flags can change; making one primary demotes the user's other primary."""
        with self.lock:
            identity = self.identity(kind, identity_id)
            now = self.clock()
            if _bool(params.get("is_primary", identity.is_primary), "is_primary") and not identity.is_primary:
                for other in self.identities_of(identity.user_id, kind):
                    other.is_primary = False
                    other.updated_at = now
                identity.is_primary = True
            if "is_notification_enabled" in params:
                identity.is_notification_enabled = _bool(
                    params["is_notification_enabled"], "is_notification_enabled"
                )
            identity.updated_at = now
            user = self.user(identity.user_id)
            user.updated_at = now
            self._emit("user.updated", user.id, user.id, now, self.user_json(user))
            return identity

    def delete_identity(self, kind: str, identity_id: int) -> None:
        """Remove a secondary identity. The primary one cannot go (Kayako's help centre: add the
        new address, make it primary, then remove the old one)."""
        with self.lock:
            identity = self.identity(kind, identity_id)
            if identity.is_primary:
                raise field_invalid("is_primary", f"The primary {kind} identity cannot be removed")
            self._drop_identity(identity)
            now = self.clock()
            user = self.user(identity.user_id)
            user.updated_at = now
            self._emit("user.updated", user.id, user.id, now, self.user_json(user))

    # -- notes ----------------------------------------------------------------------------
    def note(self, user_id: int, note_id: int) -> Note:
        found = self.notes.get(note_id)
        if found is None or found.user_id != user_id:
            raise not_found()
        return found

    def notes_of(self, user_id: int) -> list[Note]:
        self.user(user_id)
        return sorted(
            (n for n in self.notes.values() if n.user_id == user_id), key=lambda n: (-n.created_at, -n.id)
        )

    def create_note(self, user_id: int, params: Json, creator_id: int | None) -> Note:
        with self.lock:
            user = self.user(user_id)
            now = self.clock()
            note = Note(
                self._new_id("note"),
                user_id,
                creator_id,
                _required_str(params, "contents"),
                _bool(params.get("is_pinned", False), "is_pinned"),
                now,
                now,
            )
            self.notes[note.id] = note
            self._touch_user(user, now)
            self._emit("note.created", note.id, user_id, now, self.note_json(note))
            return note

    def update_note(self, user_id: int, note_id: int, params: Json) -> Note:
        with self.lock:
            note = self.note(user_id, note_id)
            if "contents" in params:
                note.body_text = _required_str(params, "contents")
            if "is_pinned" in params:
                note.is_pinned = _bool(params["is_pinned"], "is_pinned")
            now = self.clock()
            note.updated_at = now
            self._touch_user(self.user(user_id), now)
            self._emit("note.updated", note.id, user_id, now, self.note_json(note))
            return note

    def delete_note(self, user_id: int, note_id: int) -> None:
        with self.lock:
            note = self.note(user_id, note_id)
            data = self.note_json(note)
            del self.notes[note_id]
            now = self.clock()
            self._touch_user(self.user(user_id), now)
            self._emit("note.deleted", note_id, user_id, now, data)

    # -- incoming events (the public Events webhook, target-apps.md §1.9) ---------------------
    def record_incoming_event(self, token: str, params: Json) -> TimelineEvent:
        """Match the user by email, then phone; create a customer when nothing matches."""
        with self.lock:
            if token not in self.event_tokens:
                raise ApiError(404, "RESOURCE_NOT_FOUND", "Unknown event token")
            event = _required_str(params, "event")
            if not _EVENT_NAME.match(event):
                raise field_invalid("event", "Event names allow letters, '_', '.' and spaces")
            person = params.get("user")
            if not isinstance(person, dict):
                raise field_required("user")
            email, phone = _optional_str(person, "email"), _optional_str(person, "phone")
            if email is None and phone is None:
                raise field_required("user.email")
            identity = (email and self.find_identity("email", email)) or (
                phone and self.find_identity("phone", phone)
            )
            if identity:
                user_id = identity.user_id
            else:
                new_user: Json = {
                    "full_name": person.get("full_name") or email or phone,
                    "role_id": CUSTOMER_ROLE_ID,
                }
                new_user.update({k: v for k, v in (("email", email), ("phone", phone)) if v is not None})
                user_id = self.create_user(new_user).id
            properties = params.get("properties") or {}
            if not isinstance(properties, dict):
                raise field_invalid("properties", "properties must be an object")
            recorded = TimelineEvent(
                self._new_id("event"),
                user_id,
                event,
                dict(properties),
                _optional_str(params, "triggered_at"),
                self.clock(),
            )
            self.timeline.append(recorded)
            return recorded

    # -- tags -----------------------------------------------------------------------------
    def tags_of(self, user_id: int) -> list[str]:
        self.user(user_id)
        return list(self.user_tags.get(user_id, []))

    def change_tags(self, user_id: int, mode: str, tags: list[str]) -> list[str]:
        """mode: add (POST), replace (PUT) or remove (DELETE)."""
        with self.lock:
            user = self.user(user_id)
            current = self.user_tags.get(user_id, [])
            if mode == "add":
                updated = current + [t for t in dict.fromkeys(tags) if t not in current]
            elif mode == "replace":
                updated = list(dict.fromkeys(tags))
            else:
                updated = [t for t in current if t not in tags]
            for name in updated:
                self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
            self.user_tags[user_id] = updated
            if updated != current:
                now = self.clock()
                self._touch_user(user, now)
                self._emit("tags.updated", user_id, user_id, now, {"tags": list(updated)})
            return updated

    # -- cases ----------------------------------------------------------------------------
    def case(self, case_id: int) -> Case:
        found = self.cases.get(case_id)
        if found is None:
            raise not_found()
        return found

    def list_cases(self, *, requester_id: int | None, since: float | None) -> list[Case]:
        with self.lock:
            found = [c for c in self.cases.values() if requester_id is None or c.requester_id == requester_id]
            if since is None:
                return sorted(found, key=lambda c: c.id)
            return sorted(
                (c for c in found if int(c.updated_at) >= int(since)), key=lambda c: (c.updated_at, c.id)
            )

    def _agent_param(self, params: Json) -> int | None:
        agent_id = _optional_int(params, "assigned_agent_id")
        if agent_id is not None and not self.is_agent(agent_id):
            raise field_invalid("assigned_agent_id", "The user is not an agent")
        return agent_id

    def _status_param(self, params: Json) -> int | None:
        status_id = _optional_int(params, "status_id")
        if status_id is not None and status_id not in CASE_STATUSES:
            raise field_invalid("status_id", "Unknown case status")
        return status_id

    def create_case(self, params: Json, creator_id: int | None) -> Case:
        with self.lock:
            subject = _required_str(params, "subject")
            requester_id = _required_int(params, "requester_id")
            if requester_id not in self.users:
                raise field_invalid("requester_id", "Unknown user")
            contents = _required_str(params, "contents")
            channel = (_optional_str(params, "channel") or "MAIL").upper()
            if channel not in CHANNELS:
                raise field_invalid("channel", "Unknown channel")
            status_id = self._status_param(params) or NEW_STATUS_ID
            agent_id = self._agent_param(params)
            custom_fields = {k: v for k, v in _custom_fields(params).items() if v is not None}
            now = self.clock()
            case = Case(
                self._new_id("case"),
                subject,
                requester_id,
                creator_id,
                channel,
                contents,
                status_id,
                now,
                now,
                assigned_agent_id=agent_id,
                custom_fields=custom_fields,
                tags=tag_list(params.get("tags", "")),
            )
            self.cases[case.id] = case
            self._emit("case.created", case.id, requester_id, now, self.case_json(case))
            return case

    def update_case(self, case_id: int, params: Json) -> Case:
        with self.lock:
            case = self.case(case_id)
            if "subject" in params:
                case.subject = _required_str(params, "subject")
            if "status_id" in params:
                case.status_id = self._status_param(params) or case.status_id
            if "assigned_agent_id" in params:
                case.assigned_agent_id = self._agent_param(params)
            if "tags" in params:
                case.tags = tag_list(params["tags"])
            for key, value in _custom_fields(params).items():
                if value is None:
                    case.custom_fields.pop(key, None)
                else:
                    case.custom_fields[key] = value
            now = self.clock()
            case.updated_at = now
            self._emit("case.updated", case.id, case.requester_id, now, self.case_json(case))
            return case

    def delete_case(self, case_id: int) -> None:
        with self.lock:
            case = self.case(case_id)
            data = self.case_json(case)
            del self.cases[case_id]
            self._emit("case.deleted", case_id, case.requester_id, self.clock(), data)

    # -- serialisation ----------------------------------------------------------------------
    def _url(self, path: str, base_url: str | None) -> str:
        return f"{base_url or self.base_url}/{path}"

    def user_json(self, user: User, base_url: str | None = None) -> Json:
        return {
            "id": user.id,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kayako-sandbox-user-{user.id}")),
            "full_name": user.full_name,
            "legacy_id": None,
            "designation": user.designation,
            "is_enabled": user.is_enabled,
            "role": ref(user.role_id, "role"),
            "organization": None,
            "teams": [],
            "emails": [ref(i.id, "identity_email") for i in self.identities_of(user.id, "email")],
            "phones": [ref(i.id, "identity_phone") for i in self.identities_of(user.id, "phone")],
            "custom_fields": dict(user.custom_fields),
            "pinned_notes_count": sum(1 for n in self.notes.values() if n.user_id == user.id and n.is_pinned),
            "created_at": iso(user.created_at),
            "updated_at": iso(user.updated_at),
            "last_active_at": iso(user.last_active_at),
            "resource_type": "user",
            "resource_url": self._url(f"users/{user.id}", base_url),
        }

    def identity_json(self, identity: Identity, base_url: str | None = None) -> Json:
        value_key = "email" if identity.kind == "email" else "number"
        return {
            "id": identity.id,
            "user": ref(identity.user_id, "user"),
            value_key: identity.value,
            "is_primary": identity.is_primary,
            "is_validated": identity.is_validated,
            "is_notification_enabled": identity.is_notification_enabled,
            "created_at": iso(identity.created_at),
            "updated_at": iso(identity.updated_at),
            "resource_type": f"identity_{identity.kind}",
            "resource_url": self._url(f"identities/{identity.kind}s/{identity.id}", base_url),
        }

    def note_json(self, note: Note, base_url: str | None = None) -> Json:
        return {
            "id": note.id,
            "body_text": note.body_text,
            "body_html": None,
            "is_pinned": note.is_pinned,
            "pinned_by": ref(note.creator_id, "user") if note.is_pinned else None,
            "user": ref(note.user_id, "user"),
            "creator": ref(note.creator_id, "user"),
            "attachments": [],
            "download_all": None,
            "created_at": iso(note.created_at),
            "updated_at": iso(note.updated_at),
            "resource_type": "note",
            "resource_url": self._url(f"users/{note.user_id}/notes/{note.id}", base_url),
        }

    def case_json(self, case: Case, base_url: str | None = None, *, with_tags: bool = False) -> Json:
        data: Json = {
            "id": case.id,
            "subject": case.subject,
            "source_channel": case.channel,
            "requester": ref(case.requester_id, "user"),
            "creator": ref(case.creator_id, "user"),
            "assignee": ref(case.assigned_agent_id, "user"),
            "assigned_agent": ref(case.assigned_agent_id, "user"),
            "assigned_team": None,
            "status": ref(case.status_id, "case_status"),
            "state": "ACTIVE",
            "custom_fields": dict(case.custom_fields),
            "has_notes": False,
            "created_at": iso(case.created_at),
            "updated_at": iso(case.updated_at),
            "resource_type": "case",
            "resource_url": self._url(f"cases/{case.id}", base_url),
        }
        if with_tags:
            data["tags"] = [{"id": self.tag_ids.get(t), "name": t, "resource_type": "tag"} for t in case.tags]
        return data

    def tag_json(self, name: str, base_url: str | None = None) -> Json:
        tag_id = self.tag_ids[name]
        return {
            "id": tag_id,
            "name": name,
            "resource_type": "tag",
            "resource_url": self._url(f"tags/{tag_id}", base_url),
        }

    def resolve(self, resource_type: str, resource_id: int, base_url: str | None) -> Json | None:
        """The full resource behind a nested reference, for `include=`."""
        if resource_type == "user" and resource_id in self.users:
            return self.user_json(self.users[resource_id], base_url)
        if resource_type in ("identity_email", "identity_phone"):
            kind = resource_type.removeprefix("identity_")
            try:
                return self.identity_json(self.identity(kind, resource_id), base_url)
            except ApiError:
                return None
        if resource_type == "role" and resource_id in ROLES:
            title, role_type = ROLES[resource_id]
            return {"id": resource_id, "title": title, "type": role_type, "resource_type": "role"}
        if resource_type == "case_status" and resource_id in CASE_STATUSES:
            label, status_type = CASE_STATUSES[resource_id]
            return {"id": resource_id, "label": label, "type": status_type, "resource_type": "case_status"}
        return None


# -- parameter parsing: values arrive as JSON types or as form strings ------------------------
def _optional_str(params: Json, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise field_invalid(name, "The value of the field must be a string")
    return str(value)


def _unindex[K](index: dict[K, dict[int, Identity]], key: K, identity_id: int) -> None:
    del index[key][identity_id]
    if not index[key]:
        del index[key]


def _required_str(params: Json, name: str) -> str:
    value = _optional_str(params, name)
    if value is None or not value.strip():
        raise field_required(name)
    return value


def _optional_int(params: Json, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise field_invalid(name, "The value of the field must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise field_invalid(name, "The value of the field must be an integer") from None


def _required_int(params: Json, name: str) -> int:
    value = _optional_int(params, name)
    if value is None:
        raise field_required(name)
    return value


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true"):
        return True
    if str(value).lower() in ("0", "false", ""):
        return False
    raise field_invalid(name, "The value of the field must be a boolean")


def _custom_fields(params: Json) -> dict[str, str | None]:
    raw = params.get("custom_fields") or {}
    if not isinstance(raw, dict):
        raise field_invalid("custom_fields", "custom_fields must be an object of field key to value")
    return {str(k): None if v is None or v == "" else str(v) for k, v in raw.items()}


def tag_list(value: Any) -> list[str]:
    """Tags from a comma-separated string (or a JSON list), blanks dropped, order kept."""
    items: Iterable[Any] = value if isinstance(value, list) else str(value).split(",")
    return list(dict.fromkeys(s for s in (str(item).strip() for item in items) if s))
