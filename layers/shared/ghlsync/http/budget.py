"""Budget plug-ins: optional pacing hooks the send loop calls around every attempt.

`before_request` may sleep (pacing) or raise a RateLimited (a spent budget: refuse before sending);
`after_response` sees every response, errors included (rate-limit headers). GHL's RateLimitPacer
(ghl/ratelimit.py, which reads GHL's X-RateLimit-* headers) is one plug-in; `DailyQuota` is the
other, for apps that document only a daily quota.
"""

import math
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from ghlsync.core.errors import RateLimited

DAY_S = 86_400


class Budget(Protocol):
    def before_request(self) -> None: ...

    def after_response(self, response: httpx.Response) -> None: ...


class DailyQuota:
    """At most `limit` requests per UTC day (Kixie: 10,000/day, reset at 00:00 UTC).

    A request that would exceed the quota is refused before it is sent, with RateLimited whose
    `retry_after` is the seconds left until the next 00:00 UTC. The count is local to this instance
    (one client in one container): other containers or processes spending the same quota are not
    seen, so this keeps one client from burning the day, not a fleet; the app's own 429 still applies.
    """

    def __init__(
        self,
        limit: int,
        *,
        wall_clock: Callable[[], float] = time.time,
        app: str = "app",
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        """`on_refused` is told of every refusal (a metric: a spent quota is an operator's matter)."""
        if limit < 1:
            raise ValueError("a daily quota is at least 1 request")
        self._limit = limit
        self._wall_clock = wall_clock
        self._app = app
        self._on_refused = on_refused
        self._day: int | None = None
        self.used = 0

    def before_request(self) -> None:
        now = self._wall_clock()
        day = math.floor(now / DAY_S)
        if day != self._day:
            self._day, self.used = day, 0
        if self.used >= self._limit:
            if self._on_refused is not None:
                self._on_refused()
            raise RateLimited(
                f"{self._app} daily quota of {self._limit} requests is spent",
                retry_after=(day + 1) * DAY_S - now,
            )
        self.used += 1

    def after_response(self, response: httpx.Response) -> None:
        return None

    def headroom_percent(self) -> float:
        """What is left of today's quota, in percent (as this instance counted it)."""
        day = math.floor(self._wall_clock() / DAY_S)
        used = self.used if day == self._day else 0
        return round(100 * (self._limit - used) / self._limit, 3)
