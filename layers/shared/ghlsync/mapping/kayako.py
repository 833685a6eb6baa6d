"""Kayako ⇄ canonical (shared/reference/target-apps.md §1). Pure: no HTTP, no AWS.

- Contact ⇄ user: `full_name` is split on the first space (first name, rest = last name) and joined
  back with one space (`mapping.names`; the engine merges the pair as one value, see
  `Capabilities.coupled_fields`); the primary email and phone identities carry email and phone; canonical
  custom fields go to Kayako user custom fields through `custom_field_map`.
- Task ⇄ case: Kayako has no tasks (§1.8), so a GHL task becomes a case requested by the contact's
  user. Title ⇄ subject, completed ⇄ a completed status, assignee ⇄ agent through `assignee_map`;
  cases have no due date or editable body, so those ride in case custom fields when configured.
- Note ⇄ user note: body ⇄ `body_text`; the create/update field name is configurable.

Several Kayako names are UNVERIFIED in the reference (create parameters, the note body field,
case statuses, custom field shapes): every one of them is a field of `KayakoMappingConfig`.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.names import join_name, split_full_name

CASE_STATUS_TYPES = ("NEW", "OPEN", "PENDING", "COMPLETED", "CLOSED")


class KayakoMappingError(ValueError):
    """A canonical record that cannot be written to Kayako as configured (permanent)."""


class KayakoMappingConfig(BaseModel):
    """How one connection maps its Kayako instance. Every default is overridable per connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Role given to users we create. Kayako requires `role_id`; 4 is the customer role in a default
    # instance (check GET /api/v1/roles): UNVERIFIED.
    customer_role_id: int = Field(default=4, ge=1)
    # canonical custom-field key -> Kayako user custom-field key. Unmapped keys are not synced.
    custom_field_map: dict[str, str] = Field(default_factory=dict)
    # Kayako user custom-field key that holds the canonical company_name (None: not synced).
    company_field: str | None = None
    # canonical assignee (an email, usually) -> Kayako agent user id. Unmapped: case left unassigned.
    assignee_map: dict[str, int] = Field(default_factory=dict)
    # Case status type -> status id in this instance (`status_id` on write, `status.id` on read).
    case_status_ids: dict[str, int] = Field(
        default_factory=lambda: {"NEW": 1, "OPEN": 2, "PENDING": 3, "COMPLETED": 4, "CLOSED": 5}
    )
    open_status: str = "OPEN"  # written when a task is (re)opened
    completed_status: str = "COMPLETED"  # written when a task is completed
    completed_statuses: frozenset[str] = frozenset({"COMPLETED", "CLOSED"})  # read as completed
    # Case custom-field key holding the task due date (ISO-8601); None: due dates are not synced.
    due_date_field: str | None = None
    # Case custom-field key holding the task body; None: the body only seeds the first message.
    task_body_field: str | None = None
    task_channel: str = "NOTE"
    # Tags put on every case created from a task, so agents can tell them apart.
    task_tags: tuple[str, ...] = ("ghl-task",)
    # Body parameter of POST/PUT users/:id/notes; the reference expects `contents`: UNVERIFIED.
    note_body_field: str = "contents"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        unknown = set(self.case_status_ids) - set(CASE_STATUS_TYPES)
        if unknown:
            raise ValueError(f"case_status_ids: unknown status types {sorted(unknown)}")
        for name in ("open_status", "completed_status"):
            if getattr(self, name) not in self.case_status_ids:
                raise ValueError(f"{name} must be a key of case_status_ids")
        if len(set(self.custom_field_map.values())) != len(self.custom_field_map):
            raise ValueError("custom_field_map: two canonical keys map to the same Kayako field")
        if len(set(self.assignee_map.values())) != len(self.assignee_map):
            raise ValueError("assignee_map: two assignees map to the same Kayako agent")
        return self


# -- Kayako resources, as the API serialises them (unknown fields ignored) ---------------------
class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class KayakoRef(_Resource):
    id: int
    resource_type: str


class KayakoEmailIdentity(_Resource):
    id: int
    email: str
    is_primary: bool = False


class KayakoPhoneIdentity(_Resource):
    id: int
    number: str
    is_primary: bool = False


