"""Payaca ⇄ canonical mapping (ghlsync.mapping.payaca): pure rules, no I/O."""

from datetime import UTC, datetime

import pytest

from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.mapping.payaca import (
    PayacaCustomer,
    PayacaMappingConfig,
    PayacaMappingError,
    PayacaProject,
    customer_to_contact,
    customer_update_body,
    customer_upsert_body,
    project_note,
    project_task,
    stage_tag,
    stage_tags,
    tag_names,
)

CONFIG = PayacaMappingConfig(custom_field_map={"lead_source": "lead-source"})


def customer(**fields: object) -> PayacaCustomer:
    document = {
        "id": "xyz",
        "name": "Harper Property Management",
        "contacts": [
            {"id": "c2", "fullName": "Jane Other", "email": "jane@example.com", "isPrimaryContact": False},
            {
                "id": "c1",
                "fullName": "John Doe",
                "email": "john.doe@email.com",
                "phoneNumber": "+44 7777 777777",
                "isPrimaryContact": True,
            },
        ],
        "customFields": {"lead-source": "Website", "unmapped": "x"},
        "tags": ["Solar"],
        **fields,
    }
    return PayacaCustomer.model_validate(document)


def test_a_customer_reads_as_its_primary_contact_with_the_company_as_its_name() -> None:
    # GIVEN a customer with two contacts, the second primary WHEN mapped
    contact = customer_to_contact(customer(), CONFIG)
    # THEN the person is the primary contact, the company is the customer's name, mapped fields only
    assert (contact.id, contact.first_name, contact.last_name) == ("xyz", "John", "Doe")
    assert (contact.email, contact.phone, contact.company_name) == (
        "john.doe@email.com",
        "+44 7777 777777",
        "Harper Property Management",
    )
    assert contact.custom_fields == {"lead_source": "Website"}
    assert contact.tags == frozenset({"Solar"})


def test_stage_tags_derived_from_projects_join_the_customers_tags() -> None:
    # GIVEN a customer and the stage tags of its projects WHEN mapped THEN both are its tags
    contact = customer_to_contact(customer(), CONFIG, frozenset({"payaca-stage-install"}))
    assert contact.tags == frozenset({"Solar", "payaca-stage-install"})


def test_a_customer_named_after_its_email_has_no_first_name() -> None:
    # GIVEN a customer whose only contact is named by its e-mail WHEN mapped THEN no invented name
    nameless = customer(contacts=[{"fullName": "a@b.test", "email": "a@b.test", "isPrimaryContact": True}])
    contact = customer_to_contact(nameless, CONFIG)
    assert (contact.first_name, contact.last_name, contact.email) == (None, None, "a@b.test")


def test_the_upsert_body_has_the_person_as_the_one_primary_contact() -> None:
    # GIVEN a GHL contact of a company WHEN the upsert body is built
    contact = CanonicalContact(
        first_name="Ada",
        last_name="Lovelace",
        email=" ada@x.test ",
        company_name="Analytical",
        custom_fields={"lead_source": "Fair"},
    )
    body = customer_upsert_body(contact, CONFIG)
    # THEN Payaca's documented shape: name, one primary contact, custom fields by identifier
    assert body == {
        "name": "Analytical",
        "contacts": [
            {"fullName": "Ada Lovelace", "email": "ada@x.test", "phoneNumber": None, "isPrimaryContact": True}
        ],
        "customFields": {"lead-source": "Fair"},
    }


def test_the_upsert_name_is_null_without_a_company() -> None:
    # GIVEN a person without a company THEN `name` is present and null (required, nullable)
    body = customer_upsert_body(CanonicalContact(first_name="Ada", email="a@x.test"), CONFIG)
    assert "name" in body and body["name"] is None


def test_a_contact_without_name_email_or_phone_cannot_be_a_customer() -> None:
    with pytest.raises(PayacaMappingError):
        customer_upsert_body(CanonicalContact(company_name="Ghost Ltd"), CONFIG)


