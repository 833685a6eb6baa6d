"""The Kixie fake's event API behaves like Kixie's (target-apps.md §3.2, §3.5, §3.6): PowerLists,
recorded calls and texts, the double credentials check, the daily counter, and every refusal an
HTTP 200 `{"success": false}`. Driven through raw HTTP in-process."""

from typing import Any

import httpx
import pytest

from sandbox.apps.kixie import KixieSandbox
from sandbox.apps.kixie.stack import API_KEY, BUSINESS_ID, POWERLIST_ID
from sandbox.fakes.clock import FakeClock
from sandbox.fakes.ratelimit import DAY_S
from tests.fixtures.kixie_fake import OTHER_POWERLIST_ID, KixieApi, dev_kixie

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kixie(clock: FakeClock) -> KixieSandbox:
    return dev_kixie(clock)


@pytest.fixture
def api(kixie: KixieSandbox) -> KixieApi:
    return KixieApi(kixie)


def held(kixie: KixieSandbox, powerlist_id: str = POWERLIST_ID) -> list[dict[str, Any]]:
    return kixie.account().powerlists.contents(powerlist_id)


# -- PowerLists -------------------------------------------------------------------------------
def test_updatepowerlist_inserts_a_contact_keyed_by_its_e164_number(
    api: KixieApi, kixie: KixieSandbox
) -> None:
    # GIVEN an empty PowerList / WHEN a contact is upserted with a 10-digit number
    answer = api.upsert("4155550145", firstName="Ada", crmContactId="ghl-1", duplicateHandling="merge")
    # THEN it is held under +1 and the number, and the answer says so
    assert answer["success"] is True
    [contact] = held(kixie)
    assert (contact["target"], contact["firstName"], contact["crmContactId"]) == (
        "+14155550145",
        "Ada",
        "ghl-1",
    )


