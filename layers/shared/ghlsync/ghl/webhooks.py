"""GHL Marketplace webhooks: signature verification, freshness, event models, normalisation.

Verification follows the reference (shared/reference/ghl-api.md §5.3):
- `x-ghl-signature`: base64 Ed25519 over the raw body bytes. When the header is present it decides
  (as in GHL's own SDKs); the legacy header is only consulted when it is absent.
- `x-wh-signature`: base64 RSASSA-PKCS1-v1_5 / SHA-256 over the raw body bytes, accepted only until
  a configurable cutoff (GHL announced 2026-07-01; one source says 2026-09-01, hence configurable).
Public keys come from configuration (base64 SPKI DER, several allowed so a rotation can overlap).
We verify the exact bytes received; GHL sends compact JSON, so that equals what GHL signed.

Payloads are flat JSON (`type`, `locationId`, `timestamp`, `webhookId` + entity fields), except
appointments which nest the record under `appointment`. Models keep unknown fields (GHL adds
fields without notice) and tolerate the documented gaps: TaskCreate without `contactId`/`body`,
Note* without `userId`/`title`, UNINSTALL with only `companyId`.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook, WebhookRejected
from ghlsync.core.events import GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.http.verify import Ed25519Verifier, RsaVerifier, load_ed25519_keys, load_rsa_keys

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"

# A sender's clock may run ahead of ours; beyond this a timestamp "from the future" is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)


class StaleWebhook(WebhookRejected):
    """Signed, but its timestamp is outside the accepted window: treated as a replay (401)."""


# ---- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookVerifier:
    """Checks that a body was signed by GHL: which header decides, and the RSA cutoff. The signature
    checks themselves are the shared Ed25519Verifier and RsaVerifier (ghlsync.http.verify). Build it
    once per container (key parsing is not free)."""

    ed25519_keys: tuple[Ed25519PublicKey, ...]
    rsa_keys: tuple[RSAPublicKey, ...]
    rsa_cutoff: datetime

    @classmethod
    def from_config(cls, *, ed25519_keys: str, rsa_keys: str, rsa_cutoff: datetime) -> "WebhookVerifier":
        """Keys are comma-separated base64 SPKI DER strings, as the stack parameters hold them."""
        return cls(
            ed25519_keys=load_ed25519_keys(ed25519_keys),
            rsa_keys=load_rsa_keys(rsa_keys),
            rsa_cutoff=rsa_cutoff,
        )

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime) -> None:
        """Raise WebhookRejected unless `body` carries a valid GHL signature. Header names lower-case."""
        ed25519_signature = headers.get(ED25519_HEADER)
        if ed25519_signature and self.ed25519_keys:
            Ed25519Verifier(self.ed25519_keys, header=ED25519_HEADER).verify(body, headers)
            return
        rsa_signature = headers.get(RSA_HEADER)
        if rsa_signature and self.rsa_keys:
            if now >= self.rsa_cutoff:
                raise WebhookRejected(
                    f"{RSA_HEADER} is no longer accepted (cutoff {self.rsa_cutoff.isoformat()})"
                )
            RsaVerifier(self.rsa_keys, header=RSA_HEADER).verify(body, headers)
            return
        raise WebhookRejected("no usable signature header")


# ---- event models ---------------------------------------------------------------------------


class UnhandledWebhook(BaseModel):
    """An event type we do not sync (Opportunity*, Invoice*, ...): only its name matters."""

    # defer_build (here and below): validators are built on first use, not in every cold start.
    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True, populate_by_name=True)

    type: str = Field(min_length=1)
    location_id: str | None = Field(default=None, alias="locationId")


class GhlWebhook(BaseModel):
    """Fields every handled GHL webhook carries. Unknown fields are kept (GHL adds fields without notice).

    Dates other than `timestamp` stay strings: we never compute with them, and an odd format must
    not turn a real event into a 400 (GHL does not retry those).
    """

    model_config = ConfigDict(defer_build=True, extra="allow", frozen=True, populate_by_name=True)

    type: str = Field(min_length=1)
    location_id: str | None = Field(default=None, alias="locationId", min_length=1, max_length=128)
    company_id: str | None = Field(default=None, alias="companyId")
    app_id: str | None = Field(default=None, alias="appId")
    version_id: str | None = Field(default=None, alias="versionId")
    timestamp: AwareDatetime
    webhook_id: str | None = Field(default=None, alias="webhookId", min_length=1, max_length=128)


class ContactWebhook(GhlWebhook):
    type: Literal["ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate", "ContactDndUpdate"]
    location_id: str = Field(alias="locationId", min_length=1, max_length=128)
    id: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    date_added: str | None = Field(default=None, alias="dateAdded")


class TaskWebhook(GhlWebhook):
    type: Literal["TaskCreate", "TaskComplete", "TaskDelete"]
    location_id: str = Field(alias="locationId", min_length=1, max_length=128)
    id: str = Field(min_length=1)
    # Real TaskCreate deliveries have been seen without contactId and body (GHL issue #332).
    contact_id: str | None = Field(default=None, alias="contactId")
    title: str | None = None
    body: str | None = None
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    due_date: str | None = Field(default=None, alias="dueDate")
    date_added: str | None = Field(default=None, alias="dateAdded")


class NoteWebhook(GhlWebhook):
    type: Literal["NoteCreate", "NoteUpdate", "NoteDelete"]
    location_id: str = Field(alias="locationId", min_length=1, max_length=128)
    id: str = Field(min_length=1)
    contact_id: str | None = Field(default=None, alias="contactId")
    body: str | None = None
    date_added: str | None = Field(default=None, alias="dateAdded")


class AppointmentRecord(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1)
    contact_id: str | None = Field(default=None, alias="contactId")
    calendar_id: str | None = Field(default=None, alias="calendarId")
    title: str | None = None
    appointment_status: str | None = Field(default=None, alias="appointmentStatus")
    start_time: str | None = Field(default=None, alias="startTime")
    end_time: str | None = Field(default=None, alias="endTime")


class AppointmentWebhook(GhlWebhook):
    type: Literal["AppointmentCreate", "AppointmentUpdate", "AppointmentDelete"]
    location_id: str = Field(alias="locationId", min_length=1, max_length=128)
    appointment: AppointmentRecord


class InstallWebhook(GhlWebhook):
    type: Literal["INSTALL"]
    install_type: str | None = Field(default=None, alias="installType")  # "Location" | "Company"
    user_id: str | None = Field(default=None, alias="userId")
    company_name: str | None = Field(default=None, alias="companyName")
    plan_id: str | None = Field(default=None, alias="planId")


class UninstallWebhook(GhlWebhook):
    type: Literal["UNINSTALL"]


HandledWebhook = Annotated[
    ContactWebhook | TaskWebhook | NoteWebhook | AppointmentWebhook | InstallWebhook | UninstallWebhook,
    Field(discriminator="type"),
]
_HANDLED: TypeAdapter[HandledWebhook] = TypeAdapter(HandledWebhook)

type LifecycleWebhook = InstallWebhook | UninstallWebhook
type EntityWebhook = ContactWebhook | TaskWebhook | NoteWebhook | AppointmentWebhook


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']} ({error.error_count()} problem(s))"


def parse_webhook(body: bytes) -> HandledWebhook | UnhandledWebhook:
    """Parse a verified body into its model; event types we do not sync come back as UnhandledWebhook.

    Raises MalformedWebhook if the body is not a JSON object with the fields its type requires.
    """
    try:
        document: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc.__class__.__name__}") from exc
    if not isinstance(document, dict):
        raise MalformedWebhook("body is not a JSON object")
    try:
        if document.get("type") in HANDLED_TYPES:
            return _HANDLED.validate_python(document)
        return UnhandledWebhook.model_validate(document)
    except ValidationError as exc:
        raise MalformedWebhook(_describe(exc)) from exc


def check_fresh(webhook: GhlWebhook, *, now: datetime, max_age: timedelta) -> None:
    """Refuse replays: the signed `timestamp` must be recent (and not from the future)."""
    if webhook.timestamp < now - max_age:
        raise StaleWebhook(f"timestamp {webhook.timestamp.isoformat()} is older than {max_age}")
    if webhook.timestamp > now + MAX_CLOCK_SKEW:
        raise StaleWebhook(f"timestamp {webhook.timestamp.isoformat()} is in the future")


def delivery_id(webhook: GhlWebhook, body: bytes) -> str:
    """The idempotency key of a delivery: GHL's webhookId, or a hash of the body when it is absent."""
    return webhook.webhook_id or "sha256-" + hashlib.sha256(body).hexdigest()


