"""In-memory state of the sandbox: locations and their contacts, tasks, notes and appointments.

Plain dataclasses so tests can inspect them (`sb.store.location("loc").contacts[id].fields`).
Contact `fields` hold the writable API properties by their API names (firstName, email,
customFields as {id: value}, ...); ids, dates, tags and businessId live in their own attributes.
"""

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BASE62 = string.digits + string.ascii_letters


def iso_ms(epoch_ms: int) -> str:
    """GHL's timestamp format: ISO 8601, UTC, milliseconds, `Z` suffix."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_iso_ms(value: str) -> int | None:
    """Epoch milliseconds of an ISO 8601 string (naive means UTC), or None if it is not one."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


class IdFactory:
    """Deterministic ids: the same seed and the same sequence of calls give the same ids."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)

    def firestore_id(self) -> str:
        """20-char base62, like GHL's contact/task/note ids (`ocQHyuzHvysMo5N5VsXc`)."""
        return "".join(self._rng.choice(BASE62) for _ in range(20))

    def hex_id(self, length: int = 24) -> str:
        """Mongo-style hex ids (business ids, app ids)."""
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(length))

    def uuid(self) -> str:
        raw = "".join(self._rng.choice("0123456789abcdef") for _ in range(32))
        variant = self._rng.choice("89ab")
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{variant}{raw[17:20]}-{raw[20:]}"

    def secret(self, length: int = 40) -> str:
        return "".join(self._rng.choice(BASE62) for _ in range(length))


@dataclass
class Contact:
    id: str
    location_id: str
    date_added_ms: int
    date_updated_ms: int
    fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    business_id: str | None = None


@dataclass
class Task:
    id: str
    contact_id: str
    title: str
    due_date: str
    completed: bool
    date_added_ms: int
    body: str | None = None
    assigned_to: str | None = None


@dataclass
class Note:
    id: str
    contact_id: str
    body: str
    date_added_ms: int
    user_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool | None = None


@dataclass
class Appointment:
    id: str
    contact_id: str
    calendar_id: str
    start_time: str
    end_time: str
    date_added_ms: int
    date_updated_ms: int
    title: str | None = None
    appointment_status: str = "booked"
    assigned_user_id: str | None = None
    address: str | None = None
    notes: str | None = None
    group_id: str | None = None
    source: str | None = None
    users: list[str] = field(default_factory=list)


@dataclass
class CustomFieldDefinition:
    """A location's custom field (locations.json `CustomFieldSchema`); contacts store values by `id`."""

    id: str
    name: str
    field_key: str  # `contact.membership_status`
    data_type: str  # TEXT, NUMERICAL, SINGLE_OPTIONS, ...
    model: str = "contact"
    options: list[str] = field(default_factory=list)
    placeholder: str = ""
    position: int = 0


@dataclass
class Location:
    id: str
    company_id: str
    allow_duplicates: bool = False
    # What the agency's installed-locations listing shows (InstalledLocationSchema).
    name: str = ""
    address: str = ""
    # Business Profile country (ISO alpha-2): the numbering plan of phones written without a
    # country code.
    country: str = "US"
    # Contact Deduplication Preferences: the primary then secondary matching field.
    duplicate_fields: tuple[str, ...] = ("email", "phone")
    contacts: dict[str, Contact] = field(default_factory=dict)
    tasks: dict[str, dict[str, Task]] = field(default_factory=dict)  # by contact id
    notes: dict[str, dict[str, Note]] = field(default_factory=dict)  # by contact id
    appointments: dict[str, dict[str, Appointment]] = field(default_factory=dict)  # by contact id
    custom_fields: dict[str, CustomFieldDefinition] = field(default_factory=dict)  # by field id


class Store:
    """All locations; contact ids are unique across locations (so a 403 can be told from a 404)."""

    def __init__(self, *, unknown_custom_fields: str = "ignore") -> None:
        self.locations: dict[str, Location] = {}
        # What a contact write naming no defined custom field gets (sandbox/ghl/custom_fields.py).
        self.unknown_custom_fields = unknown_custom_fields

    def location(self, location_id: str) -> Location:
        try:
            return self.locations[location_id]
        except KeyError:
            raise KeyError(f"unknown location {location_id!r}") from None

    def find_contact(self, contact_id: str) -> Contact | None:
        for location in self.locations.values():
            contact = location.contacts.get(contact_id)
            if contact is not None:
                return contact
        return None

    def contacts(self, location_id: str) -> list[Contact]:
        return list(self.location(location_id).contacts.values())