def test_one_number_written_in_different_ways_is_one_contact(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN the same number as 11 digits, formatted, and E.164
    for target in ("14155550145", "(415) 555-0145", "+14155550145"):
        api.upsert(target, duplicateHandling="merge")
    # THEN the list holds one contact
    assert [c["target"] for c in held(kixie)] == ["+14155550145"]


def test_two_numbers_are_two_contacts(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN one person's two numbers are upserted
    api.upsert("+14155550145", firstName="Ada", duplicateHandling="merge")
    api.upsert("+14155550146", firstName="Ada", duplicateHandling="merge")
    # THEN they are two PowerList contacts
    assert len(held(kixie)) == 2


def test_overwrite_nulls_the_fields_the_body_omits(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a contact with a name, an e-mail and notes
    api.upsert("+14155550145", firstName="Ada", email="ada@x.example", nextCallRefresher="call back")
    # WHEN it is upserted again with overwrite and only the first name
    api.upsert("+14155550145", firstName="Ada", duplicateHandling="overwrite")
    # THEN the e-mail and the notes are gone
    [contact] = held(kixie)
    assert (contact["firstName"], contact["email"], contact["nextCallRefresher"]) == ("Ada", None, None)


def test_merge_changes_only_the_fields_sent(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a contact with an e-mail and one custom field
    api.upsert("+14155550145", firstName="Ada", email="ada@x.example", extraData={"stage": "lead"})
    # WHEN a merge sends a new first name and another custom field
    api.upsert("+14155550145", firstName="Augusta", extraData={"owner": "bob"}, duplicateHandling="merge")
    # THEN the rest is kept, custom fields included
    [contact] = held(kixie)
    assert (contact["firstName"], contact["email"]) == ("Augusta", "ada@x.example")
    assert contact["extraData"] == {"stage": "lead", "owner": "bob"}


def test_ignore_inserts_but_never_changes_a_held_contact(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a held contact
    api.upsert("+14155550145", firstName="Ada")
    # WHEN the same number and a new one are upserted with ignore
    api.upsert("+14155550145", firstName="Changed", duplicateHandling="ignore")
    api.upsert("+14155550146", firstName="New", duplicateHandling="ignore")
    # THEN the held one is unchanged and the new one inserted
    assert {c["target"]: c["firstName"] for c in held(kixie)} == {
        "+14155550145": "Ada",
        "+14155550146": "New",
    }


def test_a_number_can_sit_in_two_powerlists(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN one number is upserted into two lists
    api.upsert("+14155550145", firstName="Ada")
    api.upsert("+14155550145", OTHER_POWERLIST_ID, firstName="Ada (VIP)")
    # THEN each list holds its own contact
    assert held(kixie)[0]["firstName"] == "Ada"
    assert held(kixie, OTHER_POWERLIST_ID)[0]["firstName"] == "Ada (VIP)"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"powerlistId": "4040"}, "PowerList 4040 does not exist"),
        ({"target": "12345"}, "target is not a phone number"),
        ({"target": None}, "target is required in the body"),
        ({"duplicateHandling": "replace"}, "duplicateHandling must be one of overwrite, merge, ignore"),
        ({"firstName": {"nested": "object"}}, "firstName must be a string"),
        ({"extraData": ["not", "an", "object"]}, "extraData must be an object of field name -> string"),
    ],
)
def test_a_bad_upsert_is_refused_and_writes_nothing(
    api: KixieApi, kixie: KixieSandbox, fields: dict[str, Any], error: str
) -> None:
    # GIVEN an empty PowerList / WHEN an upsert has one bad field
    body = {"powerlistId": POWERLIST_ID, "target": "+14155550145", "firstName": "Ada", **fields}
    answer = api.event("updatepowerlist", **body)
    # THEN the answer is 200 success:false saying what was wrong, and nothing was written
    assert answer == {"success": False, "error": error}
    assert held(kixie) == []


def test_removefrompowerlist_removes_the_number_from_one_list(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a number in two lists
    api.upsert("+14155550145")
    api.upsert("+14155550145", OTHER_POWERLIST_ID)
    # WHEN it is removed from the first
    answer = api.event(
        "removefrompowerlist", action="removefrompowerlist", powerlistId=POWERLIST_ID, target="4155550145"
    )
    # THEN the second still holds it
    assert answer["success"] is True
    assert (held(kixie), len(held(kixie, OTHER_POWERLIST_ID))) == ([], 1)


def test_removefromallpowerlists_removes_the_number_everywhere(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN a number in two lists and another number
    api.upsert("+14155550145")
    api.upsert("+14155550145", OTHER_POWERLIST_ID)
    api.upsert("+14155550146")
    # WHEN the first is removed from all lists
    api.event("removefrompowerlist", action="removefromallpowerlists", target="+14155550145")
    # THEN only the other number is left
    assert [c["target"] for c in held(kixie)] == ["+14155550146"]
    assert held(kixie, OTHER_POWERLIST_ID) == []


# -- call and sms: recorded, never dialled -------------------------------------------------------
def test_a_call_is_recorded_once_per_request(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN the same click-to-call is sent twice
    for _ in range(2):
        assert api.event("call", email="agent@dev.example", target="4155550145")["success"] is True
    # THEN two calls are on record (no idempotency: a retried call dials again)
    calls = kixie.outgoing("call")
    assert [(c.email, c.target) for c in calls] == [("agent@dev.example", "+14155550145")] * 2


def test_an_sms_is_recorded_with_its_message(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN an agent's SMS is sent
    api.event("sms", email="agent@dev.example", target="+14155550145", message="See you at 3")
    # THEN it is on record, and no call is
    [sms] = kixie.outgoing("sms")
    assert (sms.target, sms.message) == ("+14155550145", "See you at 3")
    assert kixie.outgoing("call") == []


def test_a_call_for_an_unknown_agent_is_refused_and_not_recorded(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN a call names an e-mail that is not a Kixie user of the account
    answer = api.event("call", email="stranger@x.example", target="+14155550145")
    # THEN it is refused and nothing is on record
    assert answer == {"success": False, "error": "no Kixie user with email stranger@x.example"}
    assert kixie.outgoing() == []


def test_an_sms_without_a_message_is_refused_and_not_recorded(api: KixieApi, kixie: KixieSandbox) -> None:
    # GIVEN / WHEN an SMS has no message / THEN it is refused and nothing is on record
    answer = api.event("sms", email="agent@dev.example", target="+14155550145")
    assert answer == {"success": False, "error": "message is required in the body"}
    assert kixie.outgoing() == []


@pytest.mark.parametrize("eventname", ["updatePowerList", "nosuchthing", 42, None])
def test_an_unknown_eventname_is_a_function_that_does_not_exist(api: KixieApi, eventname: object) -> None:
    # GIVEN / WHEN the eventname is wrong, miscased, not a string or missing
    # THEN Kixie's observed answer
    assert api.event(eventname, target="+14155550145") == {  # type: ignore[arg-type]
        "success": False,
        "error": "function does not exist",
    }


# -- credentials: apikey and businessid in the query AND the body ---------------------------------
def post_event(kixie: KixieSandbox, *, query: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    http = httpx.Client(transport=kixie.transport(), base_url=kixie.base_url)
    upsert = {"eventname": "updatepowerlist", "powerlistId": POWERLIST_ID, "target": "+14155550145"}
    return http.post("/app/event", params=query, json={**upsert, **body})


GOOD = {"apikey": API_KEY, "businessid": BUSINESS_ID}


@pytest.mark.parametrize(
    ("query", "body", "error"),
    [
        ({"businessid": BUSINESS_ID}, GOOD, "apikey is required in the query"),
        (GOOD, {"businessid": BUSINESS_ID}, "apikey is required in the body"),
        ({"apikey": API_KEY}, GOOD, "businessid is required in the query"),
        (GOOD, {"apikey": API_KEY}, "businessid is required in the body"),
        ({}, {}, "apikey is required in the body"),
    ],
)
def test_a_credential_missing_from_either_place_is_refused(
    kixie: KixieSandbox, query: dict[str, str], body: dict[str, Any], error: str
) -> None:
    # GIVEN / WHEN a credential is only in one place (or nowhere)
    response = post_event(kixie, query=query, body=body)
    # THEN 200 success:false, and nothing was written
    assert (response.status_code, response.json()) == (200, {"success": False, "error": error})
    assert held(kixie) == []


@pytest.mark.parametrize(
    ("query", "body"),
    [
        (GOOD, {**GOOD, "apikey": "another-key"}),
        ({**GOOD, "businessid": "2002"}, GOOD),
        ({**GOOD, "apikey": "wrong"}, {**GOOD, "apikey": "wrong"}),
        ({**GOOD, "businessid": "9999"}, {**GOOD, "businessid": "9999"}),
    ],
)
def test_a_wrong_or_mismatched_credential_is_refused(
    kixie: KixieSandbox, query: dict[str, str], body: dict[str, Any]
) -> None:
    # GIVEN / WHEN the key or business differs between query and body, or is not the account's
    response = post_event(kixie, query=query, body=body)
    # THEN 200 success:false and nothing was written
    assert response.json() == {"success": False, "error": "invalid apikey or businessid"}
    assert held(kixie) == []


def test_a_numeric_businessid_in_the_body_matches_the_query(kixie: KixieSandbox) -> None:
    # GIVEN / WHEN the body's businessid is a JSON number (as Kixie's own examples mix them)
    response = post_event(kixie, query=GOOD, body={"apikey": API_KEY, "businessid": int(BUSINESS_ID)})
    # THEN it is the same account
    assert response.json()["success"] is True


# -- hostile input: always 200 success:false, never a 5xx ----------------------------------------
@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b"\xff\xfe\x00garbage", "the body is not valid JSON"),
        (b"[1, 2, 3]", "the body must be a JSON object"),
        (b"", "the body must be a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(kixie: KixieSandbox, content: bytes, error: str) -> None:
    # GIVEN / WHEN the body is garbage
    http = httpx.Client(transport=kixie.transport(), base_url=kixie.base_url)
    response = http.post(
        "/app/event", params=GOOD, content=content, headers={"Content-Type": "application/json"}
    )
    # THEN 200 success:false
    assert (response.status_code, response.json()) == (200, {"success": False, "error": error})


def test_a_huge_body_is_refused_without_being_read(kixie: KixieSandbox) -> None:
    # GIVEN a body past the fake's limit (a contact with a 2 MB first name)
    # WHEN it is posted
    response = post_event(kixie, query=GOOD, body={**GOOD, "firstName": "x" * 2_000_000})
    # THEN 200 success:false and nothing written
    assert response.status_code == 200
    assert response.json() == {"success": False, "error": "the request body is larger than 1000000 bytes"}
    assert held(kixie) == []


def test_an_over_long_field_is_refused(kixie: KixieSandbox, api: KixieApi) -> None:
    # GIVEN / WHEN a field far longer than any real one / THEN refused, nothing written
    answer = api.upsert("+14155550145", nextCallRefresher="n" * 10_001)
    assert answer == {"success": False, "error": "nextCallRefresher is longer than 10000 characters"}
    assert held(kixie) == []


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/app/nothing"), ("GET", "/app/event"), ("PUT", "/app/event")]
)
def test_an_unknown_route_is_a_function_that_does_not_exist(
    kixie: KixieSandbox, method: str, path: str
) -> None:
    # GIVEN / WHEN a path or method Kixie does not have / THEN 200 "function does not exist"
    http = httpx.Client(transport=kixie.transport(), base_url=kixie.base_url)
    response = http.request(method, path, params=GOOD)
    assert (response.status_code, response.json()) == (
        200,
        {"success": False, "error": "function does not exist"},
    )


def test_an_injected_fault_answers_in_kixies_shape(kixie: KixieSandbox) -> None:
    # GIVEN every API request answered 429 / WHEN an event is posted
    kixie.faults.configure(rate_429=1.0)
    response = post_event(kixie, query=GOOD, body=GOOD)
    # THEN the status is 429 with the success flag, and nothing was written
    assert (response.status_code, response.json()["success"]) == (429, False)
    assert held(kixie) == []


# -- the daily counter -------------------------------------------------------------------------
def test_past_the_daily_limit_a_call_is_refused_and_writes_nothing(clock: FakeClock) -> None:
    # GIVEN an account with a 2-call daily limit that used it
    kixie = dev_kixie(clock, daily_limit=2)
    api = KixieApi(kixie)
    api.upsert("+14155550145")
    api.upsert("+14155550146")
    # WHEN a third call comes the same day
    answer = api.upsert("+14155550147")
    # THEN it is refused with the limit named, and not written
    assert answer["success"] is False
    assert "daily API limit of 2 calls reached" in answer["error"]
    assert len(held(kixie)) == 2


def test_the_daily_counter_resets_at_midnight_utc(clock: FakeClock) -> None:
    # GIVEN the limit used up one second before 00:00 UTC
    clock.now = (clock.now // DAY_S + 1) * DAY_S - 1
    kixie = dev_kixie(clock, daily_limit=1)
    api = KixieApi(kixie)
    api.upsert("+14155550145")
    assert api.upsert("+14155550146")["success"] is False
    # WHEN the clock passes midnight
    clock.advance(1)
    # THEN calls are answered again
    assert api.upsert("+14155550146")["success"] is True


def test_the_default_daily_limit_is_10000(kixie: KixieSandbox) -> None:
    # GIVEN / WHEN nothing was configured / THEN Kixie's documented 10,000 a day
    assert kixie.quota.remaining(BUSINESS_ID) == 10_000


def test_webhook_management_counts_against_the_same_quota(clock: FakeClock) -> None:
    # GIVEN a 1-call limit spent by a getWebhooks
    kixie = dev_kixie(clock, daily_limit=1)
    api = KixieApi(kixie)
    assert api.manage("getWebhooks", "getWebhooks")["success"] is True
    # WHEN an event follows / THEN it is refused
    assert api.upsert("+14155550145")["success"] is False


def test_a_refused_credential_does_not_count(clock: FakeClock) -> None:
    # GIVEN a 1-call limit / WHEN a call with a wrong key comes first
    kixie = dev_kixie(clock, daily_limit=1)
    KixieApi(kixie, apikey="wrong").upsert("+14155550145")
    # THEN the account's call still fits
    assert KixieApi(kixie).upsert("+14155550145")["success"] is True


def test_a_team_sms_is_recorded_for_a_known_team_only(clock: FakeClock) -> None:
    # GIVEN an account with Team SMS 77
    kixie = KixieSandbox(clock=clock)
    kixie.add_account(BUSINESS_ID, API_KEY, team_sms_ids=("77",))
    api = KixieApi(kixie)
    # WHEN a Team SMS is sent through team 77, then through an unknown team
    assert api.event("bizsms", id="77", target="+14155550145", message="Hi all")["success"] is True
    assert api.event("bizsms", id="78", target="+14155550145", message="Hi all")["success"] is False
    # THEN only the first is on record
    assert [(o.eventname, o.email, o.message) for o in kixie.outgoing()] == [("bizsms", None, "Hi all")]
