"""The eKyte flows end to end through the real handlers (sandbox.stack.world) against the eKyte
fake: GHL contacts → Persons and person-contacts by business, tasks and board notes; eKyte
persons and tasks → GHL by polling (the sweep), the 15-minute window recovered through the BI API;
a create applied then timed out never duplicated; a contact update eKyte cannot take audited
unsupported."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from ghlsync.core.entities import EntityKind
from sandbox.apps import apps_named
from sandbox.apps.ekyte import EkyteSandbox
from sandbox.apps.ekyte.stack import WORKSPACE_ID
from sandbox.stack.world import World

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with World(seed=21, apps=apps_named("ekyte")) as started:
        yield started


def ekyte(world: World) -> EkyteSandbox:
    fake = world.fake("ekyte")
    assert isinstance(fake, EkyteSandbox)
    return fake


def ekyte_audit(world: World) -> list[Any]:
    return [a for a in world.audit() if a.connection_id == world.connection_ids["ekyte"]]


def ghl_contact(world: World, email: str, **fields: Any) -> str:
    contact = world.ghl.ui_create_contact(world.location_id, email=email, **fields)
    world.settle()
    return contact.id


def test_a_business_with_two_contacts_becomes_one_person_with_two_person_contacts(world: World) -> None:
    # GIVEN two GHL contacts of the same business
    ada = ghl_contact(
        world, "ada@engines.example", firstName="Ada", lastName="Lovelace", companyName="Engines Ltd"
    )
    bob = ghl_contact(
        world, "bob@engines.example", firstName="Bob", lastName="Byte", companyName="Engines Ltd"
    )
    # THEN eKyte holds one customer Person for the business, with both as its person-contacts
    [person] = ekyte(world).store.persons.values()
    assert person.name == "Engines Ltd" and person.fields["IsCustomer"] is True
    assert sorted(c.name for c in person.contacts) == ["Ada Lovelace", "Bob Byte"]
    ids = {world.app_id_of(EntityKind.CONTACT, ghl_id, app="ekyte") for ghl_id in (ada, bob)}
    assert ids == {f"p{person.id}.c{c.id}" for c in person.contacts}


def test_a_ghl_task_and_note_reach_the_workspace_and_the_clients_board(world: World) -> None:
    # GIVEN a synced contact
    ada = ghl_contact(
        world, "ada@engines.example", firstName="Ada", lastName="Lovelace", companyName="Engines Ltd"
    )
    # WHEN a task and a note are added in GHL
    world.ghl.ui_create_task(world.location_id, ada, title="Onboarding call", dueDate="2026-12-20T10:00:00Z")
    world.ghl.ui_create_note(world.location_id, ada, body="Prefers e-mail")
    world.settle()
    # THEN the task is in the configured workspace and the note on the client's board
    [task] = ekyte(world).store.tasks.values()
    assert (task.title, task.workspace.id) == ("Onboarding call", WORKSPACE_ID)
    [note] = ekyte(world).store.notes.values()
    board = ekyte(world).store.boards[note.plan_id]
    assert board.title == "GHL notes - Engines Ltd" and note.content == "Prefers e-mail"


def test_completing_a_ghl_task_completes_the_ekyte_task_through_mcp(world: World) -> None:
    # GIVEN a synced task
    ada = ghl_contact(world, "ada@engines.example", firstName="Ada", companyName="Engines Ltd")
    task = world.ghl.ui_create_task(
        world.location_id, ada, title="Send contract", dueDate="2026-12-20T10:00:00Z"
    )
    world.settle()
    # WHEN it is completed in GHL
    world.ghl.ui_complete_task(world.location_id, ada, task.id)
    world.settle()
    # THEN eKyte's task is in situation 30
    [held] = ekyte(world).store.tasks.values()
    assert held.situation == 30


def test_a_contact_update_ekyte_cannot_take_is_audited_unsupported_not_applied(world: World) -> None:
    # GIVEN a synced contact
    ada = ghl_contact(world, "ada@engines.example", firstName="Ada", companyName="Engines Ltd")
    # WHEN its name changes in GHL
    world.ghl.ui_update_contact(world.location_id, ada, firstName="Augusta")
    world.settle()
    # THEN the update is skipped as unsupported by eKyte, and eKyte still has the old name
    last = ekyte_audit(world)[-1]
    assert (
        last.decision == "skipped"
        and "unsupported by ekyte: cannot update contacts (first_name)" in last.reason
    )
    [person] = ekyte(world).store.persons.values()
    assert [c.name for c in person.contacts] == ["Ada"]


def test_a_person_made_in_ekyte_reaches_ghl_by_polling(world: World) -> None:
    # GIVEN a person entered in eKyte's web app
    ekyte(world).ui_create_person("Grace Hopper", email="grace@navy.example")
    world.clock.advance(60)
    # WHEN the sweep polls and the worker runs
    world.sweep()
    world.settle()
    # THEN GHL has the contact
    [found] = [c for c in world.ghl_reader().find_contacts(email="grace@navy.example", phone=None)]
    assert (found.first_name, found.last_name) == ("Grace", "Hopper")


def test_a_task_made_in_ekyte_for_a_client_reaches_its_ghl_contact(world: World) -> None:
    # GIVEN a synced contact, and a task made in eKyte naming it in its description
    ada = ghl_contact(world, "ada@engines.example", firstName="Ada", companyName="Engines Ltd")
    client = world.app_id_of(EntityKind.CONTACT, ada, app="ekyte")
    ekyte(world).ui_create_task(
        "Design review", due="2026-12-21T09:00:00Z", description=f"ghlsync: contact={client}"
    )
    world.clock.advance(60)
    # WHEN the sweep polls
    world.sweep()
    world.settle()
    # THEN the task is under the GHL contact
    assert [t.title for t in world.ghl_api().list_tasks(ada)] == ["Design review"]


def test_a_checkpoint_older_than_the_window_is_reported_and_recovered_through_the_bi_api(
    world: World,
) -> None:
    # GIVEN a synced contact and a first poll, then an outage longer than the 15-minute window
    ada = ghl_contact(world, "ada@engines.example", firstName="Ada", companyName="Engines Ltd")
    client = world.app_id_of(EntityKind.CONTACT, ada, app="ekyte")
    world.sweep()
    world.clock.advance(5 * 60)
    ekyte(world).ui_create_task(
        "Made during the outage", due="2026-12-21T09:00:00Z", description=f"ghlsync: contact={client}"
    )
    world.clock.advance(40 * 60)
    # WHEN the sweep runs again
    calls = world.mark()
    summary = world.sweep()
    world.settle()
    # THEN the gap is reported, the task recovered through BI, and it reached GHL
    [gap] = [g for g in summary.feed_gaps if g.connection_id == world.connection_ids["ekyte"]]
    assert gap.recovered and gap.checkpoint < world.now() - timedelta(minutes=15)
    assert any(c.path == "/v1.2/tasks" for c in world.api_calls("ekyte", since=calls))
    assert [t.title for t in world.ghl_api().list_tasks(ada)] == ["Made during the outage"]


def test_a_task_create_applied_then_timed_out_is_not_duplicated_on_retry(world: World) -> None:
    # GIVEN a synced contact, and eKyte applying the next POST but timing out its answer
    ada = ghl_contact(world, "ada@engines.example", firstName="Ada", companyName="Engines Ltd")
    ekyte(world).faults.configure(rate_timeout=1.0, timeout_applied_share=1.0, methods={"POST"})
    world.ghl.ui_create_task(world.location_id, ada, title="Onboarding call", dueDate="2026-12-20T10:00:00Z")
    world.deliver_webhooks()
    world.drain()
    ekyte(world).faults.configure()
    # WHEN the event is retried
    world.settle()
    # THEN eKyte holds the task once, linked to the GHL task
    assert [t.title for t in ekyte(world).store.tasks.values()] == ["Onboarding call"]
    assert any("linked existing task" in (a.reason or "") for a in ekyte_audit(world))
