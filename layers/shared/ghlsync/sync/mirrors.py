"""Steps for an app that cannot be read back: it holds only what we write to it (Kixie).

- **Upserted contacts** (`Operation.UPSERT`): a hub contact change is written whole with one upsert
  under the key the app derives from the contact (Kixie: the E.164 phone). The 3-way merge
  degenerates to hub -> app: the app side's shadow is what we wrote, so nothing can flow back and
  nothing is read there. Echoes and stale events are dropped against the hub's shadow as usual.
  A key change (a new phone) re-points the link; a key another contact's link already holds is a
  conflict (the app cannot hold two contacts under one key), decided before anything is written.
  A contact the app cannot hold (`RecordRefused`: no phone) is skipped with the app's reason.
- **Digests** (`Capabilities.digests`): a hub task or note change of a linked contact lists that
  contact's children on the hub and refreshes the digest the app keeps on the contact, one write.
  A bulk sync (`SyncRun.with_digest`) lists them for the upserted contact instead, and its one
  upsert carries the digest too.
- **Added tags** (`ChangeAction.ADD_TAGS`): tags an app asks for on a linked contact (a Kixie
  disposition mapped to a tag) are added on the hub, and the hub's shadow takes them, so the hub's
  own tag webhook that follows is an echo.
"""

from ghlsync.apps.base import RECORD_OPS, ContactChildren, as_digest, as_upserts
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import RecordRefused
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.store.links import Link, Shadow, Side
from ghlsync.sync import tags
from ghlsync.sync.contacts import read_contact
from ghlsync.sync.context import StepResult, SyncRun
from ghlsync.sync.merging import shadow_as_read
from ghlsync.sync.outcome import Decision
from ghlsync.sync.shadows import is_echo, is_stale, latest, normalize

CONTACT = EntityKind.CONTACT


def _written_record(shadow: Shadow) -> CanonicalContact | None:
    """What was last written to the app for this link (None: nothing yet)."""
    if shadow.fields is None:
        return None
    return CanonicalContact.model_validate({**shadow.fields, "id": shadow.id})


def sync_upserted_contact(run: SyncRun) -> StepResult:
    """A hub contact change (upsert or tag event) -> one upsert on an app that cannot be read."""
    event = run.event
    link = run.get_link(CONTACT, Side.GHL, event.entity_id)
    if link is not None and not link.active:
        return StepResult(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}")
    if link is not None:
        run.note_ids(Side.APP, link.app.id, CONTACT)
        if is_stale(event.occurred_at, link.ghl):
            return StepResult(Decision.SKIPPED, "stale")
    record = read_contact(run, Side.GHL, event.entity_id)
    if record is None:
        return StepResult(Decision.SKIPPED, "ghl contact not found")
    if link is not None and is_echo(record, link.ghl):
        return run.echo("echo of our own write")

    app = as_upserts(run.connector(Side.APP))
    try:
        key = app.contact_key(record)
    except RecordRefused as refused:
        run.count("record_refused")
        return StepResult(Decision.SKIPPED, refused.reason)
    holder = run.get_link(CONTACT, Side.APP, key)
    if holder is not None and holder.active and holder.ghl.id != event.entity_id:
        run.count("identity_conflict")
        return StepResult(
            Decision.CONFLICT,
            f"{run.side_name(Side.APP)} record {key} is already linked to ghl contact {holder.ghl.id}",
        )
    previous = _written_record(link.app) if link is not None else None
    children = hub_children(run, event.entity_id) if run.with_digest else None
    written = normalize(app.upsert_contact(key, record, previous, children))
    run.note_ids(Side.APP, key, CONTACT)
    changed = _changed_fields(previous, written)
    if changed:
        run.wrote(1, changed)
    if holder is not None and not holder.active:
        run.links.delete(holder)  # a tombstone of an earlier contact under this key gives way
    stored = Link(
        connection_id=run.connection.connection_id,
        entity=CONTACT,
        ghl=shadow_as_read(run, record, Side.GHL, event.occurred_at, link.ghl if link else None),
        app=Shadow(id=key, content_hash=written.content_hash(), fields=written.fields()),
        synced_at=run.now(),
        version=link.version if link else 0,
    )
    run.links.save(stored, previous=link)
    if previous is None:
        return StepResult(Decision.APPLIED, f"created on {run.side_name(Side.APP)}")
    return StepResult(Decision.APPLIED, "" if changed else "already in sync")


