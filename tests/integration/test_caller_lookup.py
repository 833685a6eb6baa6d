"""The caller-ID lookup end to end: World's real handler (routed from template.yaml), moto, the GHL
sandbox. A linked contact is answered from the store; any other number costs one GHL call, then
none while cached; GHL failing answers "not found", never a 5xx.
"""

import json
from datetime import UTC, datetime, timedelta

from ghlsync.store.connections import ConnectionStatus
from sandbox.stack.template import REPO_ROOT
from tests.fixtures.caller_lookup import CallerLookupClient, add_kixie_connection

PHONE = "+14155550100"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUPLICATE_SEARCH = "/contacts/search/duplicate"


def test_a_linked_contact_is_answered_from_the_store_with_its_notes_and_open_tasks(
    caller_lookup: CallerLookupClient,
) -> None:
    # GIVEN a linked contact with two notes, an open and a completed task
    world = caller_lookup.world
    ghl_id = caller_lookup.linked_contact(
        firstName="Ada", lastName="Lovelace", email="ada@example.com", phone=PHONE, companyName="Engines"
    )
    caller_lookup.linked_note(ghl_id, "Asked for a quote", T0)
    caller_lookup.linked_note(ghl_id, "Prefers mornings", T0 + timedelta(hours=1))
    caller_lookup.linked_task(ghl_id, "Send the quote", "2026-03-05T09:00:00+00:00")
    caller_lookup.linked_task(ghl_id, "Intro call", "2026-02-01T09:00:00+00:00", completed=True)
    mark = world.mark()
    # WHEN Kixie looks the number up
    answer = caller_lookup.call(PHONE)
    # THEN the contact in Kixie's shape, newest note first, the open task only, and no GHL call
    assert answer.status == 200 and answer.header("Cache-Control") == "no-store"
    body = answer.json()
    assert body["found"] is True and body["org"] == {"name": "Engines"}
    contact = body["contact"]
    assert (contact["contact_id"], contact["first_name"], contact["last_name"]) == (ghl_id, "Ada", "Lovelace")
    assert (contact["email"], contact["phone_number"]) == ("ada@example.com", PHONE)
    assert contact["url"] == (
        f"https://app.gohighlevel.com/v2/location/{world.location_id}/contacts/detail/{ghl_id}"
    )
    assert contact["notes"] == ["Prefers mornings", "Asked for a quote"]
    assert [task["title"] for task in contact["tasks"]] == ["Send the quote"]
    assert caller_lookup.ghl_calls(since=mark) == []


def test_a_contact_only_in_ghl_costs_one_call_then_none_while_cached(
    caller_lookup: CallerLookupClient,
) -> None:
    # GIVEN a GHL contact with the number that is not linked
    world = caller_lookup.world
    ghl_id = world.ghl.ui_create_contact(world.location_id, firstName="Grace", phone=PHONE).id
    mark = world.mark()
    # WHEN Kixie looks the number up twice (the second time in national form)
    first = caller_lookup.call(PHONE)
    second = caller_lookup.call("(415) 555-0100")
    # THEN both answers name the contact, and GHL saw one duplicate search, by that number
    assert (
        first.json()["contact"]["contact_id"] == ghl_id and first.json()["contact"]["first_name"] == "Grace"
    )
    assert second.json() == first.json()
    calls = world.api_calls("ghl", since=mark)
    assert [call.path for call in calls] == [DUPLICATE_SEARCH] and calls[0].query["number"] == PHONE


def test_a_number_nobody_has_is_not_found_and_asked_of_ghl_once(caller_lookup: CallerLookupClient) -> None:
    # GIVEN no contact with the number anywhere
    mark = caller_lookup.world.mark()
    # WHEN Kixie looks it up three times
    answers = [caller_lookup.call(PHONE) for _ in range(3)]
    # THEN "not found" each time, for one GHL call
    assert all(a.status == 200 and a.json() == {"found": False} for a in answers)
    assert caller_lookup.ghl_calls(since=mark) == [DUPLICATE_SEARCH]


def test_a_failing_ghl_answers_not_found_with_one_attempt_and_a_metric(
    caller_lookup: CallerLookupClient,
) -> None:
    # GIVEN GHL answering every request 5xx
    world = caller_lookup.world
    world.ghl.faults.configure(rate_5xx=1.0)
    mark = world.mark()
    # WHEN Kixie looks a number up
    answer = caller_lookup.call(PHONE)
    # THEN 200 "not found", one GHL request (no retry: the caller is waiting), and it is counted
    assert answer.status == 200 and answer.json() == {"found": False}
    assert caller_lookup.ghl_calls(since=mark) == [DUPLICATE_SEARCH]
    assert world.metrics()["CallerLookupGhlFailed"] == 1


def test_after_a_ghl_failure_the_next_lookup_asks_ghl_again(caller_lookup: CallerLookupClient) -> None:
    # GIVEN a lookup that failed on GHL's 429, then GHL recovered with the contact
    world = caller_lookup.world
    world.ghl.faults.configure(rate_429=1.0)
    assert caller_lookup.call(PHONE).json() == {"found": False}
    world.quiet()
    ghl_id = world.ghl.ui_create_contact(world.location_id, firstName="Grace", phone=PHONE).id
    # WHEN looked up again THEN GHL is asked (the failure was not cached) and the contact found
    assert caller_lookup.call(PHONE).json()["contact"]["contact_id"] == ghl_id


def test_a_disabled_connection_is_refused(caller_lookup: CallerLookupClient) -> None:
    # GIVEN the Kixie connection disabled WHEN Kixie looks a number up with its token
    caller_lookup.world.connections.set_status(caller_lookup.connection_id, ConnectionStatus.DISABLED)
    answer = caller_lookup.call(PHONE)
    # THEN 401, the same body as a wrong token
    assert answer.status == 401 and answer.json() == {"message": "unauthorized"}


def test_a_lookup_writes_nothing(caller_lookup: CallerLookupClient) -> None:
    # GIVEN a linked contact, and a GHL-only contact
    world = caller_lookup.world
    caller_lookup.linked_contact(firstName="Ada", phone=PHONE)
    world.ghl.ui_create_contact(world.location_id, firstName="Grace", phone="+14155550101")
    before = world.table.scan()["Items"]
    mark = world.mark()
    # WHEN both are looked up THEN the table is unchanged and GHL saw no write
    caller_lookup.call(PHONE)
    caller_lookup.call("+14155550101")
    assert world.table.scan()["Items"] == before and world.ghl_writes(since=mark) == []


def test_every_events_file_gets_its_documented_answer(caller_lookup: CallerLookupClient) -> None:
    # GIVEN make dev's Kixie connection and token, which the events/ files name
    world = caller_lookup.world
    add_kixie_connection(world, "conn-dev-kixie", "dev-kixie-webhook-token")
    files = sorted((REPO_ROOT / "events").glob("caller_lookup_*.json"))
    # WHEN each is invoked THEN each answers as its name says
    answers = {f.stem: world.invoke("CallerLookupFunction", json.loads(f.read_text())) for f in files}
    assert {name: (a["statusCode"], json.loads(a["body"])) for name, a in answers.items()} == {
        "caller_lookup_bad_token": (401, {"message": "unauthorized"}),
        "caller_lookup_kixie_number": (200, {"found": False}),
        "caller_lookup_malformed_number": (200, {"found": False}),
    }
