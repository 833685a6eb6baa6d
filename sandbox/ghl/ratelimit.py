"""GHL's API budget: per (app, location), 100 requests / 10 s burst and 200,000 / day.

The burst window slides; the daily window is the UTC day (both on the kit's RateLimiter). Both
are unconfirmed details of GHL's implementation; only the limits and header names are
documented. Rejected requests do not consume budget.
"""

from dataclasses import dataclass

from sandbox.fakes.clock import Clock
from sandbox.fakes.ratelimit import DAY_S, RateLimiter, Window


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after_s: int = 0


class GhlBudget:
    def __init__(self, clock: Clock, *, burst_limit: int, burst_interval_ms: int, daily_limit: int) -> None:
        self.burst_limit = burst_limit
        self.burst_interval_ms = burst_interval_ms
        self.daily_limit = daily_limit
        self._burst = Window(burst_limit, burst_interval_ms / 1000, sliding=True)
        self._daily = Window(daily_limit, DAY_S)
        self._limiter = RateLimiter(clock)

    def consume(self, app_id: str, location_id: str) -> Verdict:
        key = (app_id, location_id)
        verdict = self._limiter.consume((key, self._daily), (key, self._burst))
        daily_remaining, burst_remaining = verdict.remaining
        headers = {
            "X-RateLimit-Limit-Daily": str(self.daily_limit),
            "X-RateLimit-Daily-Remaining": str(daily_remaining),
            "X-RateLimit-Interval-Milliseconds": str(self.burst_interval_ms),
            "X-RateLimit-Max": str(self.burst_limit),
            "X-RateLimit-Remaining": str(burst_remaining),
        }
        return Verdict(verdict.allowed, headers, verdict.retry_after_s)
