"""Tasks, notes and the app's tags of a pair the backfill linked or created, brought along
through the live path.

For each kind both sides hold per contact (declared `LIST` on both, flowing that way), the
contact's records are listed on each side it may flow from and one upsert event per record is
queued in the location's message group: the engine then syncs each exactly as it syncs a webhook
(links, shadows, echoes, audit), so a record already on the other side is linked, not doubled.
Tags: an app's contact listing may leave out what its record reads with (Kayako lists users
without their tags, Payaca customers without their projects' stage tags), so the pair was linked
on the listed tags; one tag event from the app side makes the engine read the app's record and
send GHL what the listing left out (GHL's own tags reached the app when the pair was merged).
Costs one listing call per kind and side per pair, the app's record read, and the syncs: opt-in
(`backfill.children`), off by default.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from ghlsync.apps.base import RECORD_OPS, Connector, Operation, TagWrites
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import BACKFILL_CHILD_EVENT_TYPE, GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.store.connections import Connection
from ghlsync.store.links import Side

KINDS = (EntityKind.TASK, EntityKind.NOTE)


def queue_children(
    connection: Connection,
    ids: dict[Side, str],
    connectors: dict[Side, Connector],
    enqueue: Callable[[ChangeEvent, str, str], None],
    job_id: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Queue the upserts of the pair's tasks and notes, and its app-side tag event; returns how
    many events were queued."""
    queued = 0
    app_caps = connectors[Side.APP].capabilities
    contacts = app_caps.support(EntityKind.CONTACT)
    if contacts is not None and contacts.from_app and app_caps.tags.writes is not TagWrites.NONE:
        event = ChangeEvent(
            event_id=f"backfill-{job_id}-app-tags-{ids[Side.APP]}",
            location_id=connection.location_id,
            source=connection.app,
            connection_id=connection.connection_id,
            entity=EntityKind.CONTACT,
            action=ChangeAction.TAGS,
            entity_id=ids[Side.APP],
            occurred_at=now(),
            event_type=BACKFILL_CHILD_EVENT_TYPE,
        )
        enqueue(event, event.event_id, connection.location_id)
        queued += 1
    for kind in KINDS:
        support = app_caps.support(kind)
        ops = RECORD_OPS[kind]
        if support is None or ops.list_under is None or not support.contact_scoped:
            continue
        if not (support.can(Operation.LIST) and connectors[Side.GHL].capabilities.can(kind, Operation.LIST)):
            continue
        for side in Side:
            if not (support.to_app if side is Side.GHL else support.from_app):
                continue
            for record in ops.list_under(connectors[side], ids[side]):
                if record.id is None:
                    continue
                from_hub = side is Side.GHL
                event = ChangeEvent(
                    event_id=f"backfill-{job_id}-{side.value}-{kind.value}-{record.id}",
                    location_id=connection.location_id,
                    source=GHL_SOURCE if from_hub else connection.app,
                    connection_id=None if from_hub else connection.connection_id,
                    entity=kind,
                    action=ChangeAction.UPSERT,
                    entity_id=record.id,
                    parent_id=ids[side],
                    occurred_at=getattr(record, "updated_at", None) or now(),
                    event_type=BACKFILL_CHILD_EVENT_TYPE,
                )
                enqueue(event, event.event_id, connection.location_id)
                queued += 1
    return queued
