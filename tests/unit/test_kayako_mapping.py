"""Kayako ⇄ canonical mapping (pure functions, no HTTP)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.kayako import (
    KayakoCase,
    KayakoMappingConfig,
    KayakoMappingError,
    KayakoNote,
    KayakoUser,
    case_to_task,
    join_name,
    note_params,
    note_to_canonical,
    split_full_name,
    task_create_params,
    task_update_params,
    user_create_params,
    user_to_contact,
    user_update_params,
)

CONFIG = KayakoMappingConfig(
    custom_field_map={"plan": "plan_key", "source": "lead_source"},
    assignee_map={"sam@agency.example": 7},
    due_date_field="ghl_due",
    company_field="company",
)


def kayako_user(**overrides: Any) -> KayakoUser:
    data: dict[str, Any] = {
        "id": 12,
        "full_name": "Ada King Lovelace",
        "role": {"id": 4, "resource_type": "role"},
        "emails": [
            {"id": 1, "email": "old@x.example", "is_primary": False, "resource_type": "identity_email"},
            {"id": 2, "email": "ada@x.example", "is_primary": True, "resource_type": "identity_email"},
        ],
        "phones": [{"id": 3, "number": "+15550100", "is_primary": True, "resource_type": "identity_phone"}],
        "custom_fields": {"plan_key": "gold", "unmapped": "x", "company": "Analytical Engines"},
        "updated_at": "2026-01-02T03:04:05+00:00",
    }
    data.update(overrides)
    return KayakoUser.model_validate(data)


def kayako_case(**overrides: Any) -> KayakoCase:
    data: dict[str, Any] = {
        "id": 5,
        "subject": "Call back",
        "requester": {"id": 12, "resource_type": "user"},
        "assigned_agent": {"id": 7, "resource_type": "user"},
        "status": {"id": 2, "resource_type": "case_status"},
        "custom_fields": {"ghl_due": "2026-02-01T09:30:00+00:00"},
        "updated_at": "2026-01-02T03:04:05+00:00",
    }
    data.update(overrides)
    return KayakoCase.model_validate(data)


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Ada King Lovelace", ("Ada", "King Lovelace")),
        ("Cher", ("Cher", None)),
        ("  Ada   Lovelace ", ("Ada", "Lovelace")),
        ("", (None, None)),
    ],
)
def test_split_full_name_takes_the_first_word_as_first_name(
    full_name: str, expected: tuple[str | None, str | None]
) -> None:
    # GIVEN a Kayako full_name / WHEN it is split / THEN first word = first name, the rest = last name
    assert split_full_name(full_name) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("Ada", None, "Ada"),
        (None, "Lovelace", "Lovelace"),
        (" ", None, None),
    ],
)
def test_join_name_skips_missing_parts(first: str | None, last: str | None, expected: str | None) -> None:
    # GIVEN name parts, some missing / WHEN joined / THEN one space between the parts present
    assert join_name(first, last) == expected


def test_user_to_contact_reads_primary_identities_and_mapped_custom_fields() -> None:
    # GIVEN a user with a non-primary and a primary email, a phone and mapped/unmapped custom fields
    user = kayako_user()
    # WHEN mapped to canonical
    contact = user_to_contact(user, ["vip", "lead"], CONFIG)
    # THEN the primary identities, only the mapped custom fields and the tags come through
    assert contact.id == "12"
    assert (contact.first_name, contact.last_name) == ("Ada", "King Lovelace")
    assert contact.email == "ada@x.example"
    assert contact.phone == "+15550100"
    assert contact.custom_fields == {"plan": "gold"}
    assert contact.company_name == "Analytical Engines"
    assert contact.tags == frozenset({"vip", "lead"})
    assert contact.updated_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_user_named_after_its_email_reads_back_without_a_name() -> None:
    # GIVEN a user whose full_name is its email (how a nameless contact is created)
    user = kayako_user(full_name="ada@x.example")
    # WHEN mapped to canonical
    contact = user_to_contact(user, [], CONFIG)
    # THEN no first or last name is invented
    assert (contact.first_name, contact.last_name) == (None, None)


def test_user_with_identity_refs_only_has_no_email() -> None:
    # GIVEN a user read without include= (identities are bare references)
    user = kayako_user(emails=[{"id": 2, "resource_type": "identity_email"}], phones=[])
    # WHEN mapped / THEN no email is guessed
    assert user_to_contact(user, [], CONFIG).email is None


def test_user_create_params_carry_name_role_identities_and_mapped_fields() -> None:
    # GIVEN a full canonical contact with one unmapped custom field
    contact = CanonicalContact(
        first_name="Ada",
        last_name="Lovelace",
        email=" ada@x.example ",
        phone="+15550100",
        company_name="Engines",
        custom_fields={"plan": "gold", "not_mapped": "x"},
        tags=frozenset({"vip"}),
    )
    # WHEN the create body is built
    params = user_create_params(contact, CONFIG)
    # THEN it has the joined name, the customer role, trimmed email, phone, mapped fields, no tags
    assert params == {
        "full_name": "Ada Lovelace",
        "role_id": 4,
        "email": "ada@x.example",
        "phone": "+15550100",
        "custom_fields": {"plan_key": "gold", "company": "Engines"},
    }


def test_nameless_contact_is_created_under_its_email() -> None:
    # GIVEN a contact with an email and no name / WHEN the create body is built
    params = user_create_params(CanonicalContact(email="ada@x.example"), CONFIG)
    # THEN Kayako's required full_name is the email
    assert params["full_name"] == "ada@x.example"


def test_contact_without_name_email_or_phone_cannot_be_created() -> None:
    # GIVEN an empty contact / WHEN the create body is built / THEN the mapping refuses it
    with pytest.raises(KayakoMappingError):
        user_create_params(CanonicalContact(custom_fields={"plan": "gold"}), CONFIG)


def test_user_update_params_send_only_changed_fields_and_clear_removed_custom_fields() -> None:
    # GIVEN a contact whose name and custom fields changed (plan removed, source set)
    contact = CanonicalContact(
        first_name="Augusta", last_name="Lovelace", email="new@x.example", custom_fields={"source": "web"}
    )
    # WHEN the update body is built for those changes (email and tags changed too)
    params = user_update_params(contact, frozenset({"first_name", "custom_fields", "email", "tags"}), CONFIG)
    # THEN name and every mapped field are sent (None clears), never email or tags
    assert params == {
        "full_name": "Augusta Lovelace",
        "custom_fields": {"plan_key": None, "lead_source": "web"},
    }


def test_user_update_params_for_company_only_touch_the_company_field() -> None:
    # GIVEN only company_name changed / WHEN the update body is built
    params = user_update_params(CanonicalContact(company_name="Engines"), frozenset({"company_name"}), CONFIG)
    # THEN only the company custom field is sent
    assert params == {"custom_fields": {"company": "Engines"}}


def test_custom_field_values_are_written_as_strings() -> None:
    # GIVEN non-string custom values / WHEN the create body is built / THEN Kayako gets strings
    contact = CanonicalContact(first_name="A", custom_fields={"plan": True, "source": 3})
    assert user_create_params(contact, CONFIG)["custom_fields"] == {"plan_key": "true", "lead_source": "3"}


def test_case_to_task_maps_subject_due_date_status_and_assignee() -> None:
    # GIVEN an open case with a due-date custom field and a mapped agent / WHEN mapped
    task = case_to_task(kayako_case(), CONFIG)
    # THEN title, parent, due date, open and assignee come through
    assert task.id == "5"
    assert task.parent_id == "12"
    assert task.title == "Call back"
    assert task.due_date == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert task.completed is False
    assert task.assignee == "sam@agency.example"


@pytest.mark.parametrize(("status_id", "completed"), [(1, False), (3, False), (4, True), (5, True)])
def test_completed_and_closed_cases_are_completed_tasks(status_id: int, completed: bool) -> None:
    # GIVEN a case in a given status / WHEN mapped / THEN COMPLETED and CLOSED read as completed
    case = kayako_case(status={"id": status_id, "resource_type": "case_status"})
    assert case_to_task(case, CONFIG).completed is completed


def test_unmapped_agent_and_garbage_due_date_read_as_none() -> None:
    # GIVEN a case assigned to an unmapped agent with a due field that is not a date
    case = kayako_case(
        assigned_agent={"id": 99, "resource_type": "user"}, custom_fields={"ghl_due": "next week"}
    )
    # WHEN mapped / THEN neither is invented
    task = case_to_task(case, CONFIG)
    assert (task.assignee, task.due_date) == (None, None)


def test_task_create_params_open_a_note_case_for_the_requester() -> None:
    # GIVEN an open task with a due date, a body and a mapped assignee
    task = CanonicalTask(
        title=" Call back ",
        body="Ask about the renewal",
        due_date=datetime(2026, 2, 1, 10, 30, tzinfo=UTC),
        assignee="sam@agency.example",
    )
    # WHEN the case create body is built
    params = task_create_params(task, 12, CONFIG)
    # THEN it is an OPEN NOTE case for the user, with the due date in the configured field
    assert params == {
        "subject": "Call back",
        "requester_id": 12,
        "channel": "NOTE",
        "contents": "Ask about the renewal",
        "status_id": 2,
        "assigned_agent_id": 7,
        "custom_fields": {"ghl_due": "2026-02-01T10:30:00+00:00"},
        "tags": "ghl-task",
    }


def test_task_without_body_opens_the_case_with_its_title() -> None:
    # GIVEN a task with no body / WHEN the case create body is built / THEN contents = title
    params = task_create_params(CanonicalTask(title="Call back", completed=True), 12, CONFIG)
    assert params["contents"] == "Call back"
    assert params["status_id"] == 4


def test_task_update_params_send_only_changed_fields() -> None:
    # GIVEN a task completed and reassigned to someone without a Kayako agent
    task = CanonicalTask(title="Call back", completed=True, assignee="nobody@agency.example")
    # WHEN the update body is built for those two changes
    params = task_update_params(task, frozenset({"completed", "assignee"}), CONFIG)
    # THEN the completed status is set and the case is unassigned
    assert params == {"status_id": 4, "assigned_agent_id": None}


def test_task_due_date_removed_clears_the_custom_field() -> None:
    # GIVEN a task whose due date was removed / WHEN the update body is built / THEN the field is cleared
    params = task_update_params(CanonicalTask(title="t"), frozenset({"due_date"}), CONFIG)
    assert params == {"custom_fields": {"ghl_due": None}}


def test_due_dates_are_not_synced_without_a_configured_field() -> None:
    # GIVEN no due-date field configured / WHEN a dated task is mapped / THEN no custom field is sent
    config = KayakoMappingConfig()
    task = CanonicalTask(title="t", due_date=datetime(2026, 2, 1, tzinfo=UTC))
    assert "custom_fields" not in task_create_params(task, 1, config)


def test_note_params_use_the_configured_body_field() -> None:
    # GIVEN a connection that names the note body field differently (the name is UNVERIFIED)
    config = KayakoMappingConfig(note_body_field="body")
    # WHEN the note body is built / THEN it uses that name
    assert note_params(CanonicalNote(body="Called, no answer"), config) == {"body": "Called, no answer"}


def test_empty_note_cannot_be_written() -> None:
    # GIVEN a blank note / WHEN the body is built / THEN the mapping refuses it
    with pytest.raises(KayakoMappingError):
        note_params(CanonicalNote(body="  "), CONFIG)


def test_note_to_canonical_reads_body_text() -> None:
    # GIVEN a Kayako note / WHEN mapped / THEN body_text is the body and the parent is the contact
    note = KayakoNote.model_validate(
        {"id": 3, "body_text": "hello", "user": {"id": 12, "resource_type": "user"}}
    )
    assert note_to_canonical(note, "12") == CanonicalNote(id="3", parent_id="12", body="hello")


def test_contact_survives_a_round_trip_through_kayako_shapes() -> None:
    # GIVEN a contact written with the create body, and the user Kayako would serve back for it
    contact = CanonicalContact(
        first_name="Ada", last_name="Lovelace", email="ada@x.example", custom_fields={"plan": "gold"}
    )
    params = user_create_params(contact, CONFIG)
    served = kayako_user(
        full_name=params["full_name"],
        emails=[{"id": 1, "email": params["email"], "is_primary": True}],
        phones=[],
        custom_fields=params["custom_fields"],
    )
    # WHEN read back / THEN the content hash is unchanged (no echo write)
    assert user_to_contact(served, [], CONFIG).content_hash() == contact.content_hash()


@pytest.mark.parametrize(
    "overrides",
    [
        {"open_status": "REOPENED"},
        {"case_status_ids": {"OPEN": 2, "COMPLETED": 4, "ARCHIVED": 9}},
        {"custom_field_map": {"a": "same", "b": "same"}},
        {"assignee_map": {"a@x.example": 1, "b@x.example": 1}},
    ],
)
def test_inconsistent_mapping_config_is_rejected(overrides: dict[str, Any]) -> None:
    # GIVEN an inconsistent configuration / WHEN validated / THEN it is refused up front
    with pytest.raises(ValidationError):
        KayakoMappingConfig.model_validate(overrides)
