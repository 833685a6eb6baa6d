"""Fault injection, deterministic by seed (the same idea as the GHL sandbox).

Each API request draws one number from a seeded generator and may become a 429
(RATE_LIMIT_REACHED, Retry-After: 1), a 5xx, a timeout or a connection reset. 429 and 5xx are
answered by the WSGI app, so they also happen in server mode; timeouts and resets can only be
raised by the in-process transport (`FaultyTransport`):
- timeout: the request IS processed, then the client sees `httpx.ReadTimeout` (response lost);
- reset: the request is NOT processed; the client sees `httpx.ConnectError`.
"""

import random
import threading
from enum import StrEnum

import httpx


class Fault(StrEnum):
    RATE_LIMIT = "429"
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    RESET = "reset"


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.rates: dict[Fault, float] = dict.fromkeys(Fault, 0.0)
        self.injected: list[Fault] = []

    def configure(
        self, rate_429: float = 0.0, rate_5xx: float = 0.0, rate_timeout: float = 0.0, rate_reset: float = 0.0
    ) -> None:
        rates = {
            Fault.RATE_LIMIT: rate_429,
            Fault.SERVER_ERROR: rate_5xx,
            Fault.TIMEOUT: rate_timeout,
            Fault.RESET: rate_reset,
        }
        if any(not 0.0 <= r <= 1.0 for r in rates.values()) or sum(rates.values()) > 1.0:
            raise ValueError("fault rates must be shares in [0, 1] that add up to at most 1")
        self.rates = rates

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def draw(self, allowed: frozenset[Fault]) -> Fault | None:
        """Draw the fault (if any) for one request, among the kinds this layer can produce."""
        if not any(self.rates[f] for f in allowed):
            return None
        with self._lock:
            roll = self._rng.random()
        threshold = 0.0
        for fault in Fault:
            if fault not in allowed:
                continue
            threshold += self.rates[fault]
            if roll < threshold:
                self.injected.append(fault)
                return fault
        return None


TRANSPORT_FAULTS = frozenset({Fault.TIMEOUT, Fault.RESET})
APP_FAULTS = frozenset({Fault.RATE_LIMIT, Fault.SERVER_ERROR})


class FaultyTransport(httpx.BaseTransport):
    """httpx.WSGITransport over the fake, plus transport-level faults for /api/ requests."""

    def __init__(self, wsgi_app: object, faults: Faults) -> None:
        self._inner = httpx.WSGITransport(app=wsgi_app)  # type: ignore[arg-type]
        self._faults = faults

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.draw(TRANSPORT_FAULTS) if request.url.path.startswith("/api/") else None
        if fault is Fault.RESET:
            raise httpx.ConnectError("connection reset by peer (injected)", request=request)
        response = self._inner.handle_request(request)
        if fault is Fault.TIMEOUT:
            response.read()
            raise httpx.ReadTimeout("read timed out (injected)", request=request)
        return response
