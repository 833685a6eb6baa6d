"""The one connector error family: GHL, Kayako and the token endpoint classify the same way."""

import pytest

from ghlsync.apps.kayako.errors import (
    KayakoAuthError,
    KayakoConflict,
    KayakoNotFound,
    KayakoRateLimited,
    KayakoServerError,
    KayakoTransportError,
    KayakoValidationError,
)
from ghlsync.core import errors as core
from ghlsync.ghl.errors import (
    GhlDuplicateContact,
    GhlForbidden,
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTransportError,
    GhlUnauthorized,
    GhlValidationError,
)
from ghlsync.ghl.oauth import OAuthError
from ghlsync.sync.engine import classify
from ghlsync.sync.outcome import PermanentSyncError, TransientSyncError

CASES = [
    (GhlNotFound("gone", status=404), core.NotFound, False),
    (GhlDuplicateContact("dup", contact_id="c1", matching_field="email"), core.Duplicate, False),
    (GhlValidationError(["email is invalid"]), core.Validation, False),
    (GhlUnauthorized("Invalid JWT", kind="invalid_token"), core.Unauthorized, False),
    (GhlForbidden("no access", status=403), core.Forbidden, False),
    (GhlRateLimited("slow down", retry_after=2.0), core.RateLimited, True),
    (GhlServerError("bad gateway", status=502), core.ServerError, True),
    (GhlTransportError("reset", request_sent=True), core.TransportError, True),
    (KayakoNotFound("gone", status=404), core.NotFound, False),
    (KayakoValidationError("FIELD_REQUIRED", status=400), core.Validation, False),
    (KayakoAuthError("login refused", status=401), core.Unauthorized, False),
    (KayakoRateLimited("slow down", retry_after=1.0), core.RateLimited, True),
    (KayakoServerError("boom", status=500), core.ServerError, True),
    (KayakoTransportError("timeout"), core.TransportError, True),
    (KayakoConflict("changed", status=412), core.Conflict, True),
]


@pytest.mark.parametrize(("error", "family", "transient"), CASES, ids=lambda c: type(c).__name__)
def test_every_side_error_is_in_the_family_with_its_transience(
    error: core.ConnectorError, family: type[core.ConnectorError], transient: bool
) -> None:
    # GIVEN an error a GHL or Kayako call raises
    # WHEN the engine looks at it
    # THEN it is the family class and says whether a retry can help
    assert isinstance(error, family) and error.transient is transient


@pytest.mark.parametrize(("error", "family", "transient"), CASES, ids=lambda c: type(c).__name__)
def test_the_engine_classifies_by_the_family(
    error: core.ConnectorError, family: type[core.ConnectorError], transient: bool
) -> None:
    # GIVEN a side error
    # WHEN the engine classifies it
    sync_error = classify(error)
    # THEN transient errors retry and the rest dead-letter
    assert isinstance(sync_error, TransientSyncError if transient else PermanentSyncError)


def test_an_exception_that_only_claims_transience_is_not_classified() -> None:
    # GIVEN an exception outside the family that merely has a `transient` attribute
    class LooksTransient(Exception):
        transient = True

    # WHEN the engine classifies it
    # THEN it is not taken for a connector error
    assert classify(LooksTransient("x")) is None


def test_a_duplicate_names_the_existing_record() -> None:
    # GIVEN GHL refusing a duplicate contact
    error = GhlDuplicateContact("dup", contact_id="abc", matching_field="email")
    # WHEN the engine reads it as the family's Duplicate
    # THEN the existing record's id is there
    assert error.existing_id == "abc"


@pytest.mark.parametrize(("status", "transient"), [(None, True), (429, True), (503, True), (400, False)])
def test_token_endpoint_errors_are_transient_only_when_a_retry_can_help(
    status: int | None, transient: bool
) -> None:
    # GIVEN the token endpoint failing with a status (None: unreachable)
    error = OAuthError("refused", status)
    # WHEN its transience is read
    # THEN 429, 5xx and no answer are transient, other 4xx not
    assert isinstance(error, core.ConnectorError) and error.transient is transient


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc.def-ghi",
        "Basic dXNlcjpwYXNz failed",
        "token eyJhbGciOi.eyJzdWIi.sig leaked",
        "pit-0123abcd-4567-89ef",
    ],
)
def test_messages_never_keep_credentials(text: str) -> None:
    # GIVEN a message echoing a credential
    # WHEN it becomes an error
    error = core.ConnectorError(text)
    # THEN the credential is redacted
    assert core.REDACTED in error.message
    assert not any(secret in error.message for secret in ("abc.def", "dXNlcjpwYXNz", "eyJzdWIi", "0123abcd"))


def test_named_secrets_are_redacted_wherever_they_appear() -> None:
    # GIVEN a message with an API key in a query string
    # WHEN it is redacted with that key named
    text = core.redact("GET /x?apiKey=s3cr3t-key failed", "s3cr3t-key")
    # THEN the key is gone
    assert text == f"GET /x?apiKey={core.REDACTED} failed"
