"""The Kixie fake's webhooks (target-apps.md §3.3-3.4, §3.6): the registry managed by `call`,
the emitted envelopes, unsigned delivery with the registered headers and no retry, the custom-CRM
lookup caller, the admin API, and server mode."""

import json
import re
import socket
from datetime import datetime
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request

from sandbox.apps.kixie import KixieSandbox
from sandbox.apps.kixie.__main__ import main as serve_main
from sandbox.apps.kixie.stack import (
    API_KEY,
    BUSINESS_ID,
    DEV_CONNECTION_ID,
    DEV_PORT,
    DEV_WEBHOOK_TOKEN,
    KIXIE,
    POWERLIST_ID,
    KixieAppSandbox,
)
from sandbox.fakes.clock import FakeClock
from sandbox.fakes.server import ServerThread, serve
from sandbox.fakes.webhooks import http_sender
from tests.fixtures.kixie_fake import KixieApi, dev_kixie

pytestmark = pytest.mark.integration

HOOK_URL = "https://stack.example/webhooks/kixie/conn-1?token=t0k"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Receiver:
    """The stack's side: a WSGI app that records every POST and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.app = Flask("kixie-receiver")
        self.app.add_url_rule("/<path:path>", "hook", self._hook, methods=["POST"])

    def _hook(self, path: str) -> Any:
        self.received.append((request.full_path, dict(request.headers), request.get_json()))
        return jsonify({"ok": True}), self.status

    def sender(self) -> Any:
        return http_sender(transport=httpx.WSGITransport(app=self.app))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def kixie(clock: FakeClock, receiver: Receiver) -> KixieSandbox:
    return dev_kixie(clock, webhook_sender=receiver.sender())


@pytest.fixture
def api(kixie: KixieSandbox) -> KixieApi:
    return KixieApi(kixie)


def create(api: KixieApi, eventname: str = "endcall", **fields: Any) -> dict[str, Any]:
    body = {
        "callresult": "all",
        "direction": "all",
        "disposition": "all",
        "eventname": eventname,
        "headers": False,
        "location": HOOK_URL,
        "name": f"ghl-sync-{eventname}",
        "runtime": "realtime",
        **fields,
    }
    return api.manage("postWebhook", "postWebhook", **body)


def only_delivery(kixie: KixieSandbox, receiver: Receiver) -> tuple[str, dict[str, str], dict[str, Any]]:
    kixie.deliver_webhooks()
    [received] = receiver.received
    return received


# -- the registry, managed by `call` --------------------------------------------------------------
def test_postwebhook_registers_and_getwebhooks_lists_it(api: KixieApi) -> None:
    # GIVEN / WHEN a webhook is created with a custom header
    headers = json.dumps([{"name": "X-Token", "value": "s3cret"}])
    created = create(api, headers=headers)
    listed = api.manage("getWebhooks", "getWebhooks")
    # THEN it reads back as posted, with a webhookid
    assert created["success"] is True
    assert listed["data"] == [created["data"]]
    assert (created["data"]["eventname"], created["data"]["headers"], created["data"]["location"]) == (
        "endcall",
        headers,
        HOOK_URL,
    )


def test_the_lower_case_postwebhook_path_does_not_exist(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN the create is posted to /postwebhook (as Kixie's docs spell it)
    answer = api.manage("postwebhook", "postWebhook", eventname="endcall", location=HOOK_URL)
    # THEN Kixie's observed answer, and nothing registered
    assert answer == {"success": False, "error": "function does not exist"}
    assert kixie.account().registry.registrations == {}


@pytest.mark.parametrize(
    ("path", "call"),
    [("getWebhooks", "postWebhook"), ("deleteWebhooks", "getWebhooks"), ("postWebhook", "postwebhook")],
)
def test_a_call_its_path_does_not_answer_does_not_exist(api: KixieApi, path: str, call: str) -> None:
    # GIVEN / WHEN the `call` does not belong to the path (or is miscased) / THEN refused
    answer = api.manage(path, call, eventname="endcall", location=HOOK_URL)
    assert answer == {"success": False, "error": "function does not exist"}


def test_the_paths_and_call_names_are_settings(clock: FakeClock) -> None:
    # GIVEN a fake told that the create lives at /postwebhook after all
    kixie = dev_kixie(clock, management_calls={"/app/v1/api/postwebhook": frozenset({"postWebhook"})})
    # WHEN a create is posted there / THEN it is answered
    answer = KixieApi(kixie).manage("postwebhook", "postWebhook", eventname="endcall", location=HOOK_URL)
    assert answer["success"] is True


def test_putwebhook_updates_a_registration_by_webhookid(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a registration
    webhookid = create(api)["data"]["webhookid"]
    # WHEN it is updated with a new location
    answer = api.manage("postWebhook", "putWebhook", webhookid=webhookid, location="https://new.example/k")
    # THEN the same registration points there (none added)
    assert answer["data"]["location"] == "https://new.example/k"
    assert [r.location for r in kixie.account().registry.registrations.values()] == ["https://new.example/k"]


def test_putwebhook_of_an_unknown_webhookid_is_refused(api: KixieApi) -> None:
    # GIVEN / WHEN there is no such registration / THEN refused
    answer = api.manage("postWebhook", "putWebhook", webhookid="404", location="https://new.example/k")
    assert answer == {"success": False, "error": "webhook 404 does not exist"}


def test_removewebhook_deletes_a_registration(api: KixieApi) -> None:
    # GIVEN a registration / WHEN it is removed through /deleteWebhooks
    webhookid = create(api)["data"]["webhookid"]
    answer = api.manage("deleteWebhooks", "removeWebhook", webhookid=webhookid)
    # THEN the list is empty
    assert answer == {"success": True}
    assert api.manage("getWebhooks", "getWebhooks")["data"] == []


def test_posting_the_same_registration_twice_makes_two(api: KixieApi) -> None:
    # GIVEN / WHEN the same create is sent twice / THEN Kixie holds two (it does not de-duplicate)
    create(api)
    create(api)
    assert len(api.manage("getWebhooks", "getWebhooks")["data"]) == 2


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"headers": [{"name": "X-Token", "value": "s"}]}, "headers must be false or a JSON-encoded string"),
        ({"headers": "{garbage"}, "headers is not valid JSON"),
        ({"headers": '[{"name": "X"}]'}, "headers is a list of at most 10"),
        ({"eventname": "sms"}, "eventname must be one of"),
        ({"location": "ftp://x.example/k"}, "location must be an http(s) URL"),
        ({"direction": "sideways"}, "direction must be one of"),
    ],
)
def test_a_bad_registration_is_refused(api: KixieApi, fields: dict[str, Any], error: str) -> None:
    # GIVEN / WHEN one field is wrong (a bare list for headers, Kixie's lower-case "sms", …)
    answer = create(api, **fields)
    # THEN refused, nothing registered
    assert answer["success"] is False
    assert answer["error"].startswith(error)
    assert api.manage("getWebhooks", "getWebhooks")["data"] == []


def test_management_needs_the_accounts_credentials(kixie: KixieSandbox) -> None:
    # GIVEN / WHEN a create comes with a wrong key / THEN refused, nothing registered
    answer = KixieApi(kixie, apikey="wrong").manage(
        "postWebhook", "postWebhook", eventname="endcall", location=HOOK_URL
    )
    assert answer == {"success": False, "error": "invalid apikey or businessid"}
    assert kixie.account().registry.registrations == {}


# -- emitters and delivery ----------------------------------------------------------------------
def test_an_ended_call_goes_to_every_endcall_registration_with_its_headers(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN two endcall registrations, one with a custom header, and a disposition one
    create(api, headers=json.dumps([{"name": "X-Kixie-Token", "value": "s3cret"}]))
    create(api, location="https://other.example/kixie")
    create(api, "disposition")
    # WHEN a call ends and webhooks are delivered
    kixie.emit_endcall("+14155550145")
    kixie.deliver_webhooks()
    # THEN the two endcall registrations got it, only the first with the header, none signed
    paths = [path for path, _, _ in receiver.received]
    assert paths == ["/webhooks/kixie/conn-1?token=t0k", "/kixie?"]
    first, second = (headers for _, headers, _ in receiver.received)
    assert first["X-Kixie-Token"] == "s3cret"
    assert "X-Kixie-Token" not in second
    assert not [h for h in first if "signature" in h.lower()]


def test_an_endcall_carries_the_call_under_calldetails(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN an endcall registration / WHEN an answered outgoing call to a customer ends
    create(api)
    kixie.emit_endcall("4155550145", duration=61, contactid="ghl-1")
    _, _, body = only_delivery(kixie, receiver)
    # THEN Kixie's envelope: UUID callid, E.164 in the *164 fields, the agent, a recording
    details = body["data"]["callDetails"]
    assert body["data"]["hookevent"] == "endcall"
    assert UUID.match(details["callid"])
    assert (details["fromnumber164"], details["tonumber164"], details["tonumber"]) == (
        "+14155550100",
        "+14155550145",
        "4155550145",
    )
    assert (details["calltype"], details["callstatus"], details["duration"], details["contactid"]) == (
        "outgoing",
        "answered",
        61,
        "ghl-1",
    )
    assert (details["fname"], details["lname"], details["email"]) == ("Dev", "Agent", "agent@dev.example")
    assert details["recordingurl"] == f"https://calls.kixie.com/{details['callid']}.mp3"


def test_a_registration_filters_on_direction_and_call_result(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN an endcall registration for incoming missed calls only
    create(api, direction="incoming", callresult="missed")
    # WHEN an outgoing answered call and an incoming missed one end
    kixie.emit_endcall("+14155550145")
    kixie.emit_endcall("+14155550146", calltype="incoming", callstatus="missed")
    kixie.deliver_webhooks()
    # THEN only the second was posted
    [(_, _, body)] = receiver.received
    assert body["data"]["callDetails"]["fromnumber164"] == "+14155550146"


def test_a_started_call_says_endcall_like_kixies_example(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN a startcall registration / WHEN a call starts
    create(api, "startcall")
    kixie.emit_startcall("+14155550145")
    _, _, body = only_delivery(kixie, receiver)
    # THEN its hookevent wrongly says endcall, and it has not ended
    assert body["data"]["hookevent"] == "endcall"
    assert (body["data"]["callDetails"]["callEndDate"], body["data"]["callDetails"]["duration"]) == (None, 0)


def test_a_disposition_names_the_call_by_a_numeric_id_and_its_uuid(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN an ended call and a disposition registration
    create(api, "disposition")
    call_uuid = kixie.emit_endcall("+14155550145")["data"]["callDetails"]["callid"]
    # WHEN the agent sets its disposition
    kixie.emit_disposition(callid=call_uuid, disposition="Interested", note="Wants a quote", subject="Quote")
    _, _, body = only_delivery(kixie, receiver)
    # THEN fields are on data: a numeric callid, the call's UUID in externalid, the note
    data = body["data"]
    assert data["callid"].isdigit()
    assert (data["externalid"], data["hookevent"], data["disposition"], data["note"], data["phone"]) == (
        call_uuid,
        "disposition",
        "Interested",
        "Wants a quote",
        "+14155550145",
    )
    assert "powerlistContactDetails" in data


def test_one_calls_events_share_its_numeric_callid(kixie: KixieSandbox) -> None:
    # GIVEN an ended call / WHEN a disposition and a scheduled activity follow it
    call_uuid = kixie.emit_endcall("+14155550145")["data"]["callDetails"]["callid"]
    disposition = kixie.emit_disposition(callid=call_uuid)
    activity = kixie.emit_scheduledactivity(callid=call_uuid, subject="Call back")
    # THEN both name it by the same numeric id, and the next call gets another
    assert disposition["data"]["callid"] == activity["data"]["callid"]
    other = kixie.emit_disposition("+14155550146")
    assert other["data"]["callid"] != disposition["data"]["callid"]


def test_a_scheduled_activity_gives_its_date_twice_and_the_api_key(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN a scheduledactivity registration / WHEN a follow-up is scheduled for 14:30 in New York
    create(api, "scheduledactivity")
    kixie.emit_scheduledactivity(
        customer_number="+14155550145",
        subject="Call back",
        description="About the quote",
        due=datetime(2026, 1, 5, 14, 30),
        timezone="America/New_York",
        contactid="ghl-1",
    )
    _, _, body = only_delivery(kixie, receiver)
    # THEN ISO and human date and time, the zone, a numeric callid, and the account's apiKey
    data = body["data"]
    assert (data["date"], data["dateformat"], data["time"], data["timeformat"], data["timezone"]) == (
        "2026-01-05",
        "Monday, January 5, 2026",
        "14:30",
        "2:30 PM",
        "America/New_York",
    )
    assert (data["subject"], data["type"], data["contactid"], data["apiKey"]) == (
        "Call back",
        "Call",
        "ghl-1",
        API_KEY,
    )
    assert data["callid"].isdigit()


def test_an_sms_webhook_has_kixies_text_envelope(
    api: KixieApi, kixie: KixieSandbox, receiver: Receiver
) -> None:
    # GIVEN an SMS registration / WHEN a customer texts the business
    create(api, "SMS")
    kixie.emit_sms("+14155550145", "Hey")
    _, _, body = only_delivery(kixie, receiver)
    # THEN from/to, the customer and business numbers, the direction and the contact, no hookevent
    data = body["data"]
    assert data["messageid"].startswith("sms")
    assert (data["from"], data["to"], data["customernumber"], data["businessnumber"]) == (
        "+14155550145",
        "+14155550100",
        "+14155550145",
        "+14155550100",
    )
    assert (data["direction"], data["message"], data["contact"]["success"]) == ("incoming", "Hey", True)
    assert "hookevent" not in data


def test_a_ci_summary_follows_its_call(api: KixieApi, kixie: KixieSandbox, receiver: Receiver) -> None:
    # GIVEN an ended call and a cisummary registration / WHEN its summary is ready
    create(api, "cisummary")
    call_uuid = kixie.emit_endcall("+14155550145")["data"]["callDetails"]["callid"]
    kixie.emit_cisummary(call_uuid, summary="Asked about pricing")
    _, _, body = only_delivery(kixie, receiver)
    # THEN it names the call and carries the summary
    assert (body["data"]["hookevent"], body["data"]["externalid"], body["data"]["summary"]) == (
        "cisummary",
        call_uuid,
        "Asked about pricing",
    )


def test_a_failed_delivery_is_recorded_and_never_retried(api: KixieApi, clock: FakeClock) -> None:
    # GIVEN a receiver answering 500
    receiver = Receiver(status=500)
    kixie = dev_kixie(clock, webhook_sender=receiver.sender())
    create(KixieApi(kixie))
    kixie.emit_endcall("+14155550145")
    # WHEN delivery runs, and again an hour later
    kixie.deliver_webhooks()
    clock.advance(3600)
    kixie.deliver_webhooks()
    # THEN one attempt, recorded as failed
    [delivery] = kixie.outbox.deliveries
    assert (len(receiver.received), delivery.state, delivery.history) == (1, "failed", [500])


def test_an_unreachable_receiver_is_recorded_as_failed(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a sender that cannot connect
    def refused(url: str, body: bytes, headers: dict[str, str]) -> int:
        raise httpx.ConnectError("refused")

    kixie.webhook_sender = refused
    create(api)
    kixie.emit_endcall("+14155550145")
    # WHEN delivery runs twice / THEN one failed attempt with the error kept
    kixie.deliver_webhooks()
    kixie.deliver_webhooks()
    [delivery] = kixie.outbox.deliveries
    assert (delivery.state, delivery.attempts, delivery.status) == ("failed", 1, 0)
    assert "ConnectError" in str(delivery.error)


# -- the custom-CRM lookup caller --------------------------------------------------------------
def lookup_app(answer: tuple[Any, int]) -> tuple[Flask, list[dict[str, str]]]:
    app, seen = Flask("crm-lookup"), []

    @app.get("/kixie/conn-1/lookup")
    def lookup() -> Any:
        seen.append(dict(request.args))
        return answer

    return app, seen


def test_the_lookup_caller_sends_the_number_next_to_the_urls_token(clock: FakeClock) -> None:
    # GIVEN a lookup endpoint that knows the caller
    found = {"found": True, "contact": {"first_name": "Ada", "contact_id": "ghl-1"}}
    app, seen = lookup_app((found, 200))
    kixie = dev_kixie(clock, lookup_transport=httpx.WSGITransport(app=app))
    # WHEN Kixie looks a number up
    answer = kixie.lookup("https://stack.example/kixie/conn-1/lookup?token=t0k", "+14155550145")
    # THEN the query holds the token and the number, and the answer is parsed
    assert seen == [{"token": "t0k", "number": "+14155550145"}]
    assert (answer.status, answer.found, answer.contact) == (200, True, found["contact"])


def test_the_lookup_caller_reports_an_answer_that_is_not_json(clock: FakeClock) -> None:
    # GIVEN a lookup endpoint that answers 401 text / WHEN Kixie looks a number up
    app, _ = lookup_app(("unauthorised", 401))
    kixie = dev_kixie(clock, lookup_transport=httpx.WSGITransport(app=app))
    answer = kixie.lookup("https://stack.example/kixie/conn-1/lookup?token=bad", "garbage")
    # THEN the status is kept and there is no body, nothing found
    assert (answer.status, answer.body, answer.found) == (401, None, False)


# -- the admin API ---------------------------------------------------------------------------
@pytest.fixture
def admin(kixie: KixieSandbox) -> httpx.Client:
    return httpx.Client(transport=kixie.transport(), base_url=kixie.base_url)


def test_admin_lists_a_powerlists_contents(api: KixieApi, admin: httpx.Client) -> None:
    # GIVEN a contact upserted / WHEN the PowerList is read through the admin API
    api.upsert("+14155550145", firstName="Ada", duplicateHandling="merge")
    listed = admin.get(f"/_sandbox/powerlists/{POWERLIST_ID}").json()
    # THEN its contacts show
    assert [(c["target"], c["firstName"]) for c in listed["contacts"]] == [("+14155550145", "Ada")]
    assert admin.get("/_sandbox/powerlists/4040").status_code == 404


def test_admin_emits_an_event_and_delivers_it(api: KixieApi, admin: httpx.Client, receiver: Receiver) -> None:
    # GIVEN an endcall registration / WHEN a call is emitted and delivered through the admin API
    create(api)
    emitted = admin.post(
        "/_sandbox/emit/endcall", json={"customer_number": "+14155550145", "duration": 30}
    ).json()
    delivered = admin.post("/_sandbox/deliver").json()["delivered"]
    # THEN the payload was queued once and posted
    assert (emitted["queued"], emitted["payload"]["data"]["callDetails"]["duration"]) == (1, 30)
    assert [(d["eventname"], d["state"], d["status"]) for d in delivered] == [("endcall", "delivered", 200)]
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("event", "options", "status"),
    [
        ("endcall", {"customer_number": "garbage"}, 400),
        ("endcall", {"no_such_option": 1}, 400),
        ("scheduledactivity", {"subject": "x", "due": "tomorrow", "customer_number": "+14155550145"}, 400),
        ("disposition", {"callid": "not-a-known-call"}, 404),
        ("voicemail", {}, 404),
    ],
)
def test_admin_refuses_a_bad_emit(
    admin: httpx.Client, kixie: KixieSandbox, event: str, options: dict[str, Any], status: int
) -> None:
    # GIVEN / WHEN an emit with a bad option / THEN a clear 4xx and nothing queued
    response = admin.post(f"/_sandbox/emit/{event}", json=options)
    assert (response.status_code, "error" in response.json()) == (status, True)
    assert kixie.outbox.deliveries == []


def test_admin_lists_recorded_calls_and_texts(api: KixieApi, admin: httpx.Client) -> None:
    # GIVEN a call and a text / WHEN the record is read
    api.event("call", email="agent@dev.example", target="+14155550145")
    api.event("sms", email="agent@dev.example", target="+14155550145", message="Hi")
    # THEN both show, and can be filtered by eventname
    assert [o["eventname"] for o in admin.get("/_sandbox/outgoing").json()["outgoing"]] == ["call", "sms"]
    assert [o["message"] for o in admin.get("/_sandbox/outgoing?eventname=sms").json()["outgoing"]] == ["Hi"]


def test_admin_lists_registrations_and_deliveries(
    api: KixieApi, admin: httpx.Client, kixie: KixieSandbox
) -> None:
    # GIVEN a registration and an emitted call / WHEN the webhooks are read
    create(api)
    kixie.emit_endcall("+14155550145")
    listed = admin.get("/_sandbox/webhooks").json()
    # THEN both show
    assert [r["eventname"] for r in listed["registrations"]] == ["endcall"]
    assert [(d["eventname"], d["state"]) for d in listed["deliveries"]] == [("endcall", "pending")]


def test_admin_spends_and_resets_the_daily_counter(api: KixieApi, admin: httpx.Client) -> None:
    # GIVEN / WHEN all but one call of the day is spent
    assert admin.post("/_sandbox/quota", json={"spend": 9_999}).json() == {"limit": 10_000, "remaining": 1}
    api.upsert("+14155550145")
    # THEN the next call is refused until the counter is reset
    assert api.upsert("+14155550146")["success"] is False
    assert admin.post("/_sandbox/quota", json={"reset": True}).json()["remaining"] == 10_000
    assert api.upsert("+14155550146")["success"] is True


def test_admin_sets_a_small_daily_limit(admin: httpx.Client, api: KixieApi) -> None:
    # GIVEN / WHEN the limit is set to 1 / THEN one call fits, the next does not
    assert admin.post("/_sandbox/quota", json={"limit": 1}).json() == {"limit": 1, "remaining": 1}
    assert api.upsert("+14155550145")["success"] is True
    assert api.upsert("+14155550146")["success"] is False
    assert admin.post("/_sandbox/quota", json={"limit": 0}).status_code == 400


# -- the stacks' view -----------------------------------------------------------------------
def test_the_app_sandbox_registers_one_tokened_url_per_event(clock: FakeClock) -> None:
    # GIVEN the AppSandbox the stacks build / WHEN it registers the stack's webhook URL
    app = KixieAppSandbox("https://kixie.sandbox", clock, 0)
    credentials = app.credentials(DEV_WEBHOOK_TOKEN)
    app.register_webhooks(f"https://stack.example/webhooks/kixie/{DEV_CONNECTION_ID}", credentials)
    # THEN each event Kixie sends has its own registration, with the token in the URL
    registrations = app.fake.account(BUSINESS_ID).registry.registrations.values()
    assert {r.eventname: r.location for r in registrations} == {
        e: f"https://stack.example/webhooks/kixie/{DEV_CONNECTION_ID}?token={DEV_WEBHOOK_TOKEN}&event={e}"
        for e in ("endcall", "disposition", "scheduledactivity", "SMS")
    }
    assert credentials == {"api_key": API_KEY, "business_id": BUSINESS_ID, "webhook_token": DEV_WEBHOOK_TOKEN}
    assert app.connection_settings()["powerlist_id"] == POWERLIST_ID


def test_the_registry_entry_holds_the_dev_constants() -> None:
    # GIVEN / WHEN / THEN DESIGN.md §5's port, connection id and token
    assert (KIXIE.app, KIXIE.dev_port, KIXIE.dev_connection_id, KIXIE.dev_webhook_secret) == (
        "kixie",
        8085,
        "conn-dev-kixie",
        "dev-kixie-webhook-token",
    )
    assert DEV_PORT == 8085


# -- server mode ---------------------------------------------------------------------------
def test_served_over_http_an_emitted_call_reaches_a_real_receiver() -> None:
    # GIVEN a receiver and the fake, each on a real socket of 127.0.0.1
    receiver = Receiver()
    receiving = ServerThread("receiver", "127.0.0.1", 0, standalone=True)
    receiving.serve(receiver.app)
    server = serve(dev_kixie(FakeClock()), delivery_interval_s=3600)  # delivered on demand below
    try:
        http = httpx.Client(base_url=server.url)
        credentials = {"apikey": API_KEY, "businessid": BUSINESS_ID}
        body = {
            **credentials,
            "call": "postWebhook",
            "eventname": "endcall",
            "location": f"{receiving.url}/hook",
        }
        assert http.post("/app/v1/api/postWebhook", json=body).json()["success"] is True
        # WHEN a call is emitted and delivered through the admin API
        assert (
            http.post("/_sandbox/emit/endcall", json={"customer_number": "+14155550145"}).json()["queued"]
            == 1
        )
        delivered = http.post("/_sandbox/deliver").json()["delivered"]
        # THEN it was posted over HTTP with Kixie's envelope
        assert [d["status"] for d in delivered] == [200]
        assert receiver.received[0][2]["data"]["hookevent"] == "endcall"
    finally:
        server.shutdown()
        receiving.stop()


def test_the_command_line_refuses_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a port already bound / WHEN the fake is asked to serve there / THEN status 2 and why
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = serve_main(["--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
