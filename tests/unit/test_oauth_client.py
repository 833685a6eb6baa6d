"""OAuthClient against a fake token endpoint (httpx.MockTransport: no sockets)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from ghlsync.ghl.oauth import InvalidGrant, OAuthClient, OAuthError, OAuthNotConfigured

NOW = 1_767_225_600.0
BASE = "https://ghl.example"
GRANTED = {
    "access_token": "access-1",
    "token_type": "Bearer",
    "expires_in": 86399,
    "refresh_token": "refresh-1",
    "scope": "contacts.readonly contacts.write",
    "userType": "Location",
    "locationId": "loc1",
    "companyId": "co1",
    "userId": "user1",
    "traceId": "trace",
}


def client_answering(handler, *, client_id="client"):
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(record))
    return OAuthClient(http, BASE, client_id, "secret", clock=lambda: NOW), seen


def form_of(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


def test_exchanging_a_code_posts_the_form_and_returns_tokens_with_an_absolute_expiry():
    # GIVEN a token endpoint that grants tokens
    oauth, seen = client_answering(lambda request: httpx.Response(200, json=GRANTED))
    # WHEN a code is exchanged
    tokens = oauth.exchange_code("code-1", "https://stack.example/oauth/callback")
    # THEN the request is GHL's form-encoded authorization_code grant
    request = seen[0]
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/oauth/token")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {
        "client_id": "client",
        "client_secret": "secret",
        "grant_type": "authorization_code",
        "code": "code-1",
        "user_type": "Location",
        "redirect_uri": "https://stack.example/oauth/callback",
    }
    # AND the answer becomes a TokenSet that expires expires_in seconds from now
    assert tokens.access_token == "access-1" and tokens.refresh_token == "refresh-1"
    assert tokens.expires_at == datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=86399)
    assert (tokens.location_id, tokens.company_id, tokens.user_id) == ("loc1", "co1", "user1")


def test_refreshing_sends_the_refresh_token_grant():
    # GIVEN a token endpoint that grants tokens
    oauth, seen = client_answering(lambda request: httpx.Response(200, json=GRANTED))
    # WHEN a refresh token is spent
    oauth.refresh("refresh-0")
    # THEN the grant is refresh_token with that token
    form = form_of(seen[0])
    assert (form["grant_type"], form["refresh_token"]) == ("refresh_token", "refresh-0")


@pytest.mark.parametrize(
    "status,body",
    [
        (400, {"error": "invalid_grant", "error_description": "refresh token already used"}),
        (401, {"statusCode": 401, "message": "Invalid grant: refresh token is invalid"}),
    ],
)
def test_a_rejected_grant_raises_invalid_grant(status, body):
    # GIVEN a token endpoint that rejects the grant
    oauth, _ = client_answering(lambda request: httpx.Response(status, json=body))
    # WHEN / THEN the caller learns the grant itself is dead
    with pytest.raises(InvalidGrant) as raised:
        oauth.refresh("refresh-0")
    assert raised.value.status == status and not raised.value.transient


def test_other_client_errors_are_oauth_errors_but_not_invalid_grant():
    # GIVEN a token endpoint that refuses the client credentials
    body = {"statusCode": 401, "message": "Invalid client credentials"}
    oauth, _ = client_answering(lambda request: httpx.Response(401, json=body))
    # WHEN / THEN the error says why, and is not mistaken for a dead refresh token
    with pytest.raises(OAuthError, match="Invalid client credentials") as raised:
        oauth.refresh("refresh-0")
    assert not isinstance(raised.value, InvalidGrant)


def test_a_server_error_is_transient():
    # GIVEN a token endpoint failing with 503 and no JSON body
    oauth, _ = client_answering(lambda request: httpx.Response(503, text="upstream down"))
    # WHEN / THEN the error is transient
    with pytest.raises(OAuthError) as raised:
        oauth.refresh("refresh-0")
    assert raised.value.status == 503 and raised.value.transient


def test_a_transport_failure_is_a_transient_oauth_error():
    # GIVEN a token endpoint that cannot be reached
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    oauth, _ = client_answering(refuse)
    # WHEN / THEN the caller sees an OAuthError without a status
    with pytest.raises(OAuthError, match="unreachable") as raised:
        oauth.exchange_code("code-1", "")
    assert raised.value.status is None and raised.value.transient


def test_a_success_without_tokens_is_an_error():
    # GIVEN a 200 whose body lacks the refresh token
    body = {key: value for key, value in GRANTED.items() if key != "refresh_token"}
    oauth, _ = client_answering(lambda request: httpx.Response(200, json=body))
    # WHEN / THEN it is refused as malformed rather than stored half-empty
    with pytest.raises(OAuthError, match="malformed"):
        oauth.refresh("refresh-0")


def test_missing_client_credentials_fail_before_any_request():
    # GIVEN an app secret that still holds its empty placeholders
    oauth, seen = client_answering(lambda request: httpx.Response(200, json=GRANTED), client_id="")
    # WHEN / THEN the error names the configuration, and GHL is not called
    with pytest.raises(OAuthNotConfigured):
        oauth.refresh("refresh-0")
    assert seen == []


def test_tokens_stay_out_of_the_token_sets_repr():
    # GIVEN tokens from the endpoint
    oauth, _ = client_answering(lambda request: httpx.Response(200, json=GRANTED))
    tokens = oauth.refresh("refresh-0")
    # WHEN it is logged through repr / str
    text = f"{tokens!r} {tokens}"
    # THEN neither token appears
    assert "access-1" not in text and "refresh-1" not in text
