"""RestClient's send loop: which failures it retries, how long it waits, when it stops, what it hides."""

import logging
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from ghlsync.core.errors import (
    ConnectorError,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Validation,
)
from ghlsync.http.auth import ApiKeyAuth
from ghlsync.http.client import RetryPolicy, segment
from tests.fixtures.http import BASE_URL, FakeTime, Script, rest_client

OK = httpx.Response(200, json={"ok": True})


def test_success_returns_the_response_with_default_headers(fake_time: FakeTime) -> None:
    # GIVEN a client with a default Accept header
    script = Script([OK])
    client = rest_client(script, fake_time, headers={"Accept": "application/json"})
    # WHEN a path is called
    response = client.request("GET", "items/1", params={"q": "x"})
    # THEN it went to the base URL with the header and query, and its answer came back
    assert response.json() == {"ok": True}
    sent = script.requests[0]
    assert str(sent.url) == f"{BASE_URL}/items/1?q=x"
    assert sent.headers["accept"] == "application/json"


def test_429_retry_after_in_seconds_is_slept_for_a_post(fake_time: FakeTime) -> None:
    # GIVEN a create answered 429 with Retry-After: 7 (not processed), then a success
    script = Script([httpx.Response(429, headers={"Retry-After": "7"}), OK])
    client = rest_client(script, fake_time)
    # WHEN the create is sent (not retry-safe)
    client.request("POST", "items", json={"a": 1})
    # THEN it waited exactly the Retry-After and sent again
    assert fake_time.sleeps == [7.0] and len(script.requests) == 2


def test_429_retry_after_as_an_http_date_is_read_against_the_wall_clock(fake_time: FakeTime) -> None:
    # GIVEN a 429 asking to come back 12 s from now, as an HTTP date
    when = datetime.fromtimestamp(fake_time.now + 12, tz=UTC)
    script = Script([httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}), OK])
    client = rest_client(script, fake_time)
    # WHEN a call is made
    client.request("GET", "items")
    # THEN the wait is the distance to that date
    assert fake_time.sleeps == [12.0]


def test_429_without_retry_after_backs_off_with_jitter(fake_time: FakeTime) -> None:
    # GIVEN a 429 without Retry-After and a jitter source drawing a quarter of the range
    script = Script([httpx.Response(429), OK])
    client = rest_client(script, fake_time, rng=lambda: 0.25)
    # WHEN a call is made / THEN the wait is a quarter of base * 2^0
    client.request("GET", "items")
    assert fake_time.sleeps == [0.125]


def test_retry_after_beyond_the_cap_is_raised_without_sleeping(fake_time: FakeTime) -> None:
    # GIVEN a 429 asking for an hour, and a client that sleeps at most 20 s on a Retry-After
    script = Script([httpx.Response(429, headers={"Retry-After": "3600"})])
    client = rest_client(script, fake_time, retry=RetryPolicy(max_retry_after_s=20))
    # WHEN a call is made / THEN a transient RateLimited carries the wait for the queue, no sleep
    with pytest.raises(RateLimited) as caught:
        client.request("GET", "items")
    assert (caught.value.retry_after, caught.value.transient, fake_time.sleeps) == (3600.0, True, [])


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_5xx_is_retried_for_retry_safe_methods(fake_time: FakeTime, method: str) -> None:
    # GIVEN a 503 then a success
    script = Script([httpx.Response(503), OK])
    # WHEN an idempotent method is sent / THEN it was repeated
    rest_client(script, fake_time).request(method, "items/1")
    assert len(script.requests) == 2


def test_5xx_on_a_post_is_not_retried(fake_time: FakeTime) -> None:
    # GIVEN a create answered 500 (it may have been applied)
    script = Script([httpx.Response(500), OK])
    # WHEN it is sent / THEN one attempt, a transient ServerError
    with pytest.raises(ServerError):
        rest_client(script, fake_time).request("POST", "items", json={})
    assert len(script.requests) == 1