def test_an_update_rewrites_the_primary_contact_and_keeps_the_others() -> None:
    # GIVEN the current customer and a changed e-mail WHEN the update body is built
    changed = CanonicalContact(first_name="John", last_name="Doe", email="new@email.com")
    body = customer_update_body(customer(), changed, frozenset({"email"}), CONFIG)
    # THEN the primary keeps its id, the other contact stays as it was and not primary; no tags
    [primary, other] = body["contacts"]
    assert (primary["id"], primary["email"], primary["isPrimaryContact"]) == ("c1", "new@email.com", True)
    assert (other["id"], other["email"], other["isPrimaryContact"]) == ("c2", "jane@example.com", False)
    assert set(body) == {"contacts"}


def test_an_update_of_custom_fields_only_sends_custom_fields() -> None:
    changed = CanonicalContact(first_name="John", custom_fields={})
    body = customer_update_body(customer(), changed, frozenset({"custom_fields"}), CONFIG)
    # THEN a cleared mapped field is sent as null (Payaca clears it)
    assert body == {"customFields": {"lead-source": None}}


def test_tag_names_are_1_to_30_characters_and_longer_ones_are_refused_by_name() -> None:
    # GIVEN a 30-character tag (with an emoji) and a 31-character one
    ok, too_long = "🔥" + "x" * 29, "y" * 31
    # THEN the first is sent as is; the second is refused, named, never truncated
    assert tag_names([ok, "lead"]) == sorted([ok, "lead"])
    with pytest.raises(PayacaMappingError, match=too_long):
        tag_names([ok, too_long])


@pytest.mark.parametrize(
    ("stage", "tag"),
    [
        ("Install", "payaca-stage-install"),
        ("Survey booked", "payaca-stage-survey-booked"),
        (" Quote / sent! ", "payaca-stage-quote-sent"),
    ],
)
def test_a_stage_becomes_a_tag_under_the_prefix(stage: str, tag: str) -> None:
    assert stage_tag("payaca-stage-", stage) == tag


def project(**fields: object) -> PayacaProject:
    document = {
        "id": "p1",
        "reference": "ABC123",
        "pipeline": {"title": "Sales"},
        "pipelineStage": {"title": "Install"},
        "customer": {"id": "xyz", "contacts": []},
        "assignedTo": {"fullName": "Johanna", "email": "Johanna@Payaca.com"},
        "updatedAt": "2026-05-01T12:00:00Z",
        **fields,
    }
    return PayacaProject.model_validate(document)


def test_a_stage_move_becomes_a_note_naming_the_project_and_stage() -> None:
    note = project_note(project(), "project.pipelineStageChanged", "xyz")
    assert (note.parent_id, note.body) == ("xyz", "Project ABC123 moved to Install")


def test_a_created_project_note_says_where_it_starts() -> None:
    assert project_note(project(), "project.created", "xyz").body == "Project ABC123 created in Install"


def test_a_project_without_reference_is_named_by_its_id() -> None:
    assert (
        project_note(project(reference=None), "project.pipelineStageChanged", "xyz").body
        == "Project p1 moved to Install"
    )


def test_the_assignee_gets_one_task_per_project_whatever_the_stage() -> None:
    # GIVEN the same project in two stages THEN the same task (lower-cased assignee), stage-free title
    first, later = (
        project_task(project(), "xyz"),
        project_task(project(pipelineStage={"title": "Complete"}), "xyz"),
    )
    assert first == later
    assert first is not None and (first.title, first.assignee) == ("Project ABC123", "johanna@payaca.com")


def test_an_unassigned_project_makes_no_task() -> None:
    assert project_task(project(assignedTo=None), "xyz") is None


def test_a_project_may_name_its_customer_by_id_only() -> None:
    assert project(customer=None, customerId="cus_9").owner_id == "cus_9"


def test_stage_tags_are_off_without_a_prefix() -> None:
    assert stage_tags([project()], "") == frozenset()
    assert stage_tags([project(), project(pipelineStage=None)], "payaca-stage-") == frozenset(
        {"payaca-stage-install"}
    )


