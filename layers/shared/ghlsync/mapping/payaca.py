"""Payaca ⇄ canonical (target-apps.md §4). Pure: no HTTP, no AWS.

- A GHL contact is a Payaca **customer**: the person is the customer's primary entry of
  `contacts[]` (`fullName`, `email`, `phoneNumber`), the company name is the customer's `name`,
  custom fields go through `custom_field_map` (canonical key → Payaca custom-field identifier).
- The postal address is the customer's billing entry of `addresses[]` (else its first): `line1`,
  `city`, `postcode`. Payaca has no state and names countries where GHL uses ISO codes, so neither
  is synced; `line2` and the other addresses are kept as they are.
- Tags are Payaca `tagNames`, 1-30 characters each. A longer tag is refused with the names listed
  (`PayacaMappingError`), never cut: a truncated tag would be a different tag on each side.
- A project event becomes a GHL note on the customer's contact ("Project ABC123 moved to Install"),
  a stage tag (`payaca-stage-install`) on that contact, and optionally a task for its assignee.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ghlsync.mapping.canonical import ADDRESS_FIELDS, CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.names import join_name, split_full_name

TAG_MAX_LENGTH = 30
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class PayacaMappingError(ValueError):
    """A canonical record that cannot be written to Payaca as configured (permanent)."""


class PayacaMappingConfig(BaseModel):
    """How one connection maps its Payaca account. Every default is overridable per connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # canonical custom-field key -> Payaca custom-field identifier (`^[a-zA-Z0-9-]+$`).
    custom_field_map: dict[str, str] = Field(default_factory=dict)
    # Prefix of the tag a project's pipeline stage puts on the customer's GHL contact; "" turns
    # stage tags off (and with them the project listing on every customer read).
    stage_tag_prefix: str = "payaca-stage-"
    # A project's `assignTo` becomes a GHL task ("Project ABC123: Install") for that assignee.
    assignee_tasks: bool = True
    # Sync the postal address. Payaca documents `addresses` on "Create or update" only; writing
    # them with "Customers: Update" is inferred [UNVERIFIED]: off if the live API refuses it.
    sync_addresses: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> "PayacaMappingConfig":
        if len(set(self.custom_field_map.values())) != len(self.custom_field_map):
            raise ValueError("custom_field_map: two canonical keys map to the same Payaca field")
        bad = [v for v in self.custom_field_map.values() if not re.fullmatch(r"[a-zA-Z0-9-]+", v)]
        if bad:
            raise ValueError(f"custom_field_map: Payaca identifiers match ^[a-zA-Z0-9-]+$, not {bad}")
        return self


# -- Payaca resources, as the API serialises them (unknown fields ignored) -------------------
class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class PayacaPerson(_Resource):
    id: str | None = None
    full_name: str | None = Field(default=None, alias="fullName")
    email: str | None = None
    phone_number: str | None = Field(default=None, alias="phoneNumber")
    is_primary_contact: bool = Field(default=False, alias="isPrimaryContact")


class PayacaAddress(_Resource):
    """One entry of `addresses[]`: flat in answers; nested under `address` in the request shape
    (and the earlier snapshot's answers were flat too), so both are read."""

    id: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    is_billing_address: bool = Field(default=False, alias="isBillingAddress")

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("address"), dict):
            return {**value["address"], **{k: v for k, v in value.items() if k != "address"}}
        return value


