"""Delete steps (DESIGN §4 rule 6).

A delete is confirmed by a fresh read where the side's records can be re-read (a record that still
exists means a stale or forged delete: nothing is deleted on its word), then the connection's
delete policy runs on the other side, within what that side declares (a side that cannot delete
the kind, or cannot add tags under the `tag` policy, is left alone and the reason says so). The
link becomes a tombstone so late events for either record are skipped instead of resurrecting it.
"""

from ghlsync.apps.base import RECORD_OPS, Operation
from ghlsync.core.entities import EntityKind
from ghlsync.store.connections import DeletePolicy
from ghlsync.store.links import TOMBSTONE_TTL_SECONDS, Link, LinkState, Side
from ghlsync.sync import tags
from ghlsync.sync.context import StepResult, SyncRun
from ghlsync.sync.outcome import Decision


def sync_delete(run: SyncRun) -> StepResult:
    event, source = run.event, run.source
    link = run.get_link(event.entity, source, event.entity_id)
    if link is None:
        return StepResult(Decision.SKIPPED, "not linked")
    if not link.active:
        return StepResult(Decision.SKIPPED, "already deleted")
    run.note_ids(source.other, link.side(source.other).id, event.entity)
    if _still_there(run, link):
        return StepResult(Decision.SKIPPED, "stale delete: the record still exists")
    return apply_delete(run, link, deleted_on=source, why="deleted")


def _still_there(run: SyncRun, link: Link) -> bool:
    event, source = run.event, run.source
    support = run.capabilities(source).support(event.entity)
    if not run.capabilities(source).rereadable(event.entity):
        return False  # nothing to confirm it with: the event's word is all there is
    parent = event.parent_id or link.side(source).parent_id
    if (
        parent is None
        and (support is None or support.contact_scoped)
        and event.entity is not EntityKind.CONTACT
    ):
        return False  # cannot be read without its contact's id
    return RECORD_OPS[event.entity].read(run.connector(source), parent or "", event.entity_id) is not None


def apply_delete(run: SyncRun, link: Link, *, deleted_on: Side, why: str) -> StepResult:
    survivor = deleted_on.other
    shadow = link.side(survivor)
    policy = run.settings.delete_policy
    declared = run.capabilities(survivor)
    action = "left alone"
    if policy is DeletePolicy.DELETE:
        if declared.can(link.entity, Operation.DELETE):
            RECORD_OPS[link.entity].delete(run.connector(survivor), shadow.parent_id or "", shadow.id)
            run.wrote(1)
            action = "deleted"
        else:
            action = f"left alone ({run.side_name(survivor)} cannot delete {link.entity.value}s)"
    elif policy is DeletePolicy.TAG and link.entity is EntityKind.CONTACT:
        marker = tags.deleted_tag(run.side_name(deleted_on))
        if run.write_tags(survivor, shadow.id, tags.TagDelta(add=frozenset({marker}))).add:
            action = f"tagged {marker}"
        else:
            action = f"left alone ({run.side_name(survivor)} cannot add tags)"
    tombstone = link.model_copy(
        update={"state": LinkState.DELETED, "deleted_on": deleted_on, "synced_at": run.now()}
    )
    run.links.save(tombstone, previous=link, expires_at=int(run.now().timestamp()) + TOMBSTONE_TTL_SECONDS)
    return StepResult(
        Decision.APPLIED,
        f"{why} on {run.side_name(deleted_on)}; {run.side_name(survivor)} record {action} "
        f"(delete policy {policy.value})",
    )
