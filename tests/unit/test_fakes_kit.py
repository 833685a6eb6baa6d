"""The fake-app kit (sandbox.fakes): rate limits, the webhook emitter and its signing, faults,
the middleware and the shared admin routes, on a minimal fake (in-process, no sockets)."""

import base64
import hashlib
import hmac
import threading

import httpx
import pytest
from flask import Flask, jsonify
from werkzeug.wrappers import Response

from sandbox.fakes.base import FakeApp
from sandbox.fakes.clock import FakeClock
from sandbox.fakes.faults import FaultInjector
from sandbox.fakes.ratelimit import DAY_S, RateLimiter, RequestLimit, Window
from sandbox.fakes.webhooks import (
    NO_RETRY,
    Delivery,
    Outbox,
    RetryRule,
    hmac_signature,
    http_sender,
    timestamped_hmac_signature,
    url_with_token,
)


class EchoFake(FakeApp):
    """The smallest fake: GET /api/ping answers {"pong": true}; faults answer {"fault": status}."""

    def __init__(self, clock: FakeClock | None = None, **faults: object) -> None:
        super().__init__(
            clock=clock or FakeClock(),
            faults=FaultInjector(0, api_paths=lambda path: path.startswith("/api/"), **faults),  # type: ignore[arg-type]
        )
        app = Flask("echo-fake")
        app.add_url_rule("/api/ping", "ping", lambda: jsonify({"pong": True}))
        self.mount(app, fault_response=lambda fault: Response(f'{{"fault": {fault.status}}}', fault.status))
        self.outbox = Outbox(self.clock, self.lock, lambda url, body, headers: 200)


def client(fake: FakeApp) -> httpx.Client:
    return httpx.Client(transport=fake.transport(), base_url="http://fake")


# -- rate limits ----------------------------------------------------------------------------------
def test_a_sliding_window_refuses_past_its_limit_until_the_oldest_request_leaves() -> None:
    # GIVEN 2 requests per 10 s, sliding
    clock = FakeClock()
    limiter, window = RateLimiter(clock), Window(2, 10, sliding=True)
    # WHEN three arrive 1 s apart
    verdicts = []
    for _ in range(3):
        verdicts.append(limiter.consume(("k", window)))
        clock.advance(1)
    # THEN the third waits until the first is 10 s old
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[2].retry_after_s == 8


def test_a_fixed_window_starts_again_at_its_boundary() -> None:
    # GIVEN one request per clock minute, used 50 s into the minute
    clock = FakeClock(start=60 * 1000 + 50)
    limiter, minute = RateLimiter(clock), Window(1, 60)
    assert limiter.consume(("k", minute)).allowed
    # WHEN another comes at once, then at the next minute
    refused = limiter.consume(("k", minute))
    clock.advance(10)
    # THEN the first waits 10 s and the next minute allows it
    assert (refused.allowed, refused.retry_after_s) == (False, 10)
    assert limiter.consume(("k", minute)).allowed


def test_a_request_refused_by_one_budget_consumes_none_of_them() -> None:
    # GIVEN a daily budget of 5 and a burst budget of 1, the burst spent
    clock = FakeClock()
    limiter, daily, burst = RateLimiter(clock), Window(5, DAY_S), Window(1, 10, sliding=True)
    limiter.consume(("k", daily), ("k", burst))
    # WHEN a second request is refused by the burst
    refused = limiter.consume(("k", daily), ("k", burst))
    # THEN the daily budget still shows one used
    assert not refused.allowed
    assert refused.remaining == (4, 0)


# -- webhook emitter --------------------------------------------------------------------------------
def outbox(statuses: list[int | Exception], rule: RetryRule) -> Outbox[Delivery]:
    def sender(url: str, body: bytes, headers: dict[str, str]) -> int:
        answer = statuses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    box: Outbox[Delivery] = Outbox(FakeClock(), threading.RLock(), sender, rule)
    box.queue(Delivery(url="https://hook", body=b"{}", headers={}, next_attempt_at=box.clock()))
    return box


def test_a_retry_rule_resends_its_statuses_until_max_retries_then_gives_up() -> None:
    # GIVEN a receiver answering 429 three times and a rule of 2 retries on 429, 60 s apart
    box = outbox([429, 429, 429], RetryRule(retry_statuses=frozenset({429}), max_retries=2, interval_s=60))
    # WHEN delivery runs now, too early, and at each interval
    attempts = [
        len(box.deliver(now)) for now in (box.clock(), box.clock() + 59, box.clock() + 60, box.clock() + 120)
    ]
    # THEN three attempts were made and the delivery is exhausted
    [delivery] = box.deliveries
    assert attempts == [1, 0, 1, 1]
    assert (delivery.state, delivery.history) == ("exhausted", [429, 429, 429])


