"""Pacing against GHL's per-location budget, driven by the X-RateLimit-* headers of every response.

GHL allows each app 100 requests per 10 s and 200,000 per day per location (shared/reference
ghl-api.md §3.2), and every response reports what is left:

    X-RateLimit-Max, X-RateLimit-Remaining, X-RateLimit-Interval-Milliseconds,
    X-RateLimit-Daily-Remaining (and X-RateLimit-Limit-Daily)

The budget is shared by every caller working on the same location (other Lambda instances, the
sweep, the webhook worker), so a local request count would be wrong: the pacer trusts the headers.
GHL sends no reset time and does not say whether its window is fixed or sliding, so the pacer works
for both. Policy, before each request:

- Remaining is comfortable (above `low_water` of Max): go at once.
- Remaining is low: spread what is left, at least Interval/Max apart (a rate any window sustains) and,
  within a window whose start we saw, evenly over the rest of it, so that callers sharing the budget
  do not all hit zero and then 429 together.
- Remaining is 0: wait for room. If we saw the window open (a response with Remaining = Max - 1), it
  ends one interval after that response. Otherwise (a sliding window, or one another caller opened)
  a slot frees when the oldest request inside the window leaves it: our own oldest answered request
  in the last interval, plus the interval (GHL counted it no later than it answered).
- Daily remaining is 0: raise GhlRateLimited at once (waiting hours inside a Lambda is pointless);
  after `daily_probe_after_s` one request is let through to learn whether the day has rolled over.

The pacer is a budget plug-in of the shared send loop (`ghlsync.http.budget.Budget`): the loop calls
`before_request` before every attempt and `after_response` with every response.

One pacer belongs to one location. It is not thread-safe; a worker uses one client per location.
"""

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from ghlsync.ghl.errors import GhlRateLimited


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The X-RateLimit-* headers of one response (None where a header was missing or unreadable)."""

    max: int | None
    remaining: int | None
    interval_s: float | None
    daily_remaining: int | None
    daily_max: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "RateLimitSnapshot":
        interval_ms = _int_header(headers, "x-ratelimit-interval-milliseconds")
        return cls(
            max=_int_header(headers, "x-ratelimit-max"),
            remaining=_int_header(headers, "x-ratelimit-remaining"),
            interval_s=interval_ms / 1000 if interval_ms and interval_ms > 0 else None,
            daily_remaining=_int_header(headers, "x-ratelimit-daily-remaining"),
            daily_max=_int_header(headers, "x-ratelimit-limit-daily"),
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
    # GHL's documented daily budget per location (ghl-api.md §3.2), for answers without the limit.
    DEFAULT_DAILY_LIMIT = 200_000
    # Bounds the memory of our own recent send times whatever budget GHL announces.
    _MAX_REMEMBERED = 10_000

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
        self._interval_s = self.DEFAULT_INTERVAL_S
        self._window_end: float | None = None
        # True when the window end was measured from a response that opened the window (Remaining
        # at Max - 1); False when it is only a bound, because the window began before we saw it.
        self._anchored = False
        # When each of our recent responses arrived: GHL counted the request no later than that.
        self._answered: deque[float] = deque(maxlen=self._MAX_REMEMBERED)
        self._last_sent: float | None = None
        self._daily_blocked_until: float | None = None
        self._daily: tuple[int, int | None] | None = None  # (remaining, limit) as last reported
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
        if self._remaining is None or self._max is None:
            return 0.0
        if self._remaining == 0:
            return max(0.0, self._budget_back_at(now) - now)
        if self._remaining > math.floor(self._max * self._low_water):
            return 0.0
        # Low: spread what is left. At least the steady rate (Max per Interval) apart, which a window
        # of either kind (fixed or sliding) sustains; within a window whose end is known, further
        # apart so that the remaining requests cover the rest of it.
        last = self._last_sent if self._last_sent is not None else now
        spacing = self._interval_s / self._max
        if self._anchored and self._window_end is not None and self._window_end > now:
            spacing = max(spacing, (self._window_end - last) / (self._remaining + 1))
        return max(0.0, last + spacing - now)

    def _budget_back_at(self, now: float) -> float:
        """When a spent budget has room again."""
        if self._anchored and self._window_end is not None and now < self._window_end:
            return self._window_end
        # The window began before we saw it, or it slides: a slot frees when the oldest request
        # inside it leaves. Our own are the ones we know of; each was counted by the time it was answered.
        while self._answered and self._answered[0] <= now - self._interval_s:
            self._answered.popleft()
        if self._answered:
            return self._answered[0] + self._interval_s
        return now + self._interval_s / self._max if self._max else now + self._interval_s

    def after_response(self, response: httpx.Response) -> None:
        self.observe(RateLimitSnapshot.from_headers(response.headers))

    def observe(self, snapshot: RateLimitSnapshot) -> None:
        """Record what one response said about the budget (call it for every response, errors too)."""
        now = self._clock()
        self._answered.append(now)
        while self._answered[0] <= now - self._interval_s:
            self._answered.popleft()
        if snapshot.daily_remaining == 0:
            self._daily_blocked_until = now + self._daily_probe_after_s
        if snapshot.daily_remaining is not None:
            self._daily = (snapshot.daily_remaining, snapshot.daily_max or self.DEFAULT_DAILY_LIMIT)
        if snapshot.remaining is None:
            return
        self._interval_s = snapshot.interval_s or self._interval_s
        self._max = snapshot.max if snapshot.max is not None else self._max
        if self._max is None:
            # Remaining alone cannot tell a low budget from a high one: nothing to pace on.
            return
        opened_window = snapshot.remaining >= self._max - 1
        if opened_window or self._window_end is None or now >= self._window_end:
            # The window this response counted against ends within one interval from now.
            self._window_end = now + self._interval_s
            self._anchored = opened_window
        self._remaining = snapshot.remaining

    def headroom(self) -> tuple[float | None, float | None]:
        """(window, daily): percent of the budget the last response said is left; None unknown.
        A window reading older than the window says nothing of it now (it has rolled over since):
        unknown, so a caller that waits for window room (a backfill) does not wait on it for ever
        while it sends nothing that would renew it."""
        window = None
        current = bool(self._answered) and self._answered[-1] > self._clock() - self._interval_s
        if current and self._remaining is not None and self._max:
            window = round(100 * self._remaining / self._max, 2)
        daily = None
        if self._daily is not None and self._daily[1]:
            daily = round(100 * self._daily[0] / self._daily[1], 3)
        return window, daily
