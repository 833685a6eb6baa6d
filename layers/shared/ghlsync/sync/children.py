"""Task and note steps: records that hang under a contact.

A task or note syncs under the LINKED parent contact; an unlinked parent is synced first. A GHL
TaskCreate without contactId (a known GHL gap) is resolved through the task's own link when the
task is known, and otherwise skipped with reason "task without contactId" (metric
`task_without_contact`); the next sweep picks such tasks up from the contact's task list. Every
call goes through `RECORD_OPS`, so tasks and notes share one code path.
"""

from datetime import datetime

from ghlsync.apps.base import RECORD_OPS, Operation
from ghlsync.core.entities import EntityKind
from ghlsync.mapping.canonical import CanonicalNote, CanonicalTask
from ghlsync.store.links import Link, Side
from ghlsync.sync import conflicts
from ghlsync.sync.contacts import sync_contact
from ghlsync.sync.context import StepResult, SyncRun
from ghlsync.sync.deletes import apply_delete
from ghlsync.sync.merging import (
    acknowledge_echo,
    plan_merge,
    save_merged,
    shadow_after_write,
    shadow_as_read,
)
from ghlsync.sync.outcome import Decision
from ghlsync.sync.shadows import is_echo, is_stale, normalize, rebuild

Child = CanonicalTask | CanonicalNote


def _read_child(run: SyncRun, side: Side, entity: EntityKind, parent_id: str, child_id: str) -> Child | None:
    record = run.read(side, entity, parent_id, child_id)
    if record is None:
        return None
    assert isinstance(record, CanonicalTask | CanonicalNote)
    return normalize(record).model_copy(update={"parent_id": parent_id})


def sync_child(run: SyncRun, entity: EntityKind, child_id: str, parent_id: str | None) -> StepResult:
    source, target = run.source, run.source.other
    event = run.event
    link = run.get_link(entity, source, child_id)
    if parent_id is None and link is not None:
        parent_id = link.side(source).parent_id
    if parent_id is None and event.hub_parent_id is not None and source is Side.APP:
        hub_link = run.get_link(EntityKind.CONTACT, Side.GHL, event.hub_parent_id)
        if hub_link is None or not hub_link.active:
            return StepResult(
                Decision.SKIPPED,
                f"parent contact {event.hub_parent_id} is not linked to {run.side_name(source)}",
            )
        parent_id = hub_link.app.id
    if parent_id is None:
        run.count(f"{entity.value}_without_contact")
        return StepResult(Decision.SKIPPED, f"{entity.value} without contactId")
    if link is not None and not link.active:
        return StepResult(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}")
    if link is not None:
        run.note_ids(target, link.side(target).id, entity)
        if is_stale(event.occurred_at, link.side(source)):
            return StepResult(Decision.SKIPPED, "stale")

    parent_link = run.get_link(EntityKind.CONTACT, source, parent_id)
    if parent_link is not None and not parent_link.active:
        return StepResult(Decision.SKIPPED, "parent contact was deleted")
    if parent_link is None:
        parent_result, parent_link = sync_contact(run, source, parent_id, None)
        if parent_link is None or not parent_link.active:
            decision = Decision.CONFLICT if parent_result.decision is Decision.CONFLICT else Decision.SKIPPED
            return StepResult(decision, f"parent contact not linked: {parent_result.reason}")
    target_parent = parent_link.side(target).id

    record = _read_child(run, source, entity, parent_id, child_id)
    if record is None:
        return StepResult(Decision.SKIPPED, f"{run.side_name(source)} {entity.value} not found")

    if link is not None:
        if is_echo(record, link.side(source)):
            result, _ = acknowledge_echo(run, link, source, record, event.occurred_at)
            return result
        target_shadow = link.side(target)
        other = _read_child(run, target, entity, target_shadow.parent_id or target_parent, target_shadow.id)
        if other is None:
            return apply_delete(run, link, deleted_on=target, why="linked record gone")
        result, _ = merge_children(run, link, record, other)
        return result

    run.require(target, entity, Operation.CREATE)
    ops = RECORD_OPS[entity]
    # Never create before a lookup: a record on the target with the same content under the same
    # contact and not linked yet is one an earlier attempt created (and crashed before linking).
    # A side that cannot list the kind per contact has nothing to look in.
    if ops.list_under is not None and run.capabilities(target).can(entity, Operation.LIST):
        for listed in ops.list_under(run.connector(target), target_parent):
            candidate = normalize(listed)
            if (
                candidate.id
                and candidate.content_hash() == record.content_hash()
                and run.get_link(entity, target, candidate.id) is None
            ):
                assert isinstance(candidate, CanonicalTask | CanonicalNote)
                candidate = candidate.model_copy(update={"parent_id": target_parent})
                return _link_child(run, entity, record, candidate, writes=False)
    content = record.model_copy(update={"id": None, "updated_at": None, "parent_id": target_parent})
    created = normalize(ops.create(run.connector(target), target_parent, content))
    assert isinstance(created, CanonicalTask | CanonicalNote)
    created = created.model_copy(update={"parent_id": target_parent})
    run.wrote(1, record.fields().keys())
    return _link_child(run, entity, record, created, writes=True)


