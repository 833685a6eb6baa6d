"""Merging a linked pair and the shadows it leaves (DESIGN §4 rules 2 and 3), for every entity.

- `plan_merge`: the per-field 3-way merge of the two sides against their shadows. A group of
  fields a side stores as one value (`Capabilities.coupled_fields`, Kayako's `full_name`) is merged
  as that one joined value, never part by part: the app's own split of `Mary Ann Smyth` (`Mary` /
  `Ann Smyth`) must not read as a changed last name. A joined value written back to a side is split
  keeping the parts that side holds where the value still starts with them (`mapping.names`).
- `shadow_as_read` / `shadow_after_write`: what a side's shadow becomes.
- `save_merged`: stores the merged link and turns the plan into the step's result.
"""

from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from ghlsync.mapping.canonical import Canonical
from ghlsync.mapping.names import split_full_name
from ghlsync.store.links import Link, LinkConflict, Shadow, Side
from ghlsync.sync import conflicts
from ghlsync.sync.context import StepResult, SyncRun
from ghlsync.sync.outcome import Decision
from ghlsync.sync.shadows import fields_after_write, latest, rebuild


def _coupled_groups(run: SyncRun, record: Canonical) -> list[tuple[str, ...]]:
    """The coupled groups either side declares that `record`'s type has, in canonical field order."""
    names = list(type(record).model_fields)
    groups: list[tuple[str, ...]] = []
    for side in Side:
        for group in run.capabilities(side).coupled_fields:
            ordered = tuple(n for n in names if n in group)
            if len(ordered) == len(group) and len(ordered) > 1 and ordered not in groups:
                groups.append(ordered)
    return groups


def _joined_key(group: tuple[str, ...]) -> str:
    return "+".join(group)


def _join(values: list[Any]) -> str | None:
    return " ".join(v.strip() for v in values if isinstance(v, str) and v.strip()) or None


def _split(joined: Any, group: tuple[str, ...], current: dict[str, Any]) -> dict[str, Any]:
    """`joined` as values of `group`: each leading part the side holds is kept while the joined
    value still starts with it; the next word starts the next part; the last part takes the rest."""
    remaining = joined if isinstance(joined, str) else ""
    values: dict[str, Any] = {}
    for name in group[:-1]:
        held = current.get(name)
        part, rest = split_full_name(remaining, keep_first=held if isinstance(held, str) else None)
        values[name] = part
        remaining = rest or ""
    values[group[-1]] = remaining or None
    return values


def plan_merge(run: SyncRun, link: Link, current: dict[Side, Canonical]) -> conflicts.MergePlan:
    groups = _coupled_groups(run, current[Side.GHL])
    views: dict[Side, conflicts.SideView] = {}
    for side in Side:
        base_fields = link.side(side).fields
        now = conflicts.flatten(current[side].fields())
        base = conflicts.flatten(base_fields) if base_fields is not None else None
        for group in groups:
            now[_joined_key(group)] = _join([now.pop(n, None) for n in group])
            if base is not None:
                base[_joined_key(group)] = _join([base.pop(n, None) for n in group])
        views[side] = conflicts.SideView(
            current=now, base=base, time=current[side].updated_at or link.side(side).source_time
        )
    plan = conflicts.merge(
        views[Side.GHL],
        views[Side.APP],
        policy=run.settings.conflict_policy,
        skew=timedelta(seconds=run.settings.skew_seconds),
        exclude=frozenset({f"{conflicts.CUSTOM_PREFIX}{run.settings.external_id_field}"}),
    )
    if not groups:
        return plan
    to_side = {Side.GHL: dict(plan.to_ghl), Side.APP: dict(plan.to_app)}
    for side, writes in to_side.items():
        held = current[side].fields()
        for group in groups:
            key = _joined_key(group)
            if key in writes:
                parts = _split(writes.pop(key), group, held)
                writes.update({n: v for n, v in parts.items() if v != held.get(n)})
    held = {side: current[side].fields() for side in Side}
    found = tuple(
        conflicts.FieldConflict(
            part, c.ghl_time, c.app_time, held[Side.GHL].get(part), held[Side.APP].get(part)
        )
        if c.field in {_joined_key(g) for g in groups}
        else c
        for c in plan.conflicts
        for part in (c.field.split("+") if c.field in {_joined_key(g) for g in groups} else [c.field])
    )
    return conflicts.MergePlan(to_ghl=to_side[Side.GHL], to_app=to_side[Side.APP], conflicts=found)


