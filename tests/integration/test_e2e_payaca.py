"""The Payaca flows end to end through the real handlers (sandbox.stack.world): GHL contact →
customer upsert; customer change → GHL; GHL tags → Payaca tags (add-only, 1-30 characters);
project created / moved → GHL note, stage tag and assignee task; GHL notes and tasks skipped as
unsupported, or sent through the [PROPOSAL] endpoints when a connection turns them on."""

from collections.abc import Iterator
from typing import Any

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.store.links import Side
from ghlsync.sync.tags import deleted_tag
from sandbox.apps import apps_named
from sandbox.apps.payaca import PayacaSandbox
from sandbox.apps.payaca.stack import INSTALLER_EMAIL
from sandbox.stack.world import World

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with World(seed=13, apps=apps_named("payaca")) as started:
        yield started


def payaca(world: World) -> PayacaSandbox:
    fake = world.fake("payaca")
    assert isinstance(fake, PayacaSandbox)
    return fake


def payaca_writes(world: World, since: int = 0) -> list[tuple[str, str]]:
    return [(c.method, c.path) for c in world.app_writes("payaca", since=since)]


def synced_contact(world: World, email: str = "ada@example.com", **fields: Any) -> tuple[str, str]:
    """A GHL contact synced to Payaca: (GHL contact id, Payaca customer id)."""
    contact = world.ghl.ui_create_contact(
        world.location_id, firstName="Ada", lastName="Lovelace", email=email, **fields
    )
    world.settle()
    return contact.id, world.app_id_of(EntityKind.CONTACT, contact.id, app="payaca")


def turn_on(world: World, **settings: Any) -> None:
    """Switch a connection's proposal settings on, as `connections_cli` would rewrite its row."""
    connection = world.connections.get(world.connection_ids["payaca"])
    assert connection is not None
    app = {**connection.settings.app, **settings}
    world.connections.put(
        connection.model_copy(
            update={
                "settings": connection.settings.model_copy(update={"app": app}),
                "updated_at": world.now(),
            }
        )
    )


def test_a_ghl_contact_becomes_a_payaca_customer_through_the_upsert(world: World) -> None:
    # GIVEN a GHL contact of a company WHEN it is created in GHL and the stack settles
    _, customer_id = synced_contact(world, companyName="Analytical Engines Ltd", phone="+14155550100")
    # THEN one upsert made the customer: the company as its name, the person as its primary contact
    assert payaca_writes(world) == [("POST", "/v1/customers")]
    customer = payaca(world).store.customers[customer_id]
    assert customer.name == "Analytical Engines Ltd"
    [person] = customer.contacts
    assert (person["fullName"], person["email"], person["phoneNumber"], person["isPrimaryContact"]) == (
        "Ada Lovelace",
        "ada@example.com",
        "+14155550100",
        True,
    )
    assert world.differences() == []


def test_a_ghl_contacts_address_becomes_the_customers_billing_address(world: World) -> None:
    # GIVEN a GHL contact with a postal address WHEN it syncs
    _, customer_id = synced_contact(
        world, address1="12 Harbour Road", city="Bristol", state="Avon", postalCode="BS1 5TT"
    )
    # THEN the customer holds one billing address (line 1, city, postcode: Payaca has no state),
    # written after the upsert so that a repeated upsert cannot append it twice
    assert payaca_writes(world) == [("POST", "/v1/customers"), ("PATCH", f"/v1/customers/{customer_id}")]
    [address] = payaca(world).store.customers[customer_id].addresses
    assert (address["line1"], address["city"], address["postcode"], address["isBillingAddress"]) == (
        "12 Harbour Road",
        "Bristol",
        "BS1 5TT",
        True,
    )
    assert world.dead_letters() == []


def test_a_customers_new_address_in_payaca_reaches_the_ghl_contact(world: World) -> None:
    # GIVEN a synced contact with an address
    contact_id, customer_id = synced_contact(world, address1="12 Harbour Road", city="Bristol")
    [held] = payaca(world).store.customers[customer_id].addresses
    # WHEN the customer moves in Payaca's web app
    moved = {
        "id": held["id"],
        "address": {"line1": "3 Mill Lane", "city": "Bath", "postcode": "BA1 1AA"},
        "isBillingAddress": True,
    }
    payaca(world).ui_update_customer(customer_id, addresses=[moved])
    world.settle()
    # THEN the GHL contact has the new line 1, city and postcode
    contact = world.ghl_reader().get_contact(contact_id)
    assert contact is not None
    assert (contact.address_line1, contact.city, contact.postal_code) == ("3 Mill Lane", "Bath", "BA1 1AA")
    assert world.dead_letters() == []