def test_5xx_on_a_post_the_caller_marks_retry_safe_is_retried(fake_time: FakeTime) -> None:
    # GIVEN an upsert (safe to repeat) answered 500 then a success
    script = Script([httpx.Response(500), OK])
    # WHEN it is sent marked retry-safe / THEN it was repeated
    rest_client(script, fake_time).request("POST", "upsert", json={}, retry_safe=True)
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")], ids=["timeout", "reset"]
)
def test_read_timeout_or_reset_on_a_post_is_not_retried(fake_time: FakeTime, failure: Exception) -> None:
    # GIVEN a create whose answer was lost after it was sent
    script = Script([failure, OK])
    # WHEN it is sent / THEN one attempt, a transport error saying the request may have been sent
    with pytest.raises(TransportError) as caught:
        rest_client(script, fake_time).request("POST", "items", json={})
    assert caught.value.request_sent is True and len(script.requests) == 1


def test_read_timeout_on_a_get_is_retried(fake_time: FakeTime) -> None:
    # GIVEN a read whose answer was lost, then a success
    script = Script([httpx.ReadTimeout("slow"), OK])
    # WHEN it is sent / THEN it was repeated
    rest_client(script, fake_time).request("GET", "items")
    assert len(script.requests) == 2


def test_connect_error_is_retried_even_for_a_post(fake_time: FakeTime) -> None:
    # GIVEN a create whose connection was refused (nothing was sent), then a success
    script = Script([httpx.ConnectError("refused"), OK])
    # WHEN it is sent / THEN it was sent again
    rest_client(script, fake_time).request("POST", "items", json={})
    assert len(script.requests) == 2


def test_unsendable_request_is_a_permanent_error_without_retry(fake_time: FakeTime) -> None:
    # GIVEN a transport that cannot send the request at all
    script = Script([httpx.UnsupportedProtocol("ftp")])
    # WHEN a call is made / THEN a permanent error after one try
    with pytest.raises(ConnectorError) as caught:
        rest_client(script, fake_time).request("GET", "items")
    assert caught.value.transient is False and fake_time.sleeps == []


def test_full_jitter_waits_grow_to_the_cap(fake_time: FakeTime) -> None:
    # GIVEN six 503s, a jitter source at the top of the range, base 1 s and cap 5 s
    script = Script([httpx.Response(503)] * 6)
    policy = RetryPolicy(max_retries=5, backoff_base_s=1.0, backoff_cap_s=5.0)
    client = rest_client(script, fake_time, retry=policy, rng=lambda: 1.0)
    # WHEN retries run out
    with pytest.raises(ServerError):
        client.request("GET", "items")
    # THEN each wait is min(cap, base * 2^attempt)
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_wait_is_the_drawn_share_of_the_ceiling(fake_time: FakeTime) -> None:
    # GIVEN a jitter source drawing 10% of the range
    script = Script([httpx.Response(503), httpx.Response(503), OK])
    client = rest_client(script, fake_time, rng=lambda: 0.1)
    # WHEN the call succeeds on the third attempt / THEN each wait is 10% of 0.5 s * 2^attempt
    client.request("GET", "items")
    assert fake_time.sleeps == pytest.approx([0.05, 0.1])


def test_attempts_stop_at_max_retries(fake_time: FakeTime) -> None:
    # GIVEN a client allowed two retries and a side that keeps failing
    script = Script([httpx.Response(503)] * 5)
    client = rest_client(script, fake_time, retry=RetryPolicy(max_retries=2))
    # WHEN a call is made / THEN three attempts, then the error
    with pytest.raises(ServerError):
        client.request("GET", "items")
    assert len(script.requests) == 3


