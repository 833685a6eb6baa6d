"""Per-minute rate limits per action (target-apps.md §1.10): 429 + Retry-After, RATE_LIMIT_REACHED.

Limits are keyed by action, "<METHOD> <resource>" (for example "POST users"), or "*" for every
action; each counts requests in fixed one-minute windows of the injected clock (the kit's
RateLimiter), and a refused request counts against none of them.
"""

from sandbox.fakes.clock import Clock
from sandbox.fakes.ratelimit import RateLimiter, Window

MINUTE_S = 60.0


class ActionLimits:
    def __init__(self, clock: Clock, limits: dict[str, int] | None = None) -> None:
        self._limiter = RateLimiter(clock)
        self.limits: dict[str, int] = dict(limits or {})

    def configure(self, limits: dict[str, int]) -> None:
        self.limits = dict(limits)
        self._limiter.reset()

    def check(self, action: str) -> float | None:
        """Count one request; return the seconds to wait when a limit is exceeded, else None."""
        budgets = [(key, Window(self.limits[key], MINUTE_S)) for key in (action, "*") if key in self.limits]
        verdict = self._limiter.consume(*budgets)
        return None if verdict.allowed else float(verdict.retry_after_s)