# ---- normalisation --------------------------------------------------------------------------

_ACTIONS: Mapping[str, ChangeAction] = {
    "ContactCreate": ChangeAction.UPSERT,
    "ContactUpdate": ChangeAction.UPSERT,
    "ContactDndUpdate": ChangeAction.UPSERT,
    "ContactTagUpdate": ChangeAction.TAGS,
    "ContactDelete": ChangeAction.DELETE,
    "TaskCreate": ChangeAction.UPSERT,
    "TaskComplete": ChangeAction.UPSERT,
    "TaskDelete": ChangeAction.DELETE,
    "NoteCreate": ChangeAction.UPSERT,
    "NoteUpdate": ChangeAction.UPSERT,
    "NoteDelete": ChangeAction.DELETE,
    "AppointmentCreate": ChangeAction.UPSERT,
    "AppointmentUpdate": ChangeAction.UPSERT,
    "AppointmentDelete": ChangeAction.DELETE,
}
LIFECYCLE_TYPES: frozenset[str] = frozenset({"INSTALL", "UNINSTALL"})
HANDLED_TYPES: frozenset[str] = frozenset(_ACTIONS) | LIFECYCLE_TYPES


def to_change_event(
    webhook: EntityWebhook, *, event_id: str, received_at: datetime | None = None
) -> ChangeEvent:
    """Normalise a contact/task/note/appointment webhook into the queue's ChangeEvent.

    `data` keeps the payload (without the envelope) for the audit trail and for what cannot be
    re-read from GHL: deleted records and the tag list of ContactTagUpdate.
    A task or note without `contactId` keeps `parent_id=None`; the engine decides what it can do.
    """
    payload = webhook.model_dump(mode="json", by_alias=True, exclude_none=True)
    for envelope_field in ("type", "locationId", "companyId", "appId", "versionId", "timestamp", "webhookId"):
        payload.pop(envelope_field, None)
    entity: EntityKind
    entity_id: str
    parent_id: str | None
    match webhook:
        case ContactWebhook():
            entity, entity_id, parent_id = EntityKind.CONTACT, webhook.id, None
        case TaskWebhook():
            entity, entity_id, parent_id = EntityKind.TASK, webhook.id, webhook.contact_id
        case NoteWebhook():
            entity, entity_id, parent_id = EntityKind.NOTE, webhook.id, webhook.contact_id
        case AppointmentWebhook():
            record = webhook.appointment
            entity, entity_id, parent_id = EntityKind.APPOINTMENT, record.id, record.contact_id
    extra: dict[str, Any] = {} if received_at is None else {"received_at": received_at}
    return ChangeEvent(
        event_id=event_id,
        location_id=webhook.location_id,
        source=GHL_SOURCE,
        entity=entity,
        action=_ACTIONS[webhook.type],
        entity_id=entity_id,
        parent_id=parent_id,
        occurred_at=webhook.timestamp,
        event_type=webhook.type,
        data=payload,
        **extra,
    )