class KayakoUser(_Resource):
    id: int
    full_name: str = ""
    role: KayakoRef | None = None
    # Full identities when read with include=identity_email,identity_phone; bare refs otherwise.
    emails: list[Annotated[KayakoEmailIdentity | KayakoRef, Field(union_mode="left_to_right")]] = []
    phones: list[Annotated[KayakoPhoneIdentity | KayakoRef, Field(union_mode="left_to_right")]] = []
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None

    def email_identities(self) -> list[KayakoEmailIdentity]:
        return [e for e in self.emails if isinstance(e, KayakoEmailIdentity)]

    def phone_identities(self) -> list[KayakoPhoneIdentity]:
        return [p for p in self.phones if isinstance(p, KayakoPhoneIdentity)]

    def primary_email(self) -> str | None:
        return _primary([(e.email, e.is_primary) for e in self.email_identities()])

    def primary_phone(self) -> str | None:
        return _primary([(p.number, p.is_primary) for p in self.phone_identities()])


class KayakoNote(_Resource):
    id: int
    body_text: str | None = None
    user: KayakoRef | None = None
    updated_at: datetime | None = None


class KayakoCase(_Resource):
    id: int
    subject: str = ""
    requester: KayakoRef | None = None
    assigned_agent: KayakoRef | None = None
    status: KayakoRef | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None


def _primary(values: list[tuple[str, bool]]) -> str | None:
    for value, is_primary in values:
        if is_primary:
            return value
    return values[0][0] if values else None


# -- contacts -------------------------------------------------------------------------------
def user_to_contact(user: KayakoUser, tags: Iterable[str], config: KayakoMappingConfig) -> CanonicalContact:
    email, phone = user.primary_email(), user.primary_phone()
    # A user created from a nameless contact is named after its email or phone (full_name is
    # required); reading it back must not invent a first name.
    placeholder = user.full_name.strip() in {v for v in (email, phone) if v}
    first_name, last_name = (None, None) if placeholder else split_full_name(user.full_name)
    by_kayako_key = {kayako: canonical for canonical, kayako in config.custom_field_map.items()}
    custom_fields = {
        by_kayako_key[key]: value
        for key, value in user.custom_fields.items()
        if key in by_kayako_key and value not in (None, "")
    }
    company = user.custom_fields.get(config.company_field) if config.company_field else None
    return CanonicalContact(
        id=str(user.id),
        updated_at=user.updated_at,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        company_name=company or None,
        custom_fields=custom_fields,
        tags=frozenset(tags),
    )


