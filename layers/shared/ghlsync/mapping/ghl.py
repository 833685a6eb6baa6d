"""GHL API v2 models <-> canonical entities.

- Custom fields: GHL keys them by field id; each connection maps the ids it syncs onto canonical
  keys (`GhlFieldMap.custom_fields`). Unmapped GHL fields are not synced; canonical keys without a
  GHL field are not written.
- Assignees: GHL task `assignedTo` is a GHL user id; `GhlFieldMap.users` maps it to the canonical
  assignee (usually an email). Unmapped users read as no assignee and are never written.
- Tags: read into the canonical set; written only on create. Updates never carry tags (a contact
  PUT replaces them all): the engine sends add/remove deltas instead.
- `companyName` cannot be changed by a contact PUT (UpdateContactDto lacks it; GHL answers 422), so
  it is written on create only.
- Address: `address1`, `city`, `state`, `postalCode` are the canonical postal address (no
  country, see `CanonicalContact`); a PUT changes them, a cleared one is sent as "".
- Clearing: a changed name or address field that became empty is sent as "" (GHL keeps a field that is absent
  from the body). Email and phone are never cleared through the API (GHL validates their format);
  such a change is simply not written.
- GHL tasks carry no modification time and notes only `dateAdded`, so their `updated_at` is unknown
  (None): when both sides edit the same task field, last-writer-wins cannot tell and the hub value
  is kept, recorded as a conflict.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ghlsync.ghl.models import (
    Contact,
    ContactCreate,
    ContactUpdate,
    CustomFieldWrite,
    Note,
    NoteCreate,
    NoteUpdate,
    Task,
    TaskCreate,
    TaskUpdate,
)
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask

CustomValue = str | int | float | list[str] | dict[str, Any]


@dataclass(frozen=True)
class GhlFieldMap:
    # GHL custom field id -> canonical custom-field key
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    # GHL user id -> canonical assignee
    users: Mapping[str, str] = field(default_factory=dict)

    def field_id(self, canonical_key: str) -> str | None:
        return next((fid for fid, key in self.custom_fields.items() if key == canonical_key), None)

    def user_id(self, assignee: str) -> str | None:
        return next((uid for uid, key in self.users.items() if key == assignee), None)


def _blank_to_none(value: str | None) -> str | None:
    return value if value and value.strip() else None


def contact_to_canonical(contact: Contact, fields: GhlFieldMap) -> CanonicalContact:
    custom = {
        fields.custom_fields[item.id]: item.value
        for item in contact.custom_fields
        if item.id in fields.custom_fields
    }
    return CanonicalContact(
        id=contact.id,
        updated_at=contact.date_updated or contact.date_added,
        first_name=_blank_to_none(contact.first_name),
        last_name=_blank_to_none(contact.last_name),
        email=_blank_to_none(contact.email),
        phone=_blank_to_none(contact.phone),
        company_name=_blank_to_none(contact.company_name),
        address_line1=_blank_to_none(contact.address1),
        city=_blank_to_none(contact.city),
        state=_blank_to_none(contact.state),
        postal_code=_blank_to_none(contact.postal_code),
        custom_fields=custom,
        tags=frozenset(contact.tags),
    )


def _custom_writes(values: Mapping[str, Any], fields: GhlFieldMap) -> list[CustomFieldWrite] | None:
    writes = []
    for key, value in sorted(values.items()):
        field_id = fields.field_id(key)
        if field_id is not None:
            writes.append(CustomFieldWrite(id=field_id, field_value=_custom_value(value)))
    return writes or None


def _custom_value(value: Any) -> CustomValue:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | dict):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [str(item) for item in value]
    return str(value)


def contact_create(contact: CanonicalContact, fields: GhlFieldMap) -> ContactCreate:
    return ContactCreate(
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        phone=contact.phone,
        company_name=contact.company_name,
        address1=contact.address_line1,
        city=contact.city,
        state=contact.state,
        postal_code=contact.postal_code,
        custom_fields=_custom_writes(contact.custom_fields, fields),
        tags=sorted(contact.tags) or None,
    )


# canonical field -> the ContactUpdate field a cleared value is sent to as "".
_CLEARABLE = {
    "first_name": "first_name",
    "last_name": "last_name",
    "address_line1": "address1",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
}


def contact_update(contact: CanonicalContact, changed: frozenset[str], fields: GhlFieldMap) -> ContactUpdate:
    """Only the changed fields GHL lets a PUT change; an empty update means nothing to send."""
    body: dict[str, Any] = {}
    for name, ghl_name in _CLEARABLE.items():
        if name in changed:
            body[ghl_name] = getattr(contact, name) or ""
    for name in ("email", "phone"):
        if name in changed and getattr(contact, name):
            body[name] = getattr(contact, name)
    if "custom_fields" in changed:
        body["custom_fields"] = _custom_writes(contact.custom_fields, fields)
    return ContactUpdate(**body)


def task_to_canonical(task: Task, fields: GhlFieldMap, contact_id: str) -> CanonicalTask:
    return CanonicalTask(
        id=task.id,
        parent_id=task.contact_id or contact_id,
        title=task.title or "",
        body=_blank_to_none(task.body),
        due_date=task.due_date,
        completed=task.completed,
        assignee=fields.users.get(task.assigned_to) if task.assigned_to else None,
    )


def task_create(task: CanonicalTask, fields: GhlFieldMap, *, default_due: datetime) -> TaskCreate:
    """GHL requires a due date; a task without one gets `default_due`."""
    return TaskCreate(
        title=task.title or "(untitled)",
        due_date=task.due_date or default_due,
        completed=task.completed,
        body=task.body,
        assigned_to=fields.user_id(task.assignee) if task.assignee else None,
    )


def task_update(task: CanonicalTask, changed: frozenset[str], fields: GhlFieldMap) -> TaskUpdate:
    body: dict[str, Any] = {}
    if "title" in changed and task.title:
        body["title"] = task.title
    if "body" in changed:
        body["body"] = task.body or ""
    if "due_date" in changed and task.due_date is not None:
        body["due_date"] = task.due_date
    if "completed" in changed:
        body["completed"] = task.completed
    if "assignee" in changed and task.assignee:
        user_id = fields.user_id(task.assignee)
        if user_id is not None:
            body["assigned_to"] = user_id
    return TaskUpdate(**body)


def note_to_canonical(note: Note, contact_id: str) -> CanonicalNote:
    return CanonicalNote(id=note.id, parent_id=note.contact_id or contact_id, body=note.body or "")


def note_create(note: CanonicalNote) -> NoteCreate:
    return NoteCreate(body=note.body or "(empty)")


def note_update(note: CanonicalNote) -> NoteUpdate:
    return NoteUpdate(body=note.body or "(empty)")
