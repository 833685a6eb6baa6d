"""Contact steps: upsert (link, identity, create, merge) and tag changes.

- upsert: link -> echo/stale -> 3-way merge both ways; unlinked -> identity lookup (external id,
  email, phone) -> link to the match, or create on the other side; ambiguous -> conflict, nothing
  merged. A side that does not declare finding contacts cannot be matched, so nothing is created
  on it (never create before a lookup).
- tags (GHL ContactTagUpdate carries the full list): a list naming the shadow's tags is an echo;
  any other list is confirmed by re-reading the contact (a payload is a snapshot that may predate
  our own later writes), then the difference from the shadow goes out as add/remove calls in the
  target's own spelling, within the tag writes the target declares.
"""

from datetime import datetime

from ghlsync.apps.base import Operation, as_contacts
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import Duplicate
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.links import Link, Shadow, Side
from ghlsync.sync import conflicts, identity, tags
from ghlsync.sync.context import StepResult, SyncRun, Unsupported
from ghlsync.sync.deletes import apply_delete
from ghlsync.sync.merging import (
    acknowledge_echo,
    plan_merge,
    save_merged,
    shadow_after_write,
    shadow_as_read,
)
from ghlsync.sync.outcome import Decision, PermanentSyncError
from ghlsync.sync.shadows import is_echo, is_stale, latest, normalize, rebuild

CONTACT = EntityKind.CONTACT


def read_contact(run: SyncRun, side: Side, contact_id: str) -> CanonicalContact | None:
    record = run.read(side, CONTACT, "", contact_id)
    assert record is None or isinstance(record, CanonicalContact)
    return _normalized(run, record) if record is not None else None


def _normalized(run: SyncRun, record: CanonicalContact) -> CanonicalContact:
    return normalize(record, default_country=run.settings.default_country)


def sync_contact(
    run: SyncRun, source: Side, contact_id: str, occurred_at: datetime | None
) -> tuple[StepResult, Link | None]:
    target = source.other
    link = run.get_link(CONTACT, source, contact_id)
    if link is not None and not link.active:
        return StepResult(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}"), None
    if link is not None:
        run.note_ids(target, link.side(target).id, CONTACT)
        if is_stale(occurred_at, link.side(source)):
            return StepResult(Decision.SKIPPED, "stale"), link
    record = read_contact(run, source, contact_id)
    if record is None:
        return StepResult(Decision.SKIPPED, f"{run.side_name(source)} contact not found"), link

    if link is not None:
        if is_echo(record, link.side(source)):
            return acknowledge_echo(run, link, source, record, occurred_at)
        other = read_contact(run, target, link.side(target).id)
        if other is None:
            return apply_delete(run, link, deleted_on=target, why="linked record gone"), None
        return merge_contacts(run, link, source, record, other, occurred_at)

    if run.counterpart is not None:
        matched, via = run.counterpart
        assert isinstance(matched, CanonicalContact)
        # Matched from the backfill's listing of the other side: the listing was the lookup.
        return _link_and_merge(run, source, record, _normalized(run, matched), occurred_at, via=via)
    run.require(target, CONTACT, Operation.FIND)
    match = identity.find_match(
        record,
        as_contacts(run.connector(target)),
        external_id_field=run.settings.external_id_field,
        default_country=run.settings.default_country,
        linked_to_other=lambda target_id: _linked_to_other(run, target, target_id),
    )
    if isinstance(match, identity.Ambiguous):
        run.count("identity_conflict")
        return StepResult(Decision.CONFLICT, f"ambiguous identity: {match.reason}"), None
    if isinstance(match, identity.Matched) and match.record.id:
        # A find answers whole records (ContactConnector.find_contacts): reading it again would
        # only spend a call.
        return _link_and_merge(
            run, source, record, _normalized(run, match.record), occurred_at, via=match.via
        )
    return _create_contact(run, source, record, occurred_at)


