"""GHL's API budget: per (app, location), 100 requests / 10 s burst and 200,000 / day.

The burst window slides (a log of recent request times); the daily window is the UTC day.
Both are unconfirmed details of GHL's implementation; only the limits and header names are
documented. Rejected requests do not consume budget.
"""

import math
from collections import deque
from dataclasses import dataclass, field

from sandbox.ghl.clock import Clock

DAY_S = 86_400


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after_s: int = 0


@dataclass
class _Bucket:
    recent: deque[float] = field(default_factory=deque)
    day: int = -1
    used_today: int = 0


class RateLimiter:
    def __init__(self, clock: Clock, *, burst_limit: int, burst_interval_ms: int, daily_limit: int) -> None:
        self.clock = clock
        self.burst_limit = burst_limit
        self.burst_interval_ms = burst_interval_ms
        self.daily_limit = daily_limit
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def consume(self, app_id: str, location_id: str) -> Verdict:
        now = self.clock()
        bucket = self._buckets.setdefault((app_id, location_id), _Bucket())
        window_s = self.burst_interval_ms / 1000
        while bucket.recent and bucket.recent[0] <= now - window_s:
            bucket.recent.popleft()
        today = int(now // DAY_S)
        if bucket.day != today:
            bucket.day, bucket.used_today = today, 0

        if bucket.used_today >= self.daily_limit:
            retry_after = math.ceil((today + 1) * DAY_S - now)
            return Verdict(False, self._headers(bucket), max(retry_after, 1))
        if len(bucket.recent) >= self.burst_limit:
            retry_after = math.ceil(bucket.recent[0] + window_s - now)
            return Verdict(False, self._headers(bucket), max(retry_after, 1))
        bucket.recent.append(now)
        bucket.used_today += 1
        return Verdict(True, self._headers(bucket))

    def _headers(self, bucket: _Bucket) -> dict[str, str]:
        return {
            "X-RateLimit-Limit-Daily": str(self.daily_limit),
            "X-RateLimit-Daily-Remaining": str(max(self.daily_limit - bucket.used_today, 0)),
            "X-RateLimit-Interval-Milliseconds": str(self.burst_interval_ms),
            "X-RateLimit-Max": str(self.burst_limit),
            "X-RateLimit-Remaining": str(max(self.burst_limit - len(bucket.recent), 0)),
        }
