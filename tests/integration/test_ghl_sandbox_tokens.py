"""GHL sandbox: OAuth tokens are RS256-JWT-shaped like GHL's (sandbox/ghl/tokens.py), and whether
the access token issued with a refresh token survives that refresh token's use is a switch
(`previous_access_token_valid_after_refresh`, ⚠ UNCONFIRMED), tested both ways."""

import base64
import json

import httpx
import pytest

from sandbox.ghl import GhlSandbox
from sandbox.ghl.tokens import claims_of
from tests.fixtures.ghl import GHL_LOCATION_ID, GHL_VERSION

CLIENT_ID = "66a0f0c1e2d3b4a5c6d7e8f9-jwtshape"
CLIENT_SECRET = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
JWT_SEGMENT = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.fixture
def oauth_app(ghl_sandbox):
    return ghl_sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET)


def _grant(http: httpx.Client, **form: str) -> dict:
    response = http.post(
        "/oauth/token", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _status_with(http: httpx.Client, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Version": GHL_VERSION}
    return http.get("/contacts/", params={"locationId": GHL_LOCATION_ID}, headers=headers).status_code


def test_location_tokens_are_rs256_jwts_with_ghls_claims(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN / WHEN a location's install code is exchanged
    tokens = _grant(
        ghl_http, grant_type="authorization_code", code=ghl_sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
    )
    # THEN both tokens are header.payload.signature in base64url, the header says RS256
    for token in (tokens["access_token"], tokens["refresh_token"]):
        segments = token.split(".")
        assert len(segments) == 3 and all(segments) and all(set(s) <= JWT_SEGMENT for s in segments)
        assert token.startswith("eyJhbGciOiJSUzI1NiIs")  # what GHL's tokens start with
        assert len(base64.urlsafe_b64decode(segments[2] + "==")) == 256  # a 2048-bit RSA signature
    # AND the access token's claims name the location, the client, the scopes and its lifetime
    claims = claims_of(tokens["access_token"])
    assert (claims["authClass"], claims["authClassId"]) == ("Location", GHL_LOCATION_ID)
    assert (claims["source"], claims["sourceId"], claims["channel"]) == ("INTEGRATION", CLIENT_ID, "OAUTH")
    assert claims["oauthMeta"]["scopes"] == sorted(tokens["scope"].split())
    assert claims["exp"] - claims["iat"] == tokens["expires_in"]
    assert tokens["access_token"] != tokens["refresh_token"]


def test_company_tokens_name_the_company(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN an agency installs the app on its locations
    company_id = ghl_sandbox.store.location(GHL_LOCATION_ID).company_id
    code = ghl_sandbox.authorize_company(CLIENT_ID, company_id)
    # WHEN the code is exchanged
    tokens = _grant(ghl_http, grant_type="authorization_code", code=code, user_type="Company")
    # THEN the token's auth class is the company
    claims = claims_of(tokens["access_token"])
    assert (claims["authClass"], claims["authClassId"]) == ("Company", company_id)
    assert json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[0] + "=="))["alg"] == "RS256"


@pytest.mark.parametrize("previous_valid", [True, False], ids=["old-token-lives", "old-token-dies"])
def test_the_previous_access_token_after_a_refresh_follows_the_switch(ghl_clock, previous_valid):
    # GIVEN a sandbox with the switch set one way, and an installed app's tokens
    sandbox = GhlSandbox(clock=ghl_clock, previous_access_token_valid_after_refresh=previous_valid)
    sandbox.add_location(GHL_LOCATION_ID)
    sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    with httpx.Client(base_url="https://ghl.sandbox", transport=sandbox.transport()) as http:
        first = _grant(
            http, grant_type="authorization_code", code=sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
        )
        # WHEN its refresh token is spent
        second = _grant(http, grant_type="refresh_token", refresh_token=first["refresh_token"])
        # THEN the new token works, and the old one works only when the switch says so
        assert _status_with(http, second["access_token"]) == 200
        assert _status_with(http, first["access_token"]) == (200 if previous_valid else 401)


def test_a_running_sandbox_flips_the_switch_through_its_admin_route(ghl_sandbox, ghl_http, oauth_app):
    # GIVEN a running sandbox with the default / WHEN the admin route turns the switch off
    answer = ghl_http.post("/_sandbox/oauth", json={"previous_access_token_valid_after_refresh": False})
    first = _grant(
        ghl_http, grant_type="authorization_code", code=ghl_sandbox.authorize(CLIENT_ID, GHL_LOCATION_ID)
    )
    _grant(ghl_http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    # THEN a refresh revokes the previous access token; a value that is no boolean is a 400
    assert answer.json() == {"previous_access_token_valid_after_refresh": False}
    assert _status_with(ghl_http, first["access_token"]) == 401
    assert (
        ghl_http.post("/_sandbox/oauth", json={"previous_access_token_valid_after_refresh": "no"}).status_code
        == 400
    )