def test_custom_field_identifiers_must_be_payacas() -> None:
    with pytest.raises(ValueError, match="identifiers"):
        PayacaMappingConfig(custom_field_map={"lead_source": "lead source"})


def test_customer_times_are_read() -> None:
    read = customer(createdAt="2026-01-01T00:00:00Z")
    assert read.created_at == datetime(2026, 1, 1, tzinfo=UTC)


BILLING = {
    "id": "a1",
    "line1": "123 Wallaby Street",
    "line2": "Unit 4",
    "city": "Bristol",
    "postcode": "BS1 1AA",
    "country": "United Kingdom",
    "isBillingAddress": True,
}
SITE = {
    "id": "a2",
    "line1": "9 Quarry Lane",
    "city": "Bath",
    "postcode": "BA1 2BB",
    "isBillingAddress": False,
}


def test_the_postal_address_is_the_billing_address_read_flat_or_nested() -> None:
    # GIVEN one customer answering flat addresses and one with the request's nested shape
    flat = customer(addresses=[SITE, BILLING])
    nested = customer(
        addresses=[
            {
                "id": "a1",
                "address": {"line1": "123 Wallaby Street", "city": "Bristol", "postcode": "BS1 1AA"},
                "isBillingAddress": True,
            }
        ]
    )
    # WHEN mapped THEN both read the billing address's line 1, city and postcode
    for record in (flat, nested):
        contact = customer_to_contact(record, CONFIG)
        assert (contact.address_line1, contact.city, contact.postal_code, contact.state) == (
            "123 Wallaby Street",
            "Bristol",
            "BS1 1AA",
            None,
        )


def test_an_address_change_rewrites_the_postal_entry_and_keeps_the_others() -> None:
    # GIVEN a customer with a billing and a site address
    current = customer(addresses=[SITE, BILLING])
    moved = customer_to_contact(current, CONFIG).model_copy(
        update={"city": "Cardiff", "postal_code": "CF10 1AA"}
    )
    # WHEN the city and postcode changed
    body = customer_update_body(current, moved, frozenset({"city", "postal_code"}), CONFIG)
    # THEN the billing entry keeps its id, line 2 and country; the site address is written back as it was
    assert body == {
        "addresses": [
            {
                "id": "a2",
                "address": {"line1": "9 Quarry Lane", "city": "Bath", "postcode": "BA1 2BB"},
                "isBillingAddress": False,
            },
            {
                "id": "a1",
                "address": {
                    "line1": "123 Wallaby Street",
                    "line2": "Unit 4",
                    "city": "Cardiff",
                    "postcode": "CF10 1AA",
                    "country": "United Kingdom",
                },
                "isBillingAddress": True,
            },
        ]
    }


def test_a_first_address_becomes_the_billing_address_and_a_cleared_one_is_dropped() -> None:
    # GIVEN a customer without addresses and one with a billing address
    bare, held = customer(), customer(addresses=[BILLING])
    contact = customer_to_contact(bare, CONFIG).model_copy(
        update={"address_line1": "1 High St", "city": "Leeds"}
    )
    cleared = customer_to_contact(held, CONFIG).model_copy(
        update={"address_line1": None, "city": None, "postal_code": None}
    )
    changed = frozenset({"address_line1", "city", "postal_code"})
    # WHEN each is written THEN the first gets one billing entry; the cleared one drops it
    assert customer_update_body(bare, contact, changed, CONFIG)["addresses"] == [
        {"address": {"line1": "1 High St", "city": "Leeds", "postcode": None}, "isBillingAddress": True}
    ]
    assert customer_update_body(held, cleared, changed, CONFIG)["addresses"] == []


def test_addresses_are_left_alone_when_the_connection_turns_them_off() -> None:
    # GIVEN a connection with sync_addresses off
    config = CONFIG.model_copy(update={"sync_addresses": False})
    current = customer(addresses=[BILLING])
    contact = customer_to_contact(current, config)
    # WHEN read and written THEN no address is read and an address change writes nothing
    assert contact.city is None
    moved = contact.model_copy(update={"city": "Cardiff"})
    assert customer_update_body(current, moved, frozenset({"city"}), config) == {}
