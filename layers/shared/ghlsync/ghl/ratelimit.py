"""Pacing against GHL's per-location budget, driven by the X-RateLimit-* headers of every response.

GHL allows each app 100 requests per 10 s and 200,000 per day per location (shared/reference
ghl-api.md §3.2), and every response reports what is left:

    X-RateLimit-Max, X-RateLimit-Remaining, X-RateLimit-Interval-Milliseconds,
    X-RateLimit-Daily-Remaining (and X-RateLimit-Limit-Daily)

The budget is shared by every caller working on the same location (other Lambda instances, the
sweep, the webhook worker), so a local request count would be wrong: the pacer trusts the headers.
GHL sends no reset time, so the pacer estimates when the current window ends: a window that was
seen to start (Remaining went up, or a first observation) ends at most one interval after the
response that showed it. The estimate errs late, which only costs a little throughput.

Policy, before each request:
- Remaining is 0 and the window has not ended: wait for the window end.
- Remaining is low (at or below `low_water` of Max): spread what is left evenly over the rest of
  the window, so that callers sharing the budget do not all hit zero and then 429 together.
- Daily remaining is 0: raise GhlRateLimited at once (waiting hours inside a Lambda is pointless);
  after `daily_probe_after_s` one request is let through to learn whether the day has rolled over.

One pacer belongs to one location. It is not thread-safe; a worker uses one client per location.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ghlsync.ghl.errors import GhlRateLimited


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The X-RateLimit-* headers of one response (None where a header was missing or unreadable)."""

    max: int | None
    remaining: int | None
    interval_s: float | None
    daily_remaining: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "RateLimitSnapshot":
        interval_ms = _int_header(headers, "x-ratelimit-interval-milliseconds")
        return cls(
            max=_int_header(headers, "x-ratelimit-max"),
            remaining=_int_header(headers, "x-ratelimit-remaining"),
            interval_s=interval_ms / 1000 if interval_ms and interval_ms > 0 else None,
            daily_remaining=_int_header(headers, "x-ratelimit-daily-remaining"),
        )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(float(value))
    except ValueError:
        return None
    return number if number >= 0 else None


class RateLimitPacer:
    """Decides how long to wait before the next request to one location."""

    DEFAULT_INTERVAL_S = 10.0

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        low_water: float = 0.2,
        daily_probe_after_s: float = 300.0,
    ) -> None:
        if not 0 <= low_water < 1:
            raise ValueError("low_water is a share of the budget, in [0, 1)")
        self._clock = clock
        self._sleep = sleep
        self._low_water = low_water
        self._daily_probe_after_s = daily_probe_after_s
        self._remaining: int | None = None
        self._max: int | None = None
        self._window_end: float | None = None
        self._last_sent: float | None = None
        self._daily_blocked_until: float | None = None
        self.waited_s = 0.0

    def before_request(self) -> None:
        """Wait as the budget requires, then note the send time. Raises GhlRateLimited when the daily
        budget is spent."""
        now = self._clock()
        if self._daily_blocked_until is not None:
            if now < self._daily_blocked_until:
                raise GhlRateLimited(
                    "daily request budget for this location is spent",
                    retry_after=self._daily_blocked_until - now,
                    status=None,
                )
            self._daily_blocked_until = None
        delay = self._delay(now)
        if delay > 0:
            self.waited_s += delay
            self._sleep(delay)
            now = self._clock()
        self._last_sent = now

    def _delay(self, now: float) -> float:
        if self._remaining is None or self._window_end is None or now >= self._window_end:
            return 0.0
        left_in_window = self._window_end - now
        if self._remaining == 0:
            return left_in_window
        if self._max and self._remaining <= math.floor(self._max * self._low_water):
            spacing = (self._window_end - (self._last_sent or now)) / (self._remaining + 1)
            return max(0.0, (self._last_sent or now) + spacing - now)
        return 0.0

    def observe(self, snapshot: RateLimitSnapshot) -> None:
        """Record what one response said about the budget (call it for every response, errors too)."""
        now = self._clock()
        sent = self._last_sent if self._last_sent is not None else now
        if snapshot.daily_remaining == 0:
            self._daily_blocked_until = now + self._daily_probe_after_s
        if snapshot.remaining is None:
            return
        interval = snapshot.interval_s or self.DEFAULT_INTERVAL_S
        window_restarted = (
            self._window_end is None
            or self._remaining is None
            or snapshot.remaining > self._remaining
            or now >= self._window_end
        )
        if window_restarted:
            # The window this response counted against began no earlier than the request was sent,
            # and no later than now: ending it at now + interval is the safe (late) estimate.
            self._window_end = max(sent, now) + interval
        self._remaining = snapshot.remaining
        self._max = snapshot.max if snapshot.max is not None else self._max
