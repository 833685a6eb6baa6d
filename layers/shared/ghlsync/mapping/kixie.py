"""Kixie ⇄ canonical (target-apps.md §3). Pure: no HTTP, no AWS.

Kixie holds no contacts of its own. What we write there is a **PowerList contact**, keyed by its
E.164 phone: the GHL contact's names, e-mail, company and title, `crmContactId` = the GHL id, into
the connection's PowerList or the one the first matching rule picks (tags or fields, for "route
calls on lifecycle fields"). Its canonical form here (`powerlist_record`) is the contact as written:
id = the E.164 phone, the PowerList id in `custom_fields["powerlist_id"]`.

The contact's GHL tasks and notes reach Kixie as one bounded text, the **digest** in
`nextCallRefresher` (`digest`): open tasks (soonest due first), then the latest notes (newest
first), never longer than the configured limit.

What comes back (`ghlsync.apps.kixie.webhooks` parses the envelopes) becomes GHL notes and tasks:
`call_note`, `disposition_note`, `sms_note`, `summary_note`, `activity_task`.
"""

from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.phones import normalize_phone

POWERLIST_FIELD = "powerlist_id"  # custom_fields key of the written record: the list it is in
# Canonical contact field -> updatepowerlist field (target-apps.md §3.2).
_POWERLIST_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "company_name": "companyName",
}
_ELLIPSIS = "…"


class KixieMappingError(ValueError):
    """A Kixie payload value that cannot be read as documented (a date, a time zone)."""


class PowerListRule(BaseModel):
    """Contacts with this tag, or whose canonical field equals this value, go to `powerlist_id`.

    `field` is a canonical contact field (`company_name`) or `custom_fields.<key>`; both the tag
    and the value compare case-insensitively.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    powerlist_id: str = Field(min_length=1, pattern=r"^\d+$")
    tag: str | None = Field(default=None, min_length=1)
    field: str | None = Field(default=None, min_length=1)
    equals: str | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> Self:
        if (self.tag is None) == (self.field is None):
            raise ValueError("a PowerList rule names either a tag or a field")
        if self.field is not None and self.equals is None:
            raise ValueError("a field rule needs `equals`")
        return self

    def matches(self, contact: CanonicalContact) -> bool:
        if self.tag is not None:
            wanted = self.tag.strip().lower()
            return any(tag.strip().lower() == wanted for tag in contact.tags)
        assert self.field is not None and self.equals is not None
        value = _field_value(contact, self.field)
        return value is not None and str(value).strip().lower() == self.equals.strip().lower()


def _field_value(contact: CanonicalContact, name: str) -> Any:
    if name.startswith("custom_fields."):
        return contact.custom_fields.get(name.removeprefix("custom_fields."))
    return contact.fields().get(name)


class KixieMappingConfig(BaseModel):
    """How one connection maps GHL onto its Kixie account. Every default is overridable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    powerlist_id: str = Field(default="1969", pattern=r"^\d+$")
    # First matching rule wins; no match: `powerlist_id`.
    powerlist_rules: tuple[PowerListRule, ...] = ()
    # The canonical custom-field key whose value is the PowerList `title` (GHL has no title field).
    title_field: str = "title"
    # ISO 3166 region of GHL phone numbers written without a country code.
    default_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    # Kixie disposition -> the GHL tag it adds to the contact (exact disposition name).
    disposition_tags: dict[str, str] = Field(default_factory=dict)
    # nextCallRefresher: at most this many characters, open tasks then the latest notes.
    digest_max_chars: int = Field(default=1000, ge=80, le=10_000)
    digest_max_tasks: int = Field(default=5, ge=0, le=50)
    digest_max_notes: int = Field(default=3, ge=0, le=50)
    # Characters of one note's body in the digest (a long note must not crowd out the rest).
    digest_note_chars: int = Field(default=240, ge=20, le=10_000)

    def powerlist_for(self, contact: CanonicalContact) -> str:
        return next(
            (rule.powerlist_id for rule in self.powerlist_rules if rule.matches(contact)), self.powerlist_id
        )


