"""GHL sandbox: validation as GHL's NestJS validates — nested types, odd bodies, unrouted methods,
and no input that answers 5xx (a bounded property-based check)."""

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.ghl import GhlSandbox
from sandbox.ghl.custom_fields import define_field
from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID

UNPROCESSABLE = {"statusCode": 422, "error": "Unprocessable Entity"}
DND_STATUS = "status must be one of the following values: active, inactive, permanent"
FIELD_VALUE = "field_value must be a string, a number, an array of strings or an object"


@pytest.fixture
def api(ghl_http: httpx.Client) -> httpx.Client:
    ghl_http.headers.update(GHL_HEADERS)
    return ghl_http


@pytest.fixture
def contact_id(ghl_sandbox: GhlSandbox) -> str:
    return ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", email="ada@example.com").id


def _create(api: httpx.Client, **fields) -> httpx.Response:
    return api.post("/contacts/", json={"locationId": GHL_LOCATION_ID, **fields})


def _is_422_with(response: httpx.Response, messages: list[str]) -> bool:
    body = response.json()
    return (
        response.status_code == 422
        and {k: body[k] for k in UNPROCESSABLE} == UNPROCESSABLE
        and (body["message"] == messages)
    )


# --- nested values ---


@pytest.mark.parametrize(
    ("dnd_settings", "messages"),
    [
        ({"FB": {"status": {}}}, [f"dndSettings.FB.{DND_STATUS}"]),
        ({"FB": {"status": ["active"]}}, [f"dndSettings.FB.{DND_STATUS}"]),
        ({"SMS": "active"}, ["dndSettings.nested property SMS must be either object or array"]),
        ({"Call": {"status": "active", "message": 5}}, ["dndSettings.Call.message must be a string"]),
        ({"Call": {"status": "active", "x": 1}}, ["dndSettings.Call.property x should not exist"]),
        ({"Email": {}}, [
            "dndSettings.Email.status should not be empty",
            f"dndSettings.Email.{DND_STATUS}",
        ]),
        ({"Fax": {"status": "active"}}, ["dndSettings.property Fax should not exist"]),
        ("active", ["nested property dndSettings must be either object or array"]),
    ],
)  # fmt: skip
def test_a_wrongly_typed_dnd_setting_is_422_with_its_path(api, ghl_sandbox, dnd_settings, messages):
    # GIVEN a create whose dndSettings holds a wrongly typed value
    # WHEN it is sent / THEN 422 names the nested path, and nothing is stored
    assert _is_422_with(_create(api, firstName="Ada", dndSettings=dnd_settings), messages)
    assert ghl_sandbox.store.contacts(GHL_LOCATION_ID) == []


@pytest.mark.parametrize(
    ("inbound", "messages"),
    [
        ({"all": {"status": "permanent"}},
         ["inboundDndSettings.all.status must be one of the following values: active, inactive"]),
        ({"all": "inactive"}, ["inboundDndSettings.nested property all must be either object or array"]),
        ({"all": {"status": "active", "message": []}}, ["inboundDndSettings.all.message must be a string"]),
        ({"SMS": {"status": "active"}}, ["inboundDndSettings.property SMS should not exist"]),
        ([], ["nested property inboundDndSettings must be either object or array"]),
    ],
)  # fmt: skip
def test_a_wrongly_typed_inbound_dnd_setting_is_422(api, contact_id, inbound, messages):
    # GIVEN an existing contact / WHEN a PUT sends a wrongly typed inboundDndSettings / THEN 422
    assert _is_422_with(api.put(f"/contacts/{contact_id}", json={"inboundDndSettings": inbound}), messages)


