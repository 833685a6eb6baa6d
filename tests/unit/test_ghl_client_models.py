"""Write models send only what GHL's DTOs accept (GHL answers 422 to any other property)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from ghlsync.ghl.models import (
    ContactCreate,
    ContactUpdate,
    ContactUpsert,
    CustomFieldWrite,
    DndChannelWrite,
    DndSettingsWrite,
    NoteCreate,
    NoteUpdate,
    SearchFilter,
    TagsBody,
    TaskCreate,
    TaskUpdate,
    ghl_datetime,
)

# Property names of the request DTOs in GHL's OpenAPI (apps/contacts.json, Version 2021-07-28).
_CONTACT_COMMON = {
    "firstName", "lastName", "name", "email", "phone", "address1", "city", "state", "postalCode", "website",
    "timezone", "dnd", "dndSettings", "inboundDndSettings", "tags", "customFields", "source", "dateOfBirth",
    "country", "assignedTo",
}  # fmt: skip
SPEC_DTOS: dict[type[BaseModel], set[str]] = {
    ContactCreate: _CONTACT_COMMON | {"locationId", "gender", "companyName"},
    ContactUpsert: _CONTACT_COMMON | {"locationId", "gender", "companyName", "createNewIfDuplicateAllowed"},
    ContactUpdate: _CONTACT_COMMON,
    TaskCreate: {"title", "body", "dueDate", "completed", "assignedTo"},
    TaskUpdate: {"title", "body", "dueDate", "completed", "assignedTo"},
    NoteCreate: {"userId", "body", "title", "color", "pinned"},
    NoteUpdate: {"userId", "body", "title", "color", "pinned"},
    TagsBody: {"tags"},
}


def wire_names(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


@pytest.mark.parametrize("model", list(SPEC_DTOS), ids=lambda m: m.__name__)
def test_write_models_only_declare_properties_of_their_spec_dto(model: type[BaseModel]) -> None:
    # GIVEN a write model and the property list of the DTO it mirrors
    # WHEN its wire names are listed
    # THEN every one of them exists in the DTO
    assert wire_names(model) <= SPEC_DTOS[model]


@pytest.mark.parametrize("field", ["locationId", "gender", "companyName", "tags", "company_name"])
def test_contact_update_refuses_what_update_contact_dto_lacks_or_what_would_clobber_tags(field: str) -> None:
    # GIVEN a property UpdateContactDto does not have (or `tags`, which would replace every tag)
    # WHEN an update is built with it
    # THEN it is refused before anything is sent
    with pytest.raises(ValidationError):
        ContactUpdate.model_validate({field: "x"})


def test_unknown_properties_are_refused() -> None:
    # GIVEN a property GHL does not know (it answers 422 "property additionalEmails should not exist")
    # WHEN a create is built with it
    # THEN it is refused
    with pytest.raises(ValidationError):
        ContactCreate.model_validate({"additionalEmails": ["a@example.com"]})


def test_bodies_leave_out_unset_and_none_values() -> None:
    # GIVEN an update that sets one field and passes None for another
    update = ContactUpdate(first_name="Ada", email=None)

    # WHEN it is serialised
    # THEN only the set value is sent, camelCase
    assert update.to_body() == {"firstName": "Ada"}


def test_models_accept_the_wire_names_too() -> None:
    # GIVEN data in GHL's own camelCase
    # WHEN a model is built from it
    # THEN it is understood
    assert ContactCreate.model_validate({"firstName": "Ada", "postalCode": "1"}).to_body() == {
        "firstName": "Ada",
        "postalCode": "1",
    }


def test_dnd_settings_use_ghl_channel_names() -> None:
    # GIVEN DND for email and WhatsApp
    update = ContactUpdate(
        dnd_settings=DndSettingsWrite(
            email=DndChannelWrite(status="active"), whats_app=DndChannelWrite(status="inactive")
        )
    )

    # WHEN it is serialised
    # THEN the channel keys are GHL's capitalised names
    assert update.to_body() == {
        "dndSettings": {"Email": {"status": "active"}, "WhatsApp": {"status": "inactive"}}
    }


@pytest.mark.parametrize("reference", [{}, {"id": "a", "key": "b"}])
def test_a_custom_field_is_referenced_by_exactly_one_of_id_or_key(reference: dict[str, str]) -> None:
    # GIVEN a custom field write with neither or both references
    # WHEN it is built
    # THEN it is refused
    with pytest.raises(ValidationError):
        CustomFieldWrite.model_validate({**reference, "field_value": "x"})


def test_task_create_always_sends_the_three_required_properties() -> None:
    # GIVEN a task with only a title and a due date
    task = TaskCreate(title="Call", due_date=datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC))

    # WHEN it is serialised
    # THEN completed (required by CreateTaskParams) is sent too, and the date is GHL's format
    assert task.to_body() == {"title": "Call", "dueDate": "2030-05-06T07:08:09.123Z", "completed": False}


def test_ghl_datetime_converts_to_utc() -> None:
    # GIVEN a time in UTC+2
    local = datetime(2030, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    # WHEN it is formatted for GHL
    # THEN it is the same instant in UTC with a Z
    assert ghl_datetime(local) == "2030-01-01T10:00:00.000Z"


def test_note_create_needs_a_body() -> None:
    # GIVEN an empty note body
    # WHEN the note is built
    # THEN it is refused (NotesDTO requires body)
    with pytest.raises(ValidationError):
        NoteCreate(body="")


def test_tags_body_needs_at_least_one_tag() -> None:
    # GIVEN no tags
    # WHEN a tags body is built
    # THEN it is refused
    with pytest.raises(ValidationError):
        TagsBody(tags=[])


def test_search_filters_are_either_a_field_test_or_a_group() -> None:
    # GIVEN a nested group of filters
    group = SearchFilter(
        group="OR",
        filters=[
            SearchFilter(field="email", operator="eq", value="a@example.com"),
            SearchFilter(field="dateUpdated", operator="range", value={"gte": "2030-01-01"}),
        ],
    )

    # WHEN it is serialised
    # THEN it has GHL's shape
    assert group.to_body() == {
        "group": "OR",
        "filters": [
            {"field": "email", "operator": "eq", "value": "a@example.com"},
            {"field": "dateUpdated", "operator": "range", "value": {"gte": "2030-01-01"}},
        ],
    }


@pytest.mark.parametrize(
    "data",
    [
        {"field": "email"},
        {"group": "AND"},
        {"field": "email", "operator": "eq", "group": "AND", "filters": []},
    ],
)
def test_malformed_search_filters_are_refused(data: dict[str, object]) -> None:
    # GIVEN a filter without an operator, a group without filters, or a mix of both
    # WHEN it is built
    # THEN it is refused
    with pytest.raises(ValidationError):
        SearchFilter.model_validate(data)