def _changed_fields(previous: CanonicalContact | None, written: CanonicalContact) -> frozenset[str]:
    if previous is None:
        return frozenset(written.fields())
    before, after = previous.fields(), written.fields()
    moved = {"id"} if previous.id != written.id else set()
    return frozenset({name for name in after if after[name] != before.get(name)} | moved)


def sync_digest(run: SyncRun) -> StepResult:
    """A hub task or note changed: refresh its contact's digest on the app."""
    event = run.event
    parent_id = event.parent_id
    if parent_id is None:
        run.count(f"{event.entity.value}_without_contact")
        return StepResult(Decision.SKIPPED, f"{event.entity.value} without contactId")
    link = run.get_link(CONTACT, Side.GHL, parent_id)
    if link is None or not link.active:
        return StepResult(Decision.SKIPPED, f"contact not linked to {run.side_name(Side.APP)}")
    run.note_ids(Side.APP, link.app.id, CONTACT)
    contact = _written_record(link.app) or CanonicalContact(id=link.app.id)
    children = hub_children(run, parent_id)
    try:
        as_digest(run.connector(Side.APP)).refresh_digest(contact, children.tasks, children.notes)
    except RecordRefused as refused:
        return StepResult(Decision.SKIPPED, refused.reason)
    run.wrote(1, {"digest"})
    return StepResult(
        Decision.APPLIED, f"digest refreshed ({len(children.tasks)} tasks, {len(children.notes)} notes)"
    )


def hub_children(run: SyncRun, contact_id: str) -> ContactChildren:
    """The hub contact's current tasks and notes, of the kinds the app `digests` (one listing each)."""
    digested = run.capabilities(Side.APP).digests
    hub = run.connector(Side.GHL)
    listed: dict[EntityKind, list[object]] = {}
    for kind in (EntityKind.TASK, EntityKind.NOTE):
        list_under = RECORD_OPS[kind].list_under
        listed[kind] = list(list_under(hub, contact_id)) if kind in digested and list_under else []
    return ContactChildren(
        tasks=[t for t in listed[EntityKind.TASK] if isinstance(t, CanonicalTask)],
        notes=[n for n in listed[EntityKind.NOTE] if isinstance(n, CanonicalNote)],
    )


def sync_added_tags(run: SyncRun) -> StepResult:
    """Tags an app asks for on one of its linked contacts -> added on the hub."""
    event = run.event
    wanted = event.data.get("tags")
    if not isinstance(wanted, list) or not all(isinstance(t, str) for t in wanted):
        return StepResult(Decision.SKIPPED, "no tags to add")
    link = run.get_link(CONTACT, run.source, event.entity_id)
    if link is None:
        return StepResult(Decision.SKIPPED, "contact not linked")
    if not link.active:
        return StepResult(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}")
    target = run.source.other
    shadow = link.side(target)
    run.note_ids(target, shadow.id, CONTACT)
    held = tags.keys(shadow.tags)
    missing = frozenset(t for t in tags.normalize_tags(wanted) if tags.tag_key(t) not in held)
    if not missing:
        return StepResult(Decision.APPLIED, "tags already present")
    written = run.write_tags(target, shadow.id, tags.TagDelta(add=missing))
    content = {**(shadow.fields or {}), "tags": sorted(written.apply(shadow.tags))}
    updated = link.with_side(
        target,
        shadow.model_copy(
            update={
                "fields": content,
                "content_hash": CanonicalContact.model_validate(content).content_hash(),
            }
        ),
    )
    source_shadow = updated.side(run.source)
    updated = updated.with_side(
        run.source,
        source_shadow.model_copy(
            update={"source_time": latest(source_shadow.source_time, event.occurred_at)}
        ),
    )
    run.links.save(updated.model_copy(update={"synced_at": run.now()}), previous=link)
    return StepResult(Decision.APPLIED, f"tags +{len(written.add)}")