def test_a_ghl_contact_whose_email_payaca_holds_twice_joins_the_earliest_customer(world: World) -> None:
    # GIVEN two Payaca customers with the same e-mail (made before any sync)
    fake = payaca(world)
    earliest = fake.ui_create_customer("Ada L.", email="ada@example.com")
    world.clock.advance(5)
    later = fake.store.customers[fake.ui_create_customer("Someone", email="other@example.com").id]
    later.contacts.append(
        {
            "id": "con_extra",
            "fullName": "Ada",
            "email": "ada@example.com",
            "phoneNumber": None,
            "isPrimaryContact": False,
        }
    )
    fake.outbox.deliveries.clear()
    # WHEN a GHL contact with that e-mail syncs
    _, customer_id = synced_contact(world)
    # THEN it is linked to the earliest created one (Payaca's own rule) and no customer was created
    assert customer_id == earliest.id
    assert len(fake.store.customers) == 2
    assert ("POST", "/v1/customers") not in payaca_writes(world)


def test_a_customer_change_in_payaca_reaches_the_ghl_contact(world: World) -> None:
    # GIVEN a synced contact WHEN the customer's person is renamed in Payaca's web app
    contact_id, customer_id = synced_contact(world)
    mark = world.mark()
    payaca(world).ui_update_customer(customer_id, fullName="Augusta Lovelace", phoneNumber="+14155550111")
    world.settle()
    # THEN the GHL contact follows, and Payaca gets no write back (the echo dies out)
    contact = world.ghl_reader().get_contact(contact_id)
    assert contact is not None and (contact.first_name, contact.phone) == ("Augusta", "+14155550111")
    assert payaca_writes(world, mark) == []


def test_a_new_payaca_customer_becomes_a_ghl_contact(world: World) -> None:
    # GIVEN a customer created in Payaca WHEN the stack settles
    customer = payaca(world).ui_create_customer("Grace Hopper", email="grace@example.com", company="Navy")
    world.settle()
    # THEN a GHL contact is linked to it with the person's name and the company
    contact = world.ghl_reader().get_contact(world.ghl_id_of(EntityKind.CONTACT, customer.id, app="payaca"))
    assert contact is not None and (contact.first_name, contact.last_name, contact.company_name) == (
        "Grace",
        "Hopper",
        "Navy",
    )


def test_a_ghl_tag_is_added_in_payaca_and_its_removal_is_not_sent(world: World) -> None:
    # GIVEN a synced contact WHEN a tag is added in GHL, then removed
    contact_id, customer_id = synced_contact(world)
    mark = world.mark()
    world.ghl.ui_add_tags(world.location_id, contact_id, ["New lead"])
    world.settle()
    world.ghl.ui_remove_tags(world.location_id, contact_id, ["New lead"])
    world.settle()
    # THEN Payaca was sent the add ("add tags", tagNames) and nothing for the removal: add-only
    assert payaca_writes(world, mark) == [("POST", f"/v1/customers/{customer_id}/tags")]
    assert payaca(world).store.customers[customer_id].tags == ["New lead"]
    assert world.dead_letters() == []


def test_a_ghl_tag_longer_than_payaca_allows_is_reported_while_the_others_reach_payaca(
    world: World,
) -> None:
    # GIVEN a synced contact WHEN a valid tag and a 31-character one are added in GHL together
    contact_id, customer_id = synced_contact(world)
    too_long = "a-tag-of-thirty-one-characters!"
    assert len(too_long) == 31
    world.ghl.ui_add_tags(world.location_id, contact_id, ["vip", too_long])
    world.settle()
    # THEN the valid tag reaches Payaca, the long one is not cut, and the audit row reports it
    # (by length: audit rows carry no values)
    assert payaca(world).store.customers[customer_id].tags == ["vip"]
    assert world.dead_letters() == []
    [row] = [
        r
        for r in world.audit()
        if r.connection_id == world.connection_ids["payaca"] and r.event_type == "ContactTagUpdate"
    ]
    assert "1 tag(s) not sent to payaca, which takes at most 30 characters (lengths 31)" in row.reason
    assert too_long not in row.reason


def test_the_tag_removal_proposal_sends_removals(world: World) -> None:
    # GIVEN a connection with tag removal on and a synced, tagged contact
    turn_on(world, tag_removal=True)
    contact_id, customer_id = synced_contact(world)
    world.ghl.ui_add_tags(world.location_id, contact_id, ["vip"])
    world.settle()
    mark = world.mark()
    # WHEN the tag is removed in GHL THEN the proposed DELETE carries it
    world.ghl.ui_remove_tags(world.location_id, contact_id, ["vip"])
    world.settle()
    assert payaca_writes(world, mark) == [("DELETE", f"/v1/customers/{customer_id}/tags")]
    assert payaca(world).store.customers[customer_id].tags == []


