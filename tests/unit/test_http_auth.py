"""Authenticators on the send loop: where each puts its credentials and what a refusal leads to."""

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from ghlsync.core.errors import ConnectorError, Unauthorized, UnexpectedResponse
from ghlsync.http.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    ClientCredentialsAuth,
    Session,
    SessionAuth,
)
from ghlsync.http.call import Call, Send
from ghlsync.http.client import RestClient
from ghlsync.http.errors import DEFAULT_STATUSES, ErrorMap
from tests.fixtures.http import FakeTime, Script, rest_client

OK = httpx.Response(200, json={"ok": True})


def body_of(request: httpx.Request) -> object:
    return json.loads(request.content) if request.content else None


class Tokens:
    """A TokenSource handing out the next token after each rejection."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.rejected: list[tuple[str, str]] = []

    def access_token(self, location_id: str) -> str:
        return self.tokens[0]

    def token_rejected(self, location_id: str, token: str) -> None:
        self.rejected.append((location_id, token))
        if len(self.tokens) > 1:
            self.tokens.pop(0)


# -- bearer ---------------------------------------------------------------------------------------
def test_bearer_puts_the_token_in_the_authorization_header(fake_time: FakeTime) -> None:
    # GIVEN a bearer authenticator / WHEN a call is made / THEN the token rides as Bearer
    script = Script([OK])
    rest_client(script, fake_time, authenticator=BearerAuth(Tokens("t1"), "loc")).request("GET", "x")
    assert script.requests[0].headers["authorization"] == "Bearer t1"


def test_bearer_refreshes_once_on_401_and_resends_with_the_fresh_token(fake_time: FakeTime) -> None:
    # GIVEN a stale token refused with 401, and a source that has a fresh one
    tokens = Tokens("stale", "fresh")
    script = Script([httpx.Response(401), OK])
    # WHEN a call is made
    rest_client(script, fake_time, authenticator=BearerAuth(tokens, "loc")).request("GET", "x")
    # THEN the source heard which token failed, and the resend carried the fresh one, without a sleep
    assert tokens.rejected == [("loc", "stale")]
    assert script.requests[1].headers["authorization"] == "Bearer fresh" and fake_time.sleeps == []


def test_bearer_refreshes_at_most_once_per_call(fake_time: FakeTime) -> None:
    # GIVEN every token is refused
    tokens = Tokens("a", "b", "c")
    script = Script([httpx.Response(401), httpx.Response(401), OK])
    # WHEN a call is made / THEN two requests, one refresh, then Unauthorized
    with pytest.raises(Unauthorized):
        rest_client(script, fake_time, authenticator=BearerAuth(tokens, "loc")).request("GET", "x")
    assert len(script.requests) == 2 and len(tokens.rejected) == 1


def test_bearer_does_not_resend_when_the_source_hands_back_the_same_token(fake_time: FakeTime) -> None:
    # GIVEN a static token (the source has nothing fresher) refused with 401
    script = Script([httpx.Response(401), OK])
    # WHEN a call is made / THEN the 401 is raised after one request
    with pytest.raises(Unauthorized):
        rest_client(script, fake_time, authenticator=BearerAuth(Tokens("pit"), "loc")).request("GET", "x")
    assert len(script.requests) == 1


def test_bearer_refreshes_only_for_the_errors_it_is_told_to(fake_time: FakeTime) -> None:
    # GIVEN a 401 that a new token would not cure (the predicate says no)
    tokens = Tokens("a", "b")
    auth = BearerAuth(tokens, "loc", refresh_on=lambda error: "token" in error.message)
    script = Script([httpx.Response(401, json={"message": "missing scope"}), OK])
    # WHEN a call is made / THEN no refresh, no resend
    with pytest.raises(Unauthorized):
        rest_client(script, fake_time, authenticator=auth).request("GET", "x")
    assert tokens.rejected == [] and len(script.requests) == 1


# -- api key --------------------------------------------------------------------------------------
def test_api_key_and_company_id_ride_in_the_query(fake_time: FakeTime) -> None:
    # GIVEN eKyte-style auth: apiKey and CompanyId in the query
    script = Script([OK])
    auth = ApiKeyAuth("apiKey", "key-1", places=("query",), extra={"CompanyId": 1001})
    # WHEN a call with its own parameter is made
    rest_client(script, fake_time, authenticator=auth).request("GET", "tasks", params={"page": 2})
    # THEN all three are in the query and nothing is in a header
    query = parse_qs(script.requests[0].url.query.decode())
    assert query == {"page": ["2"], "apiKey": ["key-1"], "CompanyId": ["1001"]}
    assert "apikey" not in script.requests[0].headers


def test_api_key_and_business_id_ride_in_the_query_and_the_body(fake_time: FakeTime) -> None:
    # GIVEN Kixie-style auth: apikey and businessid in the query AND the JSON body
    script = Script([OK])
    auth = ApiKeyAuth("apikey", "key-2", places=("query", "body"), extra={"businessid": 2001})
    # WHEN a POST with a body is made
    rest_client(script, fake_time, authenticator=auth).request("POST", "event", json={"eventname": "x"})
    # THEN both carry the key and the id, and the body keeps its own fields
    sent = script.requests[0]
    assert parse_qs(sent.url.query.decode()) == {"apikey": ["key-2"], "businessid": ["2001"]}
    assert body_of(sent) == {"eventname": "x", "apikey": "key-2", "businessid": 2001}


def test_api_key_in_a_header(fake_time: FakeTime) -> None:
    # GIVEN a key sent as a header / WHEN called / THEN the header holds it and the query does not
    script = Script([OK])
    auth = ApiKeyAuth("X-Api-Key", "key-3", places=("header",))
    rest_client(script, fake_time, authenticator=auth).request("GET", "x")
    assert script.requests[0].headers["x-api-key"] == "key-3" and not script.requests[0].url.query


def test_api_key_is_added_to_a_new_call_each_attempt_not_accumulated(fake_time: FakeTime) -> None:
    # GIVEN a retried call with a body-placed key
    script = Script([httpx.Response(503), OK])
    auth = ApiKeyAuth("apikey", "k", places=("body",))
    # WHEN it is sent twice / THEN the caller's body is not changed and each attempt carries the key once
    payload = {"a": 1}
    rest_client(script, fake_time, authenticator=auth).request("PUT", "x", json=payload)
    assert payload == {"a": 1}
    assert [body_of(r) for r in script.requests] == [{"a": 1, "apikey": "k"}] * 2


# -- basic ----------------------------------------------------------------------------------------
def test_basic_sends_user_and_password(fake_time: FakeTime) -> None:
    # GIVEN Payaca-style Basic auth / WHEN called / THEN the header is base64 of user:password
    script = Script([OK])
    rest_client(script, fake_time, authenticator=BasicAuth("client", "s3cret")).request("GET", "x")
    encoded = script.requests[0].headers["authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded) == b"client:s3cret"


def test_basic_password_is_redacted_from_errors(fake_time: FakeTime) -> None:
    # GIVEN a side echoing the password / WHEN the call fails / THEN it is not in the error
    script = Script([httpx.Response(400, json={"message": "s3cret-password rejected"})])
    with pytest.raises(ConnectorError) as caught:
        auth = BasicAuth("client", "s3cret-password")
        rest_client(script, fake_time, authenticator=auth).request("GET", "x")
    assert "s3cret-password" not in str(caught.value)


# -- session --------------------------------------------------------------------------------------
class Logins:
    """A login function that opens sessions s1, s2, ... through the loop's own send."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, send: Send) -> Session:
        response = send(Call("GET", "session", headers={"Authorization": "Basic dXNlcjpwdw=="}))
        self.count += 1
        return Session(f"{response.json()['session_id']}", f"csrf-{self.count}")


