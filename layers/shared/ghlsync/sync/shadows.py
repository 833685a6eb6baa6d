"""Shadows and echo suppression (DESIGN §4 rule 2).

A link keeps, per side, the canonical content (and its hash) of the record as last synced. An
inbound change whose content hashes to the shadow is our own write coming back (or a change that
touches nothing we sync): the engine drops it and counts `echo_suppressed`.

Records are normalised before hashing so both sides agree on what "equal" means: tags trimmed,
one spelling per tag (each side keeps its own; the contact's content hash folds case, so a side
that stores `Probe-Mixed` as `probe-mixed` still echoes), datetimes in UTC at millisecond
precision (GHL's), phones in E.164 (`07911 123456` from a GB connection is GHL's `+447911123456`).
"""

from datetime import UTC, datetime
from typing import Any

from ghlsync.mapping.canonical import Canonical, CanonicalContact
from ghlsync.mapping.phones import normalize_phone
from ghlsync.store.links import Shadow
from ghlsync.sync.conflicts import flatten, unflatten_into
from ghlsync.sync.tags import normalize_tags


def _utc_ms(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=aware.microsecond // 1000 * 1000)


def normalize[C: Canonical](record: C, *, default_country: str | None = None) -> C:
    """`record` as both sides compare it; a contact's phone in E.164, national numbers read in
    `default_country` (a phone that cannot be placed is kept as written: it is still data)."""
    updates: dict[str, Any] = {}
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, datetime):
            updates[name] = _utc_ms(value)
    if isinstance(record, CanonicalContact):
        updates["tags"] = normalize_tags(record.tags)
        updates["phone"] = normalize_phone(record.phone, default_country) or record.phone
    return record.model_copy(update=updates)


def is_echo(record: Canonical, shadow: Shadow) -> bool:
    return shadow.content_hash is not None and record.content_hash() == shadow.content_hash


def is_stale(occurred_at: datetime | None, shadow: Shadow) -> bool:
    """The event predates what the shadow already reflects for this side (DESIGN §4 rule 5)."""
    if occurred_at is None or shadow.source_time is None:
        return False
    return _utc_ms(occurred_at) < _utc_ms(shadow.source_time)


def latest(*instants: datetime | None) -> datetime | None:
    known = [_utc_ms(i) for i in instants if i is not None]
    return max(known) if known else None


def rebuild[C: Canonical](template: C, fields: dict[str, Any]) -> C:
    """A record of `template`'s type and ids with content `fields` (a `fields()` dict)."""
    ids = {
        k: getattr(template, k) for k in ("id", "updated_at", "parent_id") if k in type(template).model_fields
    }
    return type(template).model_validate({**fields, **ids})


def fields_after_write(
    before: dict[str, Any], returned: dict[str, Any], written: frozenset[str]
) -> dict[str, Any]:
    """The shadow content of a side we just wrote.

    Written fields take the value the side returned (its own normalisation, or None when it cannot
    store the field, so that never reads as a later change). Fields we did not write keep the value
    read before the write: if the write response shows something else there, someone changed it
    concurrently, and keeping the old value makes that change visible to the next merge.
    """
    flat_before, flat_returned = flatten(before), flatten(returned)
    content = {k: flat_returned.get(k) for k in written}
    unwritten = {k: v for k, v in flat_before.items() if k not in written}
    merged = unflatten_into(
        {k: v for k, v in before.items() if k != "custom_fields"}, {**unwritten, **content}
    )
    if "custom_fields" in before or "custom_fields" in returned:
        merged.setdefault("custom_fields", {})
    return merged