def _custom_value(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _user_custom_fields(
    contact: CanonicalContact, changed: frozenset[str], config: KayakoMappingConfig
) -> dict[str, str | None]:
    """The mapped Kayako fields behind the changed canonical fields; None clears a field."""
    fields: dict[str, str | None] = {}
    if "custom_fields" in changed:
        for canonical, kayako in config.custom_field_map.items():
            fields[kayako] = _custom_value(contact.custom_fields.get(canonical))
    if "company_name" in changed and config.company_field:
        fields[config.company_field] = _custom_value(contact.company_name)
    return fields


def user_create_params(contact: CanonicalContact, config: KayakoMappingConfig) -> dict[str, Any]:
    full_name = join_name(contact.first_name, contact.last_name) or contact.email or contact.phone
    if not full_name:
        raise KayakoMappingError("a Kayako user needs a name, an email or a phone")
    params: dict[str, Any] = {"full_name": full_name, "role_id": config.customer_role_id}
    if contact.email:
        params["email"] = contact.email.strip()
    if contact.phone:
        params["phone"] = contact.phone.strip()
    everything = frozenset({"custom_fields", "company_name"})
    custom_fields = {
        k: v for k, v in _user_custom_fields(contact, everything, config).items() if v is not None
    }
    if custom_fields:
        params["custom_fields"] = custom_fields
    return params


def user_update_params(
    contact: CanonicalContact, changed: frozenset[str], config: KayakoMappingConfig
) -> dict[str, Any]:
    """PUT users/:id parameters for the changed canonical fields (email/phone are identities,
    tags are deltas: neither goes in this body)."""
    params: dict[str, Any] = {}
    if changed & {"first_name", "last_name"}:
        full_name = join_name(contact.first_name, contact.last_name)
        if full_name:  # Kayako cannot hold a nameless user: keep the current name
            params["full_name"] = full_name
    custom_fields = _user_custom_fields(contact, changed, config)
    if custom_fields:
        params["custom_fields"] = custom_fields
    return params


# -- tasks ----------------------------------------------------------------------------------
def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_due(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return _as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None  # an agent typed something that is not a date: treat as no due date


def case_to_task(case: KayakoCase, config: KayakoMappingConfig) -> CanonicalTask:
    status_type = (
        {v: k for k, v in config.case_status_ids.items()}.get(case.status.id) if case.status else None
    )
    by_agent = {agent: assignee for assignee, agent in config.assignee_map.items()}
    body = case.custom_fields.get(config.task_body_field) if config.task_body_field else None
    return CanonicalTask(
        id=str(case.id),
        updated_at=case.updated_at,
        parent_id=str(case.requester.id) if case.requester else None,
        title=case.subject,
        body=body or None,
        due_date=_parse_due(case.custom_fields.get(config.due_date_field)) if config.due_date_field else None,
        completed=status_type in config.completed_statuses,
        assignee=by_agent.get(case.assigned_agent.id) if case.assigned_agent else None,
    )


def _task_custom_fields(
    task: CanonicalTask, changed: frozenset[str], config: KayakoMappingConfig
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if config.due_date_field and "due_date" in changed:
        fields[config.due_date_field] = _as_utc(task.due_date).isoformat() if task.due_date else None
    if config.task_body_field and "body" in changed:
        fields[config.task_body_field] = task.body or None
    return fields


def _status_id(task: CanonicalTask, config: KayakoMappingConfig) -> int:
    return config.case_status_ids[config.completed_status if task.completed else config.open_status]


def task_create_params(task: CanonicalTask, requester_id: int, config: KayakoMappingConfig) -> dict[str, Any]:
    title = task.title.strip()
    if not title:
        raise KayakoMappingError("a Kayako case needs a subject: the task has no title")
    params: dict[str, Any] = {
        "subject": title,
        "requester_id": requester_id,
        "channel": config.task_channel,
        "contents": (task.body or "").strip() or title,  # a case opens with a first message
        "status_id": _status_id(task, config),
    }
    agent_id = config.assignee_map.get(task.assignee) if task.assignee else None
    if agent_id is not None:
        params["assigned_agent_id"] = agent_id
    custom_fields = {
        k: v
        for k, v in _task_custom_fields(task, frozenset({"due_date", "body"}), config).items()
        if v is not None
    }
    if custom_fields:
        params["custom_fields"] = custom_fields
    if config.task_tags:
        params["tags"] = ",".join(config.task_tags)
    return params


def task_update_params(
    task: CanonicalTask, changed: frozenset[str], config: KayakoMappingConfig
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if "title" in changed:
        if not task.title.strip():
            raise KayakoMappingError("a Kayako case needs a subject: the task has no title")
        params["subject"] = task.title.strip()
    if "completed" in changed:
        params["status_id"] = _status_id(task, config)
    if "assignee" in changed:
        # An assignee with no Kayako agent leaves the case unassigned rather than wrongly assigned.
        params["assigned_agent_id"] = config.assignee_map.get(task.assignee) if task.assignee else None
    custom_fields = _task_custom_fields(task, changed, config)
    if custom_fields:
        params["custom_fields"] = custom_fields
    return params


# -- notes ----------------------------------------------------------------------------------
def note_to_canonical(note: KayakoNote, contact_id: str) -> CanonicalNote:
    return CanonicalNote(
        id=str(note.id), updated_at=note.updated_at, parent_id=contact_id, body=note.body_text or ""
    )


def note_params(note: CanonicalNote, config: KayakoMappingConfig) -> dict[str, Any]:
    if not note.body.strip():
        raise KayakoMappingError("a Kayako note needs contents: the note is empty")
    return {config.note_body_field: note.body}


# -- automation payloads (the shape the sandbox sends; see sandbox/apps/kayako/automations.py) -------
class KayakoAutomationPayload(_Resource):
    event: str = Field(min_length=1)
    id: int
    user_id: int
    updated_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)