def login_answer(session_id: str) -> httpx.Response:
    return httpx.Response(200, json={"session_id": session_id})


KAYAKO_STATUSES = {**DEFAULT_STATUSES, 454: Unauthorized}


def session_client(script: Script, fake_time: FakeTime, logins: Logins) -> RestClient:
    auth = SessionAuth(logins, relogin_statuses=(401, 454), login_secrets=("pw",))
    return rest_client(script, fake_time, authenticator=auth, errors=ErrorMap("K", statuses=KAYAKO_STATUSES))


def test_session_logs_in_once_and_sends_the_session_on_every_call(fake_time: FakeTime) -> None:
    # GIVEN a session authenticator
    script = Script([login_answer("s1"), OK, OK])
    logins = Logins()
    client = session_client(script, fake_time, logins)
    # WHEN two calls are made
    client.request("GET", "a")
    client.request("GET", "b")
    # THEN one login (itself through the loop, without the session), then the session id on both calls
    assert logins.count == 1 and [r.url.path for r in script.requests] == ["/api/session", "/api/a", "/api/b"]
    assert "x-session-id" not in script.requests[0].headers
    assert [r.headers["x-session-id"] for r in script.requests[1:]] == ["s1", "s1"]


def test_session_sends_csrf_only_on_writes(fake_time: FakeTime) -> None:
    # GIVEN a logged-in session
    script = Script([login_answer("s1"), OK, OK])
    client = session_client(script, fake_time, Logins())
    # WHEN a read and a write are made
    client.request("GET", "a")
    client.request("POST", "b", json={})
    # THEN the CSRF token rides on the write only
    assert "x-csrf-token" not in script.requests[1].headers
    assert script.requests[2].headers["x-csrf-token"] == "csrf-1"


def test_session_logs_in_again_once_on_454(fake_time: FakeTime) -> None:
    # GIVEN a session the side purged (454 Session Not Found)
    script = Script([login_answer("s1"), httpx.Response(454), login_answer("s2"), OK])
    logins = Logins()
    # WHEN a call is made / THEN a fresh login and the call resent with the new session
    session_client(script, fake_time, logins).request("GET", "a")
    assert logins.count == 2 and script.requests[3].headers["x-session-id"] == "s2"


