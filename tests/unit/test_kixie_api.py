"""Kixie API on the kit: double credentials, 200 success:false, the local daily quota, no retry of
call/sms, idempotent webhook registration. httpx.MockTransport, no sockets."""

import json

import httpx
import pytest

from ghlsync.apps.kixie import KixieSettings
from ghlsync.apps.kixie.api import KixieApi
from ghlsync.core.errors import RateLimited, ServerError, Validation
from tests.fixtures.http import FakeTime
from tests.fixtures.kixie import (
    KIXIE_API,
    KIXIE_BUSINESS,
    KIXIE_KEY,
    KIXIE_TOKEN,
    KixieRecorder,
    kixie_connector,
    kixie_credentials,
)


def test_an_event_carries_the_key_and_business_id_in_the_query_and_the_body() -> None:
    # GIVEN a connector
    recorder = KixieRecorder()
    connector = kixie_connector(recorder)
    # WHEN it sends an event
    connector.api.event("updatepowerlist", {"target": "+14155550100", "powerlistId": "1969"})
    # THEN both places hold both credentials, and the operation is the eventname
    request = recorder.requests[0]
    assert request.url.path == "/app/event"
    assert dict(request.url.params) == {"apikey": KIXIE_KEY, "businessid": KIXIE_BUSINESS}
    body = json.loads(request.content)
    assert (body["apikey"], body["businessid"], body["eventname"]) == (
        KIXIE_KEY,
        KIXIE_BUSINESS,
        "updatepowerlist",
    )


def test_a_200_with_success_false_is_a_permanent_failure_with_kixies_message() -> None:
    # GIVEN Kixie answering 200 {"success": false}
    recorder = KixieRecorder()
    recorder.failures.append(httpx.Response(200, json={"success": False, "error": "function does not exist"}))
    connector = kixie_connector(recorder)
    # WHEN an event is sent / THEN it is a Validation error naming Kixie's message, sent once
    with pytest.raises(Validation, match="function does not exist"):
        connector.api.event("updatepowerlist", {"target": "+14155550100"})
    assert len(recorder.requests) == 1


def test_a_call_past_the_daily_quota_is_refused_before_it_is_sent_and_counted() -> None:
    # GIVEN a quota of 2 calls a day, already spent
    recorder, time = KixieRecorder(), FakeTime()
    refusals: list[int] = []
    api = KixieApi(
        httpx.Client(transport=httpx.MockTransport(recorder)),
        KixieSettings(base_url=KIXIE_API, daily_quota=2),
        kixie_credentials(),
        sleep=time.sleep,
        clock=time,
        wall_clock=time,
        on_quota_refused=lambda: refusals.append(1),
    )
    for _ in range(2):
        api.event("updatepowerlist", {"target": "+14155550100"})
    # WHEN a third is attempted
    with pytest.raises(RateLimited) as refused:
        api.event("updatepowerlist", {"target": "+14155550100"})
    # THEN nothing more is sent, the refusal is counted, and it waits for 00:00 UTC
    assert len(recorder.requests) == 2 and refusals == [1]
    assert refused.value.retry_after == pytest.approx(86_400)


def test_the_quota_is_fresh_after_midnight_utc() -> None:
    # GIVEN a spent quota of 1
    recorder, time = KixieRecorder(), FakeTime()
    connector = kixie_connector(recorder, time, daily_quota=1)
    connector.api.event("updatepowerlist", {"target": "+14155550100"})
    # WHEN the UTC day turns
    time.advance(86_400)
    connector.api.event("updatepowerlist", {"target": "+14155550100"})
    # THEN the call goes out
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("eventname", ["call", "sms"])
def test_a_call_or_sms_is_never_retried(eventname: str) -> None:
    # GIVEN Kixie failing with a 5xx
    recorder = KixieRecorder()
    recorder.failures.append(httpx.Response(502, json={}))
    connector = kixie_connector(recorder)
    # WHEN a call or SMS is sent / THEN the error surfaces after one attempt: nobody is dialled twice
    with pytest.raises(ServerError):
        connector.api.event(eventname, {"email": "agent@co.test", "target": "+14155550100"})
    assert len(recorder.requests) == 1


def test_a_powerlist_upsert_is_retried_after_a_5xx() -> None:
    # GIVEN one 5xx then success
    recorder = KixieRecorder()
    recorder.failures.append(httpx.Response(503, json={}))
    connector = kixie_connector(recorder)
    # WHEN a merge upsert is sent / THEN it is repeated (merge is safe to repeat)
    connector.api.event("updatepowerlist", {"target": "+14155550100"})
    assert len(recorder.requests) == 2


def test_registering_webhooks_creates_one_per_event_with_the_token_in_url_and_header() -> None:
    # GIVEN an account with no registrations
    recorder = KixieRecorder()
    connector = kixie_connector(recorder)
    # WHEN the connection registers its webhooks
    lines = connector.register_webhooks("https://stack.test/prod")
    # THEN it listed first, then created one per event, on the management paths, credentials in the body
    paths = [r.url.path for r in recorder.requests]
    assert paths == ["/app/v1/api/getWebhooks"] + ["/app/v1/api/postWebhook"] * 5
    created = recorder.bodies()[1:]
    assert {b["eventname"] for b in created} == {
        "endcall",
        "disposition",
        "scheduledactivity",
        "SMS",
        "cisummary",
    }
    endcall = next(b for b in created if b["eventname"] == "endcall")
    assert endcall["call"] == "postWebhook" and endcall["apikey"] == KIXIE_KEY
    assert endcall["location"] == (
        f"https://stack.test/prod/webhooks/kixie/conn1?token={KIXIE_TOKEN}&event=endcall"
    )
    assert json.loads(endcall["headers"]) == [{"name": "x-ghl-sync-token", "value": KIXIE_TOKEN}]
    assert not recorder.requests[0].url.params and len(lines) == 5


def test_registering_again_updates_ours_by_name_instead_of_duplicating() -> None:
    # GIVEN an account that lists our endcall registration and someone else's
    recorder = KixieRecorder()
    recorder.webhooks = [
        {"webhookid": "w-1", "name": "ghl-sync-endcall", "eventname": "endcall"},
        {"webhookid": "w-9", "name": "their-own", "eventname": "endcall"},
    ]
    connector = kixie_connector(recorder)
    # WHEN the webhooks are registered
    connector.register_webhooks("https://stack.test")
    # THEN ours is updated by its id, the missing four are created, theirs untouched
    calls = [(b["call"], b.get("webhookid"), b["name"]) for b in recorder.bodies()[1:]]
    assert ("putWebhook", "w-1", "ghl-sync-endcall") in calls
    assert sum(1 for call, _, _ in calls if call == "postWebhook") == 4
    assert all(webhook_id != "w-9" for _, webhook_id, _ in calls)
