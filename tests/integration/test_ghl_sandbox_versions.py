"""GHL sandbox: each `Version` answers in its own shapes (sandbox/ghl/versions.py).

What GHL's Python SDK 3.0.0 (always `Version: v3`) needs and 2021-07-28 does not give it:
`succeeded` on update/delete, lower-camel DND channels, `fieldValue` in custom fields, camelCase
token bodies and answers. The schema test (test_ghl_sandbox_spec.py) cannot see these: the spec's
schemas allow extra properties, so a v2 body passes the v3 schema.
"""

import httpx
import pytest

from sandbox.ghl.custom_fields import define_field
from sandbox.ghl.versions import SERVED
from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID

V2 = {**GHL_HEADERS, "Version": "2021-07-28"}
V3 = {**GHL_HEADERS, "Version": "v3"}
CLIENT_ID = "66a0f0c1e2d3b4a5c6d7e8f9-v3sdk001"
CLIENT_SECRET = "5c3f0d8e-1b2a-4c6d-8e9f-0a1b2c3d4e5f"


def _create(http: httpx.Client, headers: dict[str, str], **fields) -> dict:
    response = http.post("/contacts/", json={"locationId": GHL_LOCATION_ID, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["contact"]


@pytest.mark.parametrize("version", sorted(SERVED))
def test_every_version_ghl_serves_is_answered(ghl_sandbox, ghl_http, version):
    # GIVEN a contact / WHEN it is read under one of the versions GHL documents
    contact = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, email="v@example.com")
    response = ghl_http.get(f"/contacts/{contact.id}", headers={**GHL_HEADERS, "Version": version})
    # THEN it is served
    assert response.status_code == 200


def test_v3_update_answers_succeeded_and_v2_keeps_its_misspelling(ghl_sandbox, ghl_http):
    # GIVEN a contact
    contact = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, email="u@example.com")
    # WHEN it is updated under v3, then under 2021-07-28
    v3 = ghl_http.put(f"/contacts/{contact.id}", json={"city": "Lyon"}, headers=V3).json()
    v2 = ghl_http.put(f"/contacts/{contact.id}", json={"city": "Nice"}, headers=V2).json()
    # THEN each answers its own spelling only (UpdateContactsSuccessfulResponseDtoV3 has no succeded)
    assert (v3.get("succeeded"), "succeded" in v3) == (True, False)
    assert (v2.get("succeded"), "succeeded" in v2) == (True, False)


def test_v3_deletes_answer_both_spellings(ghl_sandbox, ghl_http):
    # GIVEN a contact with a task and a note
    contact = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, email="d@example.com")
    task = ghl_sandbox.ui_create_task(GHL_LOCATION_ID, contact.id, title="T", dueDate="2026-02-01T00:00:00Z")
    note = ghl_sandbox.ui_create_note(GHL_LOCATION_ID, contact.id, body="N")
    base = f"/contacts/{contact.id}"
    # WHEN each is deleted under v3
    answers = [
        ghl_http.delete(path, headers=V3).json()
        for path in (f"{base}/tasks/{task.id}", f"{base}/notes/{note.id}", base)
    ]
    # THEN each answer has succeeded and the deprecated succeded
    assert answers == [{"succeeded": True, "succeded": True}] * 3


def test_dnd_channels_are_lower_camel_under_v3_and_capitalised_under_v2(ghl_sandbox, ghl_http):
    # GIVEN a contact written under v3 with v3's channel names
    created = _create(ghl_http, V3, email="dnd@example.com", dndSettings={"whatsApp": {"status": "active"}})
    # WHEN it is read back under each version
    v3 = ghl_http.get(f"/contacts/{created['id']}", headers=V3).json()["contact"]
    v2 = ghl_http.get(f"/contacts/{created['id']}", headers=V2).json()["contact"]
    # THEN each version names the same channel its own way
    assert created["dndSettings"] == v3["dndSettings"] == {"whatsApp": {"status": "active"}}
    assert v2["dndSettings"] == {"WhatsApp": {"status": "active"}}


@pytest.mark.parametrize(
    ("headers", "channel"), [(V3, "Email"), (V2, "email")], ids=["v3-refuses-Email", "v2-refuses-email"]
)
def test_each_version_refuses_the_other_versions_dnd_channel_names(ghl_http, headers, channel):
    # GIVEN / WHEN a contact is created with the other version's channel name
    response = ghl_http.post(
        "/contacts/",
        json={
            "locationId": GHL_LOCATION_ID,
            "email": "x@example.com",
            "dndSettings": {channel: {"status": "active"}},
        },
        headers=headers,
    )
    # THEN it is an unknown property (NestJS whitelist), 422
    assert response.status_code == 422
    assert f"dndSettings.property {channel} should not exist" in response.json()["message"]


def test_v3_takes_field_value_as_fieldValue(ghl_sandbox, ghl_http):
    # GIVEN a text field of the location
    field = define_field(ghl_sandbox, GHL_LOCATION_ID, "Tier", "TEXT")
    # WHEN a contact is created under v3 with the preferred fieldValue
    created = _create(
        ghl_http, V3, email="cf@example.com", customFields=[{"id": field.id, "fieldValue": "gold"}]
    )
    # THEN the value is stored and read back as {id, value}
    assert {"id": field.id, "value": "gold"} in created["customFields"]


def test_2021_07_28_does_not_know_fieldValue(ghl_http):
    # GIVEN / WHEN the same write is sent under 2021-07-28, whose spec has only field_value
    response = ghl_http.post(
        "/contacts/",
        json={
            "locationId": GHL_LOCATION_ID,
            "email": "cf2@example.com",
            "customFields": [{"id": "f1", "fieldValue": "x"}],
        },
        headers=V2,
    )
    # THEN it is refused as an unknown property
    assert response.status_code == 422
    assert "customFields.0.property fieldValue should not exist" in response.json()["message"]


def test_v3_token_endpoint_speaks_camel_case_both_ways(ghl_sandbox, ghl_http):
    # GIVEN an installed app and its code, exchanged the v3 way (form, camelCase)
    ghl_sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    form = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    code = ghl_sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
    v3 = {"Version": "v3"}
    first = ghl_http.post(
        "/oauth/token", data={**form, "grantType": "authorization_code", "code": code}, headers=v3
    )
    # WHEN its refresh token is spent the same way
    refreshed = ghl_http.post(
        "/oauth/token",
        data={
            **form,
            "grantType": "refresh_token",
            "refreshToken": first.json()["refreshToken"],
            "userType": "Location",
        },
        headers=v3,
    )
    # THEN both answers are camelCase and the new access token works
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert {"accessToken", "tokenType", "expiresIn", "refreshToken"} <= set(body)
    assert not {"access_token", "refresh_token"} & set(body)
    token = body["accessToken"]
    reading = ghl_http.get(
        "/contacts/",
        params={"locationId": GHL_LOCATION_ID},
        headers={**V3, "Authorization": f"Bearer {token}"},
    )
    assert reading.status_code == 200


def test_v3_token_endpoint_refuses_a_snake_case_body(ghl_sandbox, ghl_http):
    # GIVEN an installed app / WHEN a snake_case body is posted with Version: v3
    ghl_sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    response = ghl_http.post(
        "/oauth/token",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "authorization_code"},
        headers={"Version": "v3"},
    )
    # THEN it is a 422 naming the v3 fields (GetAccessTokenBodyDto requires clientId, ...)
    assert response.status_code == 422
    assert "clientId should not be empty" in response.json()["message"]