def _linked_to_other(run: SyncRun, side: Side, record_id: str) -> bool:
    existing = run.get_link(CONTACT, side, record_id)
    return existing is not None and existing.active


def _link_and_merge(
    run: SyncRun,
    source: Side,
    record: CanonicalContact,
    other: CanonicalContact,
    occurred_at: datetime | None,
    *,
    via: str,
) -> tuple[StepResult, Link | None]:
    target = source.other
    assert other.id is not None and record.id is not None
    # A tombstone on the target record (its old counterpart was deleted) is replaced.
    previous = run.get_link(CONTACT, target, other.id)
    shadows = {source: Shadow(id=record.id), target: Shadow(id=other.id)}
    link = Link(
        connection_id=run.connection.connection_id,
        entity=CONTACT,
        ghl=shadows[Side.GHL],
        app=shadows[Side.APP],
        version=previous.version if previous else 0,
    )
    result, stored = merge_contacts(run, link, source, record, other, occurred_at, previous=previous)
    if result.decision is Decision.APPLIED and not result.reason:
        result.reason = f"linked by {via}"
    return result, stored


def _create_contact(
    run: SyncRun, source: Side, record: CanonicalContact, occurred_at: datetime | None
) -> tuple[StepResult, Link | None]:
    target = source.other
    run.require(target, CONTACT, Operation.CREATE)
    # A contact another event names (an app's call from an unknown number) is created on the other
    # side only where contacts flow that way.
    app_support = run.capabilities(Side.APP).support(CONTACT)
    if app_support is not None and not (app_support.to_app if target is Side.APP else app_support.from_app):
        raise Unsupported(
            f"unsupported: no {run.side_name(target)} contact matches and contacts do not flow "
            f"from {run.side_name(source)} to {run.side_name(target)}"
        )
    assert record.id is not None
    content = record.model_copy(
        update={
            "id": None,
            "updated_at": None,
            "custom_fields": {
                k: v for k, v in record.custom_fields.items() if k != run.settings.external_id_field
            },
            "tags": run.storable_tags(target, record.tags),
        }
    )
    try:
        created = as_contacts(run.connector(target)).create_contact(content)
    except Duplicate as duplicate:
        # The side refused a duplicate our lookup did not see (GHL search lags writes): that is
        # the match.
        other = read_contact(run, target, duplicate.existing_id)
        if other is None:
            raise
        return _link_and_merge(run, source, record, other, occurred_at, via="duplicate")
    created = _normalized(run, created)
    if not created.id:
        raise PermanentSyncError(f"{run.side_name(target)} returned a contact without an id")
    run.wrote(1, content.fields().keys())
    run.note_ids(target, created.id, CONTACT)
    run.note_ids(source, record.id, CONTACT)
    shadows = {
        source: shadow_as_read(run, record, source, occurred_at),
        target: Shadow(
            id=created.id,
            content_hash=created.content_hash(),
            fields=created.fields(),
            source_time=created.updated_at,
        ),
    }
    link = Link(
        connection_id=run.connection.connection_id,
        entity=CONTACT,
        ghl=shadows[Side.GHL],
        app=shadows[Side.APP],
        synced_at=run.now(),
    )
    previous = run.get_link(CONTACT, target, created.id)
    stored = run.links.save(link, previous=previous)
    return StepResult(Decision.APPLIED, f"created on {run.side_name(target)}"), stored


def merge_contacts(
    run: SyncRun,
    link: Link,
    source: Side,
    record: CanonicalContact,
    other: CanonicalContact,
    occurred_at: datetime | None,
    *,
    previous: Link | None = None,
) -> tuple[StepResult, Link]:
    current = {source: record, source.other: other}
    plan = plan_merge(run, link, {side: current[side] for side in Side})
    ghl_tags, app_tags = tags.merge(
        current[Side.GHL].tags,
        link.ghl.tags if link.ghl.fields is not None else None,
        current[Side.APP].tags,
        link.app.tags if link.app.fields is not None else None,
    )
    wanted_tags = {Side.GHL: ghl_tags, Side.APP: app_tags}
    return write_merged(run, link, current, plan, wanted_tags, occurred_at, previous=previous)