# -- GHL contact -> PowerList contact ---------------------------------------------------------
def e164(phone: str | None, config: KixieMappingConfig) -> str | None:
    return normalize_phone(phone, config.default_country)


def powerlist_record(contact: CanonicalContact, config: KixieMappingConfig) -> CanonicalContact | None:
    """The PowerList contact `contact` is written as (None: it has no usable phone)."""
    phone = e164(contact.phone, config)
    if phone is None:
        return None
    title = contact.custom_fields.get(config.title_field)
    custom: dict[str, Any] = {POWERLIST_FIELD: config.powerlist_for(contact)}
    if isinstance(title, str) and title.strip():
        custom[config.title_field] = title.strip()
    return CanonicalContact(
        id=phone,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        company_name=contact.company_name,
        phone=phone,
        custom_fields=custom,
    )


def powerlist_of(record: CanonicalContact) -> str | None:
    value = record.custom_fields.get(POWERLIST_FIELD)
    return value if isinstance(value, str) and value else None


def upsert_body(
    record: CanonicalContact,
    previous: CanonicalContact | None,
    *,
    crm_contact_id: str | None,
    config: KixieMappingConfig,
) -> dict[str, Any]:
    """The `updatepowerlist` body (merge: only what is sent changes). A field the contact no longer
    has is sent empty, so Kixie does not keep a stale e-mail; unchanged empty fields are left out."""
    held = previous if previous is not None and previous.id == record.id else None
    body: dict[str, Any] = {
        "eventname": "updatepowerlist",
        "powerlistId": powerlist_of(record),
        "target": record.id,
        "duplicateHandling": "merge",
    }
    if crm_contact_id:
        body["crmContactId"] = crm_contact_id
    pairs = [
        (getattr(record, name), getattr(held, name, None), api) for name, api in _POWERLIST_FIELDS.items()
    ]
    title = config.title_field
    pairs.append((record.custom_fields.get(title), held.custom_fields.get(title) if held else None, "title"))
    for value, before, api in pairs:
        if value:
            body[api] = value
        elif before:
            body[api] = ""
    return body


def same_powerlist_contact(record: CanonicalContact, previous: CanonicalContact | None) -> bool:
    """Writing `record` would change nothing Kixie holds from what was last written."""
    return previous is not None and previous.id == record.id and previous.fields() == record.fields()


# -- tasks and notes -> the digest --------------------------------------------------------------
def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + _ELLIPSIS


