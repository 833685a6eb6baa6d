"""Which failures GhlClient retries, for which methods, and how long it waits (full jitter, Retry-After)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.errors import GhlRateLimited, GhlServerError, GhlTransportError
from ghlsync.ghl.models import ContactCreate, ContactUpsert, NoteCreate, TaskCreate
from tests.unit.test_ghl_client import CONTACT, NOTE, TASK, make_client

Call = Callable[[GhlClient], Any]

# (name, call, success answer) for every kind of request, grouped by whether repeating it is harmless.
RETRY_SAFE: list[tuple[str, Call, httpx.Response]] = [
    ("GET contact", lambda c: c.get_contact("c1"), httpx.Response(200, json={"contact": CONTACT})),
    (
        "PUT completed",
        lambda c: c.set_task_completed("c1", "t1", True),
        httpx.Response(200, json={"task": TASK}),
    ),
    ("DELETE note", lambda c: c.delete_note("c1", "n1"), httpx.Response(200, json={"succeded": True})),
    (
        "POST search",
        lambda c: list(c.search_contacts()),
        httpx.Response(200, json={"contacts": [], "total": 0}),
    ),
    (
        "POST upsert",
        lambda c: c.upsert_contact(ContactUpsert(email="a@example.com")),
        httpx.Response(200, json={"new": False, "contact": CONTACT}),
    ),
    ("POST tags", lambda c: c.add_tags("c1", ["x"]), httpx.Response(201, json={"tags": ["x"]})),
    ("DELETE tags", lambda c: c.remove_tags("c1", ["x"]), httpx.Response(200, json={"tags": []})),
]
CREATES: list[tuple[str, Call, httpx.Response]] = [
    (
        "POST contact",
        lambda c: c.create_contact(ContactCreate(email="a@example.com")),
        httpx.Response(201, json={"contact": CONTACT}),
    ),
    (
        "POST task",
        lambda c: c.create_task("c1", TaskCreate(title="t", due_date=datetime(2030, 1, 1, tzinfo=UTC))),
        httpx.Response(201, json={"task": TASK}),
    ),
    (
        "POST note",
        lambda c: c.create_note("c1", NoteCreate(body="b")),
        httpx.Response(201, json={"note": NOTE}),
    ),
]
EVERY_CALL = RETRY_SAFE + CREATES


def _ids(cases: list[tuple[str, Call, httpx.Response]]) -> list[str]:
    return [case[0] for case in cases]


@pytest.mark.parametrize(("name", "call", "ok"), EVERY_CALL, ids=_ids(EVERY_CALL))
def test_429_is_retried_for_every_method(name: str, call: Call, ok: httpx.Response) -> None:
    # GIVEN GHL answers 429 once (it did not process the request), then succeeds
    harness = make_client([httpx.Response(429, json={"message": "Too Many Requests"}), ok])

    # WHEN the call is made
    call(harness.client)

    # THEN it was sent twice and succeeded
    assert len(harness.requests) == 2


@pytest.mark.parametrize(("name", "call", "ok"), EVERY_CALL, ids=_ids(EVERY_CALL))
def test_a_connection_never_established_is_retried_for_every_method(
    name: str, call: Call, ok: httpx.Response
) -> None:
    # GIVEN the first connection attempt fails before anything is sent
    harness = make_client([httpx.ConnectError("connection refused"), ok])

    # WHEN the call is made
    call(harness.client)

    # THEN it succeeded on the second attempt
    assert len(harness.requests) == 2


@pytest.mark.parametrize(("name", "call", "ok"), RETRY_SAFE, ids=_ids(RETRY_SAFE))
@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"message": "Internal"}),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
    ],
    ids=["500", "read-timeout", "reset"],
)
def test_5xx_timeouts_and_resets_are_retried_where_repeating_is_harmless(
    name: str, call: Call, ok: httpx.Response, failure: httpx.Response | Exception
) -> None:
    # GIVEN a request that is safe to repeat fails after it may have reached GHL
    harness = make_client([failure, ok])

    # WHEN the call is made
    call(harness.client)

    # THEN it was retried and succeeded
    assert len(harness.requests) == 2


@pytest.mark.parametrize(("name", "call", "ok"), CREATES, ids=_ids(CREATES))
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(500, json={"message": "Internal"}), GhlServerError),
        (httpx.ReadTimeout("slow"), GhlTransportError),
        (httpx.RemoteProtocolError("reset"), GhlTransportError),
    ],
    ids=["500", "read-timeout", "reset"],
)
def test_creates_are_not_retried_once_the_request_may_have_been_processed(
    name: str, call: Call, ok: httpx.Response, failure: httpx.Response | Exception, error: type[Exception]
) -> None:
    # GIVEN a create fails after it may have reached GHL (a repeat could create a duplicate)
    harness = make_client([failure, ok])

    # WHEN the call is made
    # THEN the failure is raised after a single request
    with pytest.raises(error):
        call(harness.client)
    assert len(harness.requests) == 1


def test_backoff_is_full_jitter_growing_to_the_cap() -> None:
    # GIVEN GHL fails six times in a row, and the random source always picks the top of the range
    harness = make_client([httpx.Response(503, json={})] * 6, rng=lambda: 1.0, max_retries=5)

    # WHEN the call is made
    with pytest.raises(GhlServerError):
        harness.client.get_contact("c1")

    # THEN the waits are base * 2^attempt (0.5 s base), capped at 30 s
    assert harness.clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_backoff_is_a_random_share_of_the_ceiling() -> None:
    # GIVEN the random source picks a quarter of the range
    harness = make_client(
        [
            httpx.Response(503, json={}),
            httpx.Response(503, json={}),
            httpx.Response(200, json={"contact": CONTACT}),
        ],
        rng=lambda: 0.25,
    )

    # WHEN the call succeeds on the third attempt
    harness.client.get_contact("c1")

    # THEN each wait is that share of 0.5 s * 2^attempt
    assert harness.clock.sleeps == [0.125, 0.25]


def test_backoff_never_exceeds_the_cap() -> None:
    # GIVEN many failures and a maximal random draw
    harness = make_client([httpx.Response(503, json={})] * 9, rng=lambda: 1.0, max_retries=8)

    # WHEN the retries run out
    with pytest.raises(GhlServerError):
        harness.client.get_contact("c1")

    # THEN no wait is above 30 s
    assert max(harness.clock.sleeps) == 30.0


def test_retry_after_is_honoured_on_429() -> None:
    # GIVEN a 429 that says when to come back
    harness = make_client(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json={}),
            httpx.Response(200, json={"contact": CONTACT}),
        ]
    )

    # WHEN the call is made
    harness.client.get_contact("c1")

    # THEN the client waited exactly that long before retrying
    assert harness.clock.sleeps == [7.0]


def test_a_retry_after_longer_than_the_cap_is_raised_for_the_caller_to_reschedule() -> None:
    # GIVEN a 429 that asks for an hour's pause
    harness = make_client([httpx.Response(429, headers={"Retry-After": "3600"}, json={})])

    # WHEN the call is made
    with pytest.raises(GhlRateLimited) as caught:
        harness.client.get_contact("c1")

    # THEN the client does not sleep an hour; the error carries the wait for the caller
    assert caught.value.retry_after == 3600.0 and harness.clock.sleeps == []


def test_client_errors_are_never_retried() -> None:
    # GIVEN GHL answers 400
    harness = make_client([httpx.Response(400, json={"message": "Bad Request"})])

    # WHEN a GET (retry-safe) is made
    with pytest.raises(Exception, match="Bad Request"):
        harness.client.get_contact("c1")

    # THEN only one request was spent
    assert len(harness.requests) == 1


def test_no_retries_when_max_retries_is_zero() -> None:
    # GIVEN a client configured not to retry
    harness = make_client([httpx.Response(503, json={})], max_retries=0)

    # WHEN a call fails transiently
    # THEN the error is raised at once
    with pytest.raises(GhlServerError):
        harness.client.get_contact("c1")
    assert harness.clock.sleeps == []
