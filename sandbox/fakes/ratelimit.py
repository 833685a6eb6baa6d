"""Rate limits for every fake: windows of the injected clock, per key, checked together.

A `Window` is at most `limit` requests per `seconds`, either sliding (a log of recent request
times: GHL's 10-second burst) or fixed and aligned to the epoch (a clock minute: Kayako's
per-action limits; 86 400 s: a UTC-day quota such as GHL's 200,000/day or Kixie's 10,000/day).
`RateLimiter.consume` checks every (key, window) budget a request counts against and consumes all
of them only when each has room: a refused request consumes nothing. `RequestLimit`: an optional
per-minute limit for apps that document none.
"""

import math
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from sandbox.fakes.clock import Clock

DAY_S = 86_400.0


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float
    sliding: bool = False


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: tuple[int, ...]  # per budget asked for, after this request
    retry_after_s: int = 0  # when refused: seconds until every full budget has room again


@dataclass
class _Usage:
    recent: deque[float] = field(default_factory=deque)  # sliding windows
    window_index: int = -1  # fixed windows
    count: int = 0

    def used(self, window: Window, now: float) -> int:
        if window.sliding:
            while self.recent and self.recent[0] <= now - window.seconds:
                self.recent.popleft()
            return len(self.recent)
        index = int(now // window.seconds)
        if index != self.window_index:
            self.window_index, self.count = index, 0
        return self.count

    def wait_s(self, window: Window, now: float) -> float:
        if window.sliding:
            return self.recent[0] + window.seconds - now
        return (self.window_index + 1) * window.seconds - now

    def add(self, window: Window, now: float) -> None:
        if window.sliding:
            self.recent.append(now)
        else:
            self.count += 1


class RateLimiter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._usage: dict[tuple[Hashable, Window], _Usage] = {}

    def consume(self, *budgets: tuple[Hashable, Window]) -> Verdict:
        now = self.clock()
        usages = [self._usage.setdefault((key, window), _Usage()) for key, window in budgets]
        used = [usage.used(window, now) for usage, (_, window) in zip(usages, budgets, strict=True)]
        full = [
            usage.wait_s(window, now)
            for usage, count, (_, window) in zip(usages, used, budgets, strict=True)
            if count >= window.limit
        ]
        if full:
            remaining = tuple(max(w.limit - n, 0) for n, (_, w) in zip(used, budgets, strict=True))
            return Verdict(False, remaining, max(math.ceil(max(full)), 1))
        for usage, (_, window) in zip(usages, budgets, strict=True):
            usage.add(window, now)
        return Verdict(True, tuple(w.limit - n - 1 for n, (_, w) in zip(used, budgets, strict=True)))

    def remaining(self, key: Hashable, window: Window) -> int:
        """Requests `key` may still make in `window` now (nothing is consumed)."""
        usage = self._usage.get((key, window))
        return window.limit if usage is None else max(window.limit - usage.used(window, self.clock()), 0)

    def reset(self) -> None:
        self._usage.clear()


class RequestLimit:
    """A limit for an app that documents none (Payaca, eKyte): off unless `configure(per_minute)`
    sets one; `check()` is None when a request may go, else the seconds to wait (429 + Retry-After)."""

    def __init__(self, clock: Clock) -> None:
        self._limiter = RateLimiter(clock)
        self.per_minute: int | None = None

    def configure(self, per_minute: int | None = None) -> None:
        self.per_minute = per_minute
        self._limiter.reset()

    def check(self) -> float | None:
        if self.per_minute is None:
            return None
        verdict = self._limiter.consume(("*", Window(self.per_minute, 60.0)))
        return None if verdict.allowed else float(verdict.retry_after_s)
