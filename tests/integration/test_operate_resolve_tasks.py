"""`ghlsync conflicts resolve` on task and note conflicts the flows recorded (GHL and Kayako only)."""

import pytest

from ghlsync.store.conflicts import ConflictStatus, ConflictStore
from sandbox.stack.world import World
from tests.fixtures.operate import conflicted_note, conflicted_task, run_cli

pytestmark = pytest.mark.integration


def _ghl_task_title(world: World, contact_id: str, task_id: str) -> str:
    crm = world.ghl.crm
    return str(crm.task(crm.contact(world.location_id, contact_id), task_id).title)


@pytest.mark.parametrize(
    ("keep", "title"), [("app", "Call Ada tomorrow"), ("ghl", "Call Ada today")], ids=["app", "ghl"]
)
def test_resolving_a_task_conflict_writes_the_kept_title_to_both_sides(
    kayako_world: World, keep: str, title: str
) -> None:
    world = kayako_world
    # GIVEN a task retitled on both sides at once (a recorded conflict; GHL's title was kept)
    contact_id, task_id, case_id = conflicted_task(world, email=f"ada-{keep}@tasks.test")
    [conflict] = [
        c for c in ConflictStore(world.table).for_connection(world.connection_id) if c.ghl_id == task_id
    ]
    assert conflict.entity == "task" and set(conflict.fields) == {"title"}
    # WHEN the operator keeps one side and the worker runs
    code, printed = run_cli(world, "conflicts", "resolve", conflict.conflict_id, "--keep", keep)
    world.settle()
    # THEN both sides hold that title, the conflict is closed and the resolution has its own audit row
    assert code == 0 and "queued" in printed
    assert world.kayako.store.cases[case_id].subject == title
    assert _ghl_task_title(world, contact_id, task_id) == title
    assert ConflictStore(world.table).get(conflict.conflict_id).status is ConflictStatus.RESOLVED
    rows = [r for r in world.audit() if r.event_id == f"resolve-{conflict.conflict_id}-{keep}"]
    assert [(r.decision, r.entity, r.ghl_id, r.app_id, r.fields_changed) for r in rows] == [
        ("applied", "task", task_id, str(case_id), ["title"])
    ]


def test_resolving_a_note_conflict_keeping_the_app_writes_its_text_to_ghl(kayako_world: World) -> None:
    world = kayako_world
    # GIVEN a note edited on both sides at once (a recorded conflict; GHL's text was kept)
    contact_id, note_id, kayako_note_id = conflicted_note(world, email="ada-note@tasks.test")
    [conflict] = [
        c for c in ConflictStore(world.table).for_connection(world.connection_id) if c.ghl_id == note_id
    ]
    # WHEN the operator keeps Kayako's text and the worker runs
    code, _ = run_cli(world, "conflicts", "resolve", conflict.conflict_id, "--keep", "app")
    world.settle()
    # THEN both sides hold Kayako's text and the conflict is closed
    crm = world.ghl.crm
    assert code == 0
    assert crm.note(crm.contact(world.location_id, contact_id), note_id).body == "Prefers a letter"
    assert world.kayako.store.notes[kayako_note_id].body_text == "Prefers a letter"
    assert ConflictStore(world.table).get(conflict.conflict_id).status is ConflictStatus.RESOLVED
