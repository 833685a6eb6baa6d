"""Paced throughput: how much of GHL's burst budget the client uses without earning 429s.

GETs of one contact go through GhlClient to the in-process GHL sandbox, whose budget is GHL's
100 requests per 10 s (a sliding window in the sandbox). Client and sandbox share one clock, in
two set-ups:

- virtual clock (2,000 GETs): time moves only when the client sleeps, so the figure is the pacing
  policy alone, exactly reproducible;
- scaled clock (500 GETs): real time running `time_scale` times faster (sleeps shortened to match),
  so the sandbox's processing time and timer jitter count too, as they would against GHL.

Reported per set-up: achieved rate / allowed rate and the number of 429s. The goal (ratio >= 0.9, no
429 after the first window) is judged on the virtual-clock run, the pacing policy itself; the scaled
run shows what real-time jitter costs on top (it varies with the machine's load). The allowed rate
is the steady budget, Max / Interval. Each set-up takes a few seconds.

`python -m bench.paced_throughput`, or `python -m bench` for every benchmark.
"""

import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.stack.lambda_runtime import LAYER_DIR

# The layer is on Lambda's path (/opt/python); running this module puts it on ours.
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.models import ContactCreate

GOAL_RATIO = 0.9
LOCATION = "locBenchPaced0000001"
TOKEN = "pit-00000000-0000-4000-8000-0000000bench"
BASE_URL = "https://ghl.sandbox"


class ScaledClock:
    """Epoch seconds that advance `scale` times faster than real time; `sleep` waits the real share."""

    def __init__(self, scale: float, *, real_clock: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self._real_clock = real_clock
        self._real_start = real_clock()
        self._virtual_start = time.time()

    def __call__(self) -> float:
        return self._virtual_start + (self._real_clock() - self._real_start) * self.scale

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0) / self.scale)


class TimedTransport(httpx.BaseTransport):
    """Passes requests to the sandbox and notes (virtual time, status) of each response."""

    def __init__(self, inner: httpx.BaseTransport, clock: Callable[[], float]) -> None:
        self.inner = inner
        self.clock = clock
        self.responses: list[tuple[float, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.responses.append((self.clock(), response.status_code))
        return response


def measure(
    requests: int, clock: Any, sleep: Callable[[float], None], *, burst_limit: int, burst_interval_ms: int
) -> dict[str, Any]:
    sandbox = GhlSandbox(
        clock=clock, sleep=sleep, burst_limit=burst_limit, burst_interval_ms=burst_interval_ms
    )
    sandbox.add_location(LOCATION, token=TOKEN)
    transport = TimedTransport(sandbox.transport(), clock)
    client = GhlClient(
        httpx.Client(transport=transport),
        StaticTokenProvider(TOKEN),
        LOCATION,
        base_url=BASE_URL,
        clock=clock,
        sleep=sleep,
    )
    contact = client.create_contact(ContactCreate(email="bench@example.test"))

    start_virtual, start_real = clock(), time.monotonic()
    for _ in range(requests):
        client.get_contact(contact.id)
    elapsed_virtual, elapsed_real = clock() - start_virtual, time.monotonic() - start_real

    window_s = burst_interval_ms / 1000
    rejected = [at for at, status in transport.responses if status == 429]
    achieved = requests / elapsed_virtual
    return {
        "GETs": requests,
        "clock s": elapsed_virtual,
        "real s": elapsed_real,
        "req/s": achieved,
        "allowed req/s": burst_limit / window_s,
        "ratio": achieved / (burst_limit / window_s),
        "429s": len(rejected),
        "429s after 1st window": sum(1 for at in rejected if at >= start_virtual + window_s),
        "pacer waited s": client.pacer.waited_s,
    }


def run(
    requests: int = 2_000,
    *,
    scaled_requests: int = 500,
    time_scale: float = 20.0,
    burst_limit: int = 100,
    burst_interval_ms: int = 10_000,
) -> dict[str, Any]:
    virtual = FakeClock()
    scaled = ScaledClock(time_scale)
    runs = {
        "virtual clock": measure(
            requests, virtual, virtual.sleep, burst_limit=burst_limit, burst_interval_ms=burst_interval_ms
        ),
        f"scaled clock x{time_scale:g}": measure(
            scaled_requests,
            scaled,
            scaled.sleep,
            burst_limit=burst_limit,
            burst_interval_ms=burst_interval_ms,
        ),
    }
    policy = runs["virtual clock"]
    goal_met = policy["ratio"] >= GOAL_RATIO and policy["429s after 1st window"] == 0
    return {
        "budget": f"{burst_limit} requests per {burst_interval_ms / 1000:g} s",
        "runs": runs,
        "goal (ratio >= 0.9, no 429 after the first window) met": goal_met,
    }


if __name__ == "__main__":
    result = run()
    print(f"budget: {result['budget']}")
    for name, figures in result["runs"].items():
        shown = ", ".join(f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
        print(f"{name}: {shown}")
    print(f"goal met: {result['goal (ratio >= 0.9, no 429 after the first window) met']}")
