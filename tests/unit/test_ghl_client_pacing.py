"""Pacing by the X-RateLimit-* headers: the pacer alone, and the client feeding it every response."""

import httpx
import pytest

from ghlsync.ghl.errors import GhlRateLimited
from ghlsync.ghl.ratelimit import RateLimitPacer, RateLimitSnapshot
from tests.unit.test_ghl_client import CONTACT, FakeClock, make_client


def budget(
    remaining: int, *, max_: int = 100, interval_ms: int = 10_000, daily: int = 150_000
) -> dict[str, str]:
    return {
        "X-RateLimit-Max": str(max_),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Interval-Milliseconds": str(interval_ms),
        "X-RateLimit-Daily-Remaining": str(daily),
        "X-RateLimit-Limit-Daily": "200000",
    }


def observe(pacer: RateLimitPacer, headers: dict[str, str]) -> None:
    pacer.before_request()
    pacer.observe(RateLimitSnapshot.from_headers(httpx.Headers(headers)))


def make_pacer() -> tuple[RateLimitPacer, FakeClock]:
    clock = FakeClock()
    return RateLimitPacer(clock=clock, sleep=clock.sleep), clock


def test_snapshot_reads_all_headers_case_insensitively() -> None:
    # GIVEN GHL's rate-limit headers in lower case
    headers = httpx.Headers({k.lower(): v for k, v in budget(42, interval_ms=500, daily=7).items()})

    # WHEN they are read
    snapshot = RateLimitSnapshot.from_headers(headers)

    # THEN every value is parsed, the interval in seconds
    assert snapshot == RateLimitSnapshot(
        max=100, remaining=42, interval_s=0.5, daily_remaining=7, daily_max=200_000
    )


def test_headroom_is_the_share_of_each_budget_the_last_answer_left() -> None:
    # GIVEN a pacer that saw 25 of 100 left in the window and 50,000 of 200,000 for the day
    pacer, _ = make_pacer()
    observe(pacer, budget(25, daily=50_000))
    # WHEN its headroom is read
    # THEN it is 25 % of the window and 25 % of the day
    assert pacer.headroom() == (25.0, 25.0)


def test_a_window_reading_older_than_the_window_is_unknown() -> None:
    # GIVEN a pacer that saw 25 of 100 left in a 10 s window, then made no request for 11 s
    pacer, clock = make_pacer()
    observe(pacer, budget(25, daily=50_000))
    clock.sleep(11)
    # WHEN its headroom is read
    # THEN the window has rolled over since (its share is unknown); the day's still holds
    assert pacer.headroom() == (None, 25.0)


def test_headroom_is_unknown_before_any_answer() -> None:
    # GIVEN a pacer that saw no response yet
    pacer, _ = make_pacer()
    # THEN neither share is known
    assert pacer.headroom() == (None, None)


def test_snapshot_ignores_missing_and_garbled_headers() -> None:
    # GIVEN a response with a garbled remaining and no other header
    snapshot = RateLimitSnapshot.from_headers(httpx.Headers({"X-RateLimit-Remaining": "lots"}))

    # THEN nothing is invented
    assert snapshot == RateLimitSnapshot(max=None, remaining=None, interval_s=None, daily_remaining=None)


def test_no_wait_while_the_budget_is_comfortable() -> None:
    # GIVEN the last response left 50 of 100
    pacer, clock = make_pacer()
    observe(pacer, budget(50))

    # WHEN the next request is about to go
    pacer.before_request()

    # THEN it goes at once
    assert clock.sleeps == []


def test_waits_for_the_window_end_when_the_budget_is_spent() -> None:
    # GIVEN a window opened at t=1000 (remaining 99) and, 2 s later, a response left 0
    pacer, clock = make_pacer()
    observe(pacer, budget(99))
    clock.now += 2
    observe(pacer, budget(0))

    # WHEN the next request is about to go
    pacer.before_request()

    # THEN it waits until the window (10 s from its first response) has passed
    assert clock.sleeps == [pytest.approx(8.0)]


