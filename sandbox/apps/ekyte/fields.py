"""Reading eKyte's PascalCase request bodies: typed fields, a model error for a wrong JSON type.

A missing or empty field is None (the controller then answers its own `{id, text}` 400); a value
of the wrong JSON type is what ASP.NET's model binding refuses before the controller runs: a 422
`{"errors": {"<Field>": [...]}}` (target-apps.md §2.1: "422 (model validation)").
"""

from datetime import UTC, datetime
from typing import Any

from sandbox.apps.ekyte.errors import EkyteError, Json


class ModelError(EkyteError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(422, 0, message)
        self.name = name

    def body(self) -> Json:
        return {"errors": {self.name: [self.text]}}


def text(body: Json, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ModelError(name, f"The JSON value could not be converted to System.String. Path: $.{name}")
    return value.strip() or None


def integer(body: Json, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelError(name, f"The JSON value could not be converted to System.Int64. Path: $.{name}")
    return value


def boolean(body: Json, name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ModelError(name, f"The JSON value could not be converted to System.Boolean. Path: $.{name}")
    return value


def tag_ids(body: Json, name: str = "Tags") -> list[str]:
    """`Tags: [{"Id": "<tagId>"}]`."""
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(t, dict) and "Id" in t for t in value):
        raise ModelError(name, f"The JSON value could not be converted to List<TagRequest>. Path: $.{name}")
    return [str(t["Id"]) for t in value]


def instant(raw: Any) -> float | None:
    """An ISO 8601 date or date-time (no offset: UTC) as epoch seconds; None when unreadable."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def date(body: Json, name: str, *, code: int = 65) -> float | None:
    """A date field: None when absent, a 400 in eKyte's words when it is not a date."""
    raw = body.get(name)
    if raw is None or raw == "":
        return None
    parsed = instant(raw)
    if parsed is None:
        raise EkyteError(400, code, f"A data {name} é inválida. Utilize o formato 'YYYY-MM-DD'")
    return parsed
