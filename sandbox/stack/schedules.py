"""Schedule ticks: every ScheduleV2 event of template.yaml, fired at its rate (or faster).

EventBridge Scheduler invokes the function asynchronously. When the schedule has no `Input`
it sends an EventBridge-style envelope (`source: aws.scheduler`, `detail-type: Scheduled Event`,
`detail: "{}"`); with an `Input` the function receives that JSON as it is.

`rate(...)` expressions are ticked locally, divided by `speed` (a speed of 60 turns a 30-minute
rate into a 30-second one). `cron(...)` and `at(...)` expressions are listed but not ticked:
use `tick(schedule)` (the dev stack's `DevStack.tick(function)`) to fire one by hand.
"""

import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.stack.background import BackgroundLoop
from sandbox.stack.gateway import ACCOUNT_ID

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Schedule:
    function: str  # the function's logical id
    name: str  # the event's key under Events
    expression: str
    input: str | None = None

    @property
    def period_seconds(self) -> float | None:
        """Seconds between ticks for a rate() expression; None for cron()/at()."""
        found = _RATE.fullmatch(self.expression.strip())
        if found is None:
            return None
        amount, unit = int(found.group(1)), found.group(2).rstrip("s")
        if amount < 1:
            raise ValueError(f"{self.expression}: a rate must be at least 1")
        return float(amount * _UNIT_SECONDS[unit])


def schedules_from_template(
    template: Mapping[str, Any], resolve: Callable[[Any], Any] = lambda value: value
) -> list[Schedule]:
    """Every enabled ScheduleV2 event; `resolve` evaluates intrinsics (`!Ref Parameter`)."""
    found: list[Schedule] = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") != "ScheduleV2":
                continue
            # Only what a tick needs is resolved (the DLQ and retry settings stay AWS's business).
            props = event.get("Properties", {})
            if resolve(props.get("State", "ENABLED")) == "DISABLED":
                continue
            expression = str(resolve(props["ScheduleExpression"]))
            payload = resolve(props["Input"]) if "Input" in props else None
            found.append(Schedule(logical_id, event_name, expression, payload))
    return found


def scheduler_event(
    schedule: Schedule, *, now: datetime | None = None, region: str = "us-east-1"
) -> dict[str, Any]:
    """What EventBridge Scheduler hands the function for one tick of `schedule`."""
    if schedule.input is not None:
        payload: dict[str, Any] = json.loads(schedule.input)
        return payload
    instant = (now or datetime.now(UTC)).replace(microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT_ID,
        "time": instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [
            f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{schedule.function}-{schedule.name}"
        ],
        "detail": "{}",
    }


class ScheduleTicker:
    """Fires each rate() schedule every `period / speed` seconds on a background thread."""

    def __init__(
        self,
        schedules: list[Schedule],
        invoke: Invoke,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        if speed <= 0:
            raise ValueError("schedule speed must be positive")
        self.schedules = schedules
        self._invoke = invoke
        self._speed = speed
        self._clock = clock
        self._log = log
        self._next_due: dict[Schedule, float] = {}
        self._loop = BackgroundLoop("schedules", self._run)

    def interval(self, schedule: Schedule) -> float | None:
        period = schedule.period_seconds
        return None if period is None else period / self._speed

    def arm(self) -> None:
        """Start every rate() schedule's clock now; the first tick comes one interval later."""
        now = self._clock()
        for schedule in self.schedules:
            interval = self.interval(schedule)
            if interval is None:
                self._log(f"{schedule.function}.{schedule.name}: {schedule.expression} is not ticked locally")
            else:
                self._next_due[schedule] = now + interval
                self._log(f"{schedule.function}.{schedule.name}: {schedule.expression} → every {interval:g}s")

    def run_due(self) -> list[Schedule]:
        """Fire every schedule whose time has come; returns the ones fired."""
        now = self._clock()
        fired = [s for s, due in self._next_due.items() if due <= now]
        for schedule in fired:
            interval = self.interval(schedule)
            assert interval is not None
            self._next_due[schedule] = now + interval
            self.tick(schedule)
        return fired

    def tick(self, schedule: Schedule) -> Any:
        """Invoke the function once, as the scheduler would; failures are logged, not raised."""
        started = time.perf_counter()
        try:
            result = self._invoke(schedule.function, scheduler_event(schedule))
        except Exception as exc:
            self._log(
                f"{schedule.function} tick failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            )
            return None
        self._log(f"{schedule.function} ticked ({(time.perf_counter() - started) * 1000:.0f}ms)")
        return result

    def find(self, function: str) -> Schedule:
        for schedule in self.schedules:
            if function in (schedule.function, f"{schedule.function}.{schedule.name}"):
                return schedule
        raise KeyError(function)

    def start(self) -> None:
        self.arm()
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self.run_due()
            upcoming = [due - self._clock() for due in self._next_due.values()]
            stopping.wait(max(0.05, min(upcoming, default=1.0)))
