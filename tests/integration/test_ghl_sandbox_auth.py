"""GHL sandbox: Version/Authorization checks, scopes, and location access, with GHL's bodies."""

from sandbox.ghl import GhlSandbox
from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT, GHL_VERSION


def _contact_id(sb: GhlSandbox, location_id: str = GHL_LOCATION_ID) -> str:
    return sb.ui_create_contact(location_id, firstName="Ada", email="ada@example.com").id


def test_missing_version_header_is_401_with_ghl_message(ghl_sandbox, ghl_http):
    # GIVEN a valid token but no Version header
    contact_id = _contact_id(ghl_sandbox)
    # WHEN a contact is read
    response = ghl_http.get(f"/contacts/{contact_id}", headers={"Authorization": f"Bearer {GHL_PIT}"})
    # THEN GHL's exact message comes back
    assert response.status_code == 401
    assert response.json()["message"] == "version header was not found."
    assert response.json()["statusCode"] == 401


def test_unknown_version_is_401_invalid(ghl_sandbox, ghl_http):
    # GIVEN a Version value GHL does not know
    headers = {**GHL_HEADERS, "Version": "2020-01-01"}
    # WHEN any API call is made
    response = ghl_http.get(f"/contacts/{_contact_id(ghl_sandbox)}", headers=headers)
    # THEN it is rejected as invalid
    assert response.status_code == 401
    assert response.json()["message"] == "version header is invalid"


def test_unknown_token_is_401_invalid_jwt(ghl_sandbox, ghl_http):
    # GIVEN a token the sandbox never issued
    headers = {"Authorization": "Bearer pit-not-real", "Version": GHL_VERSION}
    # WHEN it is used
    response = ghl_http.get(f"/contacts/{_contact_id(ghl_sandbox)}", headers=headers)
    # THEN GHL's "Invalid JWT" comes back, with a traceId
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid JWT"
    assert response.json()["traceId"]


def test_revoked_token_is_401_invalid_jwt(ghl_sandbox, ghl_http):
    # GIVEN the location's private-integration token was revoked
    contact_id = _contact_id(ghl_sandbox)
    ghl_sandbox.revoke_token(GHL_PIT)
    # WHEN it is used
    response = ghl_http.get(f"/contacts/{contact_id}", headers=GHL_HEADERS)
    # THEN it no longer works
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid JWT"


def test_token_without_scope_is_401_not_authorized_for_scope(ghl_sandbox, ghl_http):
    # GIVEN a read-only private-integration token
    ghl_sandbox.add_location("loc_ro", token="pit-ro", scopes=["contacts.readonly"])
    headers = {"Authorization": "Bearer pit-ro", "Version": GHL_VERSION}
    # WHEN it tries to create a contact
    response = ghl_http.post("/contacts/", headers=headers, json={"locationId": "loc_ro", "firstName": "A"})
    # THEN the scope error comes back and nothing was created
    assert response.status_code == 401
    assert response.json()["message"] == "The token is not authorized for this scope."
    assert ghl_sandbox.store.contacts("loc_ro") == []


def test_other_locations_contact_is_403(ghl_sandbox, ghl_http):
    # GIVEN a contact in another location
    ghl_sandbox.add_location("loc_other", token="pit-other")
    other_contact = _contact_id(ghl_sandbox, "loc_other")
    # WHEN loc_demo_1's token reads it
    response = ghl_http.get(f"/contacts/{other_contact}", headers=GHL_HEADERS)
    # THEN access is refused for the location
    assert response.status_code == 403
    assert response.json()["message"] == "The token does not have access to this location."


def test_creating_in_another_location_is_403(ghl_sandbox, ghl_http):
    # GIVEN another location exists
    ghl_sandbox.add_location("loc_other", token="pit-other")
    # WHEN loc_demo_1's token creates a contact there
    response = ghl_http.post(
        "/contacts/", headers=GHL_HEADERS, json={"locationId": "loc_other", "firstName": "A"}
    )
    # THEN it is forbidden
    assert response.status_code == 403
    assert ghl_sandbox.store.contacts("loc_other") == []


def test_scope_is_checked_before_location(ghl_sandbox, ghl_http):
    # GIVEN a read-only token and a contact in another location
    ghl_sandbox.add_location("loc_ro", token="pit-ro", scopes=["contacts.readonly"])
    ghl_sandbox.add_location("loc_other", token="pit-other")
    other_contact = _contact_id(ghl_sandbox, "loc_other")
    headers = {"Authorization": "Bearer pit-ro", "Version": GHL_VERSION}
    # WHEN the read-only token tries to delete the other location's contact
    response = ghl_http.delete(f"/contacts/{other_contact}", headers=headers)
    # THEN the scope error wins over the location error
    assert response.status_code == 401
    assert response.json()["message"] == "The token is not authorized for this scope."
