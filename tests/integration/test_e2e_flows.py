"""The seed flows end to end through the real handlers (sandbox.stack.world): a change made the way a
user makes it travels as the sandbox's webhook through ingress, the SQS FIFO queue and sync_worker
to the other side, and its echo dies out."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.ghl.models import NoteCreate, TaskCreate, TaskUpdate
from sandbox.apps import apps_named
from sandbox.ghl.variants import GhlVariant
from sandbox.stack.world import World

pytestmark = pytest.mark.integration

DUE = datetime(2027, 1, 15, 9, tzinfo=UTC)


@pytest.fixture
def world(ghl_variant: GhlVariant) -> Iterator[World]:
    with World(seed=11, apps=apps_named("kayako"), ghl_variant=ghl_variant) as started:
        yield started


def synced_contact(world: World, email: str = "ada@example.com") -> tuple[str, int]:
    """A GHL contact already synced to Kayako: (GHL contact id, Kayako user id)."""
    location = world.location_id
    contact = world.ghl.ui_create_contact(location, firstName="Ada", lastName="Lovelace", email=email)
    world.settle()
    return contact.id, int(world.app_id_of(EntityKind.CONTACT, contact.id, app="kayako"))


def kayako_case_of(world: World, ghl_task_id: str) -> tuple[str, bool]:
    case = world.app_reader("kayako").get_task(
        "", str(int(world.app_id_of(EntityKind.TASK, ghl_task_id, app="kayako")))
    )
    assert case is not None
    return case.title, case.completed


@pytest.mark.ghl_variants("search-lag", "strict-updates")
def test_a_ghl_contact_reaches_kayako_as_a_user(world: World) -> None:
    # GIVEN a contact created in GHL
    contact = world.ghl.ui_create_contact(
        world.location_id, firstName="Ada", lastName="Lovelace", email="ada@example.com", phone="+15550001111"
    )
    # WHEN its webhook has gone through the stack
    world.settle()
    # THEN Kayako has one user with the same person on it
    user = world.app_reader("kayako").get_contact(
        str(int(world.app_id_of(EntityKind.CONTACT, contact.id, app="kayako")))
    )
    assert user is not None
    assert (user.first_name, user.last_name, user.email, user.phone) == (
        "Ada",
        "Lovelace",
        "ada@example.com",
        "+15550001111",
    )
    assert len(world.app_person_ids("kayako")) == 1


@pytest.mark.ghl_variants("search-lag", "not-found-400")
def test_a_kayako_user_reaches_ghl_as_a_contact(world: World) -> None:
    # GIVEN a user created by an agent in Kayako
    user = world.kayako.ui_create_user("Grace Hopper", email="grace@example.com")
    # WHEN synced
    world.settle()
    # THEN GHL has the contact, linked to the user
    contact = world.ghl_reader().get_contact(world.ghl_id_of(EntityKind.CONTACT, user.id, app="kayako"))
    assert contact is not None
    assert (contact.first_name, contact.last_name, contact.email) == ("Grace", "Hopper", "grace@example.com")
    assert len(world.ghl_contact_ids()) == 1


def test_a_kayako_case_becomes_a_task_under_the_linked_contact(world: World) -> None:
    # GIVEN a synced contact, then a case opened in Kayako for that user
    contact_id, user_id = synced_contact(world)
    case = world.kayako.ui_create_case(user_id, "Printer on fire")
    # WHEN synced
    world.settle()
    # THEN the task is under the linked GHL contact
    task = world.ghl_reader().get_task(contact_id, world.ghl_id_of(EntityKind.TASK, case.id, app="kayako"))
    assert task is not None
    assert (task.title, task.completed) == ("Printer on fire", False)


def test_a_new_ghl_task_becomes_a_case_of_the_linked_user(world: World) -> None:
    # GIVEN a synced contact WHEN a task is created for it through the GHL API
    contact_id, user_id = synced_contact(world)
    task = world.ghl_api().create_task(contact_id, TaskCreate(title="Call back", due_date=DUE))
    world.settle()
    # THEN Kayako has an open case with that subject, requested by the linked user
    assert kayako_case_of(world, task.id) == ("Call back", False)
    assert [c.requester_id for c in world.kayako.store.cases.values()] == [user_id]


def test_completing_a_ghl_task_through_the_api_completes_its_case(world: World) -> None:
    # GIVEN a synced task
    contact_id, _ = synced_contact(world)
    task = world.ghl_api().create_task(contact_id, TaskCreate(title="Call back", due_date=DUE))
    world.settle()
    # WHEN it is completed through the GHL API (GHL fires TaskComplete)
    world.ghl_api().set_task_completed(contact_id, task.id, True)
    world.settle()
    # THEN the case is completed
    assert kayako_case_of(world, task.id) == ("Call back", True)


@pytest.mark.ghl_variants("not-found-400")
def test_a_ghl_task_retitled_and_completed_through_the_api_updates_its_case(world: World) -> None:
    # GIVEN a synced task
    contact_id, _ = synced_contact(world)
    task = world.ghl_api().create_task(contact_id, TaskCreate(title="Call back", due_date=DUE))
    world.settle()
    # WHEN its title changes and it is completed in one API call (GHL has no TaskUpdate webhook;
    # the TaskComplete event makes the engine re-read the whole task)
    world.ghl_api().update_task(contact_id, task.id, TaskUpdate(title="Called back", completed=True))
    world.settle()
    # THEN the case has the new subject and is completed
    assert kayako_case_of(world, task.id) == ("Called back", True)


def test_kayako_user_notes_become_ghl_notes(world: World) -> None:
    # GIVEN a synced contact WHEN an agent adds two notes to the user in Kayako
    contact_id, user_id = synced_contact(world)
    world.kayako.ui_add_note(user_id, "Called about billing")
    world.kayako.ui_add_note(user_id, "Prefers email")
    world.settle()
    # THEN the GHL contact has both notes
    notes = sorted(n.body for n in world.ghl_reader().list_notes(contact_id))
    assert notes == ["Called about billing", "Prefers email"]


def test_ghl_notes_become_kayako_user_notes(world: World) -> None:
    # GIVEN a synced contact WHEN a note is added in GHL (through the API) and another in the UI
    contact_id, user_id = synced_contact(world)
    world.ghl_api().create_note(contact_id, NoteCreate(body="Renewal due in March"))
    world.ghl.ui_create_note(world.location_id, contact_id, body="VIP customer")
    world.settle()
    # THEN the Kayako user has both notes
    notes = sorted(n.body for n in world.app_reader("kayako").list_notes(str(user_id)))
    assert notes == ["Renewal due in March", "VIP customer"]


@pytest.mark.ghl_variants("lowercase-tags", "strict-updates")
def test_kayako_user_tags_become_ghl_tags(world: World) -> None:
    # GIVEN a synced contact tagged in GHL
    contact_id, user_id = synced_contact(world)
    world.ghl.ui_add_tags(world.location_id, contact_id, ["lead"])
    world.settle()
    # WHEN an agent adds one tag and removes the other in Kayako
    world.kayako.ui_add_tags(user_id, "support")
    world.kayako.ui_remove_tags(user_id, "lead")
    world.settle()
    # THEN the GHL contact carries exactly Kayako's tags
    contact = world.ghl_reader().get_contact(contact_id)
    assert contact is not None and contact.tags == frozenset({"support"})


@pytest.mark.ghl_variants("lowercase-tags", "strict-updates")
def test_ghl_tag_changes_reach_kayako(world: World) -> None:
    # GIVEN a synced contact with two tags
    contact_id, user_id = synced_contact(world)
    world.ghl.ui_add_tags(world.location_id, contact_id, ["lead", "newsletter"])
    world.settle()
    # WHEN one is removed and another added in GHL
    world.ghl.ui_remove_tags(world.location_id, contact_id, ["lead"])
    world.ghl.ui_add_tags(world.location_id, contact_id, ["customer"])
    world.settle()
    # THEN the Kayako user has the same tags
    assert sorted(world.kayako.store.tags_of(user_id)) == ["customer", "newsletter"]


@pytest.mark.ghl_variants("strict-updates", "search-lag")
def test_a_ghl_contact_update_reaches_the_kayako_user(world: World) -> None:
    # GIVEN a synced contact WHEN its first name changes in GHL a minute later
    contact_id, user_id = synced_contact(world)
    world.clock.advance(timedelta(minutes=1).total_seconds())
    world.ghl.ui_update_contact(world.location_id, contact_id, firstName="Augusta")
    world.settle()
    # THEN the Kayako user is renamed, and both sides agree everywhere
    assert world.kayako.store.users[user_id].full_name == "Augusta Lovelace"
    assert world.differences() == []


def test_a_two_word_first_name_from_ghl_leaves_the_ghl_last_name_alone(world: World) -> None:
    # GIVEN a synced contact WHEN its first name becomes two words in GHL
    contact_id, user_id = synced_contact(world)
    world.clock.advance(60)
    world.ghl.ui_update_contact(world.location_id, contact_id, firstName="Augusta Ada")
    world.settle()
    # THEN Kayako holds the full name and GHL's own fields are untouched by the echo
    assert world.kayako.store.users[user_id].full_name == "Augusta Ada Lovelace"
    fields = world.ghl.store.location(world.location_id).contacts[contact_id].fields
    assert (fields.get("firstName"), fields.get("lastName")) == ("Augusta Ada", "Lovelace")


@pytest.mark.ghl_variants("search-lag")
def test_an_email_changed_in_ghl_frees_the_old_address_for_a_new_contact(world: World) -> None:
    # GIVEN a synced contact whose email is changed in GHL a minute later
    contact_id, user_id = synced_contact(world, email="ada@example.com")
    world.clock.advance(60)
    world.ghl.ui_update_contact(world.location_id, contact_id, email="ada.king@example.com")
    world.settle()
    # WHEN another GHL contact is created later with the old address
    world.clock.advance(60)
    newcomer = world.ghl.ui_create_contact(
        world.location_id, firstName="Ada", lastName="Byron", email="ada@example.com"
    )
    world.settle()
    # THEN the Kayako user has only the new address, the newcomer has a user of its own, and no
    # identity conflict was recorded for Kayako (eKyte, which cannot update a person, keeps the old
    # address, so its newcomer is a conflict there by design)
    emails = [(i.value, i.is_primary) for i in world.kayako.store.identities_of(user_id, "email")]
    assert emails == [("ada.king@example.com", True)]
    newcomer_user = int(world.app_id_of(EntityKind.CONTACT, newcomer.id, app="kayako"))
    assert newcomer_user != user_id
    assert [i.value for i in world.kayako.store.identities_of(newcomer_user, "email")] == ["ada@example.com"]
    kayako = world.connection_ids["kayako"]
    assert not [row for row in world.audit() if row.decision == "conflict" and row.connection_id == kayako]