def test_the_deadline_stops_retrying_before_the_waits_pass_it(fake_time: FakeTime) -> None:
    # GIVEN 429s asking for 4 s each, many retries allowed, and a 10 s deadline for the call
    script = Script([httpx.Response(429, headers={"Retry-After": "4"})] * 10)
    client = rest_client(script, fake_time, retry=RetryPolicy(max_retries=9, deadline_s=10))
    # WHEN a call is made
    with pytest.raises(RateLimited):
        client.request("GET", "items")
    # THEN it slept twice (8 s); a third wait would have ended past the deadline
    assert fake_time.sleeps == [4.0, 4.0] and len(script.requests) == 3


def test_client_errors_are_not_retried(fake_time: FakeTime) -> None:
    # GIVEN a 400 / WHEN a retry-safe call is made / THEN one request and a Validation error
    script = Script([httpx.Response(400, json={"message": "bad field"})])
    with pytest.raises(Validation, match="bad field"):
        rest_client(script, fake_time).request("GET", "items")
    assert len(script.requests) == 1


KEY = "k-9f8e7d6c5b4a"


def test_a_secret_echoed_in_an_error_body_never_reaches_the_error(fake_time: FakeTime) -> None:
    # GIVEN an API key the side echoes back in its error message
    script = Script([httpx.Response(400, json={"message": f"key {KEY} is not valid"})])
    client = rest_client(script, fake_time, authenticator=ApiKeyAuth("apiKey", KEY))
    # WHEN the call fails / THEN the key is in neither the message, the rule list nor the string form
    with pytest.raises(Validation) as caught:
        client.request("GET", "items")
    assert KEY not in caught.value.message and KEY not in str(caught.value)
    assert caught.value.messages and all(KEY not in m for m in caught.value.messages)


def test_a_secret_in_a_transport_message_never_reaches_the_error(fake_time: FakeTime) -> None:
    # GIVEN a transport failure whose text holds the URL with the key in its query
    script = Script([httpx.ReadTimeout(f"timed out on /items?apiKey={KEY}")])
    client = rest_client(
        script, fake_time, authenticator=ApiKeyAuth("apiKey", KEY), retry=RetryPolicy(max_retries=0)
    )
    # WHEN it fails / THEN the key is redacted
    with pytest.raises(TransportError) as caught:
        client.request("GET", "items")
    assert KEY not in str(caught.value) and "[REDACTED]" in str(caught.value)


def test_the_retry_log_line_names_the_failure_without_the_secret(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a 503 whose body echoes the key, then a success
    script = Script([httpx.Response(503, json={"message": f"down for {KEY}"}), OK])
    client = rest_client(script, fake_time, authenticator=ApiKeyAuth("apiKey", KEY), name="Acme")
    # WHEN the call succeeds on the retry
    with caplog.at_level(logging.WARNING):
        client.request("GET", f"items/{KEY}")
    # THEN one retry line was logged, naming the app and the status, without the key
    assert "Acme request failed; retrying" in caplog.text
    record = caplog.records[0]
    assert record.__dict__["status"] == 503 and KEY not in record.__dict__["path"]
    assert KEY not in caplog.text


def test_unauthorized_is_raised_when_the_authenticator_cannot_renew(fake_time: FakeTime) -> None:
    # GIVEN a static key refused with 401 / WHEN called / THEN Unauthorized after one request
    script = Script([httpx.Response(401), OK])
    client = rest_client(script, fake_time, authenticator=ApiKeyAuth("apiKey", KEY))
    with pytest.raises(Unauthorized):
        client.request("GET", "items")
    assert len(script.requests) == 1


def test_segment_keeps_an_id_in_one_path_segment() -> None:
    # GIVEN an id with a slash and dots / WHEN encoded / THEN it cannot climb out of its segment
    assert segment("../a/b c", "id") == "..%2Fa%2Fb%20c"


def test_segment_refuses_an_empty_id() -> None:
    # GIVEN a blank id / THEN it is refused rather than turning /items/{id} into /items/
    with pytest.raises(ValueError, match="id must not be empty"):
        segment("  ", "id")
