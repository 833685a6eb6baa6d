"""GHL sandbox: search and the contact listing trail writes by `search_lag_s`; the duplicate lookup
(the engine's identity read) does not."""

import httpx
import pytest

from sandbox.ghl import FakeClock, GhlSandbox
from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID

LAG_S = 30


@pytest.fixture
def api(ghl_sandbox: GhlSandbox, ghl_http: httpx.Client) -> httpx.Client:
    ghl_sandbox.crm.index.set_lag(LAG_S)
    ghl_http.headers.update(GHL_HEADERS)
    return ghl_http


def _searched(api: httpx.Client) -> dict[str, dict]:
    body = api.post("/contacts/search", json={"locationId": GHL_LOCATION_ID, "pageLimit": 100}).json()
    return {c["id"]: c for c in body["contacts"]}


def _listed(api: httpx.Client) -> set[str]:
    body = api.get("/contacts/", params={"locationId": GHL_LOCATION_ID, "limit": 100}).json()
    return {c["id"] for c in body["contacts"]}


def _create(api: httpx.Client, **fields) -> str:
    response = api.post("/contacts/", json={"locationId": GHL_LOCATION_ID, **fields})
    assert response.status_code == 201
    return str(response.json()["contact"]["id"])


def test_a_new_contact_is_found_by_search_only_once_the_lag_has_passed(api, ghl_clock: FakeClock):
    # GIVEN a contact created just now
    contact_id = _create(api, firstName="Ada", email="ada@example.com")
    # WHEN search and the listing are read before and after the lag
    ghl_clock.advance(LAG_S - 1)
    before = (contact_id in _searched(api), contact_id in _listed(api))
    ghl_clock.advance(1)
    after = (contact_id in _searched(api), contact_id in _listed(api))
    # THEN neither saw it at first, both see it then
    assert (before, after) == ((False, False), (True, True))


def test_the_duplicate_lookup_finds_a_contact_search_cannot_see_yet(api):
    # GIVEN a contact created just now (still missing from search)
    contact_id = _create(api, firstName="Ada", email="ada@example.com")
    # WHEN the duplicate rule is asked for its e-mail
    found = api.get(
        "/contacts/search/duplicate", params={"locationId": GHL_LOCATION_ID, "email": "ada@example.com"}
    ).json()
    # THEN it answers from the primary store, at once
    assert found["contact"]["id"] == contact_id


def test_search_shows_an_edited_contact_as_it_was_until_the_lag_has_passed(api, ghl_clock: FakeClock):
    # GIVEN a contact indexed long ago, then renamed
    contact_id = _create(api, firstName="Ada", email="ada@example.com")
    ghl_clock.advance(LAG_S)
    api.put(f"/contacts/{contact_id}", json={"lastName": "King"})
    # WHEN search is read before and after the lag
    ghl_clock.advance(1)
    stale = _searched(api)[contact_id]
    ghl_clock.advance(LAG_S)
    fresh = _searched(api)[contact_id]
    # THEN the old values (and the old dateUpdated) come first, the new ones after
    assert stale.get("lastName") is None and stale["dateUpdated"] < fresh["dateUpdated"]
    assert fresh["lastName"] == "King"


def test_a_deleted_contact_is_still_found_until_the_lag_has_passed(api, ghl_clock: FakeClock):
    # GIVEN an indexed contact, then deleted
    contact_id = _create(api, firstName="Ada", email="ada@example.com")
    ghl_clock.advance(LAG_S)
    assert api.delete(f"/contacts/{contact_id}").status_code == 200
    # WHEN search is read just after the delete and after the lag
    ghl_clock.advance(1)
    just_after = contact_id in _searched(api)
    ghl_clock.advance(LAG_S)
    later = contact_id in _searched(api)
    # THEN it lingers, then it is gone
    assert (just_after, later) == (True, False)


def test_seeded_contacts_are_searchable_at_once(ghl_clock: FakeClock):
    # GIVEN a lagging sandbox seeded with contacts dated before now
    sandbox = GhlSandbox(clock=ghl_clock, search_lag_s=LAG_S)
    sandbox.add_location(GHL_LOCATION_ID)
    seeded = sandbox.seed(GHL_LOCATION_ID, contacts=50)
    # WHEN search reads them
    visible = {c.id for c in sandbox.crm.index.contacts(GHL_LOCATION_ID)}
    # THEN it finds the ones dated at least the lag ago (the i-th is dated 50 - i seconds ago)
    assert visible == set(seeded[: 50 - LAG_S + 1])


def test_contacts_written_before_the_lag_was_switched_on_stay_searchable(ghl_sandbox, api):
    # GIVEN a contact created while search was live, then the lag switched on (by the fixture order)
    ghl_sandbox.crm.index.set_lag(0)
    contact_id = _create(api, firstName="Ada", email="ada@example.com")
    # WHEN the lag is switched on and search is read at once
    ghl_sandbox.crm.index.set_lag(LAG_S)
    # THEN the contact is still found
    assert contact_id in _searched(api)


def test_the_admin_api_sets_the_lag(ghl_sandbox, ghl_http: httpx.Client):
    # GIVEN a live-search sandbox / WHEN the admin API sets a lag
    answer = ghl_http.post("/_sandbox/search", json={"lag_s": 5})
    # THEN it says so and the index lags
    assert answer.json() == {"lag_s": 5.0}
    assert ghl_sandbox.crm.index.lag_s == 5.0


@pytest.mark.parametrize("lag", ["5", -1, True, 3601])
def test_the_admin_api_refuses_a_lag_that_is_not_a_sane_number(ghl_http: httpx.Client, lag):
    # GIVEN a sandbox / WHEN the lag is not 0-3600 seconds / THEN a 400
    assert ghl_http.post("/_sandbox/search", json={"lag_s": lag}).status_code == 400
