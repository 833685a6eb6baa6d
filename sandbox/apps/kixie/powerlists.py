"""PowerLists: the only contact store Kixie's API writes (target-apps.md §3.2, `updatepowerlist`).

A PowerList contact is keyed by (powerlistId, E.164 target): two numbers are two contacts, and a
number may sit in several lists. `duplicateHandling` says what an upsert of a held number does:
- `overwrite`: every field takes the body's value, and a field the body omits becomes null;
- `merge`: only the fields the body sends change (`extraData` keys merge one by one);
- `ignore`: nothing changes (inserts only).
Which mode Kixie applies when the body names none is not documented: `default_handling`
(overwrite, the mode of Kixie's own example) is a setting.
"""

from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from sandbox.apps.kixie.answers import Json, KixieError, missing
from sandbox.apps.kixie.phones import e164

DuplicateHandling = Literal["overwrite", "merge", "ignore"]
HANDLINGS: tuple[str, ...] = get_args(DuplicateHandling)
# The contact fields of `updatepowerlist` besides target and extraData (target-apps.md §3.2).
TEXT_FIELDS = (
    "firstName",
    "lastName",
    "title",
    "companyName",
    "email",
    "nextCallRefresher",
    "crmUserId",
    "crmContactId",
)
FIELD_MAX_CHARS = 10_000  # Kixie documents no limit; the fake refuses absurd values instead of storing them

Outcome = Literal["inserted", "overwritten", "merged", "ignored"]


@dataclass
class PowerListContact:
    powerlist_id: str
    target: str  # E.164
    fields: dict[str, str | None] = field(default_factory=dict)
    extra_data: dict[str, str] = field(default_factory=dict)

    def json(self) -> Json:
        return {
            "powerlistId": self.powerlist_id,
            "target": self.target,
            **{name: self.fields.get(name) for name in TEXT_FIELDS},
            "extraData": dict(self.extra_data),
        }


def _text(body: Json, name: str) -> str | None:
    value = body[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise KixieError(f"{name} must be a string")
    text = str(value)
    if len(text) > FIELD_MAX_CHARS:
        raise KixieError(f"{name} is longer than {FIELD_MAX_CHARS} characters")
    return text


def _extra_data(body: Json) -> dict[str, str]:
    value = body.get("extraData")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KixieError("extraData must be an object of field name -> string")
    return {str(k): cast(str, _text(value, k)) for k in value if value[k] is not None}


def target_of(body: Json) -> str:
    if body.get("target") in (None, ""):
        raise missing("target")
    number = e164(body["target"])
    if number is None:
        raise KixieError("target is not a phone number")
    return number


def powerlist_id_of(body: Json) -> str:
    raw = body.get("powerlistId")
    if raw in (None, "") or isinstance(raw, bool) or not isinstance(raw, str | int):
        raise missing("powerlistId")
    return str(raw)


class PowerLists:
    def __init__(self, default_handling: DuplicateHandling = "overwrite") -> None:
        self.default_handling: DuplicateHandling = default_handling
        self.names: dict[str, str] = {}  # powerlistId -> name: the lists that exist
        self.contacts: dict[tuple[str, str], PowerListContact] = {}

    def add_list(self, powerlist_id: str, name: str) -> None:
        self.names[str(powerlist_id)] = name

    def _existing_list(self, body: Json) -> str:
        powerlist_id = powerlist_id_of(body)
        if powerlist_id not in self.names:
            raise KixieError(f"PowerList {powerlist_id} does not exist")
        return powerlist_id

    def upsert(self, body: Json) -> tuple[PowerListContact, Outcome]:
        """`updatepowerlist`: everything is checked before anything is written."""
        powerlist_id, target = self._existing_list(body), target_of(body)
        handling = body.get("duplicateHandling", self.default_handling)
        if handling not in HANDLINGS:
            raise KixieError(f"duplicateHandling must be one of {', '.join(HANDLINGS)}")
        sent = {name: _text(body, name) for name in TEXT_FIELDS if name in body}
        extra = _extra_data(body)
        held = self.contacts.get((powerlist_id, target))
        if held is None:
            contact = PowerListContact(powerlist_id, target, sent, extra)
            self.contacts[(powerlist_id, target)] = contact
            return contact, "inserted"
        if handling == "ignore":
            return held, "ignored"
        if handling == "overwrite":
            held.fields, held.extra_data = sent, extra
            return held, "overwritten"
        held.fields.update(sent)
        if "extraData" in body:
            held.extra_data.update(extra)
        return held, "merged"

    def remove(self, body: Json) -> list[PowerListContact]:
        """`removefrompowerlist`: the number from one list, or with `removefromallpowerlists`
        from every list. Removing a number a list does not hold removes nothing (not an error)."""
        action = body.get("action", "removefrompowerlist")
        target = target_of(body)
        if action == "removefromallpowerlists":
            keys = [key for key in self.contacts if key[1] == target]
        elif action == "removefrompowerlist":
            keys = [(self._existing_list(body), target)]
        else:
            raise KixieError("action must be removefrompowerlist or removefromallpowerlists")
        return [self.contacts.pop(key) for key in keys if key in self.contacts]

    def contents(self, powerlist_id: str) -> list[Json]:
        return [c.json() for (list_id, _), c in self.contacts.items() if list_id == powerlist_id]

    def find(self, powerlist_id: str, number: Any) -> PowerListContact | None:
        target = e164(number)
        return None if target is None else self.contacts.get((str(powerlist_id), target))