@pytest.mark.parametrize(
    ("custom_fields", "messages"),
    [
        ([{"id": "cf1", "field_value": True}], [f"customFields.0.{FIELD_VALUE}"]),
        ([{"id": "cf1", "field_value": [1, 2]}], [f"customFields.0.{FIELD_VALUE}"]),
        ([{"id": {"x": 1}, "field_value": "a"}],
         ["customFields.0.id must be a string", "customFields.0.id should not be empty"]),
        ([{"field_value": "a"}], ["customFields.0.id should not be empty"]),
        ([{"id": "cf1", "value": "a"}], ["customFields.0.property value should not exist"]),
        (["cf1"], ["each value in nested property customFields must be either object or array"]),
        ({"cf1": "a"}, ["customFields must be an array"]),
    ],
)  # fmt: skip
def test_a_wrongly_typed_custom_field_is_422_and_not_stored(
    api, ghl_sandbox, contact_id, custom_fields, messages
):
    # GIVEN an existing contact / WHEN a PUT sends a wrongly typed custom field
    response = api.put(f"/contacts/{contact_id}", json={"customFields": custom_fields})
    # THEN 422 with the path, and nothing was stored
    assert _is_422_with(response, messages)
    assert "customFields" not in ghl_sandbox.store.find_contact(contact_id).fields


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("TEXT", "blue"),
        ("NUMERICAL", 42),
        ("MONETORY", 4.5),
        ("MULTIPLE_OPTIONS", ["a", "b"]),
        ("FILE_UPLOAD", {"f31175d4": {"url": "https://x.test/f"}}),
    ],
)
def test_every_custom_field_write_shape_of_the_spec_is_taken(api, ghl_sandbox, contact_id, data_type, value):
    # GIVEN a field of each kind and a string, number, array of strings or file object (the
    # spec's write shapes) / WHEN written / THEN it reads back as sent
    field = define_field(ghl_sandbox, GHL_LOCATION_ID, "Field", data_type, options=["a", "b"])
    response = api.put(
        f"/contacts/{contact_id}", json={"customFields": [{"id": field.id, "field_value": value}]}
    )
    assert response.status_code == 200
    assert response.json()["contact"]["customFields"] == [{"id": field.id, "value": value}]


