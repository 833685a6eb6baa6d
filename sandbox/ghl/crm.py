"""What GHL does to its data: create/update/delete contacts, tags, tasks, notes, appointments,
the duplicate rule, and the webhook each change fires. Used by the REST routes and by the
`ui_*` helpers (a user editing in the GHL UI), so both emit the same events.

Callers validate bodies first (validation.py); this module normalises and applies them.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.fakes.clock import Clock
from sandbox.ghl import custom_fields, serialize
from sandbox.ghl.errors import ApiError, unprocessable
from sandbox.ghl.search_index import SearchIndex
from sandbox.ghl.state import (
    Appointment,
    Contact,
    IdFactory,
    Location,
    Note,
    Store,
    Task,
    iso_ms,
    parse_iso_ms,
)
from sandbox.ghl.validation import INVALID_PHONE, normalize_date_of_birth, normalize_iso, normalize_phone

DUPLICATE_MESSAGE = "This location does not allow duplicated contacts."
# Update bodies may change these; tags and locationId are handled on their own.
_TAG_FIELD = "tags"


class EventSink(Protocol):
    def __call__(self, location_id: str, event_type: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class UpdateRules:
    """What a contact write does to `dateUpdated` and to ContactUpdate. No GHL source states any of
    it (UNCONFIRMED; ghl-api.md only says a change fires ContactUpdate, and #77 that a timezone
    edit once did not), so each guess is a switch and the defaults are the sandbox's long-standing
    behaviour:

    - a PUT that changes a stored field moves `dateUpdated` and fires ContactUpdate (always);
    - `noop_put_moves_date_updated`: a PUT that changes nothing still moves `dateUpdated`;
    - `noop_put_emits_update`: a PUT with fields that change nothing still fires ContactUpdate;
    - `tags_move_date_updated`: adding or removing tags (tag routes or a PUT's `tags`) moves
      `dateUpdated`; off, a tag-only change is invisible to a `dateUpdated` sweep.
    """

    noop_put_moves_date_updated: bool = True
    noop_put_emits_update: bool = True
    tags_move_date_updated: bool = True


class NotFound(ApiError):
    """`<Kind> with id X not found`; the status (400 or 404) is configurable (unconfirmed in GHL)."""


def _email_key(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def merge_tags(current: Iterable[str], added: Iterable[str], *, lowercase: bool = False) -> list[str]:
    """`current` plus the new tags of `added`, trimmed; lower-cased first when `lowercase`."""
    merged = list(current)
    for tag in (t.strip() for t in added):
        if lowercase:
            tag = tag.lower()
        if tag and tag not in merged:
            merged.append(tag)
    return merged


class Crm:
    def __init__(
        self,
        store: Store,
        ids: IdFactory,
        clock: Clock,
        emit: EventSink,
        *,
        not_found_status: int,
        lowercase_tags: bool = False,
        updates: UpdateRules | None = None,
        index: SearchIndex | None = None,
    ) -> None:
        self.store = store
        self.ids = ids
        self.clock = clock
        self.emit = emit
        self.not_found_status = not_found_status
        # Whether GHL lower-cases the tags it stores is unconfirmed (ghl-api.md): with this on, every
        # stored tag is lower-cased and removals match case-insensitively, so the sync is tested
        # against both behaviours.
        self.lowercase_tags = lowercase_tags
        self.updates = updates or UpdateRules()
        # What search and the contact listing see (behind the writes below when it lags).
        self.index = index if index is not None else SearchIndex(store, self.now_ms)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- lookups ---

    def not_found(self, kind: str, entity_id: str) -> ApiError:
        return NotFound(self.not_found_status, f"{kind} with id {entity_id} not found")

    def contact(self, location_id: str, contact_id: str) -> Contact:
        contact = self.store.location(location_id).contacts.get(contact_id)
        if contact is None:
            raise self.not_found("Contact", contact_id)
        return contact

    def task(self, contact: Contact, task_id: str) -> Task:
        task = self.store.location(contact.location_id).tasks.get(contact.id, {}).get(task_id)
        if task is None:
            raise self.not_found("Task", task_id)
        return task

    def note(self, contact: Contact, note_id: str) -> Note:
        note = self.store.location(contact.location_id).notes.get(contact.id, {}).get(note_id)
        if note is None:
            raise self.not_found("Note", note_id)
        return note

    def find_duplicate(
        self, location: Location, email: Any, phone: Any, *, exclude: str | None = None
    ) -> tuple[Contact, str] | None:
        """The first contact matching the location's dedup fields, in their configured order."""
        wanted = {
            "email": _email_key(email),
            "phone": normalize_phone(phone, location.country) if isinstance(phone, str) else None,
        }
        for field_name in location.duplicate_fields:
            value = wanted.get(field_name)
            if value is None:
                continue
            for contact in location.contacts.values():
                if contact.id == exclude:
                    continue
                theirs = contact.fields.get(field_name)
                if (_email_key(theirs) if field_name == "email" else theirs) == value:
                    return contact, field_name
        return None

    def _reject_duplicate(self, location: Location, fields: dict[str, Any], exclude: str | None) -> None:
        if location.allow_duplicates:
            return
        match = self.find_duplicate(location, fields.get("email"), fields.get("phone"), exclude=exclude)
        if match is not None:
            existing, field_name = match
            meta = {
                "contactId": existing.id,
                "contactName": serialize.full_name(existing) or "",
                "matchingField": field_name,
            }
            raise ApiError(400, DUPLICATE_MESSAGE, meta=meta)

    # --- contacts ---

    def create_contact(
        self, location_id: str, body: dict[str, Any], *, enforce_duplicates: bool = True
    ) -> Contact:
        location = self.store.location(location_id)
        fields = _normalize_contact_fields(body, location, self.store.unknown_custom_fields)
        tags = merge_tags([], fields.pop(_TAG_FIELD, None) or [], lowercase=self.lowercase_tags)
        if enforce_duplicates:
            self._reject_duplicate(location, fields, exclude=None)
        now = self.now_ms()
        contact = Contact(self.ids.firestore_id(), location_id, now, now, tags=tags)
        _apply_fields(contact, fields)
        location.contacts[contact.id] = contact
        self.index.written(contact)
        self.emit(location_id, "ContactCreate", serialize.contact_event(contact))
        return contact

    def update_contact(
        self, contact: Contact, body: dict[str, Any], *, enforce_duplicates: bool = True
    ) -> Contact:
        """PUT semantics: given fields change, `tags` (if given) replaces every tag. Which changes
        move `dateUpdated` and fire ContactUpdate follows `self.updates` (UpdateRules)."""
        location = self.store.location(contact.location_id)
        fields = _normalize_contact_fields(body, location, self.store.unknown_custom_fields)
        new_tags = fields.pop(_TAG_FIELD, None)
        if enforce_duplicates:
            self._reject_duplicate(location, fields, exclude=contact.id)
        stored_before = dict(contact.fields)  # _apply_fields replaces values, never mutates them
        _apply_fields(contact, fields)
        replacing = None if new_tags is None else merge_tags([], new_tags, lowercase=self.lowercase_tags)
        tags_changed = replacing is not None and replacing != contact.tags
        if replacing is not None:
            contact.tags = replacing
        fields_changed = contact.fields != stored_before
        rules = self.updates
        if (
            fields_changed
            or (tags_changed and rules.tags_move_date_updated)
            or (not tags_changed and rules.noop_put_moves_date_updated)
        ):
            contact.date_updated_ms = self.now_ms()
        self.index.written(contact)
        if fields_changed or (fields and rules.noop_put_emits_update):
            self.emit(contact.location_id, "ContactUpdate", serialize.contact_event(contact))
        if (contact.fields.get("dnd"), contact.fields.get("dndSettings")) != (
            stored_before.get("dnd"),
            stored_before.get("dndSettings"),
        ):
            self.emit(contact.location_id, "ContactDndUpdate", serialize.contact_dnd_event(contact))
        if tags_changed:
            self.emit(contact.location_id, "ContactTagUpdate", serialize.contact_event(contact))
        return contact

    def upsert_contact(self, location_id: str, body: dict[str, Any]) -> tuple[Contact, bool]:
        """Match by the location's dedup fields in order; update the first match, else create."""
        location = self.store.location(location_id)
        body = dict(body)
        create_anyway = bool(body.pop("createNewIfDuplicateAllowed", False)) and location.allow_duplicates
        match = None if create_anyway else self.find_duplicate(location, body.get("email"), body.get("phone"))
        if match is None:
            return self.create_contact(location_id, body, enforce_duplicates=False), True
        existing, matched_on = match
        # GHL quirks reproduced: gender is silently dropped on existing contacts (issue #313), and a
        # secondary field that belongs to another contact is ignored instead of merged (issue #37).
        body.pop("gender", None)
        for other_field in ("email", "phone"):
            if other_field != matched_on and body.get(other_field) is not None:
                clash = self.find_duplicate(
                    location, *_only(other_field, body[other_field]), exclude=existing.id
                )
                if clash is not None:
                    body.pop(other_field)
        return self.update_contact(existing, body, enforce_duplicates=False), False

    def delete_contact(self, contact: Contact) -> None:
        location = self.store.location(contact.location_id)
        del location.contacts[contact.id]
        self.index.deleted(contact)
        location.tasks.pop(contact.id, None)
        location.notes.pop(contact.id, None)
        location.appointments.pop(contact.id, None)
        self.emit(contact.location_id, "ContactDelete", serialize.contact_event(contact))

    def add_tags(self, contact: Contact, tags: list[str]) -> list[str]:
        return self._set_tags(contact, merge_tags(contact.tags, tags, lowercase=self.lowercase_tags))

    def remove_tags(self, contact: Contact, tags: list[str]) -> list[str]:
        if self.lowercase_tags:
            removed = {tag.strip().lower() for tag in tags}
            kept = [tag for tag in contact.tags if tag.lower() not in removed]
        else:
            removed = {tag.strip() for tag in tags}
            kept = [tag for tag in contact.tags if tag not in removed]
        return self._set_tags(contact, kept)

    def _set_tags(self, contact: Contact, tags: list[str]) -> list[str]:
        if tags != contact.tags:
            contact.tags = tags
            if self.updates.tags_move_date_updated:
                contact.date_updated_ms = self.now_ms()
            self.index.written(contact)
            self.emit(contact.location_id, "ContactTagUpdate", serialize.contact_event(contact))
        return list(contact.tags)

    def set_business(self, contact: Contact, business_id: str | None) -> None:
        contact.business_id = business_id
        contact.date_updated_ms = self.now_ms()
        self.index.written(contact)
        self.emit(contact.location_id, "ContactUpdate", serialize.contact_event(contact))

    # --- tasks (GHL has no TaskUpdate webhook: only create, complete and delete fire) ---

    def create_task(self, contact: Contact, body: dict[str, Any]) -> Task:
        task = Task(
            id=self.ids.firestore_id(),
            contact_id=contact.id,
            title=body["title"],
            due_date=normalize_iso(body["dueDate"]),
            completed=bool(body["completed"]),
            date_added_ms=self.now_ms(),
            body=body.get("body"),
            assigned_to=body.get("assignedTo"),
        )
        self.store.location(contact.location_id).tasks.setdefault(contact.id, {})[task.id] = task
        self.emit(contact.location_id, "TaskCreate", serialize.task_event(task))
        if task.completed:
            self.emit(contact.location_id, "TaskComplete", serialize.task_event(task))
        return task

    def update_task(self, contact: Contact, task: Task, body: dict[str, Any]) -> Task:
        was_completed = task.completed
        if "title" in body:
            task.title = body["title"]
        if "body" in body:
            task.body = body["body"]
        if "dueDate" in body:
            task.due_date = normalize_iso(body["dueDate"])
        if "assignedTo" in body:
            task.assigned_to = body["assignedTo"]
        if "completed" in body:
            task.completed = bool(body["completed"])
        if task.completed and not was_completed:
            self.emit(contact.location_id, "TaskComplete", serialize.task_event(task))
        return task

    def delete_task(self, contact: Contact, task: Task) -> None:
        del self.store.location(contact.location_id).tasks[contact.id][task.id]
        self.emit(contact.location_id, "TaskDelete", serialize.task_event(task))

    # --- notes ---

    def create_note(self, contact: Contact, body: dict[str, Any]) -> Note:
        note = Note(
            id=self.ids.firestore_id(),
            contact_id=contact.id,
            body=body["body"],
            date_added_ms=self.now_ms(),
            user_id=body.get("userId"),
            title=body.get("title"),
            color=body.get("color"),
            pinned=body.get("pinned"),
        )
        self.store.location(contact.location_id).notes.setdefault(contact.id, {})[note.id] = note
        self.emit(contact.location_id, "NoteCreate", serialize.note_event(note))
        return note

    def update_note(self, contact: Contact, note: Note, body: dict[str, Any]) -> Note:
        for api_name, attribute in (
            ("body", "body"),
            ("userId", "user_id"),
            ("title", "title"),
            ("color", "color"),
            ("pinned", "pinned"),
        ):
            if api_name in body:
                setattr(note, attribute, body[api_name])
        self.emit(contact.location_id, "NoteUpdate", serialize.note_event(note))
        return note

    def delete_note(self, contact: Contact, note: Note) -> None:
        del self.store.location(contact.location_id).notes[contact.id][note.id]
        self.emit(contact.location_id, "NoteDelete", serialize.note_event(note))

    # --- appointments (created in the calendar UI; the contacts API only reads them) ---

    def create_appointment(self, contact: Contact, **fields: Any) -> Appointment:
        now = self.now_ms()
        start = fields.pop("start_time", None) or iso_ms(now + 86_400_000)
        end = fields.pop("end_time", None) or iso_ms((parse_iso_ms(normalize_iso(start)) or now) + 1_800_000)
        appointment = Appointment(
            id=self.ids.firestore_id(),
            contact_id=contact.id,
            calendar_id=fields.pop("calendar_id", None) or self.ids.firestore_id(),
            start_time=normalize_iso(start),
            end_time=normalize_iso(end),
            date_added_ms=now,
            date_updated_ms=now,
            **fields,
        )
        self.store.location(contact.location_id).appointments.setdefault(contact.id, {})[appointment.id] = (
            appointment
        )
        self.emit(contact.location_id, "AppointmentCreate", serialize.appointment_event(appointment))
        return appointment

    def update_appointment(self, contact: Contact, appointment_id: str, **fields: Any) -> Appointment:
        appointment = self._appointment(contact, appointment_id)
        for name, value in fields.items():
            if not hasattr(appointment, name) or name in {
                "id",
                "contact_id",
                "date_added_ms",
                "date_updated_ms",
            }:
                raise ValueError(f"unknown appointment field {name!r}")
            setattr(appointment, name, normalize_iso(value) if name in {"start_time", "end_time"} else value)
        appointment.date_updated_ms = self.now_ms()
        self.emit(contact.location_id, "AppointmentUpdate", serialize.appointment_event(appointment))
        return appointment

    def delete_appointment(self, contact: Contact, appointment_id: str) -> None:
        appointment = self._appointment(contact, appointment_id)
        del self.store.location(contact.location_id).appointments[contact.id][appointment_id]
        self.emit(contact.location_id, "AppointmentDelete", serialize.appointment_event(appointment))

    def _appointment(self, contact: Contact, appointment_id: str) -> Appointment:
        appointment = (
            self.store.location(contact.location_id).appointments.get(contact.id, {}).get(appointment_id)
        )
        if appointment is None:
            raise self.not_found("Appointment", appointment_id)
        return appointment


def _only(field_name: str, value: Any) -> tuple[Any, Any]:
    return (value, None) if field_name == "email" else (None, value)


_NORMALIZERS: dict[str, Callable[[str], str | None]] = {
    "dateOfBirth": normalize_date_of_birth,
    "email": lambda raw: raw.strip(),
}


def _normalize_contact_fields(
    body: dict[str, Any], location: Location, unknown_fields: str
) -> dict[str, Any]:
    """Body (already validated) -> stored values: E.164 phones (national numbers in the location's
    country; 422 when none can be read), ISO birthdays, trimmed emails, custom fields by their
    real id with values of their type (custom_fields.py)."""
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if name == "locationId":
            continue
        if name == "phone" and isinstance(value, str):
            value = normalize_phone(value, location.country)
            if value is None:
                raise unprocessable([INVALID_PHONE])
        elif name == "customFields" and isinstance(value, list):
            value = custom_fields.resolve_writes(location, value, unknown_fields)
        elif isinstance(value, str) and name in _NORMALIZERS:
            value = _NORMALIZERS[name](value)
        fields[name] = value
    return fields


def _apply_fields(contact: Contact, fields: dict[str, Any]) -> None:
    """None clears a field; customFields merge by id (an empty value removes that field)."""
    for name, value in fields.items():
        if name == "customFields":
            stored: dict[str, Any] = dict(contact.fields.get("customFields", {}))
            for item in value or []:
                field_id = item["id"]  # resolved by custom_fields.resolve_writes
                if item.get("field_value") in (None, "", []):
                    stored.pop(field_id, None)
                else:
                    stored[field_id] = item["field_value"]
            contact.fields["customFields"] = stored
        elif value is None:
            contact.fields.pop(name, None)
        else:
            contact.fields[name] = value