def write_merged(
    run: SyncRun,
    link: Link,
    current: dict[Side, CanonicalContact],
    plan: conflicts.MergePlan,
    wanted_tags: dict[Side, frozenset[str]],
    occurred_at: datetime | None,
    *,
    previous: Link | None = None,
) -> tuple[StepResult, Link]:
    """Write a merge plan's fields and the wanted tags to each side that needs them, and store the
    shadows they leave."""
    new_link = link
    for side in Side:
        rec = current[side]
        assert rec.id is not None
        run.note_ids(side, rec.id, CONTACT)
        writes = plan.writes_for(side)
        returned = rec
        if writes and run.capabilities(side).can(CONTACT, Operation.UPDATE):
            changed = conflicts.top_level(set(writes))
            updated = rebuild(rec, conflicts.unflatten_into(rec.fields(), writes))
            returned = _normalized(
                run, as_contacts(run.connector(side)).update_contact(rec.id, updated, changed)
            )
            run.wrote(1, changed)
        else:
            if writes:
                run.cannot_update(side, CONTACT, conflicts.top_level(set(writes)))
            writes = {}
        written_tags = run.write_tags(side, rec.id, tags.diff(rec.tags, wanted_tags[side]))
        new_link = new_link.with_side(
            side,
            shadow_after_write(
                run, rec, returned, frozenset(writes), written_tags.apply(rec.tags), side, occurred_at, link
            ),
        )
    return save_merged(run, new_link, plan, previous if previous is not None else link)


def sync_contact_tags(run: SyncRun) -> StepResult:
    event, source = run.event, run.source
    target = source.other
    link = run.get_link(CONTACT, source, event.entity_id)
    if link is None:
        # Never synced: a tag change is as good a reason as any to sync the whole contact.
        result, _ = sync_contact(run, source, event.entity_id, event.occurred_at)
        return result
    if not link.active:
        return StepResult(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}")
    run.note_ids(target, link.side(target).id, CONTACT)
    if is_stale(event.occurred_at, link.side(source)):
        return StepResult(Decision.SKIPPED, "stale")
    # The payload's list is a snapshot from when the webhook fired: if it names the shadow's tags
    # it is our own write coming back; otherwise it may be an intermediate state our own later
    # writes already moved past, so the current list is re-read before anything is written.
    listed = event.data.get("tags")
    if (
        isinstance(listed, list)
        and all(isinstance(t, str) for t in listed)
        and tags.same(tags.normalize_tags(listed), link.side(source).tags)
    ):
        return run.echo("tag set equals the shadow")
    record = read_contact(run, source, event.entity_id)
    if record is None:
        return StepResult(Decision.SKIPPED, f"{run.side_name(source)} contact not found")
    delta = tags.diff(link.side(source).tags, record.tags)
    if delta.empty:
        return run.echo("tag set equals the shadow")
    target_shadow = link.side(target)
    written = run.write_tags(target, target_shadow.id, delta.spelled_for(target_shadow.tags))
    updated = link
    for side, new_tags in ((source, record.tags), (target, written.apply(target_shadow.tags))):
        shadow = link.side(side)
        content = {**(shadow.fields or {}), "tags": sorted(new_tags)}
        updated = updated.with_side(
            side,
            shadow.model_copy(
                update={
                    "fields": content,
                    "content_hash": CanonicalContact.model_validate(content).content_hash(),
                    "source_time": latest(shadow.source_time, event.occurred_at)
                    if side is source
                    else shadow.source_time,
                }
            ),
        )
    run.links.save(updated.model_copy(update={"synced_at": run.now()}), previous=link)
    return StepResult(Decision.APPLIED, f"tags +{len(written.add)} -{len(written.remove)}")
