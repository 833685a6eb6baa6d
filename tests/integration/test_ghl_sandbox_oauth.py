"""GHL sandbox: POST /oauth/token grants, rotating single-use refresh tokens, installs."""

import httpx
import pytest

from tests.fixtures.ghl import GHL_LOCATION_ID, GHL_VERSION

CLIENT_ID = "66a0f0c1e2d3b4a5c6d7e8f9-lx8k2m4p"
CLIENT_SECRET = "0b6e1f4c-5a2d-4e8b-9c7f-3d2a1b0c9e8f"
REDIRECT_URI = "https://app.example/oauth/callback"


@pytest.fixture
def oauth_app(ghl_sandbox):
    return ghl_sandbox.add_oauth_client(
        CLIENT_ID, CLIENT_SECRET, redirect_uri=REDIRECT_URI, webhook_url="https://app.example/webhooks/ghl"
    )


def _token(http: httpx.Client, **form: str) -> httpx.Response:
    return http.post("/oauth/token", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form})


def _exchange(ghl_sandbox, http: httpx.Client) -> dict:
    code = ghl_sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
    response = _token(
        http, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, user_type="Location"
    )
    assert response.status_code == 200
    return response.json()


def test_authorization_code_grant_returns_ghl_token_fields(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN the location approved the app on the consent screen
    # WHEN the code is exchanged (form-encoded)
    tokens = _exchange(ghl_sandbox, ghl_http)
    # THEN the response has GHL's fields, for this location
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 86399
    assert tokens["userType"] == "Location"
    assert tokens["locationId"] == GHL_LOCATION_ID
    assert tokens["companyId"] == ghl_sandbox.store.location(GHL_LOCATION_ID).company_id
    assert {"access_token", "refresh_token", "scope", "userId", "refreshTokenId"} <= set(tokens)
    assert "contacts.write" in tokens["scope"].split(" ")


def test_an_auth_code_works_once(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN a code that was already exchanged
    code = ghl_sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
    _token(ghl_http, grant_type="authorization_code", code=code)
    # WHEN it is exchanged again
    response = _token(ghl_http, grant_type="authorization_code", code=code)
    # THEN it is an invalid grant
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_access_token_calls_the_api(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN an OAuth access token for the location
    tokens = _exchange(ghl_sandbox, ghl_http)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Version": GHL_VERSION}
    # WHEN it lists contacts
    response = ghl_http.get("/contacts/", params={"locationId": GHL_LOCATION_ID}, headers=headers)
    # THEN it is allowed
    assert response.status_code == 200


def test_refresh_rotates_and_a_reused_refresh_token_is_rejected(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN tokens from an install
    first = _exchange(ghl_sandbox, ghl_http)
    # WHEN the refresh token is used, then used again
    rotated = _token(ghl_http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    reused = _token(ghl_http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    # THEN the first use returns a new refresh token and the second is invalid_grant
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert reused.status_code == 400
    assert reused.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid grant: refresh token is invalid",
    }
    # AND the rotated refresh token works
    again = _token(ghl_http, grant_type="refresh_token", refresh_token=rotated.json()["refresh_token"])
    assert again.status_code == 200


def test_wrong_client_secret_is_401_invalid_client(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN a valid code
    code = ghl_sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
    # WHEN it is exchanged with a wrong secret
    response = ghl_http.post(
        "/oauth/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": "wrong",
            "grant_type": "authorization_code",
            "code": code,
        },
    )
    # THEN the client is rejected and the code is still unused
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert _token(ghl_http, grant_type="authorization_code", code=code).status_code == 200


def test_access_tokens_expire_by_the_sandbox_clock(ghl_sandbox, ghl_clock, ghl_http, oauth_app):
    # GIVEN an access token
    tokens = _exchange(ghl_sandbox, ghl_http)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Version": GHL_VERSION}
    # WHEN its 86,399 seconds pass
    ghl_clock.advance(86_399)
    response = ghl_http.get("/contacts/", params={"locationId": GHL_LOCATION_ID}, headers=headers)
    # THEN it is an invalid JWT
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid JWT"


def test_authorize_sends_install_and_uninstall_revokes(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN an installed app with tokens
    tokens = _exchange(ghl_sandbox, ghl_http)
    # WHEN the location uninstalls it
    ghl_sandbox.uninstall(CLIENT_ID, GHL_LOCATION_ID)
    # THEN INSTALL then UNINSTALL went to the app's webhook URL, and its tokens stopped working
    events = [(d.event_type, d.url) for d in ghl_sandbox.deliveries]
    assert events == [("INSTALL", oauth_app.webhook_url), ("UNINSTALL", oauth_app.webhook_url)]
    install = ghl_sandbox.deliveries[0].payload
    assert (install["appId"], install["installType"], install["locationId"]) == (
        "66a0f0c1e2d3b4a5c6d7e8f9",
        "Location",
        GHL_LOCATION_ID,
    )
    refresh = _token(ghl_http, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refresh.json()["error"] == "invalid_grant"


def test_oauth_and_pit_have_separate_rate_buckets(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN the location's private-integration token made a call
    ghl_http.get(
        "/contacts/",
        params={"locationId": GHL_LOCATION_ID},
        headers={"Authorization": "Bearer pit-test-token", "Version": GHL_VERSION},
    )
    tokens = _exchange(ghl_sandbox, ghl_http)
    # WHEN the OAuth app calls for the same location
    response = ghl_http.get(
        "/contacts/",
        params={"locationId": GHL_LOCATION_ID},
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Version": GHL_VERSION},
    )
    # THEN its bucket is its own (budgets are per app per location)
    assert response.headers["X-RateLimit-Remaining"] == "99"
