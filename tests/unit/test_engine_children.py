"""Engine, tasks and notes: parent contact first, GHL's TaskCreate without contactId, both directions."""

from datetime import timedelta

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.store.links import Side
from ghlsync.sync.outcome import Decision
from tests.unit.test_engine_fakes import T0, Harness, aws_env, h, table

__all__ = ["aws_env", "h", "table"]

CONTACT, TASK, NOTE = EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE
UPSERT = ChangeAction.UPSERT


def test_task_of_an_unlinked_contact_syncs_the_contact_first_then_the_task(h: Harness) -> None:
    # GIVEN a GHL contact never synced, with a task
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    task = h.ghl.seed_task(contact.id or "", title="Call back", due_date=T0 + timedelta(days=1))
    # WHEN the TaskCreate event is handled
    outcome = h.engine.handle(h.ghl_event(TASK, UPSERT, task.id or "", parent_id=contact.id))
    # THEN the contact exists in the app and the task sits under it
    assert outcome.decision is Decision.APPLIED
    (app_contact,) = h.app.contacts.values()
    (app_task,) = h.app.tasks.values()
    assert app_task.parent_id == app_contact.id and app_task.title == "Call back"
    assert [name for name, _ in h.app.writes()] == ["create_contact", "create_task"]


def test_task_without_contact_id_and_unknown_is_skipped_with_a_reason(h: Harness) -> None:
    # GIVEN a GHL TaskCreate that lacks contactId (a known GHL gap) for a task never seen
    event = h.ghl_event(TASK, UPSERT, "ghl-task-x", parent_id=None)
    # WHEN it is handled
    outcome = h.engine.handle(event)
    # THEN it is skipped, said why, and counted
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "task without contactId")
    assert h.metrics.counts["task_without_contact"] == 1
    assert h.app.writes() == []


def test_task_without_contact_id_but_linked_finds_its_contact_through_the_link(h: Harness) -> None:
    # GIVEN a task already synced to the app, then completed in GHL
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    task = h.ghl.seed_task(contact.id or "", title="Call back")
    h.engine.handle(h.ghl_event(TASK, UPSERT, task.id or "", parent_id=contact.id))
    h.clock.advance(60)
    h.ghl.tasks[task.id or ""] = task.model_copy(update={"completed": True, "updated_at": h.clock()})
    h.reset_calls()
    # WHEN TaskComplete arrives without contactId
    outcome = h.engine.handle(h.ghl_event(TASK, UPSERT, task.id or "", parent_id=None))
    # THEN the app task is completed
    assert outcome.decision is Decision.APPLIED
    ((name, args),) = h.app.writes()
    assert name == "update_task" and args[3] == frozenset({"completed"})


def test_app_task_reaches_ghl_under_the_linked_contact(h: Harness) -> None:
    # GIVEN a linked contact and a new task (a Kayako case) on the app side
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    (app_contact,) = h.app.contacts.values()
    case = h.app.seed_task(app_contact.id or "", title="Printer broken")
    # WHEN the app event is handled
    h.engine.handle(h.app_event(TASK, UPSERT, case.id or "", parent_id=app_contact.id))
    # THEN GHL has the task under the linked GHL contact
    (ghl_task,) = h.ghl.tasks.values()
    assert (ghl_task.parent_id, ghl_task.title) == (contact.id, "Printer broken")


def test_identical_unlinked_task_on_the_target_is_linked_instead_of_created_again(h: Harness) -> None:
    # GIVEN an earlier attempt created the app task but crashed before linking it
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    (app_contact,) = h.app.contacts.values()
    task = h.ghl.seed_task(contact.id or "", title="Call back")
    h.app.seed_task(app_contact.id or "", title="Call back")
    h.reset_calls()
    # WHEN the task event is handled
    outcome = h.engine.handle(h.ghl_event(TASK, UPSERT, task.id or "", parent_id=contact.id))
    # THEN the existing task is linked and nothing is created
    assert outcome.decision is Decision.APPLIED
    assert h.app.writes() == []
    assert h.link_of(TASK, Side.GHL, task.id or "") is not None


def test_ghl_note_is_copied_to_the_app_and_its_echo_is_dropped(h: Harness) -> None:
    # GIVEN a linked contact with a new GHL note
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    note = h.ghl.seed_note(contact.id or "", body="Prefers email")
    h.engine.handle(h.ghl_event(NOTE, UPSERT, note.id or "", parent_id=contact.id))
    (app_note,) = h.app.notes.values()
    h.reset_calls()
    # WHEN the app reports the note we created
    outcome = h.engine.handle(h.app_event(NOTE, UPSERT, app_note.id or "", parent_id=app_note.parent_id))
    # THEN it is an echo
    assert app_note.body == "Prefers email"
    assert outcome.decision is Decision.ECHO
    assert h.ghl.writes() == []


def test_note_edited_in_the_app_updates_the_ghl_note(h: Harness) -> None:
    # GIVEN a note synced from GHL, then edited in the app
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    note = h.ghl.seed_note(contact.id or "", body="Prefers email")
    h.engine.handle(h.ghl_event(NOTE, UPSERT, note.id or "", parent_id=contact.id))
    (app_note,) = h.app.notes.values()
    h.clock.advance(60)
    h.app.notes[app_note.id or ""] = app_note.model_copy(
        update={"body": "Prefers phone", "updated_at": h.clock()}
    )
    h.reset_calls()
    # WHEN the app event is handled
    h.engine.handle(h.app_event(NOTE, UPSERT, app_note.id or "", parent_id=app_note.parent_id))
    # THEN the GHL note carries the new body
    assert [name for name, _ in h.ghl.writes()] == ["update_note"]
    assert h.ghl.notes[note.id or ""].body == "Prefers phone"


def test_entity_the_app_does_not_support_is_skipped(table: object) -> None:
    # GIVEN an app connector without notes
    from tests.unit.test_engine_fakes import FakeConnector, build_harness

    harness = build_harness(table)
    harness.app.capabilities = FakeConnector("x", harness.clock, entities=frozenset({CONTACT})).capabilities
    # WHEN a GHL note event arrives
    outcome = harness.engine.handle(harness.ghl_event(NOTE, UPSERT, "n1", parent_id="c1"))
    # THEN it is skipped as unsupported
    assert outcome.decision is Decision.SKIPPED and outcome.reason.startswith("unsupported")
