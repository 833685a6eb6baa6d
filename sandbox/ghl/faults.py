"""Fault injection: a seeded share of requests answered 429/5xx, timed out, or reset.

Where each fault happens:
- 429 and 5xx are answered by the app before the request is processed (nothing applied).
- A reset drops the connection before the request reaches the app (nothing applied).
- A timeout is "applied then timed out" for a configurable share (`timeout_applied_share`):
  real timeouts often hit after the server wrote, so clients must make retries idempotent.
  In-process (`FaultyTransport`) it raises httpx.ReadTimeout / httpx.RemoteProtocolError; in
  server mode the app sleeps past `timeout_delay_s` and a reset aborts the socket.
The same seed and the same sequence of requests give the same faults.
"""

import random
from collections import Counter
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FaultKind(StrEnum):
    RATE_LIMIT = "429"
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    RESET = "reset"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 0  # for RATE_LIMIT / SERVER_ERROR
    applied: bool = False  # for TIMEOUT: the request was processed before the timeout


NO_FAULT = None
# Set by FaultyTransport for the request it forwards, so the app does not draw a second time.
decided_fault: ContextVar[tuple[Fault | None] | None] = ContextVar("decided_fault", default=None)


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"ghl-sandbox:{seed}:faults")
        self.rate_429 = self.rate_5xx = self.rate_timeout = self.rate_reset = 0.0
        self.timeout_applied_share = 0.5
        self.timeout_delay_s = 30.0
        self.include_oauth = False
        self.injected: Counter[str] = Counter()

    def configure(
        self,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        rate_timeout: float = 0.0,
        rate_reset: float = 0.0,
        *,
        timeout_applied_share: float = 0.5,
        timeout_delay_s: float = 30.0,
        include_oauth: bool = False,
    ) -> None:
        """Shares of API requests that fail; they must add up to at most 1."""
        rates = (rate_429, rate_5xx, rate_timeout, rate_reset, timeout_applied_share)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates[:4]) > 1.0:
            raise ValueError("fault rates are shares between 0 and 1 and add up to at most 1")
        self.rate_429, self.rate_5xx, self.rate_timeout, self.rate_reset = rates[:4]
        self.timeout_applied_share = timeout_applied_share
        self.timeout_delay_s = timeout_delay_s
        self.include_oauth = include_oauth

    def settings(self) -> dict[str, Any]:
        return {
            "rate_429": self.rate_429,
            "rate_5xx": self.rate_5xx,
            "rate_timeout": self.rate_timeout,
            "rate_reset": self.rate_reset,
            "timeout_applied_share": self.timeout_applied_share,
            "timeout_delay_s": self.timeout_delay_s,
            "include_oauth": self.include_oauth,
            "injected": dict(self.injected),
        }

    def applies_to(self, path: str) -> bool:
        if path.startswith("/_sandbox"):
            return False
        return self.include_oauth or not path.startswith("/oauth")

    def draw(self) -> Fault | None:
        """Two draws per request whatever the outcome, so the sequence stays aligned."""
        roll, detail = self._rng.random(), self._rng.random()
        fault: Fault | None = None
        if roll < self.rate_429:
            fault = Fault(FaultKind.RATE_LIMIT, status=429)
        elif (roll := roll - self.rate_429) < self.rate_5xx:
            fault = Fault(FaultKind.SERVER_ERROR, status=(500, 502, 503)[int(detail * 3)])
        elif (roll := roll - self.rate_5xx) < self.rate_timeout:
            fault = Fault(FaultKind.TIMEOUT, applied=detail < self.timeout_applied_share)
        elif roll - self.rate_timeout < self.rate_reset:
            fault = Fault(FaultKind.RESET)
        if fault is not None:
            self.injected[fault.kind.value] += 1
        return fault


class FaultyTransport(httpx.BaseTransport):
    """httpx.WSGITransport over the sandbox that also raises transport-level faults."""

    def __init__(self, app: WSGIApp, faults: FaultInjector, on_dropped: Callable[[str, str], None]) -> None:
        self._inner = httpx.WSGITransport(app=app)
        self._faults = faults
        self._on_dropped = on_dropped  # records requests that never reached the app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.draw() if self._faults.applies_to(request.url.path) else NO_FAULT
        if fault is not None and fault.kind is FaultKind.TIMEOUT:
            if fault.applied:
                self._forward(request, NO_FAULT).close()
            else:
                self._on_dropped(request.method, request.url.path)
            raise httpx.ReadTimeout("sandbox: injected read timeout", request=request)
        if fault is not None and fault.kind is FaultKind.RESET:
            self._on_dropped(request.method, request.url.path)
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return self._forward(request, fault)

    def _forward(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        token = decided_fault.set((fault,))
        try:
            response = self._inner.handle_request(request)
            response.read()
            return response
        finally:
            decided_fault.reset(token)
