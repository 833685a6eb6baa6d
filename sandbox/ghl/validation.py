"""Request-body validation the way GHL's NestJS ValidationPipe does it.

Each DTO lists the properties of the matching request schema in the official OpenAPI file
(contacts.json); anything else is rejected with `property X should not exist` (whitelist +
forbidNonWhitelisted), and type/required errors use class-validator's wording. A test checks
these property lists against the spec so they cannot drift.
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from sandbox.ghl.errors import unprocessable
from sandbox.ghl.state import iso_ms, parse_iso_ms

Check = Callable[[str, Any], list[str]]


def _string(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, str) else [f"{name} must be a string"]


def _boolean(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, bool) else [f"{name} must be a boolean value"]


def _is_number(value: Any) -> bool:
    """class-validator's IsNumber: a finite number (JSON's 1e400 parses to Infinity), not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(name: str, value: Any) -> list[str]:
    return [] if _is_number(value) else [f"{name} must be a number conforming to the specified constraints"]


def _array(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, list) else [f"{name} must be an array"]


def _string_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"{name} must be an array"]
    if not all(isinstance(item, str) for item in value):
        return [f"each value in {name} must be a string"]
    return []


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(name: str, value: Any) -> list[str]:
    if not isinstance(value, str):
        return [f"{name} must be a string"]
    return [] if EMAIL_RE.match(value.strip()) else [f"{name} must be an email"]


def _iso_date(name: str, value: Any) -> list[str]:
    if isinstance(value, str) and parse_iso_ms(value) is not None:
        return []
    return [f"{name} must be a valid ISO 8601 date string"]


def _date_of_birth(name: str, value: Any) -> list[str]:
    if isinstance(value, str) and normalize_date_of_birth(value) is not None:
        return []
    return [f"{name} must be a valid date"]


@dataclass(frozen=True)
class Rule:
    check: Check
    nullable: bool = False
    required: bool = False


def _s(nullable: bool = False, required: bool = False) -> Rule:
    return Rule(_string, nullable, required)


@dataclass(frozen=True)
class Dto:
    name: str
    rules: Mapping[str, Rule]

    def messages(self, body: Mapping[str, Any]) -> list[str]:
        """Every problem of `body`, whitelist violations first, in class-validator's wording."""
        messages = [f"property {key} should not exist" for key in body if key not in self.rules]
        for name, rule in self.rules.items():
            value = body.get(name)
            if value is None:
                # A required nullable property must be sent, but may be null.
                if rule.required and not (rule.nullable and name in body):
                    messages.append(f"{name} should not be empty")
                    messages += rule.check(name, None)
                elif name in body and not rule.nullable:
                    messages += rule.check(name, None)
                continue
            messages += rule.check(name, value)
        return messages

    def validate(self, body: Mapping[str, Any]) -> None:
        """Raise 422 with every problem found."""
        messages = self.messages(body)
        if messages:
            raise unprocessable(messages)


def _one_of(*allowed: str) -> Check:
    def check(name: str, value: Any) -> list[str]:
        if isinstance(value, str) and value in allowed:
            return []
        return [f"{name} must be one of the following values: {', '.join(allowed)}"]

    return check


def _nested(schema: Dto) -> Check:
    """@ValidateNested: a child object checked by its own DTO, its messages prefixed with the
    property path as NestJS's ValidationPipe flattens them (`dndSettings.FB.status must be ...`);
    a value that is no object gets class-validator's nested message (seen in GHL 422s)."""

    def check(name: str, value: Any) -> list[str]:
        if not isinstance(value, dict):
            return [f"nested property {name} must be either object or array"]
        return [f"{name}.{message}" for message in schema.messages(value)]

    return check


DND_SETTING = Dto(
    "DndSettingSchema",
    {
        "status": Rule(_one_of("active", "inactive", "permanent"), required=True),
        "message": _s(),
        "code": _s(),
    },
)
DND_CHANNELS = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
DND_SETTINGS = Dto("DndSettingsSchema", {channel: Rule(_nested(DND_SETTING)) for channel in DND_CHANNELS})
INBOUND_DND_SETTING = Dto(
    "InboundDndSettingSchema", {"status": Rule(_one_of("active", "inactive"), required=True), "message": _s()}
)
INBOUND_DND_SETTINGS = Dto("InboundDndSettingsSchema", {"all": Rule(_nested(INBOUND_DND_SETTING))})


def _field_value(name: str, value: Any) -> list[str]:
    """The anyOf of the spec's custom-field write shapes: TEXT/SINGLE_OPTIONS/RADIO a string,
    NUMERICAL/MONETORY a number, CHECKBOX/MULTIPLE_OPTIONS strings, FILE_UPLOAD an object. The
    wording is the sandbox's own: GHL's message for this is not documented (UNCONFIRMED)."""
    strings = isinstance(value, list) and all(isinstance(item, str) for item in value)
    if isinstance(value, str | dict) or _is_number(value) or strings:
        return []
    return [f"{name} must be a string, a number, an array of strings or an object"]


CUSTOM_FIELD = Dto(
    "customFieldsInputStringSchema",
    {"id": _s(), "key": _s(), "field_value": Rule(_field_value, nullable=True)},
)


def _custom_fields(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"{name} must be an array"]
    if not all(isinstance(item, dict) for item in value):
        return [f"each value in nested property {name} must be either object or array"]
    errors = []
    for index, item in enumerate(value):
        errors += [f"{name}.{index}.{message}" for message in CUSTOM_FIELD.messages(item)]
        named_by = item.get("id", item.get("key"))
        if not (isinstance(named_by, str) and named_by.strip()):
            # "Pass either `id` or `key` of custom field" (customFieldsInputStringSchema)
            errors.append(f"{name}.{index}.id should not be empty")
    return errors


