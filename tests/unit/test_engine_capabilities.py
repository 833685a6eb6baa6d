"""Engine, declared capabilities: flows, operations, carried records, tag writes, coupled fields."""

from dataclasses import replace
from typing import Any

import pytest

from ghlsync.apps.base import ALL_OPERATIONS, EntitySupport, Flow, Operation, TagSupport, TagWrites
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.mapping.canonical import CanonicalNote
from ghlsync.store.links import Side
from ghlsync.sync.outcome import Decision, PermanentSyncError
from tests.unit.test_engine_fakes import FakeConnector, Harness, aws_env, h, table

__all__ = ["aws_env", "h", "table"]

CONTACT, TASK, NOTE = EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE
UPSERT, TAGS = ChangeAction.UPSERT, ChangeAction.TAGS


def declare(connector: FakeConnector, kind: EntityKind, **support: Any) -> None:
    entities = {**connector.capabilities.entities, kind: EntitySupport(**support)}
    connector.capabilities = replace(connector.capabilities, entities=entities)


def linked_pair(h: Harness, **fields: Any) -> tuple[str, str]:
    """A GHL contact synced to the app; returns (ghl id, app id)."""
    contact = h.ghl.seed_contact(email="ada@example.com", **fields)
    assert contact.id is not None
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id))
    link = h.link_of(CONTACT, Side.GHL, contact.id)
    assert link is not None
    h.clock.advance(60)
    h.reset_calls()
    return contact.id, link.app.id


def test_an_entity_that_flows_only_from_the_app_is_not_sent_to_it(h: Harness) -> None:
    # GIVEN an app whose tasks flow only from the app to GHL
    declare(h.app, TASK, flow=Flow.FROM_APP)
    ghl_id, _ = linked_pair(h, first_name="Ada")
    task = h.ghl.seed_task(ghl_id, title="Call back")
    # WHEN a GHL task changes
    outcome = h.engine.handle(h.ghl_event(TASK, UPSERT, task.id or "", parent_id=ghl_id))
    # THEN it is skipped as unsupported, audited, and nothing is written
    assert (outcome.decision, outcome.reason) == (
        Decision.SKIPPED,
        "unsupported: tasks do not flow from ghl to kayako",
    )
    assert h.app.writes() == [] and h.audit_rows()[-1].decision == "skipped"


def test_an_operation_the_target_does_not_declare_is_skipped_unsupported(h: Harness) -> None:
    # GIVEN an app that cannot create tasks
    declare(h.app, TASK, operations=ALL_OPERATIONS - {Operation.CREATE})
    ghl_id, _ = linked_pair(h, first_name="Ada")
    task = h.ghl.seed_task(ghl_id, title="Call back")
    # WHEN a new GHL task is synced
    outcome = h.engine.handle(h.ghl_event(TASK, UPSERT, task.id or "", parent_id=ghl_id))
    # THEN nothing is created and the reason names the missing operation
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "unsupported: kayako cannot create tasks")
    assert h.app.writes() == []


def test_a_record_that_cannot_be_re_read_is_taken_from_the_event(h: Harness) -> None:
    # GIVEN an app whose notes cannot be re-read (a call event carries its call), and a linked contact
    declare(h.app, NOTE, rereadable=False)
    ghl_id, app_id = linked_pair(h, first_name="Ada")
    carried = CanonicalNote(body="Call: 3 min, left a voicemail", parent_id=app_id)
    # WHEN the app's note event arrives with the record in it
    event = h.app_event(NOTE, UPSERT, "call-77", parent_id=app_id)
    event = event.model_copy(update={"record": carried.model_dump(mode="json")})
    outcome = h.engine.handle(event)
    # THEN GHL gets the note without the app ever being asked for it
    assert outcome.decision is Decision.APPLIED
    assert [n.body for n in h.ghl.list_notes(ghl_id)] == ["Call: 3 min, left a voicemail"]
    assert "get_note" not in [name for name, _ in h.app.calls]