def shadow_as_read[C: Canonical](
    run: SyncRun, record: C, side: Side, occurred_at: datetime | None, previous: Shadow | None = None
) -> Shadow:
    """The shadow of a side we read but did not write."""
    assert record.id is not None
    return Shadow(
        id=record.id,
        parent_id=getattr(record, "parent_id", None) or (previous.parent_id if previous else None),
        content_hash=record.content_hash(),
        fields=record.fields(),
        source_time=latest(
            record.updated_at,
            occurred_at if side is run.source else None,
            previous.source_time if previous else None,
        ),
    )


def shadow_after_write(
    run: SyncRun,
    before: Canonical,
    returned: Canonical,
    written: frozenset[str],
    wanted_tags: frozenset[str] | None,
    side: Side,
    occurred_at: datetime | None,
    link: Link,
) -> Shadow:
    old = link.side(side)
    if written:
        coupled = run.capabilities(side).coupled_fields
        written = written.union(*(group for group in coupled if group & written))
        content = fields_after_write(before.fields(), returned.fields(), written)
    else:
        content = before.fields()
    if wanted_tags is not None:
        content["tags"] = sorted(wanted_tags)
    assert before.id is not None
    source_time = latest(before.updated_at, occurred_at if side is run.source else None, old.source_time)
    if written and _only_our_write(before, returned, written):
        # The write's own time: the side's change feed then lists our write as already synced,
        # instead of queueing it for the engine to drop as an echo.
        source_time = latest(source_time, returned.updated_at)
    return Shadow(
        id=before.id,
        parent_id=getattr(before, "parent_id", None) or old.parent_id,
        content_hash=rebuild(before, content).content_hash(),
        fields=content,
        source_time=source_time,
    )


def _only_our_write(before: Canonical, returned: Canonical, written: frozenset[str]) -> bool:
    """The write's answer shows nothing but our write: every field we did not write reads as it did
    before. Otherwise an edit raced the write, and the shadow keeps the pre-write read time, so
    that edit's event stays newer than the shadow and is not dropped as stale."""
    held, answered = conflicts.flatten(before.fields()), conflicts.flatten(returned.fields())
    return all(answered.get(key) == value for key, value in held.items() if key not in written)


def save_merged(
    run: SyncRun, link: Link, plan: conflicts.MergePlan, previous: Link
) -> tuple[StepResult, Link]:
    stored = run.links.save(
        link.model_copy(update={"synced_at": run.now()}),
        previous=previous if previous.version else None,
    )
    if plan.conflicts:
        names = ", ".join(c.field for c in plan.conflicts)
        run.count("sync_field_conflicts", len(plan.conflicts))
        run.tally.conflicts.append((stored, plan.conflicts))
        run.tally.fields_changed.update(conflicts.top_level({c.field for c in plan.conflicts}))
        return StepResult(
            Decision.CONFLICT, f"edited on both sides within the skew window: {names}; kept ghl value"
        ), stored
    if run.tally.unsupported and run.tally.writes == 0:
        return StepResult(Decision.SKIPPED, "; ".join(run.tally.unsupported)), stored
    run.tally.remarks.extend(run.tally.unsupported)
    if run.tally.writes == 0:
        return StepResult(Decision.APPLIED, "already in sync"), stored
    return StepResult(Decision.APPLIED), stored


def acknowledge_echo(
    run: SyncRun, link: Link, side: Side, record: Canonical, occurred_at: datetime | None
) -> tuple[StepResult, Link]:
    """Our own write came back from `side`. The shadow's source time is from the read before that
    write, so the write looks newer than the shadow to a sweep, which would queue it again on every
    run while it is inside the feed's overlap; the echo moves the time to the write's own."""
    shadow = link.side(side)
    newer = latest(record.updated_at, occurred_at, shadow.source_time)
    if newer is not None and newer != latest(shadow.source_time):
        moved = link.with_side(side, shadow.model_copy(update={"source_time": newer}))
        # A conflict means the link moved on meanwhile: whoever moved it read a newer state anyway.
        with suppress(LinkConflict):
            link = run.links.save(moved, previous=link)
    return run.echo("echo of our own write"), link