def test_a_project_moved_to_a_stage_becomes_a_ghl_note_a_stage_tag_and_one_task(world: World) -> None:
    # GIVEN a synced contact and a project of its customer, assigned to an installer
    contact_id, customer_id = synced_contact(world)
    fake = payaca(world)
    project = fake.ui_create_project(customer_id, "ABC123", stage="New lead", assign_to=INSTALLER_EMAIL)
    world.settle()
    # WHEN the project moves to Install in Payaca
    fake.ui_move_project(project.id, "Install")
    world.settle()
    # THEN GHL has a note per event, the current stage's tag only, and one task for the assignee
    ghl = world.ghl_reader()
    notes = sorted(n.body for n in ghl.list_notes(contact_id))
    assert notes == ["Project ABC123 created in New lead", "Project ABC123 moved to Install"]
    contact = ghl.get_contact(contact_id)
    assert contact is not None and contact.tags == frozenset({"payaca-stage-install"})
    assert [t.title for t in ghl.list_tasks(contact_id)] == ["Project ABC123"]
    assert world.dead_letters() == [] and world.differences() == []


def test_a_project_of_an_unsynced_customer_brings_the_customer_to_ghl_first(world: World) -> None:
    # GIVEN a Payaca customer never synced (its webhook lost) WHEN a project is created for it
    fake = payaca(world)
    customer = fake.ui_create_customer("Marie Curie", email="marie@example.com")
    fake.outbox.deliveries.clear()
    fake.ui_create_project(customer.id, "XYZ9", stage="Survey booked")
    world.settle()
    # THEN the contact was created in GHL, with the note and the stage tag
    contact_id = world.ghl_id_of(EntityKind.CONTACT, customer.id, app="payaca")
    contact = world.ghl_reader().get_contact(contact_id)
    assert contact is not None and contact.tags == frozenset({"payaca-stage-survey-booked"})
    assert [n.body for n in world.ghl_reader().list_notes(contact_id)] == [
        "Project XYZ9 created in Survey booked"
    ]


def test_ghl_notes_and_tasks_are_skipped_as_unsupported_by_default(world: World) -> None:
    # GIVEN a synced contact WHEN a note and a task are created in GHL
    contact_id, _ = synced_contact(world)
    mark = world.mark()
    world.ghl.ui_create_note(world.location_id, contact_id, body="Call before noon")
    world.ghl.ui_create_task(
        world.location_id, contact_id, title="Send the quote", dueDate="2027-01-15T09:00:00Z"
    )
    world.settle()
    # THEN Payaca gets nothing and the audit says why
    assert payaca_writes(world, mark) == []
    payaca_rows = [
        r
        for r in world.audit()
        if r.connection_id == world.connection_ids["payaca"] and r.entity in ("note", "task")
    ]
    assert {(r.entity, r.decision) for r in payaca_rows} == {("note", "skipped"), ("task", "skipped")}
    assert all(r.reason.startswith("unsupported") for r in payaca_rows)


def test_the_notes_and_tasks_proposals_send_them_to_the_customers_newest_project(world: World) -> None:
    # GIVEN a connection with both proposals on, and a synced contact whose customer has a project
    turn_on(world, notes_to_payaca=True, tasks_to_payaca=True, assignee_tasks=False)
    contact_id, customer_id = synced_contact(world)
    project = payaca(world).ui_create_project(customer_id, "ABC123")
    world.settle()
    mark = world.mark()
    # WHEN a note and a task are created in GHL
    world.ghl.ui_create_note(world.location_id, contact_id, body="Call before noon")
    world.ghl.ui_create_task(
        world.location_id, contact_id, title="Send the quote", dueDate="2027-01-15T09:00:00Z"
    )
    world.settle()
    # THEN they went to the proposed project endpoints
    assert sorted(payaca_writes(world, mark)) == [
        ("POST", f"/v1/projects/{project.id}/notes"),
        ("POST", f"/v1/projects/{project.id}/tasks"),
    ]
    stored = payaca(world).store.projects[project.id]
    assert [n["body"] for n in stored.notes] == ["Call before noon"]
    [task_id] = stored.tasks
    assert payaca(world).store.tasks[task_id]["name"] == "Send the quote"
    assert world.link(EntityKind.TASK, Side.APP, task_id, app="payaca") is not None


def test_a_customer_deleted_in_payaca_is_found_by_the_id_diff_and_tagged_in_ghl(world: World) -> None:
    # GIVEN a synced customer, and deletes diffed every half minute (Payaca sends no deletion
    # webhook: its listing of every customer is diffed against the links)
    contact_id, customer_id = synced_contact(world)
    connection = world.connections.get(world.connection_ids["payaca"])
    assert connection is not None
    settings = connection.settings.model_copy(update={"delete_scan_hours": 30 / 3600})
    world.connections.put(connection.model_copy(update={"settings": settings}))
    # WHEN the customer is deleted in Payaca, past the sweep's overlap after the link was made,
    # and the sweep runs
    world.clock.advance(180)
    payaca(world).ui_delete_customer(customer_id)
    summary = world.sweep()
    world.settle()
    # THEN the diff found it, and GHL keeps its contact, tagged as deleted in Payaca
    assert summary.deletes_found == 1 and summary.links_checked == 0
    contact = world.ghl_reader().get_contact(contact_id)
    assert contact is not None and deleted_tag("payaca") in contact.tags
