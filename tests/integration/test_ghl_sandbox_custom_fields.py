"""The GHL sandbox's custom fields: per-location definitions, writes by id or key, values typed
by the field's dataType, and the switch for fields the location does not define."""

import httpx
import pytest

from sandbox.ghl import GhlSandbox
from sandbox.ghl.custom_fields import define_field
from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID

pytestmark = pytest.mark.integration


@pytest.fixture
def api(ghl_http: httpx.Client) -> httpx.Client:
    ghl_http.headers.update(GHL_HEADERS)
    return ghl_http


@pytest.fixture
def contact_id(ghl_sandbox: GhlSandbox) -> str:
    return ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, email="cf@example.com").id


def _fields(api: httpx.Client, contact_id: str) -> list[dict]:
    return api.get(f"/contacts/{contact_id}").json()["contact"]["customFields"]


def test_a_created_definition_is_listed_with_its_key_and_type(api):
    # GIVEN a field created through the API
    created = api.post(
        f"/locations/{GHL_LOCATION_ID}/customFields",
        json={"name": "Membership Status", "dataType": "SINGLE_OPTIONS", "options": ["gold", "silver"]},
    )
    # WHEN the location's definitions are listed
    listed = api.get(f"/locations/{GHL_LOCATION_ID}/customFields", params={"model": "contact"})
    # THEN it is there with an id, the contact.<snake_case> key, its type and options
    assert created.status_code == 201, created.text
    field = created.json()["customField"]
    assert (field["fieldKey"], field["dataType"], field["picklistOptions"]) == (
        "contact.membership_status",
        "SINGLE_OPTIONS",
        ["gold", "silver"],
    )
    assert listed.json()["customFields"] == [field]


def test_a_definition_of_another_location_is_forbidden(api, ghl_sandbox):
    # GIVEN another location / WHEN its definitions are read with this location's token
    ghl_sandbox.add_location("loc_other")
    response = api.get("/locations/loc_other/customFields")
    # THEN 403
    assert response.status_code == 403


@pytest.mark.parametrize("key", ["contact.membership_status", "membership_status"])
def test_a_write_by_key_reads_back_under_the_real_id(api, ghl_sandbox, contact_id, key):
    # GIVEN a defined text field
    field = define_field(ghl_sandbox, GHL_LOCATION_ID, "Membership status", "TEXT")
    # WHEN a contact is updated naming the field by its key
    response = api.put(
        f"/contacts/{contact_id}", json={"customFields": [{"key": key, "field_value": "gold"}]}
    )
    # THEN it reads back as {id, value} with the field's id
    assert response.status_code == 200, response.text
    assert _fields(api, contact_id) == [{"id": field.id, "value": "gold"}]


@pytest.mark.parametrize(
    ("data_type", "sent", "stored"),
    [("NUMERICAL", "42", 42), ("MONETORY", "4.5", 4.5), ("TEXT", 7, "7"), ("CHECKBOX", "yes", ["yes"])],
)
def test_a_value_is_coerced_to_the_field_type(api, ghl_sandbox, contact_id, data_type, sent, stored):
    # GIVEN a field of the type / WHEN a value of a convertible shape is written
    field = define_field(ghl_sandbox, GHL_LOCATION_ID, "Score", data_type, options=["yes", "no"])
    response = api.put(
        f"/contacts/{contact_id}", json={"customFields": [{"id": field.id, "field_value": sent}]}
    )
    # THEN it is stored as the type's value
    assert response.status_code == 200, response.text
    assert _fields(api, contact_id) == [{"id": field.id, "value": stored}]


@pytest.mark.parametrize(
    ("data_type", "sent", "message"),
    [
        ("NUMERICAL", "lots", "customFields.0.field_value must be a number (NUMERICAL)"),
        ("TEXT", ["a"], "customFields.0.field_value must be a string (TEXT)"),
        ("DATE", "someday", "customFields.0.field_value must be a date (YYYY-MM-DD) (DATE)"),
        (
            "SINGLE_OPTIONS",
            "bronze",
            "customFields.0.field_value bronze is not an option of contact.level: gold, silver",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_422_and_not_stored(
    api, ghl_sandbox, contact_id, data_type, sent, message
):
    # GIVEN a typed field / WHEN a value it cannot hold is written
    field = define_field(ghl_sandbox, GHL_LOCATION_ID, "Level", data_type, options=["gold", "silver"])
    response = api.put(
        f"/contacts/{contact_id}", json={"customFields": [{"id": field.id, "field_value": sent}]}
    )
    # THEN 422 with the message list, and nothing is stored
    assert response.status_code == 422
    assert response.json()["message"] == [message]
    assert _fields(api, contact_id) == []


def test_an_unknown_field_is_ignored_by_default(api, contact_id):
    # GIVEN the default switch / WHEN a write names a field the location does not have
    response = api.put(
        f"/contacts/{contact_id}",
        json={"firstName": "Ada", "customFields": [{"id": "nope", "field_value": "x"}]},
    )
    # THEN the write succeeds and the value is dropped
    assert response.status_code == 200, response.text
    assert response.json()["contact"]["firstName"] == "Ada"
    assert _fields(api, contact_id) == []


def test_an_unknown_field_is_422_when_the_switch_says_reject(api, ghl_http, ghl_sandbox, contact_id):
    # GIVEN the switch set to reject through the admin API
    switched = ghl_http.put("/_sandbox/custom-fields/unknown", json={"policy": "reject"})
    # WHEN a create names an unknown key
    response = api.post(
        "/contacts/",
        json={"locationId": GHL_LOCATION_ID, "email": "new@example.com",
              "customFields": [{"key": "contact.nope", "field_value": "x"}]},
    )  # fmt: skip
    # THEN 422 naming it, and no contact was made
    assert switched.status_code == 200
    assert response.status_code == 422
    assert response.json()["message"] == ["customFields.0: no custom field contact.nope in this location"]
    assert len(ghl_sandbox.store.contacts(GHL_LOCATION_ID)) == 1


def test_the_admin_seed_route_defines_a_field(ghl_http):
    # GIVEN / WHEN a field is seeded without a token
    seeded = ghl_http.post(
        f"/_sandbox/locations/{GHL_LOCATION_ID}/custom-fields", json={"name": "Plan", "dataType": "NUMERICAL"}
    )
    # THEN the API lists it
    listed = ghl_http.get(f"/locations/{GHL_LOCATION_ID}/customFields", headers=GHL_HEADERS)
    assert seeded.status_code == 201
    assert [f["fieldKey"] for f in listed.json()["customFields"]] == ["contact.plan"]
