"""GHL sandbox: per-(app, location) burst and daily budgets, X-RateLimit-* headers, 429s."""

import httpx
import pytest

from sandbox.ghl import FakeClock, GhlSandbox
from tests.fixtures.ghl import GHL_BASE_URL, GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT, GHL_VERSION

RATE_HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)


@pytest.fixture
def small_budget() -> tuple[GhlSandbox, FakeClock, httpx.Client]:
    clock = FakeClock()
    sb = GhlSandbox(clock=clock, burst_limit=3, burst_interval_ms=10_000, daily_limit=7)
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    return sb, clock, httpx.Client(base_url=GHL_BASE_URL, transport=sb.transport(), headers=GHL_HEADERS)


def _read(client: httpx.Client) -> httpx.Response:
    return client.get("/contacts/", params={"locationId": GHL_LOCATION_ID})


def test_every_response_carries_the_five_headers(ghl_http):
    # GIVEN the default budget (100 / 10 s, 200,000 / day)
    # WHEN one successful and one failing call are made
    ok = ghl_http.get("/contacts/", params={"locationId": GHL_LOCATION_ID}, headers=GHL_HEADERS)
    missing = ghl_http.get("/contacts/doesNotExist00000000", headers=GHL_HEADERS)
    # THEN both carry the headers, counting down
    assert (ok.status_code, missing.status_code) == (200, 404)
    assert {h: ok.headers[h] for h in RATE_HEADERS} == {
        "X-RateLimit-Limit-Daily": "200000",
        "X-RateLimit-Daily-Remaining": "199999",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Max": "100",
        "X-RateLimit-Remaining": "99",
    }
    assert missing.headers["X-RateLimit-Remaining"] == "98"


def test_burst_past_the_limit_is_429_without_retry_after(small_budget):
    # GIVEN a burst budget of 3 per 10 s, all spent at the same instant
    _, _, client = small_budget
    for _ in range(3):
        assert _read(client).status_code == 200
    # WHEN a fourth call is made
    response = _read(client)
    # THEN it is 429 with no budget left and, as GHL documents none, no Retry-After
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_with_the_switch_on_a_429_says_when_to_retry():
    # GIVEN a sandbox that sends Retry-After on its 429s, and a spent burst budget
    sb = GhlSandbox(clock=FakeClock(), burst_limit=1, burst_interval_ms=10_000, retry_after_on_429=True)
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    client = httpx.Client(base_url=GHL_BASE_URL, transport=sb.transport(), headers=GHL_HEADERS)
    _read(client)
    # WHEN the next call is refused / THEN it says to wait out the window
    response = _read(client)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "10")


def test_burst_budget_comes_back_when_the_window_slides(small_budget):
    # GIVEN the burst budget was spent
    _, clock, client = small_budget
    for _ in range(3):
        _read(client)
    # WHEN the clock moves past the 10 s window
    clock.advance(10.001)
    # THEN calls are allowed again
    assert _read(client).status_code == 200


def test_daily_budget_past_the_limit_is_429_until_the_next_utc_day(small_budget):
    # GIVEN a daily budget of 7, spent in bursts that respect the 3 / 10 s limit
    _, clock, client = small_budget
    for _ in range(7):
        assert _read(client).status_code == 200
        clock.advance(5)
    # WHEN another call is made the same day
    refused = _read(client)
    clock.advance(86_400)
    allowed = _read(client)
    # THEN it is refused until the day rolls over
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "0"
    assert allowed.status_code == 200


def test_buckets_are_per_location(small_budget):
    # GIVEN loc_demo_1 spent its burst budget
    sb, _, client = small_budget
    for _ in range(3):
        _read(client)
    sb.add_location("loc_two", token="pit-two")
    # WHEN another location's token calls at the same instant
    other = client.get(
        "/contacts/",
        params={"locationId": "loc_two"},
        headers={"Authorization": "Bearer pit-two", "Version": GHL_VERSION},
    )
    # THEN its own bucket is untouched
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"


def test_refused_requests_do_not_consume_budget(small_budget):
    # GIVEN the burst budget was spent and more calls were refused
    sb, clock, client = small_budget
    for _ in range(6):
        _read(client)
    # WHEN the window slides
    clock.advance(10.001)
    # THEN the full burst is available again (429s were not counted)
    assert [_read(client).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert sb.request_log.count(("GET", "/contacts/", 429)) == 4
