"""Per-minute rate limits per action (target-apps.md §1.10): 429 + Retry-After, RATE_LIMIT_REACHED.

Limits are keyed by action, "<METHOD> <resource>" (for example "POST users"), or "*" for every
action; each counts requests in fixed one-minute windows of the injected clock.
"""

import math
from collections.abc import Callable


class RateLimiter:
    def __init__(self, clock: Callable[[], float], limits: dict[str, int] | None = None) -> None:
        self.clock = clock
        self.limits: dict[str, int] = dict(limits or {})
        self._counts: dict[tuple[str, int], int] = {}

    def configure(self, limits: dict[str, int]) -> None:
        self.limits = dict(limits)
        self._counts.clear()

    def check(self, action: str) -> float | None:
        """Count one request; return the seconds to wait when a limit is exceeded, else None."""
        now = self.clock()
        window = int(now // 60)
        retry_after: float | None = None
        for key in (action, "*"):
            limit = self.limits.get(key)
            if limit is None:
                continue
            counted = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = counted
            if counted > limit:
                retry_after = max(1.0, math.ceil((window + 1) * 60 - now))
        return retry_after
