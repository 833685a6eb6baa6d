"""Kixie webhooks -> change events (target-apps.md §3.4).

Kixie signs nothing and never redelivers. Each registration posts to
`/webhooks/kixie/{connectionId}?token=…&event=<kind>`, so the **registration** says what arrived
(`event`), not `data.hookevent` (Kixie's own Start Call example says `endcall`). Envelopes are
`{"data": {…}}`; call events nest the call under `data.callDetails`.

| `event` | becomes | entity id (one GHL record per id) |
|---|---|---|
| `endcall` | a GHL note: direction, outcome, duration, agent, recording | `call:<call uuid>` |
| `disposition` | a GHL note of its own (+ ADD_TAGS per `disposition_tags`) | `call:<call uuid>:disposition` |
| `scheduledactivity` | a GHL task due at the activity's date/time/zone | `activity:<callid>` |
| `sms` | a GHL note | `sms:<messageid>` |
| `cisummary` | a GHL note | `call:<call uuid>:summary` |

A disposition is a note of its own rather than an edit of the call's: Kixie sends endcall and
disposition in no set order and never again, so neither may overwrite the other.

The customer's E.164 number is the parent contact's Kixie id (`parent_record` carries it, so the
engine matches the GHL contact by link, then by phone). The call's key is its UUID: `callid` on
call events, `externalid` on dispositions and summaries (whose `callid` is numeric). Event ids are
`kixie-<event>-<key>`: a replayed delivery is the same event. A call-event payload without an end
date is not an ended call (a start call posted to the wrong URL): acknowledged, nothing queued, so
it cannot take the id of the real end-of-call event.

Anything unreadable (not JSON, no `data`, wrong types, no customer number, an unreadable date or
time zone) is a MalformedWebhook (400) naming the problem, never the payload: bodies are never
logged (Kixie's examples carry the API key).
"""

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from ghlsync.apps.base import InboundRequest
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.mapping.canonical import CanonicalNote, CanonicalTask
from ghlsync.mapping.kixie import (
    ActivityRecord,
    CallRecord,
    DispositionRecord,
    KixieMappingConfig,
    KixieMappingError,
    SmsRecord,
    SummaryRecord,
    activity_task,
    call_note,
    disposition_note,
    e164,
    sms_note,
    summary_note,
)

SOURCE = "kixie"
EVENT_PARAM = "event"
KINDS = ("endcall", "disposition", "scheduledactivity", "sms", "cisummary")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,80}$")


def _key(value: str) -> str:
    """An id fit for event and entity ids (bounded, no separators of ours); long or odd ids are
    hashed, so distinct ids stay distinct."""
    value = value.strip()
    return value if _SAFE_KEY.fullmatch(value) else hashlib.sha256(value.encode()).hexdigest()[:40]


def _is_uuid(value: str | None) -> bool:
    if not value:
        return False
    try:
        uuid.UUID(value.strip())
    except ValueError:
        return False
    return True