def test_a_backoff_factor_spaces_the_retries_exponentially() -> None:
    # GIVEN a receiver answering 503 twice, then 200, and retries 10 s then 20 s apart
    rule = RetryRule(retry_statuses=frozenset({503}), max_retries=3, interval_s=10, backoff_factor=2)
    box = outbox([503, 503, 200], rule)
    start = box.clock()
    # WHEN delivery runs at the start, after 10 s, 29 s (too early) and 30 s
    attempts = [len(box.deliver(start + offset)) for offset in (0, 10, 29, 30)]
    # THEN the second retry waited twice as long as the first
    [delivery] = box.deliveries
    assert attempts == [1, 1, 0, 1]
    assert (delivery.state, delivery.history) == ("delivered", [503, 503, 200])


def test_without_retries_a_failure_is_recorded_once() -> None:
    # GIVEN a receiver answering 500 and no retry rule / WHEN delivering twice
    box = outbox([500], NO_RETRY)
    box.deliver()
    # THEN one attempt, failed, and nothing more is due
    assert box.deliver() == []
    assert (box.deliveries[0].state, box.deliveries[0].status) == ("failed", 500)


def test_a_sender_that_raises_is_status_0_with_the_error() -> None:
    # GIVEN a receiver that cannot be reached / WHEN delivering
    box = outbox([ConnectionError("refused")], NO_RETRY)
    box.deliver()
    # THEN the attempt has no status and says why
    [delivery] = box.deliveries
    assert (delivery.status, delivery.error, delivery.state) == (0, "ConnectionError: refused", "failed")


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("hex", hmac.new(b"s3cret", b'{"a":1}', hashlib.sha256).hexdigest()),
        ("base64", base64.b64encode(hmac.new(b"s3cret", b'{"a":1}', hashlib.sha256).digest()).decode()),
    ],
)
def test_hmac_signature_signs_the_raw_body(encoding: str, expected: str) -> None:
    # GIVEN a signer / WHEN a body is signed / THEN the header holds the HMAC-SHA256 in that encoding
    sign = hmac_signature("s3cret", "X-Signature", encoding=encoding)  # type: ignore[arg-type]
    assert sign(b'{"a":1}') == {"X-Signature": expected}


def test_a_timestamped_hmac_signs_the_time_dot_the_raw_body_and_sends_the_time() -> None:
    # GIVEN a timestamped signer on a fake clock
    clock = FakeClock(1_767_225_600.9)
    sign = timestamped_hmac_signature("s3cret", "X-Signature", "X-Timestamp", clock)
    # WHEN a body is signed
    headers = sign(b'{"a":1}')
    # THEN the time is whole seconds, and the HMAC covers "<time>.<body>"
    expected = hmac.new(b"s3cret", b'1767225600.{"a":1}', hashlib.sha256).hexdigest()
    assert headers == {"X-Signature": expected, "X-Timestamp": "1767225600"}


def test_a_token_in_the_url_keeps_the_query_it_had() -> None:
    assert url_with_token("https://h/p?x=1", "t0k") == "https://h/p?x=1&token=t0k"


# -- faults and the middleware ------------------------------------------------------------------------
def test_faults_hit_only_api_paths_and_spare_auth_paths_unless_asked() -> None:
    # GIVEN an injector for /api/ with /api/oauth as an auth path
    faults = FaultInjector(0, api_paths=lambda path: path.startswith("/api/"), auth_paths=("/api/oauth",))
    # WHEN asked about each kind of path / THEN only the API outside auth is in scope, until included
    scope = [faults.applies_to(p) for p in ("/api/users", "/api/oauth/token", "/_sandbox/faults", "/other")]
    faults.configure(include_auth_paths=True)
    assert scope == [True, False, False, False]
    assert faults.applies_to("/api/oauth/token")


def test_an_injected_5xx_uses_the_apps_statuses() -> None:
    # GIVEN an app whose only 5xx is 500 / WHEN every request fails with a 5xx
    faults = FaultInjector(7, server_error_statuses=(500,))
    faults.configure(rate_5xx=1.0)
    # THEN each drawn fault is a 500
    assert {fault.status for fault in (faults.draw() for _ in range(20)) if fault is not None} == {500}


def test_faults_limited_to_some_methods_spare_the_others() -> None:
    # GIVEN faults on every POST only / WHEN a GET and a POST are decided
    faults = FaultInjector(3)
    faults.configure(rate_timeout=1.0, methods={"post"})
    # THEN only the POST draws a fault
    assert faults.decide("/api/ping", "GET") is None
    assert faults.decide("/api/ping", "POST") is not None


def test_an_injected_429_is_answered_in_the_apps_shape_and_logged() -> None:
    # GIVEN a fake where every API request draws a 429
    fake = EchoFake()
    fake.faults.configure(rate_429=1.0)
    # WHEN it is called / THEN the app's fault response comes back and the log has it
    response = client(fake).get("/api/ping")
    assert (response.status_code, response.json()) == (429, {"fault": 429})
    assert fake.request_log == [("GET", "/api/ping", 429)]


