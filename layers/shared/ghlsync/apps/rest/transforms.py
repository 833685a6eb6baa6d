"""A spec's field map, both ways: an app record <-> the canonical entity's fields. Pure: no I/O.

Reading keeps what the app sent through each `from_app`/`both` field; writing builds the body from
each `to_app`/`both` field and every constant. An update sends only the fields whose canonical
source changed (a field the app did not hear of is not sent), and `None` as null: a cleared value.
A value the app sends that the spec cannot read (a date in another format, a status outside the
enum) is the app's fault: `UnreadableRecord`, a permanent error with the field's path in it.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from ghlsync.apps.rest.model import Direction, EntitySpec, FieldSpec, Transform
from ghlsync.core.errors import UnexpectedResponse
from ghlsync.http.errors import value_at
from ghlsync.mapping.names import join_name, split_full_name
from ghlsync.mapping.phones import normalize_phone

NAME_PARTS = frozenset({"first_name", "last_name"})
_CUSTOM = "custom_fields."


class UnreadableRecord(UnexpectedResponse):
    """The app answered with a record the spec cannot read."""


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Put `value` at a dotted path, making the objects on the way (`custom.tier`)."""
    *parents, last = path.split(".")
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[last] = value


def parse_time(value: Any, fmt: str, what: str) -> datetime | None:
    """A timestamp in the spec's format (iso, epoch, epoch_ms, strftime); naive times are UTC."""
    if value is None or value == "":
        return None
    try:
        if fmt in ("epoch", "epoch_ms"):
            seconds = float(value) / (1000 if fmt == "epoch_ms" else 1)
            return datetime.fromtimestamp(seconds, UTC)
        if not isinstance(value, str):
            raise TypeError("not a string")
        parsed = datetime.fromisoformat(value) if fmt == "iso" else datetime.strptime(value, fmt)
    except (TypeError, ValueError, OverflowError):
        raise UnreadableRecord(f"{what}: {str(value)[:40]!r} is not a {fmt} time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime, fmt: str) -> str | int:
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if fmt == "epoch":
        return int(utc.timestamp())
    if fmt == "epoch_ms":
        return int(utc.timestamp() * 1000)
    if fmt == "iso":
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return utc.strftime(fmt)


def _read(field: FieldSpec, raw: Any, default_country: str | None, what: str) -> Any:
    if raw is None or raw == "":
        return None  # an empty string is no value: apps differ in which of the two they send
    match field.transform:
        case Transform.LOWER:
            return str(raw).strip().lower() or None
        case Transform.E164:
            country = field.default_country or default_country
            return normalize_phone(str(raw), country) if country else normalize_phone(str(raw))
        case Transform.DATETIME:
            return parse_time(raw, field.format or "iso", what)
        case Transform.DATE:
            day = parse_time(raw, field.format or "%Y-%m-%d", what)
            return None if day is None else datetime.combine(day.date(), time(), UTC)
        case Transform.ENUM:
            assert field.values is not None
            if str(raw) not in field.values:
                raise UnreadableRecord(f"{what}: {str(raw)[:40]!r} is not one of {sorted(field.values)}")
            return field.values[str(raw)]
        case _:
            return raw if isinstance(raw, str | int | float | bool | list | dict) else str(raw)


def _write(field: FieldSpec, value: Any, default_country: str | None) -> Any:
    if value is None:
        return None
    match field.transform:
        case Transform.LOWER:
            return str(value).strip().lower()
        case Transform.E164:
            country = field.default_country or default_country
            return (normalize_phone(value, country) if country else normalize_phone(value)) or value
        case Transform.DATETIME:
            return format_time(value, field.format or "iso")
        case Transform.DATE:
            day = value.date() if isinstance(value, datetime) else value
            return day.strftime(field.format or "%Y-%m-%d") if isinstance(day, date) else value
        case Transform.ENUM:
            assert field.values is not None
            for app_value, canonical in field.values.items():
                if canonical == value:
                    return app_value
            return None
        case _:
            return value


def to_canonical(
    entity: EntitySpec, record: Mapping[str, Any], *, default_country: str | None, what: str
) -> dict[str, Any]:
    """The canonical fields the app's record holds (keys of the canonical model, custom fields
    under `custom_fields`)."""
    found: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for field in entity.fields:
        if field.canonical is None or field.direction is Direction.TO_APP:
            continue
        value = _read(field, value_at(record, field.app), default_country, f"{what}.{field.app}")
        if field.transform is Transform.FULL_NAME:
            first, last = split_full_name(str(value)) if value else (None, None)
            found.update(first_name=first, last_name=last)
        elif field.canonical.startswith(_CUSTOM):
            if value is not None:
                custom[field.canonical.removeprefix(_CUSTOM)] = value
        elif value is not None:
            found[field.canonical] = value
    if custom:
        found["custom_fields"] = custom
    return found


def _changed(field: FieldSpec, changed: frozenset[str] | None) -> bool:
    if changed is None or field.canonical is None:
        return True
    if field.transform is Transform.FULL_NAME:
        return bool(changed & NAME_PARTS)
    if field.canonical.startswith(_CUSTOM):
        return "custom_fields" in changed
    return field.canonical in changed


def to_app(
    entity: EntitySpec,
    canonical: Mapping[str, Any],
    *,
    default_country: str | None,
    changed: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The app body for `canonical` (a model dump): every written field on a create (`changed`
    None, empty values left out), only the changed ones on an update (a cleared one as null)."""
    body: dict[str, Any] = {}
    custom = canonical.get("custom_fields") or {}
    for field in entity.fields:
        if field.direction is Direction.FROM_APP:
            continue
        if field.constant is not None:
            if changed is None:
                set_path(body, field.app, field.constant)
            continue
        if not _changed(field, changed):
            continue
        assert field.canonical is not None
        if field.transform is Transform.FULL_NAME:
            value: Any = join_name(canonical.get("first_name"), canonical.get("last_name"))
        elif field.canonical.startswith(_CUSTOM):
            value = custom.get(field.canonical.removeprefix(_CUSTOM))
        else:
            value = canonical.get(field.canonical)
        written = _write(field, value, default_country)
        if written is None and changed is None:
            continue
        set_path(body, field.app, written)
    return body
