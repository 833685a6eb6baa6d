"""GhlClient error mapping, the 401 token-refresh retry, and token redaction."""

import logging

import httpx
import pytest

from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.errors import (
    GhlBadRequest,
    GhlDuplicateContact,
    GhlError,
    GhlForbidden,
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTransportError,
    GhlUnauthorized,
    GhlUnexpectedResponse,
    GhlValidationError,
    redact,
)
from ghlsync.ghl.models import ContactCreate
from tests.unit.test_ghl_client import CONTACT, TOKEN, RotatingTokens, make_client


def test_duplicate_contact_carries_the_existing_contact_and_matching_field() -> None:
    # GIVEN a location that refuses duplicates and already has the contact
    answer = {
        "statusCode": 400,
        "message": "This location does not allow duplicated contacts.",
        "meta": {"contactId": "existing1", "contactName": "Ada L", "matchingField": "email"},
        "traceId": "tr-9",
    }
    harness = make_client([httpx.Response(400, json=answer)])

    # WHEN the contact is created
    with pytest.raises(GhlDuplicateContact) as caught:
        harness.client.create_contact(ContactCreate(email="ada@example.com"))

    # THEN the error names the existing contact, the field that matched and the trace id
    error = caught.value
    assert (error.contact_id, error.matching_field, error.contact_name) == ("existing1", "email", "Ada L")
    assert (error.status, error.trace_id, error.transient) == (400, "tr-9", False)


@pytest.mark.parametrize("status", [400, 404])
def test_contact_not_found_is_not_found_whether_400_or_404(status: int) -> None:
    # GIVEN GHL reports a missing contact (the live status is unconfirmed: 400 and 404 are both seen)
    harness = make_client(
        [httpx.Response(status, json={"statusCode": status, "message": "Contact with id x not found"})]
    )

    # WHEN it is fetched
    # THEN the error is GhlNotFound with the message
    with pytest.raises(GhlNotFound, match="Contact with id x not found"):
        harness.client.get_contact("x")


def test_other_400s_are_bad_requests() -> None:
    # GIVEN GHL rejects a request without a known reason
    harness = make_client([httpx.Response(400, json={"statusCode": 400, "message": "Bad Request"})])

    # WHEN the call is made
    # THEN the error is a permanent GhlBadRequest
    with pytest.raises(GhlBadRequest) as caught:
        harness.client.get_contact("c1")
    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            ["property gender should not exist", "email must be an email"],
            ["property gender should not exist", "email must be an email"],
        ),
        ("email must be an email", ["email must be an email"]),
    ],
)
def test_validation_error_lists_every_message_whether_list_or_string(
    message: object, expected: list[str]
) -> None:
    # GIVEN GHL answers 422 with `message` as a list or a string
    body = {"statusCode": 422, "message": message, "error": "Unprocessable Entity"}
    harness = make_client([httpx.Response(422, json=body)])

    # WHEN a contact is created
    with pytest.raises(GhlValidationError) as caught:
        harness.client.create_contact(ContactCreate(email="bad"))

    # THEN the error lists every message
    assert caught.value.messages == expected
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("The token is not authorized for this scope.", "missing_scope"),
        ("version header was not found.", "version"),
        ("version header is invalid", "version"),
    ],
)
def test_401_other_than_invalid_token_is_raised_without_retry(message: str, kind: str) -> None:
    # GIVEN GHL refuses with a 401 that a new token would not fix
    harness = make_client([httpx.Response(401, json={"statusCode": 401, "message": message})])

    # WHEN a call is made
    with pytest.raises(GhlUnauthorized) as caught:
        harness.client.get_contact("c1")

    # THEN the kind is told apart, the provider is not asked to refresh, and nothing is retried
    assert caught.value.kind == kind
    assert harness.tokens.rejected == [] and len(harness.requests) == 1


def test_401_invalid_token_refreshes_and_retries_once_with_the_fresh_token() -> None:
    # GIVEN a token GHL no longer accepts, and a provider that can get a fresh one
    tokens = RotatingTokens("tok-stale", "tok-fresh")
    harness = make_client(
        [
            httpx.Response(401, json={"statusCode": 401, "message": "Invalid JWT"}),
            httpx.Response(200, json={"contact": CONTACT}),
        ],
        tokens=tokens,
    )

    # WHEN a call is made
    contact = harness.client.get_contact("c1")

    # THEN the provider was told which token was rejected, and the retry used the fresh one
    assert tokens.rejected == [("loc_123", "tok-stale")]
    assert [r.headers["authorization"] for r in harness.requests] == ["Bearer tok-stale", "Bearer tok-fresh"]
    assert contact.id == "c1"


def test_401_invalid_token_twice_is_raised_after_one_retry() -> None:
    # GIVEN GHL rejects the fresh token too
    tokens = RotatingTokens("tok-a", "tok-b", "tok-c")
    invalid = {"statusCode": 401, "message": "Invalid token: access token is invalid"}
    harness = make_client(
        [httpx.Response(401, json=invalid), httpx.Response(401, json=invalid)], tokens=tokens
    )

    # WHEN a call is made
    with pytest.raises(GhlUnauthorized) as caught:
        harness.client.get_contact("c1")

    # THEN exactly one retry was spent and the error says the token is invalid
    assert caught.value.kind == "invalid_token"
    assert len(harness.requests) == 2 and len(tokens.rejected) == 1


