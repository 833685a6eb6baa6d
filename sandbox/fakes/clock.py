"""Clocks for the sandbox: the real one by default, a fake one that tests move by hand."""

from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds since the epoch, like time.time."""

# 2026-01-01T00:00:00Z: a fixed, recent instant so ISO dates in tests read naturally.
DEFAULT_FAKE_START = 1_767_225_600.0


class FakeClock:
    """A clock that only moves when told to; also usable as an injected `sleep`."""

    def __init__(self, start: float = DEFAULT_FAKE_START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
