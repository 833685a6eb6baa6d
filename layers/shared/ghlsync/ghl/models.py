"""Pydantic models for GHL API v2 contacts, tasks, notes, tags and appointments (Version 2021-07-28).

Attribute names are snake_case; on the wire they are GHL's camelCase (aliases), and models accept
either when built from Python.

Read models (`Contact`, `Task`, `Note`, `Appointment`) tolerate fields they do not declare (GHL adds
fields without notice; live contacts carry more than the spec lists): the extras stay reachable
through `model_extra`.

Write models mirror the spec DTOs exactly (shared/reference ghl-openapi apps/contacts.json) and
forbid anything else: GHL validates with a NestJS whitelist and rejects an unknown property with 422
("property gender should not exist"). `to_body()` drops None, so None means "leave as it is".
"""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


# GHL sends null where a list is empty often enough that reads treat the two alike.
ListOrNull = BeforeValidator(_none_as_empty)


# defer_build: a model's validator is built on its first use, not at import. One invocation uses a
# handful of these ~35 models, and building them all cost ~80 ms of every cold start.
class ReadModel(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class WriteModel(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    def to_body(self) -> dict[str, Any]:
        """The JSON body GHL expects: camelCase keys, no None values."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def ghl_datetime(value: datetime) -> str:
    """GHL's timestamp format: UTC with milliseconds and a Z ("2021-07-08T02:30:00.000Z").

    A naive datetime is taken to be UTC already.
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- shared pieces


DndStatus = Literal["active", "inactive", "permanent"]


class DndChannel(ReadModel):
    status: str | None = None
    message: str | None = None
    code: str | None = None


class CustomFieldValue(ReadModel):
    """customFields as GHL returns them: `{id, value}`; value may be a string, number, list or object."""

    id: str
    value: Any = None


class DndChannelWrite(WriteModel):
    status: DndStatus
    message: str | None = None
    code: str | None = None


class DndSettingsWrite(WriteModel):
    """DndSettingsSchema: one entry per channel; GHL's channel names are capitalised."""

    call: DndChannelWrite | None = Field(default=None, alias="Call")
    email: DndChannelWrite | None = Field(default=None, alias="Email")
    sms: DndChannelWrite | None = Field(default=None, alias="SMS")
    whats_app: DndChannelWrite | None = Field(default=None, alias="WhatsApp")
    gmb: DndChannelWrite | None = Field(default=None, alias="GMB")
    fb: DndChannelWrite | None = Field(default=None, alias="FB")


class InboundDndChannelWrite(WriteModel):
    status: Literal["active", "inactive"]
    message: str | None = None


class InboundDndSettingsWrite(WriteModel):
    all: InboundDndChannelWrite | None = None


class CustomFieldWrite(WriteModel):
    """customFields as GHL accepts them: `{id | key, field_value}` (note: snake_case `field_value`).

    `field_value` is typed by the field's kind: string (text, options, radio), number (numerical,
    monetary), list of strings (checkbox, multiple options) or an object (file upload).
    """

    id: str | None = None
    key: str | None = None
    field_value: str | int | float | list[str] | dict[str, Any] = Field(alias="field_value")

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        if (self.id is None) == (self.key is None):
            raise ValueError("a custom field is referenced by exactly one of id or key")
        return self


class CustomFieldDefinition(ReadModel):
    """A location's custom field (locations.json `CustomFieldSchema`): contacts carry its values
    under `id`; `field_key` (`contact.membership_status`) is the name people configure with."""

    id: str
    name: str | None = None
    field_key: str | None = None
    data_type: str | None = None
    model: str | None = None
    picklist_options: Annotated[list[str], ListOrNull] = Field(default_factory=list)


class CustomFieldList(ReadModel):
    custom_fields: Annotated[list[CustomFieldDefinition], ListOrNull] = Field(default_factory=list)


# ---------------------------------------------------------------- contacts (read)


class Contact(ReadModel):
    """A contact as GET/PUT/upsert/create/list/search return it (every field but `id` may be absent)."""

    id: str
    location_id: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    timezone: str | None = None
    dnd: bool | None = None
    dnd_settings: dict[str, DndChannel] | None = None
    type: str | None = None
    source: str | None = None
    assigned_to: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    website: str | None = None
    tags: Annotated[list[str], ListOrNull] = Field(default_factory=list)
    # GHL returns "YYYY-MM-DD" or an ISO timestamp; older data carries epoch milliseconds.
    date_of_birth: str | int | None = None
    date_added: datetime | None = None
    date_updated: datetime | None = None
    custom_fields: Annotated[list[CustomFieldValue], ListOrNull] = Field(default_factory=list)
    business_id: str | None = None
    # POST /contacts/search puts the cursor for the next page on every contact.
    search_after: list[Any] | None = None


class UpsertResult(ReadModel):
    new: bool
    contact: Contact
    trace_id: str | None = None


# ---------------------------------------------------------------- contacts (write)


class _ContactFields(WriteModel):
    """Properties CreateContactDto, UpsertContactDto and UpdateContactDto all accept."""

    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    website: str | None = None
    timezone: str | None = None
    dnd: bool | None = None
    dnd_settings: DndSettingsWrite | None = None
    inbound_dnd_settings: InboundDndSettingsWrite | None = None
    custom_fields: list[CustomFieldWrite] | None = None
    source: str | None = None
    # GHL takes YYYY-MM-DD (and a few other separators); a date is written as YYYY-MM-DD.
    date_of_birth: date | str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    assigned_to: str | None = None

    @field_serializer("date_of_birth")
    def _dob(self, value: date | str | None) -> str | None:
        return value.isoformat() if isinstance(value, date) else value


class ContactCreate(_ContactFields):
    """CreateContactDto. `locationId` is added by the client (it is the client's location)."""

    gender: str | None = None
    company_name: str | None = None
    tags: list[str] | None = None


class ContactUpsert(ContactCreate):
    """UpsertContactDto. Beware: on an existing contact, `tags` replaces all of its tags."""

    create_new_if_duplicate_allowed: bool | None = None


class ContactUpdate(_ContactFields):
    """UpdateContactDto: no locationId, gender or companyName (GHL answers 422 to those).

    `tags` is deliberately absent: in a PUT it replaces every tag on the contact, which would wipe
    tags other people or workflows added since we last looked. Tags change through
    `GhlClient.add_tags` / `remove_tags` (deltas) instead.
    """


class TagsBody(WriteModel):
    """TagsDTO: body of POST and DELETE /contacts/{contactId}/tags."""

    tags: list[str] = Field(min_length=1)


# ---------------------------------------------------------------- tasks


class Task(ReadModel):
    id: str
    title: str | None = None
    body: str | None = None
    assigned_to: str | None = None
    due_date: datetime | None = None
    completed: bool = False
    contact_id: str | None = None


class TaskCreate(WriteModel):
    """CreateTaskParams: title, dueDate and completed are required."""

    title: str = Field(min_length=1)
    due_date: datetime
    completed: bool = False
    body: str | None = None
    assigned_to: str | None = None

    @field_serializer("due_date")
    def _due(self, value: datetime) -> str:
        return ghl_datetime(value)


class TaskUpdate(WriteModel):
    """UpdateTaskBody: every property optional."""

    title: str | None = None
    body: str | None = None
    due_date: datetime | None = None
    completed: bool | None = None
    assigned_to: str | None = None

    @field_serializer("due_date")
    def _due(self, value: datetime | None) -> str | None:
        return ghl_datetime(value) if value is not None else None


class TaskCompletedBody(WriteModel):
    """UpdateTaskStatusParams."""

    completed: bool


# ---------------------------------------------------------------- notes


class Note(ReadModel):
    id: str
    body: str | None = None
    user_id: str | None = None
    date_added: datetime | None = None
    contact_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool | None = None


class NoteCreate(WriteModel):
    """NotesDTO: body is required."""

    body: str = Field(min_length=1)
    user_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool | None = None


class NoteUpdate(WriteModel):
    """UpdateNoteDTO: every property optional."""

    body: str | None = None
    user_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool | None = None


# ---------------------------------------------------------------- appointments


class Appointment(ReadModel):
    """GetEventSchema. Times stay strings: the spec shows "2021-07-16 11:00:00" (no zone), and
    whether live responses are ISO instead is unconfirmed."""

    id: str
    calendar_id: str | None = None
    status: str | None = None
    title: str | None = None
    assigned_user_id: str | None = None
    notes: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    address: str | None = None
    location_id: str | None = None
    contact_id: str | None = None
    group_id: str | None = None
    appointment_status: str | None = None
    users: Annotated[list[str], ListOrNull] = Field(default_factory=list)
    date_added: str | None = None
    date_updated: str | None = None
    assigned_resources: Annotated[list[str], ListOrNull] = Field(default_factory=list)


# ---------------------------------------------------------------- search


SearchOperator = Literal["eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range"]


class SearchFilter(WriteModel):
    """One filter of POST /contacts/search: `{field, operator, value}`, or a group of filters."""

    field: str | None = None
    operator: SearchOperator | None = None
    value: Any = None
    group: Literal["AND", "OR"] | None = None
    filters: list["SearchFilter"] | None = None

    @model_validator(mode="after")
    def _leaf_or_group(self) -> Self:
        is_group = self.group is not None
        if is_group != (self.filters is not None) or is_group == (self.field is not None):
            raise ValueError("a filter is either {field, operator, value} or {group, filters}")
        if not is_group and self.operator is None:
            raise ValueError("a field filter needs an operator")
        return self


class SearchSort(WriteModel):
    field: str
    direction: Literal["asc", "desc"] = "asc"


class _Wire(BaseModel):
    """Response envelopes: only the part the client reads is declared."""

    model_config = ConfigDict(
        defer_build=True,
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )


class ContactEnvelope(_Wire):
    contact: Contact


class ContactListMeta(_Wire):
    start_after_id: str | None = None
    start_after: int | None = None
    total: int | None = None


class ContactListResponse(_Wire):
    contacts: list[Contact] = Field(default_factory=list)
    meta: ContactListMeta | None = None
    count: int | None = None
    total: int | None = None


class Business(_Wire):
    """A Business Profile (apps/businesses.json BusinessDto): what a refresh enriches contacts with."""

    id: str
    name: str = ""


class BusinessListResponse(_Wire):
    businesses: list[Business] = Field(default_factory=list)


class DuplicateResponse(_Wire):
    contact: Contact | None = None


class TagsResponse(_Wire):
    tags: list[str] = Field(default_factory=list)


class DeleteResponse(_Wire):
    # GHL v2 spells it "succeded"; v3 adds "succeeded". Either one counts.
    succeded: bool | None = Field(default=None, validation_alias=AliasChoices("succeded", "succeeded"))


class TaskEnvelope(_Wire):
    task: Task


class TaskListResponse(_Wire):
    tasks: list[Task] = Field(default_factory=list)


class TaskSearchResponse(_Wire):
    """POST /locations/{locationId}/tasks/search. The spec types `tasks` as a list of arrays (it
    documents no item); the items are read as the contact-scoped Task (UNCONFIRMED)."""

    tasks: list[Task] = Field(default_factory=list)


class NoteEnvelope(_Wire):
    note: Note


class NoteListResponse(_Wire):
    notes: list[Note] = Field(default_factory=list)


class AppointmentListResponse(_Wire):
    events: list[Appointment] = Field(default_factory=list)
