"""eKyte ⇄ canonical (target-apps.md §2.4). Pure: no HTTP, no AWS.

eKyte is not a CRM: there is no contact object. A GHL contact is held as

- a **person-contact** under a **Person** (`IsCustomer`) that stands for its business, when the
  contact names a company (`company_name`: GHL's business name). All contacts of one business
  share that Person; its name is the business name;
- a **Person** of its own when it names no company.

The connector's contact id says which: `p12` (Person 12) or `p12.c5` (person-contact 5 of Person
12) (`EkyteContactRef`).

eKyte tasks live in a workspace, not under a person, so a task we write carries a footer line in
its description naming its contact and the fields eKyte required that the hub did not give
(`ghlsync: contact=p12.c5 defaults=due,executor`). Reading a task back strips the footer, takes its
parent from it and leaves the defaulted fields empty, so the task reads as the hub wrote it (the
engine then recognises a task an earlier, timed-out create already made). A task made in eKyte
reaches GHL when its description carries the same line (`ghlsync: contact=p12`).

eKyte serialises responses in camelCase (ASP.NET Core) but PascalCase has been seen too: every
model here accepts both.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.names import join_name, split_full_name

# TaskSituation (target-apps.md §2.1, [3P]).
SITUATION_ACTIVE = 10
SITUATION_COMPLETED = 30
_REF = re.compile(r"^p(\d+)(?:\.c(\d+))?$")
_FOOTER = re.compile(r"(?:^|\n)ghlsync:[ \t]*(?P<args>[^\n]*)\s*$")
_DUE_RULE = re.compile(r"^\+(\d{1,3}) ?days?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EkyteMappingError(ValueError):
    """A canonical record that cannot be written to eKyte as configured (permanent)."""


class EkyteMappingConfig(BaseModel):
    """Where hub tasks go in eKyte and how GHL notes are kept. Every default is overridable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The workspace, task type and default executor (an eKyte user's e-mail) of every task we create.
    workspace_id: int = Field(default=1, ge=1)
    task_type_id: int = Field(default=1, ge=1)
    executor_email: str | None = None
    # eKyte requires CurrentDueDate; a hub task without one is due this long after its creation.
    default_due: str = "+7 days"
    # PriorityGroup of the tasks we create (0-100; 0 = not prioritised).
    priority_group: int = Field(default=0, ge=0, le=100)
    # GHL notes -> a note on a per-client board ("GHL notes - <client>"), or (with an MCP token) a
    # comment on the contact's newest task.
    notes_target: str = Field(default="board", pattern="^(board|task_comment)$")
    notes_board_prefix: str = "GHL notes - "
    notes_category: str = "GHL"

    @field_validator("default_due")
    @classmethod
    def _due_rule(cls, value: str) -> str:
        if not _DUE_RULE.match(value.strip()):
            raise ValueError('default_due must read "+N days" (N up to 999)')
        return value.strip()

    def default_due_date(self, now: datetime) -> datetime:
        match = _DUE_RULE.match(self.default_due)
        assert match is not None
        return (now + timedelta(days=int(match.group(1)))).replace(microsecond=0)


@dataclass(frozen=True)
class EkyteContactRef:
    """Which eKyte record holds a contact: a Person, or a person-contact under one."""

    person_id: int
    contact_id: int | None = None

    @classmethod
    def parse(cls, value: str) -> "EkyteContactRef | None":
        match = _REF.match(value.strip())
        if match is None:
            return None
        return cls(int(match.group(1)), int(match.group(2)) if match.group(2) else None)

    def __str__(self) -> str:
        return f"p{self.person_id}" if self.contact_id is None else f"p{self.person_id}.c{self.contact_id}"


# -- eKyte records as the API answers them (camelCase or PascalCase; unknown fields ignored) -----
class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _camel(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {(k[:1].lower() + k[1:]) if isinstance(k, str) else k: v for k, v in data.items()}
        return data


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class EkytePersonContact(_Record):
    id: int
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class EkytePerson(_Record):
    id: int
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    is_customer: bool = Field(default=False, alias="isCustomer")
    contacts: list[EkytePersonContact] = Field(default_factory=list)
    creation_date: datetime | None = Field(default=None, alias="creationDate")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @property
    def changed_at(self) -> datetime | None:
        return _aware(self.updated_at or self.creation_date)


class EkyteExecutor(_Record):
    email: str | None = None


class EkyteTask(_Record):
    id: int
    title: str = ""
    description: str | None = None
    situation: int | None = None
    task_situation: int | None = Field(default=None, alias="taskSituation")
    workspace_id: int | None = Field(default=None, alias="workspaceId")
    current_due_date: datetime | None = Field(default=None, alias="currentDueDate")
    executor_email: str | None = Field(default=None, alias="executorEmail")
    executor: EkyteExecutor | None = None
    creation_date: datetime | None = Field(default=None, alias="creationDate")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @property
    def state(self) -> int:
        return self.situation if self.situation is not None else (self.task_situation or SITUATION_ACTIVE)

    @property
    def changed_at(self) -> datetime | None:
        return _aware(self.updated_at or self.creation_date)

    @property
    def executor_address(self) -> str | None:
        return self.executor_email or (self.executor.email if self.executor else None)


# -- contacts ----------------------------------------------------------------------------------
def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def person_to_contact(person: EkytePerson) -> CanonicalContact:
    """A Person of its own (no business)."""
    first, last = split_full_name(person.name or "")
    return CanonicalContact(
        id=str(EkyteContactRef(person.id)),
        updated_at=person.changed_at,
        first_name=first,
        last_name=last,
        email=_blank(person.email),
        phone=_blank(person.phone),
    )


def person_contact_to_contact(person: EkytePerson, contact: EkytePersonContact) -> CanonicalContact:
    """A person-contact under its business's Person: the company name is the Person's name."""
    first, last = split_full_name(contact.name or "")
    return CanonicalContact(
        id=str(EkyteContactRef(person.id, contact.id)),
        updated_at=person.changed_at,
        first_name=first,
        last_name=last,
        email=_blank(contact.email),
        phone=_blank(contact.phone),
        company_name=_blank(person.name),
    )


def contacts_of(person: EkytePerson) -> list[CanonicalContact]:
    """The GHL contacts one Person holds: its person-contacts when it has some, else the Person
    itself, unless it has neither e-mail nor phone (a business whose contacts are still to come)."""
    if person.contacts:
        return [person_contact_to_contact(person, c) for c in person.contacts]
    if not _blank(person.email) and not _blank(person.phone):
        return []
    return [person_to_contact(person)]


def _email(contact: CanonicalContact) -> str:
    """The contact's e-mail as eKyte stores it; one that is not an address is refused here (the
    integration API's own checks are not documented)."""
    if contact.email and not _EMAIL.match(contact.email.strip()):
        raise EkyteMappingError("the contact's e-mail is not an address")
    return (contact.email or "").strip()


def _display_name(contact: CanonicalContact) -> str:
    name = join_name(contact.first_name, contact.last_name) or contact.email or contact.phone
    if not name:
        raise EkyteMappingError("eKyte needs a name: the contact has no name, e-mail or phone")
    return name


def person_body(contact: CanonicalContact, user_email: str) -> dict[str, Any]:
    """POST /persons for a contact without a business."""
    return {
        "UserEmail": user_email,
        "Name": _display_name(contact),
        "IsCustomer": True,
        "IsSupplier": False,
        "Email": _email(contact),
        "Phone": contact.phone or "",
    }


def business_body(company_name: str, user_email: str) -> dict[str, Any]:
    """POST /persons for a business (the Person its contacts hang under)."""
    return {"UserEmail": user_email, "Name": company_name.strip(), "IsCustomer": True, "IsSupplier": False}


def person_contact_body(contact: CanonicalContact, person_id: int, user_email: str) -> dict[str, Any]:
    """POST /persons/contacts."""
    return {
        "UserEmail": user_email,
        "PersonId": person_id,
        "Name": _display_name(contact),
        "Email": _email(contact),
        "Phone": contact.phone or "",
    }


def same_business(person: EkytePerson, company_name: str) -> bool:
    return bool(
        person.is_customer and person.name and person.name.strip().lower() == company_name.strip().lower()
    )


def matching_contacts(
    persons: Iterable[EkytePerson], *, email: str | None, phone: str | None
) -> list[CanonicalContact]:
    """Every held contact whose e-mail (case-insensitive) or phone equals the given one: eKyte cannot
    search persons by e-mail, so a listing of persons is the index."""
    wanted_email = email.strip().lower() if email and email.strip() else None
    wanted_phone = phone.strip() if phone and phone.strip() else None
    found = []
    for person in persons:
        for contact in contacts_of(person):
            if (wanted_email and (contact.email or "").lower() == wanted_email) or (
                wanted_phone and contact.phone == wanted_phone
            ):
                found.append(contact)
    return found


# -- tasks -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Footer:
    contact: str | None
    defaults: frozenset[str]


def split_footer(description: str | None) -> tuple[str | None, Footer]:
    """The description without our footer line, and what the footer says."""
    text = description or ""
    match = _FOOTER.search(text)
    if match is None:
        return _blank(text), Footer(None, frozenset())
    args = dict(part.partition("=")[::2] for part in match.group("args").split() if "=" in part)
    defaults = frozenset(d for d in args.get("defaults", "").split(",") if d)
    return _blank(text[: match.start()]), Footer(args.get("contact") or None, defaults)


def task_to_canonical(task: EkyteTask) -> CanonicalTask:
    body, footer = split_footer(task.description)
    due = None if "due" in footer.defaults else _aware(task.current_due_date)
    executor = None if "executor" in footer.defaults else _blank(task.executor_address)
    return CanonicalTask(
        id=str(task.id),
        parent_id=footer.contact,
        updated_at=task.changed_at,
        title=task.title,
        body=body,
        due_date=due,
        completed=task.state == SITUATION_COMPLETED,
        assignee=executor,
    )


def _ekyte_time(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def task_body(
    task: CanonicalTask, contact: EkyteContactRef, config: EkyteMappingConfig, user_email: str, now: datetime
) -> dict[str, Any]:
    """POST /tasks: the configured workspace and type; a due date and executor the hub lacks come
    from the settings and are named in the footer so the task reads back as the hub wrote it."""
    if not task.title.strip():
        raise EkyteMappingError("eKyte requires a task title")
    defaults = []
    due = task.due_date
    if due is None:
        due = config.default_due_date(now)
        defaults.append("due")
    executor = task.assignee
    if executor is None and config.executor_email:
        executor = config.executor_email
        defaults.append("executor")
    footer = f"ghlsync: contact={contact}" + (f" defaults={','.join(defaults)}" if defaults else "")
    body: dict[str, Any] = {
        "UserEmail": user_email,
        "Title": task.title.strip(),
        "WorkspaceId": config.workspace_id,
        "CtcTaskTypeId": config.task_type_id,
        "PriorityGroup": config.priority_group,
        "Description": f"{task.body}\n\n{footer}" if task.body else footer,
        "PhaseStartDate": _ekyte_time(now),
        "CurrentDueDate": _ekyte_time(due),
        "PlanTask": True,
    }
    if executor:
        body["InitialExecutor"] = executor
    return body


def task_update_arguments(task_id: int, task: CanonicalTask, changed: frozenset[str]) -> dict[str, Any]:
    """The MCP update tool's arguments for the changed fields (completion is the situation; the
    tool takes no executor, so a changed assignee stays as it is in eKyte)."""
    arguments: dict[str, Any] = {"taskId": task_id}
    if "title" in changed:
        arguments["title"] = task.title
    if "due_date" in changed and task.due_date is not None:
        arguments["currentDueDate"] = _ekyte_time(task.due_date)
    if "completed" in changed:
        arguments["situation"] = SITUATION_COMPLETED if task.completed else SITUATION_ACTIVE
    return arguments


# -- notes -------------------------------------------------------------------------------------
def note_title(note: CanonicalNote) -> str:
    first_line = (note.body.strip().splitlines() or [""])[0]
    return (first_line[:77] + "...") if len(first_line) > 80 else (first_line or "Note")


def board_note_body(note: CanonicalNote, board_id: int, config: EkyteMappingConfig) -> dict[str, Any]:
    """POST /notes: a knowledge-base note on the client's board."""
    return {
        "PlanId": board_id,
        "Title": note_title(note),
        "Description": "",
        "Content": note.body,
        "Category": config.notes_category,
    }
