"""Budget plug-ins on the send loop: the daily quota, a requests-per-second ceiling, the app's
rate-limit headers, and that any plug-in sees every attempt."""

import httpx
import pytest

from ghlsync.core.errors import RateLimited
from ghlsync.http.budget import DailyQuota, HeaderPacer, RequestPacer
from tests.fixtures.http import HTTP_START, FakeTime, Script, rest_client

OK = httpx.Response(200, json={})


def test_daily_quota_refuses_the_call_past_the_limit_before_sending(fake_time: FakeTime) -> None:
    # GIVEN a quota of 2 per day, 6 hours into the UTC day
    fake_time.advance(6 * 3600)
    script = Script([OK, OK, OK])
    client = rest_client(script, fake_time, budgets=(DailyQuota(2, wall_clock=fake_time, app="Kixie"),))
    client.request("GET", "a")
    client.request("GET", "b")
    # WHEN a third call is made
    with pytest.raises(RateLimited) as caught:
        client.request("GET", "c")
    # THEN it never left, and the error says when the day resets (18 h)
    assert len(script.requests) == 2
    assert caught.value.retry_after == 18 * 3600 and caught.value.transient is True
    assert "Kixie daily quota of 2" in caught.value.message


def test_daily_quota_resets_at_midnight_utc(fake_time: FakeTime) -> None:
    # GIVEN a spent quota of 1 at 23:59:59 UTC
    quota = DailyQuota(1, wall_clock=fake_time)
    fake_time.advance(86_399)
    quota.before_request()
    with pytest.raises(RateLimited) as caught:
        quota.before_request()
    assert caught.value.retry_after == 1
    # WHEN the clock passes 00:00 UTC / THEN requests are allowed again
    fake_time.advance(1)
    quota.before_request()
    assert quota.used == 1 and fake_time.now == HTTP_START + 86_400


def test_daily_quota_counts_every_attempt_including_retries(fake_time: FakeTime) -> None:
    # GIVEN a quota of 2 and a call that fails once with 503 and is retried
    quota = DailyQuota(2, wall_clock=fake_time)
    script = Script([httpx.Response(503), OK])
    rest_client(script, fake_time, budgets=(quota,)).request("GET", "a")
    # THEN both attempts were counted (each was a request to the app)
    assert quota.used == 2


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def before_request(self) -> None:
        self.events.append("before")

    def after_response(self, response: httpx.Response) -> None:
        self.events.append(f"after {response.status_code}")


def test_a_budget_plug_in_sees_every_attempt_and_every_response(fake_time: FakeTime) -> None:
    # GIVEN a recording plug-in and a 429 then a success
    recorder = Recorder()
    script = Script([httpx.Response(429, headers={"Retry-After": "1"}), OK])
    # WHEN a call is made / THEN the plug-in was asked before each attempt and shown each answer
    rest_client(script, fake_time, budgets=(recorder,)).request("GET", "a")
    assert recorder.events == ["before", "after 429", "before", "after 200"]


def test_a_request_pacer_spaces_requests_to_its_ceiling(fake_time: FakeTime) -> None:
    # GIVEN a ceiling of 4 requests per second WHEN three calls go at once
    client = rest_client(
        Script([OK, OK, OK]), fake_time, budgets=(RequestPacer(4, sleep=fake_time.sleep, clock=fake_time),)
    )
    for path in ("a", "b", "c"):
        client.request("GET", path)
    # THEN the second and third each waited a quarter second
    assert fake_time.sleeps == [0.25, 0.25]


def test_a_header_pacer_waits_out_a_spent_window_before_the_next_request(fake_time: FakeTime) -> None:
    # GIVEN an answer saying no request is left for 3 seconds
    spent = httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"})
    pacer = HeaderPacer(
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        max_wait_s=20,
        sleep=fake_time.sleep,
        wall_clock=fake_time,
    )
    client = rest_client(Script([spent, OK]), fake_time, budgets=(pacer,))
    client.request("GET", "a")
    # WHEN the next call is made THEN it first waits the 3 seconds
    client.request("GET", "b")
    assert fake_time.sleeps == [3.0]


def test_a_header_pacer_refuses_a_wait_longer_than_its_limit(fake_time: FakeTime) -> None:
    spent = httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "600"})
    pacer = HeaderPacer(
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        max_wait_s=20,
        sleep=fake_time.sleep,
        wall_clock=fake_time,
    )
    client = rest_client(Script([spent]), fake_time, budgets=(pacer,))
    client.request("GET", "a")
    with pytest.raises(RateLimited) as caught:
        client.request("GET", "b")
    assert caught.value.retry_after == 600
