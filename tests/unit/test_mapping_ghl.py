"""GHL models <-> canonical entities."""

from datetime import UTC, datetime

from ghlsync.ghl.models import Contact, Task
from ghlsync.mapping.canonical import CanonicalContact, CanonicalTask
from ghlsync.mapping.ghl import (
    GhlFieldMap,
    contact_create,
    contact_to_canonical,
    contact_update,
    task_create,
    task_to_canonical,
)

FIELDS = GhlFieldMap(custom_fields={"fld1": "plan"}, users={"u1": "rep@acme.io"})


def test_contact_reads_mapped_custom_fields_only() -> None:
    # GIVEN a GHL contact with a mapped and an unmapped custom field
    contact = Contact.model_validate(
        {
            "id": "c1",
            "firstName": "Ada",
            "email": "ada@x.io",
            "tags": ["vip"],
            "dateUpdated": "2026-03-01T12:00:00.000Z",
            "customFields": [{"id": "fld1", "value": "gold"}, {"id": "other", "value": "x"}],
        }
    )
    # WHEN mapped
    canonical = contact_to_canonical(contact, FIELDS)
    # THEN only the mapped field appears, under its canonical key
    assert canonical.custom_fields == {"plan": "gold"}
    assert canonical.updated_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert canonical.tags == frozenset({"vip"})


def test_contact_update_never_carries_tags_or_company() -> None:
    # GIVEN a contact whose tags and company changed along with the name
    contact = CanonicalContact(first_name="Ada", company_name="Acme", tags=frozenset({"vip"}))
    # WHEN the update body is built
    body = contact_update(contact, frozenset({"first_name", "company_name", "tags"}), FIELDS).to_body()
    # THEN only the name is sent
    assert body == {"firstName": "Ada"}


def test_cleared_name_is_sent_as_empty_string() -> None:
    body = contact_update(CanonicalContact(last_name=None), frozenset({"last_name"}), FIELDS).to_body()
    assert body == {"lastName": ""}


def test_the_postal_address_reads_and_writes_as_address1_city_state_postal_code() -> None:
    # GIVEN a GHL contact with an address (and a country, which is not synced)
    contact = Contact.model_validate(
        {
            "id": "c1",
            "address1": "1 High St",
            "city": "Leeds",
            "state": "West Yorkshire",
            "postalCode": "LS1 1AA",
            "country": "GB",
        }
    )
    # WHEN read, and a move with a cleared state written back
    canonical = contact_to_canonical(contact, FIELDS)
    moved = canonical.model_copy(update={"city": "York", "state": None})
    body = contact_update(moved, frozenset({"city", "state"}), FIELDS).to_body()
    # THEN the four fields read as the canonical address and the update sends the changed ones
    assert (canonical.address_line1, canonical.city, canonical.state, canonical.postal_code) == (
        "1 High St",
        "Leeds",
        "West Yorkshire",
        "LS1 1AA",
    )
    assert body == {"city": "York", "state": ""}
    assert contact_create(canonical, FIELDS).to_body()["postalCode"] == "LS1 1AA"


def test_contact_create_writes_tags_and_custom_fields_by_id() -> None:
    body = contact_create(
        CanonicalContact(
            email="a@x.io", custom_fields={"plan": "gold", "unmapped": 1}, tags=frozenset({"b", "a"})
        ),
        FIELDS,
    ).to_body()
    assert body["tags"] == ["a", "b"]
    assert body["customFields"] == [{"id": "fld1", "field_value": "gold"}]


def test_task_assignee_maps_through_the_user_map() -> None:
    task = Task.model_validate({"id": "t1", "title": "Call", "assignedTo": "u1", "contactId": "c1"})
    assert task_to_canonical(task, FIELDS, "c1").assignee == "rep@acme.io"


def test_task_without_due_date_gets_the_default() -> None:
    due = datetime(2026, 3, 2, tzinfo=UTC)
    body = task_create(CanonicalTask(title="Call"), FIELDS, default_due=due).to_body()
    assert body["dueDate"] == "2026-03-02T00:00:00.000Z"
