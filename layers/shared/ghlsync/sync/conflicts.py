"""Per-field three-way merge (DESIGN §4 rule 3).

Each side is compared with its own shadow (what that side looked like after the last sync), so a
field one side cannot store (an app without a company field) never looks like a deletion there.

- changed on one side only: that side wins;
- changed on both to different values: the connection policy decides. `ghl_wins` / `app_wins` pick
  a side; `lww` picks the later source timestamp when the two are further apart than the skew
  window, and otherwise records a conflict and keeps the hub (GHL) value;
- changed on neither but different: left alone (one side cannot hold the value as given);
- no shadow yet (first sync after an identity match): a value present on one side only fills the
  other side; values present on both and different are treated as changed on both.

Fields are flattened: custom fields compare one key at a time (`custom_fields.<key>`). Tags are not
merged here (`sync.tags`).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ghlsync.store.connections import ConflictPolicy
from ghlsync.store.links import Side

CUSTOM_PREFIX = "custom_fields."
NOT_MERGED = frozenset({"tags"})


def flatten(fields: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in fields.items():
        if key in NOT_MERGED:
            continue
        if key == "custom_fields" and isinstance(value, dict):
            flat.update({f"{CUSTOM_PREFIX}{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def unflatten_into(fields: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`fields` (a canonical `fields()` dict) with flattened `changes` applied."""
    result = {k: (dict(v) if isinstance(v, dict) else v) for k, v in fields.items()}
    for key, value in changes.items():
        if key.startswith(CUSTOM_PREFIX):
            result.setdefault("custom_fields", {})[key.removeprefix(CUSTOM_PREFIX)] = value
        else:
            result[key] = value
    return result


def top_level(keys: set[str] | frozenset[str]) -> frozenset[str]:
    return frozenset("custom_fields" if k.startswith(CUSTOM_PREFIX) else k for k in keys)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class SideView:
    current: dict[str, Any]  # flattened fields as read now
    base: dict[str, Any] | None  # flattened shadow fields; None: never synced
    time: datetime | None  # the side's own modification time

    def changed(self, key: str) -> bool:
        value = self.current.get(key)
        if self.base is None:
            return not _empty(value)
        return value != self.base.get(key)


@dataclass(frozen=True)
class FieldConflict:
    field: str
    ghl_time: datetime | None
    app_time: datetime | None
    # Both sides' values (flattened), for the recorded conflict an operator resolves.
    ghl_value: Any = None
    app_value: Any = None


@dataclass(frozen=True)
class MergePlan:
    to_ghl: dict[str, Any] = field(default_factory=dict)
    to_app: dict[str, Any] = field(default_factory=dict)
    conflicts: tuple[FieldConflict, ...] = ()

    def writes_for(self, side: Side) -> dict[str, Any]:
        return self.to_ghl if side is Side.GHL else self.to_app


def merge(
    ghl: SideView,
    app: SideView,
    *,
    policy: ConflictPolicy,
    skew: timedelta,
    exclude: frozenset[str] = frozenset(),
) -> MergePlan:
    to_ghl: dict[str, Any] = {}
    to_app: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for key in sorted((ghl.current.keys() | app.current.keys()) - exclude):
        ghl_value, app_value = ghl.current.get(key), app.current.get(key)
        if ghl_value == app_value or (_empty(ghl_value) and _empty(app_value)):
            continue
        ghl_changed, app_changed = ghl.changed(key), app.changed(key)
        if ghl_changed and not app_changed:
            to_app[key] = ghl_value
        elif app_changed and not ghl_changed:
            to_ghl[key] = app_value
        elif ghl_changed and app_changed:
            winner = _winner(policy, ghl.time, app.time, skew)
            if winner is None:
                conflicts.append(FieldConflict(key, ghl.time, app.time, ghl_value, app_value))
                winner = Side.GHL  # the hub keeps its value
            if winner is Side.GHL:
                to_app[key] = ghl_value
            else:
                to_ghl[key] = app_value
    return MergePlan(to_ghl=to_ghl, to_app=to_app, conflicts=tuple(conflicts))


def _winner(
    policy: ConflictPolicy, ghl_time: datetime | None, app_time: datetime | None, skew: timedelta
) -> Side | None:
    """Who wins a field changed on both sides; None is a conflict (concurrent or undatable edits)."""
    if policy is ConflictPolicy.GHL_WINS:
        return Side.GHL
    if policy is ConflictPolicy.APP_WINS:
        return Side.APP
    if ghl_time is None or app_time is None or abs(ghl_time - app_time) <= skew:
        return None
    return Side.GHL if ghl_time > app_time else Side.APP
