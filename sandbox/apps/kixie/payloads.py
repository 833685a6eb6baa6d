"""Kixie's webhook bodies, as its examples show them (target-apps.md §3.4). Pure builders.

Every body is `{"data": {...}}`. Call events nest the call under `data.callDetails` with a UUID
`callid`; disposition, scheduled activity and CI summary put their fields on `data`, where
`callid` is a numeric string and the call's UUID moves to `externalid`. SMS bodies have no
`hookevent`. Kixie's own Start Call example says `"hookevent": "endcall"`, so `start_call` does
too: receivers must route on the registration (its URL), not on `hookevent` alone. Scheduled
activities carry the account's `apiKey` in the body, like Kixie's published example.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

Json = dict[str, Any]


@dataclass(frozen=True)
class Agent:
    """The Kixie user on the call."""

    userid: str = "8976666"
    fname: str = "Dev"
    lname: str = "Agent"
    email: str = "agent@dev.example"


@dataclass(frozen=True)
class Call:
    """One call between an agent's business number and a customer."""

    callid: str  # UUID
    businessid: str
    agent: Agent
    customer_number: str  # E.164
    business_number: str  # E.164
    calltype: str = "outgoing"  # outgoing | incoming
    callstatus: str = "answered"  # answered | missed
    duration: int = 125
    started_at: float = 0.0
    # The CRM contact id Kixie knows the customer by: the `crmContactId` of their PowerList entry.
    crm_contact_id: str | None = None


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _national(number: str) -> str:
    """Kixie's plain fields drop the `+1` of a NANP number ("4248003330")."""
    return number.removeprefix("+1") if number.startswith("+1") else number.removeprefix("+")


def call_details(call: Call, *, ended: bool) -> Json:
    outgoing = call.calltype == "outgoing"
    caller, callee = (
        (call.business_number, call.customer_number)
        if outgoing
        else (
            call.customer_number,
            call.business_number,
        )
    )
    answered = call.callstatus == "answered"
    return {
        "callid": call.callid,
        "externalid": call.callid,
        "businessid": call.businessid,
        "userid": call.agent.userid,
        "calldate": _iso(call.started_at),
        "answerDate": _iso(call.started_at + 5) if answered and ended else None,
        "callEndDate": _iso(call.started_at + 5 + call.duration) if ended else None,
        "fromnumber": _national(caller),
        "tonumber": _national(callee),
        "fromnumber164": caller,
        "tonumber164": callee,
        "calltype": call.calltype,
        "callstatus": call.callstatus,
        "duration": call.duration if ended else 0,
        "amount": 0.02 if ended else 0,
        "disposition": ("Connected Call" if answered else "No Answer") if ended else None,
        "recordingurl": f"https://calls.kixie.com/{call.callid}.mp3" if ended and answered else None,
        "recordingsid": f"RE{call.callid.replace('-', '')[:30]}" if ended and answered else None,
        "fname": call.agent.fname,
        "lname": call.agent.lname,
        "email": call.agent.email,
        "calleridName": None,
        "destinationName": None,
        "powerlistid": None,
        "powerlistsessionid": None,
        "cadenceactionprocessid": None,
        "contactid": call.crm_contact_id,
        "dealid": None,
        "externalcrmid": None,
        "crmlink": None,
        "HScalltype": None,
        "extensionDial": None,
        "toExt": None,
        "fromExt": None,
    }


def end_call(call: Call, **details: Any) -> Json:
    return {"data": {"hookevent": "endcall", "callDetails": {**call_details(call, ended=True), **details}}}


def start_call(call: Call, **details: Any) -> Json:
    # Kixie's Start Call example really says "endcall".
    return {"data": {"hookevent": "endcall", "callDetails": {**call_details(call, ended=False), **details}}}


def disposition(
    call: Call, numeric_callid: str, *, name: str, note: str, subject: str, **fields: Any
) -> Json:
    return {
        "data": {
            "hookevent": "disposition",
            "disposition": name,
            "purpose": "",
            "note": note,
            "subject": subject,
            "callType": call.calltype,
            "businessid": call.businessid,
            "userid": call.agent.userid,
            "email": call.agent.email,
            "phone": call.customer_number,
            "timezone": "America/Los_Angeles",
            "callid": numeric_callid,
            "externalid": call.callid,
            "powerlistId": None,
            "powerlistContactDetails": {"result": {}},
            **fields,
        }
    }


def scheduled_activity(
    *,
    numeric_callid: str,
    businessid: str,
    agent: Agent,
    api_key: str,
    subject: str,
    description: str,
    due: datetime,
    activity_type: str = "Call",
    duration: int = 15,
    contactid: str | None = None,
    **fields: Any,
) -> Json:
    """`due` is aware: its zone is the activity's `timezone`; the date and time come twice,
    ISO (`date`, `time`) and human (`dateformat`, `timeformat`), never as one RFC 3339 stamp."""
    zone = due.tzinfo
    zone_name = zone.key if isinstance(zone, ZoneInfo) else "UTC"
    return {
        "data": {
            "hookevent": "scheduledactivity",
            "subject": subject,
            "description": description,
            "type": activity_type,
            "typename": activity_type,
            "duration": duration,
            "date": due.strftime("%Y-%m-%d"),
            "dateformat": f"{due:%A}, {due:%B} {due.day}, {due:%Y}",
            "time": due.strftime("%H:%M"),
            "timeformat": due.strftime("%I:%M %p").lstrip("0"),
            "timezone": zone_name,
            "callid": numeric_callid,
            "contactid": contactid,
            "businessid": businessid,
            "userid": agent.userid,
            "email": agent.email,
            "apiKey": api_key,
            **fields,
        }
    }


def sms(
    *,
    messageid: str,
    businessid: str,
    agent: Agent,
    customer_number: str,
    business_number: str,
    message: str,
    direction: str = "incoming",
    contact_name: tuple[str, str] = ("New", "Lead"),
    **fields: Any,
) -> Json:
    incoming = direction == "incoming"
    first, last = contact_name
    return {
        "data": {
            "messageid": messageid,
            "from": customer_number if incoming else business_number,
            "to": business_number if incoming else customer_number,
            "customernumber": customer_number,
            "businessnumber": business_number,
            "direction": direction,
            "message": message,
            "businessid": int(businessid) if businessid.isdigit() else businessid,
            "userid": int(agent.userid) if agent.userid.isdigit() else agent.userid,
            "contact": {
                "contact": {"firstName": first, "lastName": last, "name": f"{first} {last}".strip()},
                "success": True,
                "device": {"type": "mobile"},
            },
            "email": agent.email,
            "crmlink": "",
            **fields,
        }
    }


def ci_summary(call: Call, numeric_callid: str, *, summary: str, **fields: Any) -> Json:
    return {
        "data": {
            "hookevent": "cisummary",
            "callid": numeric_callid,
            "externalid": call.callid,
            "businessid": call.businessid,
            "userid": call.agent.userid,
            "summary": summary,
            "sentimentRank": 4,
            "conversationStrength": 0.8,
            "talkTime": {"agent": 0.55, "customer": 0.45},
            "keywords": {"pricing": 2},
            "phrases": {},
            **fields,
        }
    }
