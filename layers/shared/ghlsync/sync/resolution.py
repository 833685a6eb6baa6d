"""An operator's resolution of a recorded conflict (`ChangeAction.RESOLVE`).

The event names the conflict and the side to keep (`data`: `conflict_id`, `keep` = ghl | app). The
kept side's values, as recorded when the conflict was opened, become the plan for both sides: each
side whose current value differs is written through the same write as any sync of that kind
(contacts: `sync.contacts.write_merged`; tasks and notes: `sync.children.write_children`), and the
shadows move with it, so the next change on either side merges from the resolved state. The
conflict row is closed; the engine writes the audit row of the resolution like any decision.
"""

from typing import Any

from ghlsync.core.entities import EntityKind
from ghlsync.store.conflicts import Conflict, ConflictNotFound, ConflictStatus, ConflictStore
from ghlsync.store.links import Link, Side
from ghlsync.sync import conflicts
from ghlsync.sync.children import Child, read_linked_child, write_children
from ghlsync.sync.contacts import read_contact, write_merged
from ghlsync.sync.context import StepResult, SyncRun
from ghlsync.sync.outcome import Decision, PermanentSyncError

KEEP_SIDES = {"ghl": Side.GHL, "app": Side.APP}
RESOLVABLE = frozenset({EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE})


def resolve_conflict(run: SyncRun, store: ConflictStore) -> StepResult:
    data = run.event.data
    keep = KEEP_SIDES.get(str(data.get("keep")))
    if keep is None:
        raise PermanentSyncError(f"a resolution keeps ghl or app, not {data.get('keep')!r}")
    try:
        conflict = store.get(str(data.get("conflict_id")))
    except ConflictNotFound as missing:
        raise PermanentSyncError(str(missing)) from None
    if conflict.status is ConflictStatus.RESOLVED:
        return StepResult(Decision.SKIPPED, f"conflict {conflict.conflict_id} already resolved")
    entity = next((kind for kind in RESOLVABLE if kind.value == conflict.entity), None)
    if conflict.connection_id != run.connection.connection_id or entity is None:
        raise PermanentSyncError(
            f"conflict {conflict.conflict_id} is not a contact, task or note conflict of this connection"
        )
    link = run.get_link(entity, Side.GHL, conflict.ghl_id)
    if link is None or not link.active:
        raise PermanentSyncError(f"conflict {conflict.conflict_id}: the records are no longer linked")
    chosen = {
        name: (values.ghl if keep is Side.GHL else values.app) for name, values in conflict.fields.items()
    }
    if entity is EntityKind.CONTACT:
        _write_contact(run, conflict, link, chosen)
    else:
        _write_child(run, conflict, link, chosen)
    run.tally.fields_changed.update(conflicts.top_level(set(chosen)))
    store.resolve(conflict, "ghl" if keep is Side.GHL else "app")
    return StepResult(
        Decision.APPLIED, f"conflict {conflict.conflict_id} resolved: kept {run.side_name(keep)}"
    )


def _plan(chosen: dict[str, Any], held: dict[Side, dict[str, Any]]) -> conflicts.MergePlan:
    """The chosen values, to each side that does not hold them already."""
    return conflicts.MergePlan(
        to_ghl={k: v for k, v in chosen.items() if held[Side.GHL].get(k) != v},
        to_app={k: v for k, v in chosen.items() if held[Side.APP].get(k) != v},
    )


def _write_contact(run: SyncRun, conflict: Conflict, link: Link, chosen: dict[str, Any]) -> None:
    current = {side: read_contact(run, side, link.side(side).id) for side in Side}
    ghl, app = current[Side.GHL], current[Side.APP]
    if ghl is None or app is None:
        raise PermanentSyncError(f"conflict {conflict.conflict_id}: a contact is gone")
    held = {Side.GHL: conflicts.flatten(ghl.fields()), Side.APP: conflicts.flatten(app.fields())}
    run.note_ids(Side.GHL, ghl.id, EntityKind.CONTACT)
    run.note_ids(Side.APP, app.id, EntityKind.CONTACT)
    write_merged(
        run,
        link,
        {Side.GHL: ghl, Side.APP: app},
        _plan(chosen, held),
        {Side.GHL: ghl.tags, Side.APP: app.tags},
        None,
    )


def _write_child(run: SyncRun, conflict: Conflict, link: Link, chosen: dict[str, Any]) -> None:
    current: dict[Side, Child] = {}
    for side in Side:
        record = read_linked_child(run, link, side)
        if record is None or record.id is None:
            raise PermanentSyncError(f"conflict {conflict.conflict_id}: a {link.entity.value} is gone")
        current[side] = record
        run.note_ids(side, record.id, link.entity)
    held = {side: conflicts.flatten(record.fields()) for side, record in current.items()}
    # No source time: the resolution is not an edit of either side (their next edits stay newer).
    write_children(run, link, current, _plan(chosen, held), None)
