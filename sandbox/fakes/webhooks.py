"""The webhook emitter of every fake: queued deliveries, the app's retry rule, and its signing.

A fake queues one `Delivery` per (change, target) with the exact bytes and headers to send;
`Outbox.deliver()` posts the due ones through a `Sender` (a real HTTP POST by default; the World
and the tests pass their own) and records each attempt. What an answer means is the app's
`RetryRule`: GHL retries only a 429 (6 times, ~10 min apart) and gives up on anything else;
Kayako's automations never retry. A sender that raises (connection refused, timeout) is an
attempt with status 0 and the error recorded; it is retried only if the rule says so.

How a receiver authenticates a delivery is the app's too, built from these helpers:
- unsigned, with a shared token in the URL (`url_with_token`) or in a header (`token_header`);
- HMAC over the raw body (`hmac_signature`: SHA-256/SHA-1, hex or base64, optional prefix), or
  over `<unix seconds>.<raw body>` with the time in a header of its own (`timestamped_hmac_signature`);
- an app's own keys (GHL's Ed25519/RSA, in sandbox.ghl.webhooks).
"""

import base64
import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from sandbox.fakes.clock import Clock

Sender = Callable[[str, bytes, dict[str, str]], int]
"""(url, body, headers) -> HTTP status; raises on transport failure."""

Sign = Callable[[bytes], dict[str, str]]
"""body -> the headers that authenticate it."""


def http_sender(timeout_s: float = 10.0, *, transport: httpx.BaseTransport | None = None) -> Sender:
    """An HTTP POST: over the network (server mode and manual runs), or through `transport`
    (an in-process receiver, e.g. httpx.WSGITransport of the stack's API)."""
    client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        return client.post(url, content=body, headers=headers).status_code

    return send


def unsigned(body: bytes) -> dict[str, str]:
    return {}


def token_header(name: str, token: str) -> Sign:
    """The receiver's shared secret in a header of every delivery."""
    return lambda body: {name: token}


def url_with_token(url: str, token: str, *, param: str = "token") -> str:
    """The receiver's shared secret as a query parameter of its URL."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), (param, token)])
    return urlunsplit(parts._replace(query=query))


def hmac_signature(
    secret: str,
    header: str,
    *,
    algorithm: Literal["sha256", "sha1"] = "sha256",
    encoding: Literal["hex", "base64"] = "hex",
    prefix: str = "",
) -> Sign:
    """HMAC of the raw body with `secret`, e.g. `X-Payaca-Signature: <hex sha256>`."""

    def sign(body: bytes) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).digest()
        text = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")
        return {header: prefix + text}

    return sign


def timestamped_hmac_signature(
    secret: str,
    header: str,
    timestamp_header: str,
    clock: Clock,
    *,
    algorithm: Literal["sha256", "sha1"] = "sha256",
    encoding: Literal["hex", "base64"] = "hex",
) -> Sign:
    """HMAC of `<unix seconds>.<raw body>`, the seconds (the clock at signing) in `timestamp_header`:
    a receiver checks both, so a captured delivery cannot be replayed after its tolerance."""
    signed = hmac_signature(secret, header, algorithm=algorithm, encoding=encoding)

    def sign(body: bytes) -> dict[str, str]:
        stamp = str(int(clock()))
        return {**signed(f"{stamp}.".encode() + body), timestamp_header: stamp}

    return sign


@dataclass(frozen=True)
class RetryRule:
    """Which answers a delivery is retried after, how often and how far apart."""

    retry_statuses: frozenset[int] = frozenset()
    retry_errors: bool = False  # retry when the sender raised (no answer)
    max_retries: int = 0
    interval_s: float = 0.0
    # Each wait is the previous one times this (1: a fixed interval, as GHL's; 2: exponential).
    backoff_factor: float = 1.0

    def wait_after(self, attempts: int) -> float:
        """The wait before the next attempt, after `attempts` attempts (>= 1)."""
        return self.interval_s * self.backoff_factor ** (attempts - 1)


NO_RETRY = RetryRule()

DeliveryState = Literal["pending", "delivered", "failed", "exhausted"]


@dataclass(kw_only=True)
class Delivery:
    """One webhook to one target; retried with the same bytes."""

    url: str
    body: bytes
    headers: dict[str, str]
    next_attempt_at: float
    attempts: int = 0
    status: int | None = None  # the last HTTP status received; 0 when the send raised
    error: str | None = None  # the last exception, when the send raised
    state: DeliveryState = "pending"
    history: list[int | str] = field(default_factory=list)  # status or error of every attempt


class Outbox[D: Delivery]:
    """Queued deliveries of one fake; `deliver` sends the due ones once.

    The fake's lock guards the queue; it is never held while sending, so an in-process receiver
    may call back into the fake."""

    def __init__(
        self, clock: Clock, lock: threading.RLock, sender: Sender, rule: RetryRule = NO_RETRY
    ) -> None:
        self.clock = clock
        self.lock = lock
        self.sender = sender
        self.rule = rule
        self.deliveries: list[D] = []

    def queue(self, delivery: D) -> D:
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    @property
    def pending(self) -> list[D]:
        return [d for d in self.deliveries if d.state == "pending"]

    def deliver(self, now: float | None = None) -> list[D]:
        """Send every due delivery once; returns those attempted."""
        with self.lock:
            at = self.clock() if now is None else now
            due = [d for d in self.deliveries if d.state == "pending" and d.next_attempt_at <= at]
        for delivery in due:
            status, error = 0, None
            try:
                status = self.sender(delivery.url, delivery.body, dict(delivery.headers))
            except Exception as exc:  # any failure to deliver is recorded, as the apps do
                error = f"{type(exc).__name__}: {exc}"
            with self.lock:
                self._record(delivery, at, status=status, error=error)
        return due

    def _record(self, delivery: D, now: float, *, status: int, error: str | None) -> None:
        delivery.attempts += 1
        delivery.status, delivery.error = status, error
        delivery.history.append(status if error is None else f"error: {error}")
        retry = status in self.rule.retry_statuses if error is None else self.rule.retry_errors
        if error is None and 200 <= status < 300:
            delivery.state = "delivered"
        elif not retry:
            delivery.state = "failed"
        elif delivery.attempts > self.rule.max_retries:
            delivery.state = "exhausted"
        else:
            delivery.next_attempt_at = now + self.rule.wait_after(delivery.attempts)