def test_session_lost_twice_is_raised(fake_time: FakeTime) -> None:
    # GIVEN the side refuses the fresh session too
    script = Script([login_answer("s1"), httpx.Response(401), login_answer("s2"), httpx.Response(401)])
    # WHEN a call is made / THEN Unauthorized after one re-login
    with pytest.raises(Unauthorized):
        session_client(script, fake_time, Logins()).request("GET", "a")
    assert len(script.requests) == 4


def test_session_id_is_redacted_from_errors(fake_time: FakeTime) -> None:
    # GIVEN a side that echoes the session id in a 400
    script = Script([login_answer("sess-abcdef"), httpx.Response(400, json={"message": "sess-abcdef bad"})])
    # WHEN the call fails / THEN the session id is not in the error
    with pytest.raises(ConnectorError) as caught:
        session_client(script, fake_time, Logins()).request("GET", "a")
    assert "sess-abcdef" not in str(caught.value)


# -- client credentials ---------------------------------------------------------------------------
def token_answer(token: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in})


def oauth(fake_time: FakeTime, **options: Any) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        "https://auth.test/oauth/token", "client", "client-secret", wall_clock=fake_time, **options
    )


def test_client_credentials_fetches_a_token_then_uses_it(fake_time: FakeTime) -> None:
    # GIVEN a client-credentials authenticator
    script = Script([token_answer("at-1"), OK])
    # WHEN a call is made
    rest_client(script, fake_time, authenticator=oauth(fake_time)).request("GET", "x")
    # THEN the token endpoint got the grant with Basic client credentials, and the call the bearer
    token_request, call = script.requests
    assert str(token_request.url) == "https://auth.test/oauth/token"
    assert parse_qs(token_request.content.decode()) == {"grant_type": ["client_credentials"]}
    assert base64.b64decode(token_request.headers["authorization"].removeprefix("Basic ")) == (
        b"client:client-secret"
    )
    assert call.headers["authorization"] == "Bearer at-1"


def test_client_credentials_can_send_them_in_the_form(fake_time: FakeTime) -> None:
    # GIVEN credentials to be sent in the body / WHEN a token is fetched / THEN they are form fields
    script = Script([token_answer("at-1"), OK])
    auth = oauth(fake_time, credentials_in_body=True, scope="read")
    rest_client(script, fake_time, authenticator=auth).request("GET", "x")
    form = parse_qs(script.requests[0].content.decode())
    assert form["client_id"] == ["client"] and form["client_secret"] == ["client-secret"]
    assert form["scope"] == ["read"] and "authorization" not in script.requests[0].headers


def test_client_credentials_token_is_cached_until_expiry_minus_the_margin(fake_time: FakeTime) -> None:
    # GIVEN a token valid for 600 s and a 60 s margin
    script = Script([token_answer("at-1", 600), OK, OK, token_answer("at-2", 600), OK])
    client = rest_client(script, fake_time, authenticator=oauth(fake_time, margin_s=60))
    # WHEN calls are made at 0 s, 539 s (still valid) and 540 s (inside the margin)
    client.request("GET", "x")
    fake_time.advance(539)
    client.request("GET", "x")
    fake_time.advance(1)
    client.request("GET", "x")
    # THEN the token was fetched twice, the second time only once the margin was reached
    bearers = [r.headers.get("authorization") for r in script.requests if r.url.path == "/api/x"]
    assert bearers == ["Bearer at-1", "Bearer at-1", "Bearer at-2"]


def test_client_credentials_refetches_once_on_401(fake_time: FakeTime) -> None:
    # GIVEN a cached token the side revoked
    script = Script([token_answer("at-1"), httpx.Response(401), token_answer("at-2"), OK])
    # WHEN a call is made / THEN a new token was fetched and the call resent with it
    rest_client(script, fake_time, authenticator=oauth(fake_time)).request("GET", "x")
    assert script.requests[3].headers["authorization"] == "Bearer at-2"


def test_client_credentials_without_an_access_token_is_an_unexpected_response(fake_time: FakeTime) -> None:
    # GIVEN a token endpoint answering without access_token / WHEN called / THEN a clear error
    script = Script([httpx.Response(200, json={"token_type": "bearer"})])
    with pytest.raises(UnexpectedResponse, match="access_token"):
        rest_client(script, fake_time, authenticator=oauth(fake_time)).request("GET", "x")


def test_client_secret_and_token_are_redacted(fake_time: FakeTime) -> None:
    # GIVEN a side echoing the bearer token in an error
    script = Script([token_answer("at-visible"), httpx.Response(400, json={"message": "at-visible?"})])
    # WHEN the call fails / THEN the token is not in the error
    with pytest.raises(ConnectorError) as caught:
        rest_client(script, fake_time, authenticator=oauth(fake_time)).request("GET", "x")
    assert "at-visible" not in str(caught.value)