_CONTACT_COMMON: dict[str, Rule] = {
    "firstName": _s(nullable=True),
    "lastName": _s(nullable=True),
    "name": _s(nullable=True),
    "email": Rule(_email, nullable=True),
    # A string here; whether it is a number is asked in the location's country (crm.py).
    "phone": _s(nullable=True),
    "address1": _s(nullable=True),
    "city": _s(nullable=True),
    "state": _s(nullable=True),
    "postalCode": _s(),
    "website": _s(nullable=True),
    "timezone": _s(nullable=True),
    "dnd": Rule(_boolean),
    "dndSettings": Rule(_nested(DND_SETTINGS)),
    "inboundDndSettings": Rule(_nested(INBOUND_DND_SETTINGS)),
    "tags": Rule(_string_list),
    "customFields": Rule(_custom_fields),
    "source": _s(),
    "dateOfBirth": Rule(_date_of_birth, nullable=True),
    "country": _s(),
    "assignedTo": _s(),
}

CREATE_CONTACT = Dto(
    "CreateContactDto",
    {**_CONTACT_COMMON, "locationId": _s(required=True), "gender": _s(), "companyName": _s(nullable=True)},
)
# UpdateContactDto has no locationId, gender or companyName; source and assignedTo may be null.
UPDATE_CONTACT = Dto(
    "UpdateContactDto",
    {**_CONTACT_COMMON, "source": _s(nullable=True), "assignedTo": _s(nullable=True)},
)
UPSERT_CONTACT = Dto(
    "UpsertContactDto",
    {**CREATE_CONTACT.rules, "createNewIfDuplicateAllowed": Rule(_boolean)},
)
_TASK = {
    "title": _s(),
    "body": _s(),
    "dueDate": Rule(_iso_date),
    "completed": Rule(_boolean),
    "assignedTo": _s(),
}
CREATE_TASK = Dto(
    "CreateTaskParams",
    {
        **_TASK,
        "title": _s(required=True),
        "dueDate": Rule(_iso_date, required=True),
        "completed": Rule(_boolean, required=True),
    },
)
UPDATE_TASK = Dto("UpdateTaskBody", _TASK)
UPDATE_TASK_STATUS = Dto("UpdateTaskStatusParams", {"completed": Rule(_boolean, required=True)})
_NOTE = {"userId": _s(), "body": _s(), "title": _s(), "color": _s(), "pinned": Rule(_boolean)}
CREATE_NOTE = Dto("NotesDTO", {**_NOTE, "body": _s(required=True)})
UPDATE_NOTE = Dto("UpdateNoteDTO", _NOTE)
TAGS = Dto("TagsDTO", {"tags": Rule(_string_list, required=True)})
# The spec leaves SearchBodyV2DTO empty; these are the fields GHL's search documentation lists.
SEARCH = Dto(
    "SearchBodyV2DTO",
    {
        "locationId": _s(required=True),
        "pageLimit": Rule(_number, required=True),
        "page": Rule(_number),
        "searchAfter": Rule(_array),
        "filters": Rule(_array),
        "sort": Rule(_array),
        "query": _s(),
    },
)
# locations.json: the location-wide task search.
TASK_SEARCH = Dto(
    "TaskSearchParamsDto",
    {
        "contactId": Rule(_string_list),
        "completed": Rule(_boolean),
        "assignedTo": Rule(_string_list),
        "query": _s(),
        "limit": Rule(_number),
        "skip": Rule(_number),
        "businessId": _s(),
    },
)
BULK_BUSINESS = Dto(
    "ContactsBusinessUpdate",
    {
        "locationId": _s(required=True),
        "ids": Rule(_string_list, required=True),
        "businessId": _s(nullable=True, required=True),
    },
)

ALL_DTOS = (
    DND_SETTING,
    DND_SETTINGS,
    INBOUND_DND_SETTING,
    INBOUND_DND_SETTINGS,
    CUSTOM_FIELD,
    CREATE_CONTACT,
    UPDATE_CONTACT,
    UPSERT_CONTACT,
    CREATE_TASK,
    UPDATE_TASK,
    UPDATE_TASK_STATUS,
    CREATE_NOTE,
    UPDATE_NOTE,
    TAGS,
    SEARCH,
    BULK_BUSINESS,
    TASK_SEARCH,
)

INVALID_PHONE = "phone must be a valid phone number"


def normalize_phone(raw: str, region: str) -> str | None:
    """E.164 (`+447911123456`) as libphonenumber reads `raw`, national numbers in `region` (the
    location's country), or None when it is no number of a possible length there.

    How GHL parses phones is not documented (UNCONFIRMED): its UI and API store E.164, and a
    national number takes the sub-account's country, which is what this does. Possible length is
    asked rather than an allocated range so the reserved 555 numbers of tests and demos pass; the
    extension of `+1 415 555 2671 ext. 42` is dropped (E.164 has none).
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_DOB_FORMATS = ("%Y-%m-%d", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%Y", "%Y.%m.%d", "%m.%d.%Y")


def normalize_date_of_birth(raw: str) -> str | None:
    """GHL accepts YYYY-MM-DD, MM/DD/YYYY and other separators; it answers midnight UTC in ISO."""
    for fmt in _DOB_FORMATS:
        try:
            day = datetime.strptime(raw.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return iso_ms(round(day.timestamp() * 1000))
    return None


def normalize_iso(raw: str) -> str:
    """An accepted ISO 8601 string in GHL's own format (validated before this is called)."""
    epoch_ms = parse_iso_ms(raw)
    if epoch_ms is None:
        raise ValueError(f"not an ISO 8601 date: {raw!r}")
    return iso_ms(epoch_ms)
