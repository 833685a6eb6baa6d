"""Kixie webhooks: the token check, every envelope as its change events, hostile input rejected."""

import json
from typing import Any

import pytest

from ghlsync.apps.base import InboundRequest
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook, WebhookRejected
from ghlsync.core.events import ChangeAction, ChangeEvent
from tests.fixtures.kixie import KIXIE_TOKEN, KixieRecorder, kixie_connector

CALL_UUID = "8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"
CUSTOMER = "+14248003334"


def request(
    event: str | None,
    data: Any,
    *,
    token: str | None = KIXIE_TOKEN,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> InboundRequest:
    query = {k: v for k, v in (("token", token), ("event", event)) if v is not None}
    body = raw if raw is not None else json.dumps({"data": data}).encode()
    return InboundRequest(body=body, headers=headers or {}, query=query, path_params={})


def parse(req: InboundRequest, **settings: Any) -> list[ChangeEvent]:
    connector = kixie_connector(KixieRecorder(), **settings)
    connector.verify_webhook(req)
    return connector.parse_webhook(req, location_id="loc1", connection_id="conn1")


def end_call(**details: Any) -> dict[str, Any]:
    return {
        "hookevent": "endcall",
        "callDetails": {
            "callid": CALL_UUID,
            "calltype": "outgoing",
            "callstatus": "answered",
            "duration": 125,
            "fromnumber164": "+14248003330",
            "tonumber164": CUSTOMER,
            "fname": "Sam",
            "lname": "Agent",
            "email": "sam@co.test",
            "recordingurl": f"https://calls.kixie.com/{CALL_UUID}.mp3",
            "calldate": "2026-03-01T12:00:00Z",
            "callEndDate": "2026-03-01T12:02:10Z",
            **details,
        },
    }


def test_the_token_is_accepted_from_the_query_or_the_registered_header() -> None:
    connector = kixie_connector(KixieRecorder())
    connector.verify_webhook(request("endcall", {}, token=KIXIE_TOKEN))
    connector.verify_webhook(request("endcall", {}, token=None, headers={"x-ghl-sync-token": KIXIE_TOKEN}))


@pytest.mark.parametrize("token", [None, "", "wrong-token", KIXIE_TOKEN + "x"])
def test_a_missing_or_wrong_token_is_rejected(token: str | None) -> None:
    with pytest.raises(WebhookRejected):
        kixie_connector(KixieRecorder()).verify_webhook(request("endcall", {}, token=token))


def test_an_ended_call_is_a_note_on_the_customer_number_carrying_the_call() -> None:
    # WHEN an outgoing ended call arrives on the endcall registration
    [event] = parse(request("endcall", end_call()))
    # THEN it is one note under the callee's number, keyed by the call UUID, the record carried
    assert (event.entity, event.action, event.entity_id) == (
        EntityKind.NOTE,
        ChangeAction.UPSERT,
        f"call:{CALL_UUID}",
    )
    assert (event.parent_id, event.parent_record) == (CUSTOMER, {"phone": CUSTOMER})
    assert event.event_id == f"kixie-endcall-{CALL_UUID}"
    body = (event.record or {})["body"]
    assert "outgoing" in body and "answered" in body and "2m 05s" in body
    assert "Sam Agent <sam@co.test>" in body and f"{CALL_UUID}.mp3" in body


def test_an_incoming_call_belongs_to_the_caller() -> None:
    [event] = parse(
        request("endcall", end_call(calltype="incoming", fromnumber164=CUSTOMER, tonumber164="+1999"))
    )
    assert event.parent_id == CUSTOMER


def test_a_start_call_posted_as_endcall_is_acknowledged_without_an_event() -> None:
    # GIVEN Kixie's Start Call example: it says hookevent endcall but the call has not ended
    start = end_call(callEndDate=None, duration=0)
    # THEN nothing is queued (so it cannot take the id of the real end-of-call event)
    assert parse(request("endcall", start)) == []


def test_a_disposition_shares_the_calls_uuid_and_maps_to_a_tag() -> None:
    # GIVEN a disposition whose callid is numeric and whose externalid is the call UUID
    data = {
        "disposition": "Interested",
        "note": "Wants a quote",
        "callid": "123456",
        "externalid": CALL_UUID,
        "phone": CUSTOMER,
        "email": "sam@co.test",
    }
    # WHEN parsed with a disposition -> tag map
    note, tagging = parse(request("disposition", data), disposition_tags={"Interested": "hot-lead"})
    # THEN the note is keyed by the UUID, and a tag is asked for on the same contact
    assert (
        note.entity_id == f"call:{CALL_UUID}:disposition" and "Wants a quote" in (note.record or {})["body"]
    )
    assert (tagging.action, tagging.entity_id, tagging.data) == (
        ChangeAction.ADD_TAGS,
        CUSTOMER,
        {"tags": ["hot-lead"]},
    )


def test_a_scheduled_activity_is_a_task_due_at_its_zoned_time() -> None:
    data = {
        "subject": "Call back",
        "description": "after the demo",
        "type": "Call",
        "date": "2026-03-05",
        "dateformat": "Thursday, March 5, 2026",
        "time": "14:30",
        "timeformat": "2:30 PM",
        "timezone": "America/Los_Angeles",
        "callid": 98765,
        "phone": CUSTOMER,
        "apiKey": "leaked",
    }
    [event] = parse(request("scheduledactivity", data))
    assert (event.entity, event.entity_id) == (EntityKind.TASK, "activity:98765")
    record = event.record or {}
    assert record["title"] == "Call back" and record["due_date"] == "2026-03-05T22:30:00Z"
    assert "leaked" not in json.dumps(event.model_dump(mode="json"))


def test_an_sms_is_a_note_on_the_customer_number() -> None:
    data = {
        "messageid": "sms852e",
        "customernumber": CUSTOMER,
        "direction": "incoming",
        "message": "Hey",
        "businessid": 996,
        "email": "sam@co.test",
    }
    [event] = parse(request("sms", data))
    assert (event.entity_id, event.parent_id) == ("sms:sms852e", CUSTOMER)
    assert (event.record or {})["body"].startswith("Kixie SMS (incoming): Hey")


def test_a_call_summary_is_a_note_keyed_by_the_call() -> None:
    data = {"summary": "Discussed pricing", "callid": "123456", "externalid": CALL_UUID, "phone": CUSTOMER}
    [event] = parse(request("cisummary", data))
    assert event.entity_id == f"call:{CALL_UUID}:summary"


@pytest.mark.parametrize(
    ("event", "raw", "problem"),
    [
        (None, json.dumps({"data": {}}).encode(), "missing 'event'"),
        ("startcall", json.dumps({"data": {}}).encode(), "missing 'event'"),
        ("endcall", b"\xff\xfe not json", "not JSON"),
        ("endcall", b"[1, 2]", "envelope"),
        ("endcall", json.dumps({"data": "x"}).encode(), "envelope"),
        ("endcall", json.dumps({"data": {"callDetails": []}}).encode(), "not an object"),
        ("endcall", json.dumps({"data": end_call(duration="long")}).encode(), "duration"),
        ("endcall", json.dumps({"data": end_call(tonumber164="nope")}).encode(), "customer number"),
        ("endcall", json.dumps({"data": end_call(callid=None)}).encode(), "callid"),
        ("sms", json.dumps({"data": {"customernumber": CUSTOMER}}).encode(), "messageid"),
        ("scheduledactivity", json.dumps({"data": {"phone": CUSTOMER, "date": "soon"}}).encode(), "date"),
        ("disposition", json.dumps({"data": {"callid": "1", "phone": {"x": 1}}}).encode(), "phone"),
    ],
)
def test_hostile_or_broken_input_is_a_clear_rejection(event: str | None, raw: bytes, problem: str) -> None:
    with pytest.raises(MalformedWebhook, match=problem):
        parse(request(event, None, raw=raw))
