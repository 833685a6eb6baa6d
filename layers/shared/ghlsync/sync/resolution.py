"""An operator's resolution of a recorded conflict (`ChangeAction.RESOLVE`).

The event names the conflict and the side to keep (`data`: `conflict_id`, `keep` = ghl | app). The
kept side's values, as recorded when the conflict was opened, become the plan for both sides: each
side whose current value differs is written through the same merge write as any sync
(`sync.contacts.write_merged`), and the shadows move with it, so the next change on either side
merges from the resolved state. The conflict row is closed; the engine writes the audit row of
the resolution like any decision. Contacts only: task and note conflicts are shown, and resolved by
editing the record on the side to keep.
"""

from ghlsync.core.entities import EntityKind
from ghlsync.store.conflicts import ConflictNotFound, ConflictStatus, ConflictStore
from ghlsync.store.links import Side
from ghlsync.sync import conflicts
from ghlsync.sync.contacts import read_contact, write_merged
from ghlsync.sync.context import StepResult, SyncRun
from ghlsync.sync.outcome import Decision, PermanentSyncError

KEEP_SIDES = {"ghl": Side.GHL, "app": Side.APP}


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
    if conflict.connection_id != run.connection.connection_id or conflict.entity != EntityKind.CONTACT.value:
        raise PermanentSyncError(
            f"conflict {conflict.conflict_id} is not a contact conflict of this connection"
        )
    link = run.get_link(EntityKind.CONTACT, Side.GHL, conflict.ghl_id)
    if link is None or not link.active:
        raise PermanentSyncError(f"conflict {conflict.conflict_id}: the contacts are no longer linked")
    current = {side: read_contact(run, side, link.side(side).id) for side in Side}
    ghl, app = current[Side.GHL], current[Side.APP]
    if ghl is None or app is None:
        raise PermanentSyncError(f"conflict {conflict.conflict_id}: a contact is gone")
    chosen = {
        name: (values.ghl if keep is Side.GHL else values.app) for name, values in conflict.fields.items()
    }
    held = {side: conflicts.flatten(record.fields()) for side, record in ((Side.GHL, ghl), (Side.APP, app))}
    plan = conflicts.MergePlan(
        to_ghl={k: v for k, v in chosen.items() if held[Side.GHL].get(k) != v},
        to_app={k: v for k, v in chosen.items() if held[Side.APP].get(k) != v},
    )
    run.note_ids(Side.GHL, ghl.id, EntityKind.CONTACT)
    run.note_ids(Side.APP, app.id, EntityKind.CONTACT)
    write_merged(
        run, link, {Side.GHL: ghl, Side.APP: app}, plan, {Side.GHL: ghl.tags, Side.APP: app.tags}, None
    )
    run.tally.fields_changed.update(conflicts.top_level(set(chosen)))
    store.resolve(conflict, "ghl" if keep is Side.GHL else "app")
    return StepResult(
        Decision.APPLIED, f"conflict {conflict.conflict_id} resolved: kept {run.side_name(keep)}"
    )
