"""The generic fake's records, shared by both API styles: contacts, their tasks and notes, tags.

Fields are neutral (`first_name`/`last_name`, `due_at` as unix seconds, `done`); a style turns
them into its own names and formats. Rules:
- ids are strings the fake makes (`con_…`, `tsk_…`, `not_…`), opaque to clients;
- an update sets the fields it names; custom fields are merged key by key (None removes one);
- every write (tags included) stamps `updated_at` with the fake's clock and tells the listeners
  one `Change` (`contact.updated`, …); deleting a contact deletes its tasks and notes too;
- listings are in ascending (`updated_at`, creation order): what paging and "changed since" need;
- an unknown id is a 404, a task or note under an unknown contact a 422.
"""

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from sandbox.fakes.clock import Clock

Json = dict[str, Any]
Kind = Literal["contact", "task", "note"]
KINDS: tuple[Kind, ...] = ("contact", "task", "note")
_ID_PREFIX = {"contact": "con", "task": "tsk", "note": "not"}


class ApiError(Exception):
    """An error answer; each style renders it in its own shape. `field`: the bad body field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def not_found(kind: str, record_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no {kind} {record_id}")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def invalid(field_name: str, message: str) -> ApiError:
    return ApiError(422, "invalid", f"{field_name}: {message}", field_name)


@dataclass
class Record:
    id: str
    seq: int  # creation order: ties in updated_at are listed in it
    created_at: float
    updated_at: float

    @property
    def order(self) -> tuple[float, int]:
        return (self.updated_at, self.seq)


@dataclass
class Contact(Record):
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    custom: Json = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass
class Task(Record):
    contact_id: str = ""
    title: str = ""
    body: str = ""
    due_at: float | None = None
    done: bool = False


@dataclass
class Note(Record):
    contact_id: str = ""
    body: str = ""


_TYPES: dict[Kind, type[Record]] = {"contact": Contact, "task": Task, "note": Note}
_WRITABLE: dict[Kind, frozenset[str]] = {
    kind: frozenset(f.name for f in fields(cls)) - {f.name for f in fields(Record)}
    for kind, cls in _TYPES.items()
}


@dataclass(frozen=True)
class Change:
    event: str  # "<kind>.created" | "<kind>.updated" | "<kind>.deleted"
    kind: Kind
    id: str
    contact_id: str | None  # the parent of a task or note
    at: float


class GenericStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.records: dict[Kind, dict[str, Record]] = {kind: {} for kind in KINDS}
        self.listeners: list[Callable[[Change], None]] = []
        self._serial = itertools.count(1)

    # -- reads ----------------------------------------------------------------------------
    def get(self, kind: Kind, record_id: str) -> Record:
        record = self.records[kind].get(record_id)
        if record is None:
            raise not_found(kind, record_id)
        return record

    def contact(self, contact_id: str) -> Contact:
        record = self.get("contact", contact_id)
        assert isinstance(record, Contact)
        return record

    def listing(
        self,
        kind: Kind,
        *,
        since: float | None = None,
        contact_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        company: str | None = None,
    ) -> list[Record]:
        """Records of `kind` in listing order: changed at or after `since`, under `contact_id`,
        with exactly this e-mail (any case), phone or company (a full pass's filter)."""
        if contact_id is not None:
            self.contact(contact_id)
        found: Iterable[Record] = self.records[kind].values()
        if since is not None:
            found = (r for r in found if r.updated_at >= since)
        if contact_id is not None:
            found = (r for r in found if getattr(r, "contact_id", None) == contact_id)
        if email is not None:
            found = (r for r in found if (getattr(r, "email", None) or "").lower() == email.lower())
        if phone is not None:
            found = (r for r in found if getattr(r, "phone", None) == phone)
        if company is not None:
            found = (r for r in found if getattr(r, "company", None) == company)
        return sorted(found, key=lambda r: r.order)

    # -- writes ---------------------------------------------------------------------------
    def create(self, kind: Kind, values: Json) -> Record:
        self._check_fields(kind, values)
        now = self.clock()
        serial = next(self._serial)
        record = _TYPES[kind](f"{_ID_PREFIX[kind]}_{serial:05d}", serial, now, now, **values)
        self.records[kind][record.id] = record
        self._tell("created", kind, record)
        return record

    def update(self, kind: Kind, record_id: str, values: Json) -> Record:
        record = self.get(kind, record_id)
        self._check_fields(kind, values)
        for name, value in values.items():
            if name == "custom" and isinstance(record, Contact):
                value = {k: v for k, v in {**record.custom, **value}.items() if v is not None}
            setattr(record, name, value)
        record.updated_at = self.clock()
        self._tell("updated", kind, record)
        return record

    def delete(self, kind: Kind, record_id: str) -> None:
        record = self.get(kind, record_id)
        if kind == "contact":
            for child_kind in ("task", "note"):
                for child in self.listing(child_kind, contact_id=record_id):
                    del self.records[child_kind][child.id]
        del self.records[kind][record_id]
        self._tell("deleted", kind, record)

    def change_tags(self, contact_id: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Contact:
        """Add and remove tags (each kept once, in its first spelling); a no-op is no write."""
        contact = self.contact(contact_id)
        removed = set(remove)
        tags = [t for t in dict.fromkeys([*contact.tags, *add]) if t not in removed]
        if tags != contact.tags:
            self.update("contact", contact_id, {"tags": tags})
        return contact

    def _check_fields(self, kind: Kind, values: Json) -> None:
        unknown = set(values) - _WRITABLE[kind]
        if unknown:
            raise ValueError(f"not {kind} fields: {', '.join(sorted(unknown))}")
        if "contact_id" in values and values["contact_id"] not in self.records["contact"]:
            raise invalid("contact_id", f"no contact {values['contact_id']}")

    def _tell(self, action: str, kind: Kind, record: Record) -> None:
        change = Change(
            f"{kind}.{action}", kind, record.id, getattr(record, "contact_id", None), self.clock()
        )
        for listener in self.listeners:
            listener(change)