def test_spreads_the_last_requests_over_the_rest_of_the_window() -> None:
    # GIVEN a window opened at t=1000, and at t=1002 another caller has left only 4 of 100
    pacer, clock = make_pacer()
    observe(pacer, budget(99))
    clock.now += 2
    observe(pacer, budget(4))

    # WHEN the next request is about to go
    pacer.before_request()

    # THEN it waits one share of the 8 s left, so the 4 remaining spread over the window, not burst
    assert clock.sleeps == [pytest.approx(8.0 / 5)]


def test_trusts_the_headers_over_its_own_count() -> None:
    # GIVEN this client made one request, but the shared budget says another caller used the rest
    pacer, clock = make_pacer()
    observe(pacer, budget(0))

    # WHEN the next request is about to go
    pacer.before_request()

    # THEN it waits for the window even though this client sent only one request
    assert clock.sleeps == [pytest.approx(10.0)]


def test_a_new_window_is_recognised_when_remaining_goes_up() -> None:
    # GIVEN the budget ran out, the pacer waited, and the next response shows a fresh window
    pacer, clock = make_pacer()
    observe(pacer, budget(0))
    observe(pacer, budget(99))

    # WHEN another request is about to go
    pacer.before_request()

    # THEN no further wait happens (only the one for the spent window)
    assert clock.sleeps == [pytest.approx(10.0)]


def test_daily_budget_spent_raises_without_sending() -> None:
    # GIVEN a response said the daily budget is spent
    pacer, clock = make_pacer()
    observe(pacer, budget(50, daily=0))

    # WHEN the next request is about to go
    with pytest.raises(GhlRateLimited) as caught:
        pacer.before_request()

    # THEN it is refused at once with a transient error that says when to probe again
    assert caught.value.transient and caught.value.retry_after == pytest.approx(300.0)
    assert clock.sleeps == []


def test_daily_budget_is_probed_again_after_a_while() -> None:
    # GIVEN the daily budget was spent 301 s ago
    pacer, clock = make_pacer()
    observe(pacer, budget(50, daily=0))
    clock.now += 301

    # WHEN the next request is about to go
    # THEN one probe request is let through
    pacer.before_request()


def test_low_water_must_be_a_share() -> None:
    # GIVEN a pacer configured with a low-water mark above 100 %
    # THEN it is refused
    with pytest.raises(ValueError):
        RateLimitPacer(clock=FakeClock(), sleep=FakeClock().sleep, low_water=1.5)


def test_client_paces_on_the_headers_of_every_response() -> None:
    # GIVEN GHL reports the window spent on the first response
    ok = {"contact": CONTACT}
    harness = make_client([httpx.Response(200, json=ok, headers=budget(0)), httpx.Response(200, json=ok)])

    # WHEN two calls are made
    harness.client.get_contact("c1")
    harness.client.get_contact("c1")

    # THEN the second waited for the window instead of earning a 429
    assert harness.clock.sleeps == [pytest.approx(10.0)]


def test_client_reads_rate_limit_headers_from_error_responses_too() -> None:
    # GIVEN a 429 that also says the window is spent, followed by success
    harness = make_client(
        [httpx.Response(429, json={}, headers=budget(0)), httpx.Response(200, json={"contact": CONTACT})],
        rng=lambda: 0.0,
    )

    # WHEN the call is made
    harness.client.get_contact("c1")

    # THEN the retry waited for the window to end (jitter drew 0)
    assert sum(harness.clock.sleeps) == pytest.approx(10.0)


def test_client_never_sleeps_without_rate_limit_headers() -> None:
    # GIVEN a GHL that sends no rate-limit headers
    harness = make_client(lambda request: httpx.Response(200, json={"contact": CONTACT}))

    # WHEN many calls are made
    for _ in range(150):
        harness.client.get_contact("c1")

    # THEN the pacer has nothing to act on and never waits
    assert harness.clock.sleeps == []