def _day(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d") if at is not None else "no due date"


def digest(tasks: Iterable[CanonicalTask], notes: Iterable[CanonicalNote], config: KixieMappingConfig) -> str:
    """Open tasks (soonest due first, undated last) then the latest notes (newest first), one line
    each, within `digest_max_chars`: a line that does not fit is cut, and nothing follows it."""
    far = datetime.max.replace(tzinfo=UTC)
    open_tasks = sorted((t for t in tasks if not t.completed), key=lambda t: (t.due_date or far, t.title))
    epoch = datetime.min.replace(tzinfo=UTC)
    latest = sorted(notes, key=lambda n: n.updated_at or epoch, reverse=True)
    lines: list[str] = []
    if open_tasks and config.digest_max_tasks:
        lines.append("Open tasks:")
        lines += [
            f"- {_day(t.due_date)} {_clip(t.title, config.digest_note_chars)}"
            for t in open_tasks[: config.digest_max_tasks]
        ]
    if latest and config.digest_max_notes:
        lines.append("Latest notes:")
        lines += [
            # GHL notes carry no modification time: an undated note is listed without one.
            f"- {_day(n.updated_at) + ' ' if n.updated_at else ''}{_clip(n.body, config.digest_note_chars)}"
            for n in latest[: config.digest_max_notes]
        ]
    text = ""
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > config.digest_max_chars:
            room = config.digest_max_chars - len(text) - (1 if text else 0)
            if room > 1:
                text = f"{text}\n{_clip(line, room)}" if text else _clip(line, room)
            break
        text = candidate
    return text


# -- Kixie events -> GHL notes and tasks ---------------------------------------------------------
class _Payload(BaseModel):
    """Kixie payload fragments: unknown fields ignored, numbers accepted where ids are strings."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True, populate_by_name=True)


_Text = Field(default=None, max_length=20_000)


class CallRecord(_Payload):
    """`data.callDetails` of a call event."""

    callid: str | None = Field(default=None, max_length=200)
    externalid: str | None = Field(default=None, max_length=200)
    calltype: str | None = Field(default=None, max_length=40)
    callstatus: str | None = Field(default=None, max_length=40)
    duration: int | None = Field(default=None, ge=0)
    disposition: str | None = Field(default=None, max_length=500)
    recordingurl: str | None = Field(default=None, max_length=2000)
    fname: str | None = Field(default=None, max_length=200)
    lname: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    fromnumber164: str | None = Field(default=None, max_length=40)
    tonumber164: str | None = Field(default=None, max_length=40)
    fromnumber: str | None = Field(default=None, max_length=40)
    tonumber: str | None = Field(default=None, max_length=40)
    calldate: str | None = Field(default=None, max_length=64)
    call_end_date: str | None = Field(default=None, max_length=64, alias="callEndDate")

    def customer_number(self) -> str | None:
        """The other party: the callee of an outgoing call, the caller of an incoming one."""
        if (self.calltype or "").lower() == "incoming":
            return self.fromnumber164 or self.fromnumber
        return self.tonumber164 or self.tonumber


class DispositionRecord(_Payload):
    disposition: str | None = Field(default=None, max_length=500)
    purpose: str | None = _Text
    note: str | None = _Text
    subject: str | None = Field(default=None, max_length=2000)
    call_type: str | None = Field(default=None, max_length=40, alias="callType")
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    callid: str | None = Field(default=None, max_length=200)
    externalid: str | None = Field(default=None, max_length=200)


class ActivityRecord(_Payload):
    subject: str | None = Field(default=None, max_length=2000)
    description: str | None = _Text
    type: str | None = Field(default=None, max_length=200)
    typename: str | None = Field(default=None, max_length=200)
    duration: int | None = Field(default=None, ge=0)
    date: str | None = Field(default=None, max_length=64)
    dateformat: str | None = Field(default=None, max_length=120)
    time: str | None = Field(default=None, max_length=64)
    timeformat: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    callid: str | None = Field(default=None, max_length=200)
    externalid: str | None = Field(default=None, max_length=200)
    contactid: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class SmsRecord(_Payload):
    messageid: str | None = Field(default=None, max_length=200)
    customernumber: str | None = Field(default=None, max_length=40)
    direction: str | None = Field(default=None, max_length=40)
    message: str | None = _Text
    email: str | None = Field(default=None, max_length=320)


class SummaryRecord(_Payload):
    summary: str | None = _Text
    sentiment_rank: str | None = Field(default=None, max_length=40, alias="sentimentRank")
    callid: str | None = Field(default=None, max_length=200)
    externalid: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    contactid: str | None = Field(default=None, max_length=200)


def _minutes(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m {rest:02d}s"


def _agent(first: str | None, last: str | None, email: str | None) -> str | None:
    name = " ".join(part for part in (first, last) if part and part.strip())
    if name and email:
        return f"{name} <{email}>"
    return name or email


def call_note(call: CallRecord) -> CanonicalNote:
    direction = (call.calltype or "unknown").lower()
    lines = [
        f"Kixie call ({direction}): {call.callstatus or 'unknown outcome'}",
        f"Duration: {_minutes(call.duration)}",
    ]
    agent = _agent(call.fname, call.lname, call.email)
    if agent:
        lines.append(f"Agent: {agent}")
    if call.disposition:
        lines.append(f"Disposition: {call.disposition}")
    if call.recordingurl:
        lines.append(f"Recording: {call.recordingurl}")
    return CanonicalNote(body="\n".join(lines))


def disposition_note(record: DispositionRecord) -> CanonicalNote:
    lines = [f"Kixie disposition: {record.disposition or 'none'}"]
    for label, value in (("Subject", record.subject), ("Purpose", record.purpose), ("Note", record.note)):
        if value and value.strip():
            lines.append(f"{label}: {value.strip()}")
    if record.email:
        lines.append(f"Agent: {record.email}")
    return CanonicalNote(body="\n".join(lines))


def sms_note(record: SmsRecord) -> CanonicalNote:
    direction = (record.direction or "unknown").lower()
    lines = [f"Kixie SMS ({direction}): {record.message or ''}".rstrip()]
    if record.email:
        lines.append(f"Agent: {record.email}")
    return CanonicalNote(body="\n".join(lines))


def summary_note(record: SummaryRecord) -> CanonicalNote:
    lines = [f"Kixie call summary: {(record.summary or '').strip() or 'none'}"]
    if record.sentiment_rank:
        lines.append(f"Sentiment rank: {record.sentiment_rank}")
    return CanonicalNote(body="\n".join(lines))


def activity_task(record: ActivityRecord) -> CanonicalTask:
    """A scheduled activity as a GHL follow-up task; KixieMappingError when its date is unreadable."""
    kind = record.typename or record.type or "Activity"
    title = (record.subject or "").strip() or f"Kixie {kind.lower()} follow-up"
    body_lines = [line for line in ((record.description or "").strip(), f"Type: {kind}") if line]
    if record.duration:
        body_lines.append(f"Duration: {record.duration} min")
    return CanonicalTask(
        title=title[:500],
        body="\n".join(body_lines),
        due_date=activity_due(record),
        assignee=record.email.strip().lower() if record.email else None,
    )


# -- dates: Kixie sends a date and a time, twice (ISO and human), and a zone ---------------------
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%A, %B %d, %Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p", "%I %p")


def _parse_date(*candidates: str | None) -> datetime | None:
    for text in candidates:
        if not text or not text.strip():
            continue
        cleaned = " ".join(text.split())
        with suppress(ValueError):
            return datetime.fromisoformat(cleaned)
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(cleaned, fmt)
            except ValueError:
                continue
    return None


def _parse_time(*candidates: str | None) -> tuple[int, int, int] | None:
    for text in candidates:
        if not text or not text.strip():
            continue
        cleaned = " ".join(text.upper().replace(".", "").split())
        for fmt in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(cleaned, fmt)
            except ValueError:
                continue
            return parsed.hour, parsed.minute, parsed.second
    return None


def _zone(name: str | None) -> timezone | ZoneInfo:
    if not name or not name.strip() or name.strip().upper() in {"UTC", "GMT", "Z"}:
        return UTC
    text = name.strip()
    upper = text.upper()
    for prefix in ("UTC", "GMT"):
        if upper.startswith(prefix) and len(upper) > len(prefix):
            text = text[len(prefix) :]
            break
    if text[:1] in {"+", "-"}:
        sign = -1 if text[0] == "-" else 1
        digits = text[1:].replace(":", "")
        if digits.isdigit() and len(digits) in {1, 2, 3, 4}:
            hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
            if hours <= 14 and minutes < 60:
                return timezone(sign * timedelta(hours=hours, minutes=minutes))
        raise KixieMappingError(f"unreadable time zone offset {name!r}")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise KixieMappingError(f"unknown time zone {name!r}") from exc


def activity_due(record: ActivityRecord) -> datetime | None:
    """The activity's due instant (UTC) from its date, time and zone; None when it names no date.
    A date, time or zone that is present but unreadable is a KixieMappingError, never a guess."""
    if not any((record.date, record.dateformat, record.time, record.timeformat)):
        return None
    day = _parse_date(record.date, record.dateformat)
    if day is None:
        raise KixieMappingError("unreadable scheduled activity date")
    zone = _zone(record.timezone)
    if day.tzinfo is not None and (day.hour or day.minute or day.second):
        return day.astimezone(UTC)  # a full ISO timestamp in `date`
    clock = _parse_time(record.time, record.timeformat)
    if clock is None and (record.time or record.timeformat):
        raise KixieMappingError("unreadable scheduled activity time")
    if clock is None and (day.hour or day.minute or day.second):
        clock = (day.hour, day.minute, day.second)  # an ISO date-time without a zone
    hour, minute, second = clock or (9, 0, 0)  # a date alone: due that morning, local time
    local = day.replace(hour=hour, minute=minute, second=second, tzinfo=zone)
    return local.astimezone(UTC)