def call_key(callid: str | None, externalid: str | None) -> str:
    """The call's UUID wherever it is (callid on call events, externalid on the others), else the
    id there is; MalformedWebhook when neither is present."""
    for value in (callid, externalid):
        if _is_uuid(value):
            assert value is not None
            return _key(value.lower())
    for value in (externalid, callid):
        if value and value.strip():
            return _key(value)
    raise MalformedWebhook("names no callid or externalid")


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _data(request: InboundRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook("not JSON") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise MalformedWebhook('not a Kixie envelope {"data": {...}}')
    return data


def _model[M: BaseModel](model: type[M], data: Any, kind: str) -> M:
    if not isinstance(data, dict):
        raise MalformedWebhook(f"{kind}: the record is not an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        raise MalformedWebhook(f"{kind}: unreadable {', '.join(fields)}") from exc


class KixieEvents:
    """Turns one verified Kixie delivery into change events for one connection."""

    def __init__(self, config: KixieMappingConfig, *, location_id: str, connection_id: str) -> None:
        self._config = config
        self._location_id = location_id
        self._connection_id = connection_id

    def parse(self, request: InboundRequest) -> list[ChangeEvent]:
        kind = (request.query.get(EVENT_PARAM) or "").strip().lower()
        if kind not in KINDS:
            raise MalformedWebhook(f"unknown or missing {EVENT_PARAM!r}: expected one of {', '.join(KINDS)}")
        data = _data(request)
        now = datetime.now(UTC)
        if kind == "endcall":
            return self._ended_call(data, now)
        if kind == "disposition":
            return self._disposition(data, now)
        if kind == "scheduledactivity":
            return self._activity(data, now)
        if kind == "sms":
            return self._sms(data, now)
        return self._summary(data, now)

    def _customer_or_contact(
        self, raw: str | None, contact_id: str | None, kind: str
    ) -> tuple[str | None, str | None]:
        """The customer's number, else Kixie's CRM contact id (our GHL id): one of them."""
        phone = e164(raw, self._config)
        if phone is not None:
            return phone, None
        if contact_id and contact_id.strip() and _SAFE_KEY.fullmatch(contact_id.strip()):
            return None, contact_id.strip()
        raise MalformedWebhook(f"{kind}: no readable customer number or contactid")

    def _customer(self, raw: str | None, kind: str) -> str:
        phone = e164(raw, self._config)
        if phone is None:
            raise MalformedWebhook(f"{kind}: no readable customer number")
        return phone

    def _event(
        self,
        kind: str,
        key: str,
        *,
        entity: EntityKind,
        entity_id: str,
        phone: str | None,
        record: CanonicalNote | CanonicalTask,
        occurred_at: datetime,
        contact_id: str | None = None,
    ) -> ChangeEvent:
        """`phone` is the customer's number (the Kixie side's contact key); without one,
        `contact_id` is Kixie's CRM contact id, which for our contacts is the GHL id we wrote as
        `crmContactId` (UNCONFIRMED that Kixie reports it so)."""
        return ChangeEvent(
            event_id=f"kixie-{kind}-{key}",
            location_id=self._location_id,
            source=SOURCE,
            connection_id=self._connection_id,
            entity=entity,
            action=ChangeAction.UPSERT,
            entity_id=entity_id,
            parent_id=phone,
            occurred_at=occurred_at,
            event_type=kind,
            record=record.model_dump(mode="json", exclude={"id", "parent_id", "updated_at"}),
            parent_record={"phone": phone} if phone else None,
            hub_parent_id=None if phone else contact_id,
        )

    def _ended_call(self, data: dict[str, Any], now: datetime) -> list[ChangeEvent]:
        call = _model(CallRecord, data.get("callDetails"), "endcall")
        ended = _time(call.call_end_date)
        if not call.call_end_date:
            return []
        key = call_key(call.callid, call.externalid)
        phone = self._customer(call.customer_number(), "endcall")
        return [
            self._event(
                "endcall",
                key,
                entity=EntityKind.NOTE,
                entity_id=f"call:{key}",
                phone=phone,
                record=call_note(call),
                occurred_at=ended or now,
            )
        ]

    def _disposition(self, data: dict[str, Any], now: datetime) -> list[ChangeEvent]:
        record = _model(DispositionRecord, data, "disposition")
        key = call_key(record.callid, record.externalid)
        phone = self._customer(record.phone, "disposition")
        note = self._event(
            "disposition",
            key,
            entity=EntityKind.NOTE,
            entity_id=f"call:{key}:disposition",
            phone=phone,
            record=disposition_note(record),
            occurred_at=now,
        )
        tag = self._config.disposition_tags.get((record.disposition or "").strip())
        if not tag:
            return [note]
        tagging = ChangeEvent(
            event_id=f"kixie-disposition-{key}-tags",
            location_id=self._location_id,
            source=SOURCE,
            connection_id=self._connection_id,
            entity=EntityKind.CONTACT,
            action=ChangeAction.ADD_TAGS,
            entity_id=phone,
            occurred_at=now,
            event_type="disposition",
            data={"tags": [tag]},
        )
        return [note, tagging]

    def _activity(self, data: dict[str, Any], now: datetime) -> list[ChangeEvent]:
        record = _model(ActivityRecord, data, "scheduledactivity")
        ids = record.callid or record.externalid
        key = _key(ids) if ids and ids.strip() else _key(json.dumps(data, sort_keys=True, default=str))
        phone, contact_id = self._customer_or_contact(record.phone, record.contactid, "scheduledactivity")
        try:
            task = activity_task(record)
        except KixieMappingError as exc:
            raise MalformedWebhook(f"scheduledactivity: {exc}") from exc
        return [
            self._event(
                "scheduledactivity",
                key,
                entity=EntityKind.TASK,
                entity_id=f"activity:{key}",
                phone=phone,
                record=task,
                occurred_at=now,
                contact_id=contact_id,
            )
        ]

    def _sms(self, data: dict[str, Any], now: datetime) -> list[ChangeEvent]:
        record = _model(SmsRecord, data, "sms")
        if not record.messageid or not record.messageid.strip():
            raise MalformedWebhook("sms: names no messageid")
        key = _key(record.messageid)
        phone = self._customer(record.customernumber, "sms")
        return [
            self._event(
                "sms",
                key,
                entity=EntityKind.NOTE,
                entity_id=f"sms:{key}",
                phone=phone,
                record=sms_note(record),
                occurred_at=now,
            )
        ]

    def _summary(self, data: dict[str, Any], now: datetime) -> list[ChangeEvent]:
        record = _model(SummaryRecord, data, "cisummary")
        key = call_key(record.callid, record.externalid)
        phone, contact_id = self._customer_or_contact(record.phone, record.contactid, "cisummary")
        return [
            self._event(
                "cisummary",
                key,
                entity=EntityKind.NOTE,
                entity_id=f"call:{key}:summary",
                phone=phone,
                record=summary_note(record),
                occurred_at=now,
                contact_id=contact_id,
            )
        ]