class PayacaCustomer(_Resource):
    id: str
    name: str | None = None
    contacts: list[PayacaPerson] = Field(default_factory=list)
    addresses: list[PayacaAddress] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict, alias="customFields")
    # Not in the published sample; the adapter reads it when present (inferred).
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = Field(default=None, alias="createdAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    def primary(self) -> PayacaPerson | None:
        for person in self.contacts:
            if person.is_primary_contact:
                return person
        return self.contacts[0] if self.contacts else None

    def postal_address(self) -> PayacaAddress | None:
        """The address the contact's postal address is: the billing one, else the first."""
        billing = next((a for a in self.addresses if a.is_billing_address), None)
        return billing or (self.addresses[0] if self.addresses else None)


class PayacaTitled(_Resource):
    id: str | None = None
    title: str | None = None


class PayacaUser(_Resource):
    full_name: str | None = Field(default=None, alias="fullName")
    email: str | None = None


class PayacaProject(_Resource):
    id: str
    reference: str | None = None
    pipeline: PayacaTitled | None = None
    pipeline_stage: PayacaTitled | None = Field(default=None, alias="pipelineStage")
    customer: PayacaCustomer | None = None
    customer_id: str | None = Field(default=None, alias="customerId")
    tags: list[str] = Field(default_factory=list)
    assigned_to: PayacaUser | None = Field(default=None, alias="assignedTo")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @property
    def owner_id(self) -> str | None:
        """The customer the project belongs to (the nested customer, or a bare `customerId`)."""
        return self.customer.id if self.customer is not None else self.customer_id

    @property
    def label(self) -> str:
        return self.reference or self.id

    @property
    def stage(self) -> str | None:
        return self.pipeline_stage.title if self.pipeline_stage is not None else None


# -- contacts ---------------------------------------------------------------------------------
def stage_tag(prefix: str, stage: str) -> str:
    """'Install' -> 'payaca-stage-install' (lower case, runs of other characters as one '-')."""
    return prefix + _NOT_SLUG.sub("-", stage.lower()).strip("-")


def stage_tags(projects: Iterable[PayacaProject], prefix: str) -> frozenset[str]:
    """The stage tags a customer's projects put on its contact ("" prefix: none)."""
    if not prefix:
        return frozenset()
    return frozenset(stage_tag(prefix, p.stage) for p in projects if p.stage and p.stage.strip())


def customer_to_contact(
    customer: PayacaCustomer, config: PayacaMappingConfig, derived_tags: frozenset[str] = frozenset()
) -> CanonicalContact:
    person = customer.primary()
    full_name = (person.full_name or "").strip() if person is not None else ""
    email = person.email if person is not None else None
    phone = person.phone_number if person is not None else None
    # A customer made from a nameless contact is named after its email or phone: not a first name.
    placeholder = full_name in {v for v in (email, phone) if v}
    first_name, last_name = (None, None) if placeholder or not full_name else split_full_name(full_name)
    by_payaca_key = {payaca: canonical for canonical, payaca in config.custom_field_map.items()}
    custom_fields = {
        by_payaca_key[key]: value
        for key, value in customer.custom_fields.items()
        if key in by_payaca_key and value not in (None, "")
    }
    address = customer.postal_address() if config.sync_addresses else None
    return CanonicalContact(
        id=customer.id,
        updated_at=customer.updated_at,
        first_name=first_name,
        last_name=last_name,
        email=email or None,
        phone=phone or None,
        company_name=customer.name or None,
        address_line1=(address.line1 or None) if address else None,
        city=(address.city or None) if address else None,
        postal_code=(address.postcode or None) if address else None,
        custom_fields=custom_fields,
        tags=frozenset(customer.tags) | derived_tags,
    )


def _person(contact: CanonicalContact) -> dict[str, Any]:
    full_name = join_name(contact.first_name, contact.last_name) or contact.email or contact.phone
    if not full_name:
        raise PayacaMappingError("a Payaca customer contact needs a name, an email or a phone")
    return {
        "fullName": full_name,
        "email": contact.email.strip() if contact.email else None,
        "phoneNumber": contact.phone.strip() if contact.phone else None,
        "isPrimaryContact": True,
    }


def _custom_fields(contact: CanonicalContact, config: PayacaMappingConfig) -> dict[str, Any]:
    return {
        payaca: contact.custom_fields.get(canonical) for canonical, payaca in config.custom_field_map.items()
    }


def customer_upsert_body(contact: CanonicalContact, config: PayacaMappingConfig) -> dict[str, Any]:
    """ "Customers: Create or update": `name` (required, may be null), one primary contact. No
    `addresses`: an upsert that joins an existing customer appends them, so a repeated create
    would add the address again; the connector writes it with an update instead."""
    body: dict[str, Any] = {"name": contact.company_name or None, "contacts": [_person(contact)]}
    custom_fields = {k: v for k, v in _custom_fields(contact, config).items() if v not in (None, "")}
    if custom_fields:
        body["customFields"] = custom_fields
    return body


def customer_update_body(
    current: PayacaCustomer, contact: CanonicalContact, changed: frozenset[str], config: PayacaMappingConfig
) -> dict[str, Any]:
    """ "Customers: Update" for the changed canonical fields. The person is written back as the
    customer's primary entry of `contacts[]` (its other contacts are kept as they are); tags are
    deltas and never go in this body."""
    body: dict[str, Any] = {}
    if "company_name" in changed:
        body["name"] = contact.company_name or None
    if changed & {"first_name", "last_name", "email", "phone"}:
        person = _person(contact)
        primary = current.primary()
        others = [
            p.model_dump(by_alias=True, exclude_none=True) for p in current.contacts if p is not primary
        ]
        if primary is not None and primary.id is not None:
            person["id"] = primary.id
        body["contacts"] = [person, *({**p, "isPrimaryContact": False} for p in others)]
    if "custom_fields" in changed and config.custom_field_map:
        body["customFields"] = _custom_fields(contact, config)
    if changed & ADDRESS_FIELDS and config.sync_addresses:
        body["addresses"] = addresses_with(current, contact)
    return body


def addresses_with(current: PayacaCustomer, contact: CanonicalContact) -> list[dict[str, Any]]:
    """The customer's `addresses[]` with its postal address set to the contact's (request shape).
    The entry keeps its id, `line2`, country and billing flag; the customer's other addresses are
    written back unchanged; a contact without an address drops the entry."""
    postal = current.postal_address()
    lines = {"line1": contact.address_line1, "city": contact.city, "postcode": contact.postal_code}
    entries = []
    for address in current.addresses:
        entry = address.model_dump(by_alias=True, exclude_none=True)
        flag = {"isBillingAddress": entry.pop("isBillingAddress", False)}
        ids = {"id": entry.pop("id")} if "id" in entry else {}
        if address is postal:
            if not any(lines.values()):
                continue
            entry.update(lines)
        entries.append({**ids, "address": entry, **flag})
    if postal is None and any(lines.values()):
        entries.append({"address": lines, "isBillingAddress": True})
    return entries


def postal_address_differs(customer: PayacaCustomer, contact: CanonicalContact) -> bool:
    """The customer's postal address is not the contact's (the fields Payaca keeps)."""
    address = customer.postal_address()
    held = (address.line1, address.city, address.postcode) if address else (None, None, None)
    wanted = (contact.address_line1, contact.city, contact.postal_code)
    return tuple(v or None for v in held) != tuple(v or None for v in wanted)


def tag_names(tags: Iterable[str]) -> list[str]:
    """Payaca `tagNames`, sorted; PayacaMappingError names every tag outside 1-30 characters."""
    names = sorted({tag.strip() for tag in tags})
    bad = [t for t in names if not 1 <= len(t) <= TAG_MAX_LENGTH]
    if bad:
        raise PayacaMappingError(
            f"Payaca tags are 1-{TAG_MAX_LENGTH} characters; not sent (too long or empty): {bad}"
        )
    return names


# -- projects ---------------------------------------------------------------------------------
def project_note(project: PayacaProject, event: str, customer_id: str) -> CanonicalNote:
    """The GHL note a project event becomes."""
    stage = project.stage
    if event == "project.created":
        body = f"Project {project.label} created" + (f" in {stage}" if stage else "")
    else:
        body = f"Project {project.label} moved to {stage or 'no stage'}"
    return CanonicalNote(parent_id=customer_id, body=body)


def project_task(project: PayacaProject, customer_id: str) -> CanonicalTask | None:
    """The GHL task a project's assignee gets, or None when nobody is assigned. One task per
    project: its title names the project, not the stage, so a stage move does not rewrite it (GHL
    sends no TaskUpdate webhook, so a rewrite would never reach the location's other apps)."""
    assignee = project.assigned_to.email if project.assigned_to is not None else None
    if not assignee:
        return None
    return CanonicalTask(
        parent_id=customer_id, title=f"Project {project.label}", assignee=assignee.strip().lower()
    )


# -- [PROPOSAL] notes and tasks on projects (target-apps.md §4.7) ------------------------------
class PayacaNote(_Resource):
    id: str
    body: str
    created_at: datetime | None = Field(default=None, alias="createdAt")


class PayacaTask(_Resource):
    id: str
    name: str
    status: str = "toDo"
    assigned_to: PayacaUser | None = Field(default=None, alias="assignedTo")
    deadline_date: datetime | None = Field(default=None, alias="deadlineDate")


def note_to_canonical(note: PayacaNote, customer_id: str) -> CanonicalNote:
    return CanonicalNote(id=note.id, parent_id=customer_id, body=note.body, updated_at=note.created_at)


def task_to_canonical(task: PayacaTask, customer_id: str) -> CanonicalTask:
    assignee = task.assigned_to.email if task.assigned_to is not None else None
    return CanonicalTask(
        id=task.id,
        parent_id=customer_id,
        title=task.name,
        due_date=task.deadline_date,
        completed=task.status == "done",
        assignee=assignee.lower() if assignee else None,
    )


def task_body(task: CanonicalTask, changed: frozenset[str] | None = None) -> dict[str, Any]:
    """The proposed task body for the changed fields (all of them when `changed` is None)."""
    wanted = changed if changed is not None else frozenset({"title", "due_date", "completed", "assignee"})
    body: dict[str, Any] = {}
    if "title" in wanted:
        body["name"] = task.title
    if "due_date" in wanted:
        body["deadlineDate"] = task.due_date.isoformat() if task.due_date else None
    if "completed" in wanted:
        body["status"] = "done" if task.completed else "toDo"
    if "assignee" in wanted and task.assignee:
        body["assignTo"] = {"email": task.assignee}
    return body
