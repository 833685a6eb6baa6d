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

    @property
    def limit(self) -> int:
        return self._limit

    def count_from(self, used: int) -> None:
        """Today's count starts at `used`: what earlier runs spent today, from a persisted count
        (a resumed bulk job), so this instance refuses where the day's quota really ends."""
        self._day, self.used = self._today(), max(used, 0)

    def _today(self) -> int:
        return math.floor(self._wall_clock() / DAY_S)

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


class RequestPacer:
    """At most `per_second` requests per second from this client: each request waits until
    1/per_second after the one before (for apps that state a ceiling and send no headers)."""

    def __init__(
        self,
        per_second: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0:
            raise ValueError("a request rate must be positive")
        self._interval = 1.0 / per_second
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None

    def before_request(self) -> None:
        now = self._clock()
        if self._last is not None and now < self._last + self._interval:
            self._sleep(self._last + self._interval - now)
            now = self._last + self._interval
        self._last = now

    def after_response(self, response: httpx.Response) -> None:
        return None


class HeaderPacer:
    """Waits out a spent window the app reports in its headers: after a response whose
    `remaining_header` is 0, the next request waits the seconds `reset_header` gives (a delta, or
    epoch seconds when the value is larger than a day). A wait beyond `max_wait_s` is not slept:
    RateLimited is raised so the queue retries later."""

    def __init__(
        self,
        remaining_header: str,
        reset_header: str | None,
        *,
        max_wait_s: float,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        app: str = "app",
    ) -> None:
        self._remaining = remaining_header.lower()
        self._reset = reset_header.lower() if reset_header else None
        self._max_wait_s = max_wait_s
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._app = app
        self._resume_at: float | None = None

    def before_request(self) -> None:
        if self._resume_at is None:
            return
        wait = self._resume_at - self._wall_clock()
        if wait > self._max_wait_s:
            raise RateLimited(f"{self._app} reports its rate limit spent", retry_after=wait)
        self._resume_at = None
        if wait > 0:
            self._sleep(wait)

    def after_response(self, response: httpx.Response) -> None:
        try:
            remaining = int(response.headers.get(self._remaining, ""))
        except ValueError:
            return
        if remaining > 0:
            self._resume_at = None
            return
        try:
            reset = float(response.headers.get(self._reset, "") if self._reset else "")
        except ValueError:
            reset = 1.0  # spent, with no reset time: a short pause rather than a 429 storm
        now = self._wall_clock()
        self._resume_at = reset if reset > DAY_S else now + max(0.0, reset)
