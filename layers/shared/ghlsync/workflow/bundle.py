"""The contact bundle: which parts a caller asked for, the JSON of each record, and its ETag.

Parts are `contact`, `tasks`, `notes`, `appointments`; `include=` names any of them (comma-separated
or repeated); no `include` means all. Each part is one GHL call, so a bundle of n parts costs n.
The ETag is a strong validator over the whole document (sorted-key JSON, SHA-256): the same
contact, tasks, notes and appointments give the same ETag, any change gives another one.
`If-None-Match` matches a listed ETag (weak `W/` prefixes compared as strong) or `*`.
"""

import hashlib
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from ghlsync.ghl.models import Appointment, Note
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.workflow.errors import BadRequest


class Part(StrEnum):
    CONTACT = "contact"
    TASKS = "tasks"
    NOTES = "notes"
    APPOINTMENTS = "appointments"


ALL_PARTS = frozenset(Part)


def parse_include(values: Iterable[str] | None) -> frozenset[Part]:
    """The parts named by the `include` query values; all parts when none is given."""
    names = [name.strip() for value in (values or ()) for name in value.split(",") if name.strip()]
    if not names:
        return ALL_PARTS
    unknown = sorted({name for name in names if name not in Part.__members__.values()})
    if unknown:
        raise BadRequest(
            f"include: unknown part {', '.join(unknown)!s}; choose from {', '.join(p.value for p in Part)}",
            field="include",
        )
    return frozenset(Part(name) for name in names)


def etag_of(document: dict[str, Any]) -> str:
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:40] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def _instant(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def contact_json(contact: CanonicalContact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "companyName": contact.company_name,
        "tags": sorted(contact.tags),
        "customFields": dict(sorted(contact.custom_fields.items())),
    }


def task_json(task: CanonicalTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "body": task.body,
        "dueDate": _instant(task.due_date),
        "completed": task.completed,
        "assignee": task.assignee,
    }


def note_json(note: CanonicalNote, raw: Note | None = None) -> dict[str, Any]:
    return {
        "id": note.id,
        "body": note.body,
        "createdAt": _instant(raw.date_added) if raw is not None else None,
    }


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "title": appointment.title,
        "calendarId": appointment.calendar_id,
        "status": appointment.appointment_status or appointment.status,
        "startTime": appointment.start_time,
        "endTime": appointment.end_time,
        "address": appointment.address,
    }