# --- bodies that are no JSON object ---


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b" \n\t ", "Unexpected end of JSON input"),
        (b'"Ada"', 'Unexpected token \'"\', ""Ada"" is not valid JSON'),
        (b"42", "Unexpected token '4', \"42\" is not valid JSON"),
        (b"null", "Unexpected token 'n', \"null\" is not valid JSON"),
    ],
)
def test_a_body_body_parser_refuses_is_400(api, contact_id, raw, message):
    # GIVEN a JSON body that is whitespace or a bare value / WHEN PUT / THEN body-parser's 400
    response = api.put(f"/contacts/{contact_id}", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert response.json()["error"] == "Bad Request"


@pytest.mark.parametrize("raw", [b'{"firstName": NaN}', b'{"pageLimit": -Infinity}'])
def test_what_javascript_cannot_parse_is_400(api, contact_id, raw):
    # GIVEN NaN or Infinity (Python's json reads them, JSON.parse does not) / WHEN PUT / THEN 400
    response = api.put(f"/contacts/{contact_id}", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_body_nested_deeper_than_the_parser_goes_is_400_not_500(api, contact_id):
    # GIVEN a body nested 10,000 levels deep (Python's parser gives up; the sandbox's own limit)
    raw = b'{"tags":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    # WHEN PUT / THEN a client error
    response = api.put(f"/contacts/{contact_id}", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_an_empty_body_reads_as_an_empty_object(api, contact_id):
    # GIVEN no body at all (body-parser reads it as {}) / WHEN PUT / THEN an update of nothing
    response = api.put(f"/contacts/{contact_id}", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_an_array_body_is_422_as_the_validation_pipe_sees_it(api):
    # GIVEN a create whose body is an array / WHEN sent / THEN class-validator's whitelist and
    # required messages, as for a DTO whose own keys are the indexes and `constructor`
    response = api.post("/contacts/", json=[{"locationId": GHL_LOCATION_ID}])
    assert _is_422_with(
        response,
        [
            "property 0 should not exist",
            "property constructor should not exist",
            "locationId should not be empty",
            "locationId must be a string",
        ],
    )


# --- routes ---


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_a_method_ghl_does_not_route_is_nests_404(api, contact_id, method):
    # GIVEN a path GHL serves for GET/PUT/DELETE / WHEN another method is used
    response = api.request(method, f"/contacts/{contact_id}?x=1", json={"firstName": "B"})
    # THEN NestJS's NotFoundException, not a 405
    assert response.status_code == 404
    body = response.json()
    assert [body["message"], body["error"], body["statusCode"]] == [
        f"Cannot {method} /contacts/{contact_id}?x=1",
        "Not Found",
        404,
    ]


# --- no input answers 5xx ---

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _object_of(keys: list[str]) -> st.SearchStrategy[dict]:
    """Objects with (some of) these keys, each holding any JSON value."""
    return st.dictionaries(st.sampled_from(keys), JSON_VALUES, max_size=len(keys))


DND_SETTINGS = st.dictionaries(
    # v2's channel names, v3's (versions.py), and one neither knows
    st.sampled_from(["Call", "Email", "SMS", "WhatsApp", "GMB", "FB", "call", "whatsApp", "Fax"]),
    _object_of(["status", "message", "code", "colour"]) | JSON_VALUES,
    max_size=3,
)
INBOUND_DND = st.dictionaries(
    st.sampled_from(["all", "SMS"]), _object_of(["status", "message"]) | JSON_VALUES
)
CUSTOM_FIELDS = st.lists(
    _object_of(["id", "key", "field_value", "fieldValue", "value"]) | JSON_VALUES, max_size=3
)
CONTACT_KEYS = ["firstName", "email", "phone", "dnd", "tags", "dateOfBirth", "country", "source",
                "assignedTo", "locationId", "name", "createNewIfDuplicateAllowed"]  # fmt: skip
# Bodies near the DTO (its own keys and nested shapes, hostile values) and far from it (any JSON,
# any bytes).
NEAR_DTO = st.fixed_dictionaries(
    {},
    optional={
        "dndSettings": DND_SETTINGS | JSON_VALUES,
        "inboundDndSettings": INBOUND_DND | JSON_VALUES,
        "customFields": CUSTOM_FIELDS | JSON_VALUES,
        **dict.fromkeys(CONTACT_KEYS, JSON_VALUES),
    },
)
HOSTILE_BODIES = (
    NEAR_DTO.map(json.dumps).map(str.encode)
    | JSON_VALUES.map(json.dumps).map(str.encode)
    | st.binary(max_size=40)
)
# A bounded, repeatable run (a few seconds, the same examples every time, nothing written to disk);
# the fixtures are shared across examples on purpose: every example meets the same contact.
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@BOUNDED
@given(raw=HOSTILE_BODIES)
def test_no_create_or_upsert_body_answers_5xx(api, raw):
    # GIVEN any body / WHEN POSTed to create and upsert / THEN a 2xx or 4xx, never a 5xx
    for path in ("/contacts/", "/contacts/upsert"):
        response = api.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (path, raw, response.text)


@BOUNDED
@given(raw=HOSTILE_BODIES)
def test_no_update_body_answers_5xx(api, contact_id, raw):
    # GIVEN any body / WHEN PUT on an existing contact / THEN a 2xx or 4xx, never a 5xx
    response = api.put(f"/contacts/{contact_id}", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, (raw, response.text)


@settings(BOUNDED, max_examples=60)
@given(raw=HOSTILE_BODIES)
def test_no_body_answers_5xx_under_v3_either(api, contact_id, raw):
    # GIVEN any body / WHEN sent to create and update with Version: v3 (translated at the edge,
    # sandbox/ghl/versions.py) / THEN a 2xx or 4xx, never a 5xx
    headers = {"Content-Type": "application/json", "Version": "v3"}
    for method, path in (("POST", "/contacts/"), ("PUT", f"/contacts/{contact_id}")):
        response = api.request(method, path, content=raw, headers=headers)
        assert response.status_code < 500, (path, raw, response.text)