def _link_child(run: SyncRun, entity: EntityKind, record: Child, other: Child, *, writes: bool) -> StepResult:
    source, target = run.source, run.source.other
    assert other.id is not None
    run.note_ids(target, other.id, entity)
    shadows = {
        source: shadow_as_read(run, record, source, run.event.occurred_at),
        target: shadow_as_read(run, other, target, None),
    }
    link = Link(
        connection_id=run.connection.connection_id,
        entity=entity,
        ghl=shadows[Side.GHL],
        app=shadows[Side.APP],
        synced_at=run.now(),
    )
    previous = run.get_link(entity, target, other.id)
    run.links.save(link, previous=previous)
    verb = "created" if writes else "linked existing"
    return StepResult(Decision.APPLIED, f"{verb} {entity.value} on {run.side_name(target)}")


def merge_children(run: SyncRun, link: Link, record: Child, other: Child) -> tuple[StepResult, Link]:
    current: dict[Side, Child] = {run.source: record, run.source.other: other}
    plan = plan_merge(run, link, {side: current[side] for side in Side})
    return write_children(run, link, current, plan, run.event.occurred_at)


def read_linked_child(run: SyncRun, link: Link, side: Side) -> Child | None:
    """The linked task or note as `side` holds it now, under the parent its shadow names."""
    shadow = link.side(side)
    if shadow.parent_id is None:
        return None
    return _read_child(run, side, link.entity, shadow.parent_id, shadow.id)


def write_children(
    run: SyncRun,
    link: Link,
    current: dict[Side, Child],
    plan: conflicts.MergePlan,
    occurred_at: datetime | None,
) -> tuple[StepResult, Link]:
    """Write `plan` to both sides of a linked task or note (where a side can update the kind),
    move the shadows with it and save the link: the one write path of a merge and of a resolution."""
    ops = RECORD_OPS[link.entity]
    new_link = link
    for side in Side:
        rec = current[side]
        assert rec.id is not None and rec.parent_id is not None
        writes = plan.writes_for(side)
        returned: Child = rec
        if writes and run.capabilities(side).can(link.entity, Operation.UPDATE):
            updated = rebuild(rec, conflicts.unflatten_into(rec.fields(), writes))
            written = normalize(
                ops.update(run.connector(side), rec.parent_id, rec.id, updated, frozenset(writes))
            )
            assert isinstance(written, CanonicalTask | CanonicalNote)
            returned = written
            run.wrote(1, writes.keys())
        else:
            if writes:
                run.cannot_update(side, link.entity, conflicts.top_level(set(writes)))
            writes = {}
        new_link = new_link.with_side(
            side,
            shadow_after_write(run, rec, returned, frozenset(writes), None, side, occurred_at, link),
        )
    return save_merged(run, new_link, plan, link)
