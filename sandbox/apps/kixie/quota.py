"""Kixie's account quota (target-apps.md §3.5): 10,000 API calls a day per account, reset at
00:00 UTC by the fake's clock (the kit's fixed UTC-day window). Every authenticated API call
counts, event and webhook management alike; a refused call consumes nothing. Kixie documents no
rate-limit headers, so the answer past the limit is only the `success: false` error."""

from sandbox.fakes.clock import Clock
from sandbox.fakes.ratelimit import DAY_S, RateLimiter, Window

DAILY_LIMIT = 10_000


class DailyCounter:
    def __init__(self, clock: Clock, limit: int = DAILY_LIMIT) -> None:
        self._limiter = RateLimiter(clock)
        self.limit = limit

    @property
    def _day(self) -> Window:
        return Window(self.limit, DAY_S)

    def consume(self, businessid: str) -> bool:
        """Count one call for the account; False (nothing counted) once the day's limit is reached."""
        return self._limiter.consume((businessid, self._day)).allowed

    def spend(self, businessid: str, calls: int) -> int:
        """Count `calls` as if they had been made (to start a test near the limit); returns how
        many fitted."""
        return sum(1 for _ in range(max(calls, 0)) if self.consume(businessid))

    def remaining(self, businessid: str) -> int:
        return self._limiter.remaining(businessid, self._day)

    def configure(self, limit: int = DAILY_LIMIT) -> None:
        """A new daily limit (tests use small ones); the day's counts start again."""
        if limit < 1:
            raise ValueError("a daily limit is at least 1 call")
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        self._limiter.reset()
