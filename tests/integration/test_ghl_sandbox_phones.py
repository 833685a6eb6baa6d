"""GHL sandbox: phones are read in the location's numbering plan (E.164 stored, duplicates by number)."""

import httpx
import pytest

from sandbox.ghl import GhlSandbox
from tests.fixtures.ghl import GHL_BASE_URL, GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT

UK_LOCATION = "loc_uk_1"
UK_PIT = "pit-uk-token"


@pytest.fixture
def api(ghl_sandbox: GhlSandbox, ghl_http: httpx.Client) -> httpx.Client:
    ghl_sandbox.add_location(UK_LOCATION, token=UK_PIT, country="GB")
    ghl_http.headers.update(GHL_HEADERS)
    return ghl_http


def _create(api: httpx.Client, location: str = GHL_LOCATION_ID, **fields) -> httpx.Response:
    token = UK_PIT if location == UK_LOCATION else GHL_PIT
    return api.post(
        "/contacts/", json={"locationId": location, **fields}, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize(
    ("location", "written", "stored"),
    [
        (UK_LOCATION, "07911 123456", "+447911123456"),
        (UK_LOCATION, "+55 11 91234-5678", "+5511912345678"),
        (GHL_LOCATION_ID, "(415) 555-2671", "+14155552671"),
        (GHL_LOCATION_ID, "1-415-555-2671", "+14155552671"),
        (GHL_LOCATION_ID, "+44 7911 123456", "+447911123456"),
        (GHL_LOCATION_ID, "+1 415-555-2671 ext. 42", "+14155552671"),
    ],
)
def test_a_phone_is_stored_in_e164_by_the_locations_country(api, location, written, stored):
    # GIVEN a US and a UK location / WHEN a contact is created with a phone as people write it
    response = _create(api, location, firstName="Ada", phone=written)
    # THEN GHL stores it in E.164, national numbers placed in the location's country
    assert response.status_code == 201
    assert response.json()["contact"]["phone"] == stored


@pytest.mark.parametrize("garbage", ["call me", "12", "555-0100", "07911 123456", "+999 1234", " "])
def test_a_phone_that_is_no_number_there_is_422_and_nothing_is_created(ghl_sandbox, api, garbage):
    # GIVEN a US location / WHEN a contact is created with text no US number can be read from
    response = _create(api, firstName="Ada", phone=garbage)
    # THEN GHL's validation answer, and no contact
    assert response.status_code == 422
    assert response.json()["message"] == ["phone must be a valid phone number"]
    assert ghl_sandbox.store.contacts(GHL_LOCATION_ID) == []


def test_a_uk_national_number_is_a_duplicate_of_its_e164_form(api):
    # GIVEN a UK contact stored in E.164
    existing = _create(api, UK_LOCATION, firstName="Ada", phone="+447911123456").json()["contact"]
    # WHEN another is created with the number written nationally
    response = _create(api, UK_LOCATION, firstName="Bob", phone="07911 123456")
    # THEN it is the same number: a duplicate on phone
    assert response.status_code == 400
    assert response.json()["meta"]["contactId"] == existing["id"]
    assert response.json()["meta"]["matchingField"] == "phone"


def test_the_duplicate_search_reads_a_national_number_in_the_locations_country(api):
    # GIVEN a UK contact
    existing = _create(api, UK_LOCATION, firstName="Ada", phone="+447911123456").json()["contact"]

    # WHEN the duplicate search is asked with the national spelling, in the UK and in the US
    def search(location: str, token: str) -> httpx.Response:
        return api.get(
            "/contacts/search/duplicate",
            params={"locationId": location, "number": "07911 123456"},
            headers={"Authorization": f"Bearer {token}"},
        )

    # THEN the UK finds it; the US reads no number from those digits and finds nothing
    assert search(UK_LOCATION, UK_PIT).json()["contact"]["id"] == existing["id"]
    assert search(GHL_LOCATION_ID, GHL_PIT).json() == {"contact": None}


def test_a_garbage_duplicate_search_finds_nothing(api):
    # GIVEN a contact / WHEN the duplicate search is asked with no number at all
    _create(api, firstName="Ada", phone="+14155552671")
    response = api.get(
        "/contacts/search/duplicate", params={"locationId": GHL_LOCATION_ID, "number": "not a phone"}
    )
    # THEN nothing matches, and it is no error
    assert response.status_code == 200 and response.json() == {"contact": None}


def test_search_filters_read_a_phone_in_the_locations_country(api):
    # GIVEN a UK contact
    existing = _create(api, UK_LOCATION, firstName="Ada", phone="+447911123456").json()["contact"]
    # WHEN searched by the national spelling
    response = api.post(
        "/contacts/search",
        json={
            "locationId": UK_LOCATION,
            "pageLimit": 10,
            "filters": [{"field": "phone", "operator": "eq", "value": "07911 123456"}],
        },
        headers={"Authorization": f"Bearer {UK_PIT}"},
    )
    # THEN it is found
    assert [c["id"] for c in response.json()["contacts"]] == [existing["id"]]


def test_the_admin_api_creates_a_location_in_a_country(ghl_sandbox):
    # GIVEN the admin API / WHEN a Brazilian location is added
    with httpx.Client(base_url=GHL_BASE_URL, transport=ghl_sandbox.transport()) as client:
        client.post("/_sandbox/locations", json={"locationId": "loc_br", "country": "BR"})
    # THEN its national numbers are Brazilian
    contact = ghl_sandbox.ui_create_contact("loc_br", firstName="Ana", phone="(11) 91234-5678")
    assert contact.fields["phone"] == "+5511912345678"


@pytest.mark.parametrize("country", ["XX", "UK", 44])
def test_a_location_in_no_known_country_is_refused(ghl_sandbox, country):
    # GIVEN the admin API / WHEN a location names a country without a numbering plan / THEN 400
    with httpx.Client(base_url=GHL_BASE_URL, transport=ghl_sandbox.transport()) as client:
        response = client.post("/_sandbox/locations", json={"locationId": "loc_x", "country": country})
    assert response.status_code == 400 and "loc_x" not in ghl_sandbox.store.locations
