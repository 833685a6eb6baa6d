"""The kinds of record ghl-sync moves between sides."""

from enum import StrEnum


class EntityKind(StrEnum):
    CONTACT = "contact"
    TASK = "task"
    NOTE = "note"
    APPOINTMENT = "appointment"