def test_401_with_a_static_token_is_raised_without_a_futile_retry() -> None:
    # GIVEN a private-integration token (it cannot be refreshed) that GHL rejects
    invalid = httpx.Response(401, json={"statusCode": 401, "message": "Invalid JWT"})
    harness = make_client([invalid], tokens=StaticTokenProvider("pit-11111111-2222-3333-4444-555555555555"))

    # WHEN a call is made
    # THEN the 401 is raised after one request: the same token would be rejected again
    with pytest.raises(GhlUnauthorized):
        harness.client.get_contact("c1")
    assert len(harness.requests) == 1


def test_403_is_forbidden() -> None:
    # GIVEN a token for another location
    body = {"statusCode": 403, "message": "The token does not have access to this location."}
    harness = make_client([httpx.Response(403, json=body)])

    # WHEN a call is made
    # THEN GhlForbidden is raised, permanent
    with pytest.raises(GhlForbidden) as caught:
        harness.client.get_contact("c1")
    assert caught.value.transient is False


def test_429_after_the_last_retry_is_rate_limited_and_transient() -> None:
    # GIVEN GHL keeps answering 429 and the client may retry twice
    harness = make_client([httpx.Response(429, json={"message": "Too many requests"})] * 3, max_retries=2)

    # WHEN a call is made
    with pytest.raises(GhlRateLimited) as caught:
        harness.client.get_contact("c1")

    # THEN the error is transient, after three attempts
    assert caught.value.transient is True and len(harness.requests) == 3


def test_5xx_after_the_last_retry_is_a_transient_server_error_with_trace_id() -> None:
    # GIVEN GHL keeps failing with 502 (HTML from a gateway, a trace id in the header)
    failure = httpx.Response(502, text="<html>Bad Gateway</html>", headers={"traceId": "tr-5"})
    harness = make_client([failure] * 2, max_retries=1)

    # WHEN a call is made
    with pytest.raises(GhlServerError) as caught:
        harness.client.get_contact("c1")

    # THEN the error is transient and keeps the status and trace id
    assert (caught.value.status, caught.value.trace_id, caught.value.transient) == (502, "tr-5", True)


def test_transport_error_after_the_last_retry_is_transient_and_has_no_status() -> None:
    # GIVEN every attempt times out
    harness = make_client([httpx.ReadTimeout("timed out")] * 2, max_retries=1)

    # WHEN a call is made
    with pytest.raises(GhlTransportError) as caught:
        harness.client.get_contact("c1")

    # THEN the error is transient, status-less, and says what happened
    assert (caught.value.status, caught.value.transient, caught.value.request_sent) == (None, True, True)
    assert "ReadTimeout" in str(caught.value)


def test_success_with_a_body_that_is_not_json_is_an_unexpected_response() -> None:
    # GIVEN a 200 whose body is HTML
    harness = make_client([httpx.Response(200, text="<html>maintenance</html>")])

    # WHEN a call is made
    # THEN the client says the answer was unexpected instead of crashing on it
    with pytest.raises(GhlUnexpectedResponse, match="not JSON"):
        harness.client.get_contact("c1")


def test_success_with_the_wrong_shape_is_an_unexpected_response_naming_the_field() -> None:
    # GIVEN a 200 without the documented `contact` wrapper
    harness = make_client([httpx.Response(200, json={"id": "c1"})])

    # WHEN a call is made
    # THEN the error names the missing field
    with pytest.raises(GhlUnexpectedResponse, match="contact"):
        harness.client.get_contact("c1")


def test_errors_never_contain_the_token_even_when_ghl_echoes_it() -> None:
    # GIVEN a GHL error body that echoes the Authorization header back
    token = "eyJhbGciOiJSUzI1NiJ9.eyJsb2NhdGlvbiI6IngifQ.c2lnbmF0dXJl"
    body = {"statusCode": 400, "message": f"bad header Authorization: Bearer {token}"}
    harness = make_client([httpx.Response(400, json=body)], tokens=RotatingTokens(token))

    # WHEN the call fails
    with pytest.raises(GhlError) as caught:
        harness.client.get_contact("c1")

    # THEN neither the message nor the string form holds the token
    assert token not in caught.value.message and token not in str(caught.value)
    assert "[REDACTED]" in caught.value.message


def test_transport_errors_never_contain_the_token() -> None:
    # GIVEN a transport failure whose text includes the token
    harness = make_client([httpx.ConnectError(f"refused for {TOKEN}")] * 6)

    # WHEN the call fails
    with pytest.raises(GhlTransportError) as caught:
        harness.client.get_contact("c1")

    # THEN the token is redacted from the error
    assert TOKEN not in str(caught.value)


def test_retry_logs_do_not_contain_the_token(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a 503 then a success
    harness = make_client(
        [httpx.Response(503, json={"message": "down"}), httpx.Response(200, json={"contact": CONTACT})]
    )

    # WHEN the call succeeds on the retry
    with caplog.at_level(logging.DEBUG):
        harness.client.get_contact("c1")

    # THEN the retry was logged, without the token
    assert "retrying" in caplog.text
    assert TOKEN not in caplog.text


def test_static_token_provider_hides_the_token_in_its_repr() -> None:
    # GIVEN a private-integration token provider
    provider = StaticTokenProvider("pit-secret-value")

    # WHEN it is printed (e.g. in a debugger or a log of its holder)
    # THEN the token is not shown
    assert "pit-secret-value" not in repr(provider)


def test_redact_removes_bearer_credentials_jwts_and_pits() -> None:
    # GIVEN text with each kind of credential
    text = "Bearer abc.def x eyJa.eyJb.c pit-0123abcd-0000-0000-0000-000000000000 kept"

    # WHEN it is redacted
    cleaned = redact(text)

    # THEN only the credentials are gone
    assert "abc.def" not in cleaned and "eyJa" not in cleaned and "pit-0123" not in cleaned
    assert cleaned.endswith("kept")
