"""GHL's failures as workflow-API answers (ghlsync.workflow.ghl_answers)."""

import httpx
import pytest

from ghlsync.ghl.errors import (
    GhlForbidden,
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlUnauthorized,
    GhlValidationError,
)
from ghlsync.workflow import errors
from ghlsync.workflow.ghl_answers import DEFAULT_RETRY_AFTER_S, ghl_answers


def _answer(failure: Exception) -> errors.WorkflowError:
    with (
        pytest.raises(errors.WorkflowError) as answered,
        ghl_answers(write=True, missing="contact not found"),
    ):
        raise failure
    return answered.value


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (GhlNotFound("Contact with id x not found", status=404), 404),
        (GhlForbidden("The token does not have access to this location.", status=403), 404),
        (GhlUnauthorized("The token is not authorized for this scope.", kind="missing_scope"), 403),
        (GhlUnauthorized("Invalid JWT", kind="invalid_token"), 502),
        (GhlValidationError(["title should not be empty"]), 422),
        (GhlRateLimited("Too Many Requests", status=429, retry_after=3.2), 429),
        (GhlServerError("Internal Server Error", status=500), 502),
        (httpx.ConnectTimeout("timed out"), 502),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_ghl_failure_has_its_documented_answer(failure: Exception, status: int) -> None:
    # GIVEN GHL (or the transport) failing a call THEN the answer is the documented status
    assert _answer(failure).status == status


def test_another_locations_record_reads_exactly_like_a_missing_one() -> None:
    # GIVEN GHL's 403 for another location and its 404 THEN the same message (no existence leak)
    forbidden = _answer(GhlForbidden("The token does not have access to this location.", status=403))
    missing = _answer(GhlNotFound("Contact with id x not found", status=404))
    assert forbidden.message == missing.message == "contact not found"


def test_retry_after_rounds_ghls_seconds_up() -> None:
    # GIVEN GHL's Retry-After of 3.2 s THEN 4 whole seconds
    limited = _answer(GhlRateLimited("Too Many Requests", status=429, retry_after=3.2))
    assert isinstance(limited, errors.RateLimited) and limited.retry_after == 4


def test_retry_after_has_a_default_when_ghl_gives_none() -> None:
    # GIVEN a 429 without Retry-After THEN the default
    limited = _answer(GhlRateLimited("Too Many Requests", status=429))
    assert isinstance(limited, errors.RateLimited) and limited.retry_after == DEFAULT_RETRY_AFTER_S


def test_a_validation_answer_carries_ghls_messages() -> None:
    # GIVEN GHL's 422 THEN its rule messages are in the answer
    assert "title should not be empty" in _answer(GhlValidationError(["title should not be empty"])).message