def test_an_injected_reset_raises_the_apps_transport_error_and_logs_no_answer() -> None:
    # GIVEN a fake whose resets are refused connections / WHEN a request is reset
    fake = EchoFake(reset_error=httpx.ConnectError)
    fake.faults.configure(rate_reset=1.0)
    with pytest.raises(httpx.ConnectError):
        client(fake).get("/api/ping")
    # THEN the request is logged with status 0
    assert fake.request_log == [("GET", "/api/ping", 0)]


@pytest.mark.parametrize(("garbage", "content_type"), [("html", "text/html"), ("json", "application/json")])
def test_an_injected_garbage_answer_is_a_200_that_is_not_the_apps_and_is_logged(
    garbage: str, content_type: str
) -> None:
    # GIVEN a fake where every API request draws garbage
    fake = EchoFake()
    fake.faults.configure(rate_garbage=1.0, garbage=garbage)
    # WHEN it is called
    response = client(fake).get("/api/ping")
    # THEN a 200 of the chosen kind comes back instead of the app's answer, and the log has it
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(content_type)
    assert "pong" not in response.text
    assert fake.request_log == [("GET", "/api/ping", 200)]
    assert fake.faults.injected["garbage"] == 1


def test_garbage_is_html_or_json_and_counts_in_the_shares() -> None:
    # GIVEN an injector / WHEN an unknown garbage kind or shares above 1 are set / THEN refused
    faults = FaultInjector(0)
    with pytest.raises(ValueError, match="garbage"):
        faults.configure(rate_garbage=0.5, garbage="xml")
    with pytest.raises(ValueError, match="add up"):
        faults.configure(rate_5xx=0.6, rate_garbage=0.6)


# -- the shared admin routes -------------------------------------------------------------------------
def test_admin_faults_route_configures_reseeds_and_refuses_bad_rates() -> None:
    # GIVEN a fake / WHEN faults are set, then set wrongly
    admin = client(EchoFake())
    set_ok = admin.post("/_sandbox/faults", json={"rate_5xx": 0.5, "seed": 3})
    set_bad = admin.post("/_sandbox/faults", json={"rate_5xx": 2})
    # THEN the first is in the settings, the second is a 400 with the reason
    assert (set_ok.status_code, set_ok.json()["rate_5xx"]) == (200, 0.5)
    assert set_bad.status_code == 400 and "between 0 and 1" in set_bad.json()["error"]


def test_admin_clock_route_moves_a_fake_clock() -> None:
    # GIVEN a fake on a FakeClock / WHEN the clock is advanced through the admin API
    clock = FakeClock(start=1000.0)
    response = client(EchoFake(clock)).post("/_sandbox/clock", json={"advance": 30})
    # THEN the fake's time moved
    assert (response.json(), clock()) == ({"now": 1030.0}, 1030.0)


def test_admin_requests_route_lists_the_request_log() -> None:
    # GIVEN one API call / WHEN the log is read through the admin API / THEN it lists the call
    admin = client(EchoFake())
    admin.get("/api/ping")
    assert admin.get("/_sandbox/requests").json() == {
        "requests": [{"method": "GET", "path": "/api/ping", "status": 200}]
    }


def test_a_request_limit_is_off_until_set_then_counts_per_clock_minute() -> None:
    # GIVEN a request limit on a fake clock, 20 s into a minute
    clock = FakeClock(1_767_225_620.0)
    limit = RequestLimit(clock)
    unlimited = [limit.check() for _ in range(5)]
    # WHEN it is set to 2 a minute and 3 requests come
    limit.configure(2)
    verdicts = [limit.consume() for _ in range(3)]
    # THEN without a limit nothing waits; with it the third waits 40 s, until the minute's end
    assert unlimited == [None] * 5
    assert [v.allowed for v in verdicts if v] == [True, True, False]
    assert verdicts[2] is not None and verdicts[2].retry_after_s == 40
    assert limit.resets_at() == 1_767_225_660


def test_a_request_limit_allows_at_least_one_request() -> None:
    # GIVEN a request limit / WHEN 0 a minute is set / THEN refused
    with pytest.raises(ValueError, match="at least 1"):
        RequestLimit(FakeClock()).configure(0)


def test_remaining_reads_a_budget_without_consuming_it() -> None:
    # GIVEN a 3-a-day budget used once
    limiter, day = RateLimiter(FakeClock()), Window(3, DAY_S)
    limiter.consume(("k", day))
    # WHEN it is read twice / THEN the same two remain, and an unused key has all three
    assert (limiter.remaining("k", day), limiter.remaining("k", day), limiter.remaining("other", day)) == (
        2,
        2,
        3,
    )


def test_http_sender_posts_through_an_injected_transport() -> None:
    # GIVEN a receiver reached in-process
    seen: list[bytes] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(202)

    send = http_sender(transport=httpx.MockTransport(receive))
    # WHEN a delivery is sent / THEN it arrived and its status is the receiver's
    assert send("https://hooks.example/x", b'{"a":1}', {"Content-Type": "application/json"}) == 202
    assert seen == [b'{"a":1}']
