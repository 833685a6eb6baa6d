"""Fault injection for every fake: a seeded share of requests answered 429/5xx, timed out, or reset.

Where each fault happens:
- 429 and 5xx are answered by the fake before the request is processed (nothing applied), in
  the app's own error shape (`FakeMiddleware`'s `fault_response`).
- A reset drops the connection before the request reaches the app (nothing applied).
- A timeout is "applied then timed out" for a configurable share (`timeout_applied_share`):
  real timeouts often hit after the server wrote, so clients must make retries idempotent.
- `configure(methods=...)` limits faults to some HTTP methods (e.g. `{"POST"}`: a create applied
  then timed out while the client's re-reads still answer, as an app without idempotent POSTs needs).
In-process (`FaultyTransport`) a timeout raises httpx.ReadTimeout and a reset the app's
`reset_error`; in server mode the middleware sleeps past `timeout_delay_s`, and a reset aborts the
socket. One decision per request, two draws whatever the outcome, so the same seed and the same
sequence of requests give the same faults.
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
# Set by FaultyTransport for the request it forwards, so the middleware does not draw a second time.
decided_fault: ContextVar[tuple[Fault | None] | None] = ContextVar("decided_fault", default=None)


def _everywhere(path: str) -> bool:
    return True


class FaultInjector:
    """The seeded fault plan of one fake.

    `api_paths`: the paths faults may hit (never the admin API under /_sandbox); `auth_paths`:
    prefixes spared unless `configure(include_auth_paths=True)` (GHL's token endpoint: a client's
    refresh is tested on its own); `server_error_statuses`: the 5xx the app answers.
    """

    def __init__(
        self,
        seed: int | str,
        *,
        api_paths: Callable[[str], bool] = _everywhere,
        auth_paths: tuple[str, ...] = (),
        server_error_statuses: tuple[int, ...] = (500, 502, 503),
        timeout_applied_share: float = 0.5,
        reset_error: type[httpx.TransportError] = httpx.RemoteProtocolError,
    ) -> None:
        self._rng = random.Random(seed)
        self._api_paths = api_paths
        self._auth_paths = auth_paths
        self.server_error_statuses = server_error_statuses
        self.reset_error = reset_error
        self._default_applied_share = timeout_applied_share
        self.rate_429 = self.rate_5xx = self.rate_timeout = self.rate_reset = 0.0
        self.timeout_applied_share = timeout_applied_share
        self.timeout_delay_s = 30.0
        self.include_auth_paths = False
        self.methods: frozenset[str] | None = None  # None: every method
        self.injected: Counter[str] = Counter()

    def configure(
        self,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        rate_timeout: float = 0.0,
        rate_reset: float = 0.0,
        *,
        timeout_applied_share: float | None = None,
        timeout_delay_s: float = 30.0,
        include_auth_paths: bool = False,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Shares of API requests that fail; they must add up to at most 1. `methods`: only
        requests with these HTTP methods may fail (None: any)."""
        applied = self._default_applied_share if timeout_applied_share is None else timeout_applied_share
        rates = (rate_429, rate_5xx, rate_timeout, rate_reset, applied)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates[:4]) > 1.0:
            raise ValueError("fault rates are shares between 0 and 1 and add up to at most 1")
        self.rate_429, self.rate_5xx, self.rate_timeout, self.rate_reset = rates[:4]
        self.timeout_applied_share = applied
        self.timeout_delay_s = timeout_delay_s
        self.include_auth_paths = include_auth_paths
        self.methods = None if methods is None else frozenset(m.upper() for m in methods)

    def reseed(self, seed: int | str) -> None:
        self._rng = random.Random(seed)

    def settings(self) -> dict[str, Any]:
        return {
            "rate_429": self.rate_429,
            "rate_5xx": self.rate_5xx,
            "rate_timeout": self.rate_timeout,
            "rate_reset": self.rate_reset,
            "timeout_applied_share": self.timeout_applied_share,
            "timeout_delay_s": self.timeout_delay_s,
            "include_auth_paths": self.include_auth_paths,
            "methods": None if self.methods is None else sorted(self.methods),
            "injected": dict(self.injected),
        }

    def applies_to(self, path: str) -> bool:
        if path.startswith("/_sandbox") or not self._api_paths(path):
            return False
        return self.include_auth_paths or not path.startswith(self._auth_paths or ("\0",))

    def draw(self) -> Fault | None:
        """Two draws per request whatever the outcome, so the sequence stays aligned."""
        roll, detail = self._rng.random(), self._rng.random()
        fault: Fault | None = None
        statuses = self.server_error_statuses
        if roll < self.rate_429:
            fault = Fault(FaultKind.RATE_LIMIT, status=429)
        elif (roll := roll - self.rate_429) < self.rate_5xx:
            fault = Fault(FaultKind.SERVER_ERROR, status=statuses[int(detail * len(statuses))])
        elif (roll := roll - self.rate_5xx) < self.rate_timeout:
            fault = Fault(FaultKind.TIMEOUT, applied=detail < self.timeout_applied_share)
        elif roll - self.rate_timeout < self.rate_reset:
            fault = Fault(FaultKind.RESET)
        if fault is not None:
            self.injected[fault.kind.value] += 1
        return fault

    def decide(self, path: str, method: str = "GET") -> Fault | None:
        """The fault for one `method` request to `path` (drawn only for the paths and methods
        faults apply to)."""
        if self.methods is not None and method.upper() not in self.methods:
            return NO_FAULT
        return self.draw() if self.applies_to(path) else NO_FAULT


class FaultyTransport(httpx.BaseTransport):
    """httpx.WSGITransport over a fake that also raises transport-level faults."""

    def __init__(self, app: WSGIApp, faults: FaultInjector, on_dropped: Callable[[str, str], None]) -> None:
        self._inner = httpx.WSGITransport(app=app)
        self._faults = faults
        self._on_dropped = on_dropped  # records requests that never reached the app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.decide(request.url.path, request.method)
        if fault is not None and fault.kind is FaultKind.TIMEOUT:
            if fault.applied:
                self._forward(request, NO_FAULT).close()
            else:
                self._on_dropped(request.method, request.url.path)
            raise httpx.ReadTimeout("sandbox: injected read timeout", request=request)
        if fault is not None and fault.kind is FaultKind.RESET:
            self._on_dropped(request.method, request.url.path)
            raise self._faults.reset_error("sandbox: injected connection reset", request=request)
        return self._forward(request, fault)

    def _forward(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        token = decided_fault.set((fault,))
        try:
            response = self._inner.handle_request(request)
            response.read()
            return response
        finally:
            decided_fault.reset(token)