def test_an_unreadable_record_without_a_carried_copy_is_skipped(h: Harness) -> None:
    # GIVEN an app whose notes cannot be re-read, and an event that carries no record
    declare(h.app, NOTE, rereadable=False)
    _, app_id = linked_pair(h, first_name="Ada")
    # WHEN it is handled
    outcome = h.engine.handle(h.app_event(NOTE, UPSERT, "call-78", parent_id=app_id))
    # THEN it is skipped as unsupported, nothing written
    assert outcome.decision is Decision.SKIPPED and outcome.reason.startswith("unsupported")
    assert h.ghl.writes() == []


def test_an_add_only_side_gets_additions_but_never_removals(h: Harness) -> None:
    # GIVEN an app that can add tags but not remove them, linked with tags {vip, lead}
    h.app.capabilities = replace(h.app.capabilities, tags=TagSupport(writes=TagWrites.ADD_ONLY))
    ghl_id, app_id = linked_pair(h, first_name="Ada", tags=frozenset({"vip", "lead"}))
    h.ghl.edit_contact(ghl_id, tags=frozenset({"vip", "customer"}))
    # WHEN GHL reports its tags as {vip, customer}
    h.engine.handle(h.ghl_event(CONTACT, TAGS, ghl_id, data={"tags": ["vip", "customer"]}))
    # THEN the app gets only the addition
    assert h.app.writes() == [("add_tags", (app_id, frozenset({"customer"})))]


def test_a_tag_write_the_side_did_not_take_fails_permanently(h: Harness) -> None:
    # GIVEN a linked contact and an app whose answer to an add lists no such tag
    ghl_id, _ = linked_pair(h, first_name="Ada")
    h.app.add_tags = lambda contact_id, tags: ["something-else"]  # type: ignore[method-assign]
    h.ghl.edit_contact(ghl_id, tags=frozenset({"vip"}))
    # WHEN the tag change is synced
    # THEN it fails permanently (to the DLQ with the reason), not as a silent difference
    with pytest.raises(PermanentSyncError, match="did not take the tag write"):
        h.engine.handle(h.ghl_event(CONTACT, TAGS, ghl_id, data={"tags": ["vip"]}))


def test_a_full_name_side_is_merged_on_the_joined_name(h: Harness) -> None:
    # GIVEN an app that stores one full name and splits it on the first space, linked by email:
    # GHL `Mary Ann` / `Smith`, the app `Mary` / `Ann Smith`
    h.app.capabilities = replace(h.app.capabilities, coupled_fields=(frozenset({"first_name", "last_name"}),))
    h.app.seed_contact(first_name="Mary", last_name="Ann Smith", email="ada@example.com")
    ghl_id, app_id = linked_pair(h, first_name="Mary Ann", last_name="Smith")
    assert h.ghl.writes() == [] and h.app.writes() == []  # the same full name: nothing to write
    # WHEN the app's surname is fixed (`Mary Ann Smyth`, read back as `Mary` / `Ann Smyth`)
    h.app.edit_contact(app_id, last_name="Ann Smyth")
    h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN GHL keeps its first name and gets the new surname
    contact = h.ghl.contacts[ghl_id]
    assert (contact.first_name, contact.last_name) == ("Mary Ann", "Smyth")
    assert h.app.writes() == []


def test_a_full_name_changed_on_both_sides_at_once_is_one_conflict_that_keeps_the_hub_name(
    h: Harness,
) -> None:
    # GIVEN a full-name app linked by email with GHL `Mary Ann` / `Smith`
    h.app.capabilities = replace(h.app.capabilities, coupled_fields=(frozenset({"first_name", "last_name"}),))
    h.app.seed_contact(first_name="Mary", last_name="Ann Smith", email="ada@example.com")
    ghl_id, app_id = linked_pair(h, first_name="Mary Ann", last_name="Smith")
    # WHEN both sides change the name within the skew window
    h.ghl.edit_contact(ghl_id, last_name="Smithe")
    h.app.edit_contact(app_id, last_name="Ann Smyth")
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN it is a conflict on the name, and the app gets GHL's full name
    assert outcome.decision is Decision.CONFLICT and "first_name, last_name" in outcome.reason
    app_contact = h.app.contacts[app_id]
    assert (app_contact.first_name, app_contact.last_name) == ("Mary", "Ann Smithe")