class FixedWindowGhl:
    """A GHL budget that other callers share: a fixed window of `limit` requests per `interval_s`,
    answering 429 beyond it, with the headers GHL sends."""

    def __init__(self, clock: FakeClock, *, limit: int, interval_s: float, used_by_others: int = 0) -> None:
        self.clock, self.limit, self.interval_s = clock, limit, interval_s
        self.window_start = clock.now
        self.used = used_by_others
        self.served = 0
        self.rejected = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.clock.now >= self.window_start + self.interval_s:
            self.window_start += self.interval_s * ((self.clock.now - self.window_start) // self.interval_s)
            self.used = 0
        if self.used >= self.limit:
            self.rejected += 1
            return httpx.Response(429, json={}, headers=budget(0, max_=self.limit))
        self.used += 1
        self.served += 1
        headers = budget(self.limit - self.used, max_=self.limit, interval_ms=int(self.interval_s * 1000))
        return httpx.Response(200, json={"contact": CONTACT}, headers=headers)


def test_a_long_run_uses_the_whole_budget_without_a_single_429() -> None:
    # GIVEN a location allowing 100 requests per 10 s, of which another caller already used 30
    clock = FakeClock()
    ghl = FixedWindowGhl(clock, limit=100, interval_s=10.0, used_by_others=30)
    harness = make_client(ghl, clock=clock)
    start = harness.clock.now

    # WHEN 1,000 requests are made back to back
    for _ in range(1000):
        harness.client.get_contact("c1")

    # THEN none was refused, and the achieved rate is at least 90 % of the allowed one
    elapsed = harness.clock.now - start
    assert ghl.rejected == 0
    assert 1000 / elapsed >= 0.9 * (100 / 10.0)


class SlidingWindowGhl:
    """A budget of `limit` requests in any `interval_s` (a sliding log), answering 429 beyond it."""

    def __init__(self, clock: FakeClock, *, limit: int, interval_s: float, cost_s: float) -> None:
        self.clock, self.limit, self.interval_s, self.cost_s = clock, limit, interval_s, cost_s
        self.recent: list[float] = []
        self.rejected = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.clock.now += self.cost_s  # each request takes a little time to serve
        self.recent = [at for at in self.recent if at > self.clock.now - self.interval_s]
        if len(self.recent) >= self.limit:
            self.rejected += 1
            return httpx.Response(429, json={}, headers=budget(0, max_=self.limit))
        self.recent.append(self.clock.now)
        headers = budget(
            self.limit - len(self.recent), max_=self.limit, interval_ms=int(self.interval_s * 1000)
        )
        return httpx.Response(200, json={"contact": CONTACT}, headers=headers)


def test_a_sliding_window_is_used_fully_without_a_single_429() -> None:
    # GIVEN a sliding budget of 100 requests in any 10 s, each request taking 30 ms
    clock = FakeClock()
    ghl = SlidingWindowGhl(clock, limit=100, interval_s=10.0, cost_s=0.03)
    harness = make_client(ghl, clock=clock)
    start = clock.now

    # WHEN 1,000 requests are made back to back
    for _ in range(1000):
        harness.client.get_contact("c1")

    # THEN none was refused, and the achieved rate is at least 90 % of the allowed one
    assert ghl.rejected == 0
    assert 1000 / (clock.now - start) >= 0.9 * (100 / 10.0)


def test_without_a_seen_window_start_a_spent_budget_waits_for_our_oldest_request_to_leave() -> None:
    # GIVEN a window we did not see open (first answer: 30 left), then two more answers, the last
    # one at t+3 saying nothing is left
    pacer, clock = make_pacer()
    observe(pacer, budget(30))
    clock.now += 1
    observe(pacer, budget(20))
    clock.now += 2
    observe(pacer, budget(0))

    # WHEN the next request is about to go
    clock.sleeps.clear()
    pacer.before_request()

    # THEN it waits until the oldest of our answered requests is one interval old
    assert clock.now == pytest.approx(1000 + 10.0)
