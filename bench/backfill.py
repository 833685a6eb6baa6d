"""Backfill (`connections_cli backfill`) of N matching pairs (a GHL contact and a Kayako user with
the same email, neither linked), in-process through the real CLI, sync_worker handler, engine and
stores (sandbox.stack.world: moto, the GHL sandbox, the Kayako fake), counted from the call log:

- API calls / (pages to list both sides + writes needed) — goal <= 1.2. The pairs are identical,
  so no write is needed: the minimum is ceil(N/100) GHL search pages + ceil(N/100) Kayako pages;
- peak memory at the largest N / at the smallest (each N in its own process) — goal <= 1.1 —
  measured two ways, both printed:
  - the whole process (`peak_rss_mb`, the kernel's high-water mark): in-process moto keeps the
    table and the sandboxes keep both sides' N records in this process, so it grows with their
    records, not with the job's;
  - the job's own (`page_peak_mb`): the most memory one handler invocation held at once, measured
    by tracemalloc started and stopped around the invocation, so the N records seeded before and
    what earlier pages wrote are not counted: the page in hand, its answers and the rows it writes
    (the fakes' and moto's work serving that page included: a fake that read all N records per
    page would show here). The job runs in three phases of ceil(N/100) invocations each (index
    the app's listing, match GHL's, create the unclaimed); tracemalloc makes an invocation about
    3 times slower, so one invocation per phase is traced, at the same place in each phase at
    every N (`invocations_traced`; `traced_s` is their part of the wall time);
- the job's own state between pages (its row's size: nothing else survives a page);
- the wall time the job's GHL calls would take at GHL's real limit (100 / 10 s per location) with
  the backfill's default share (half of it), and the wall time it took here: moto's and boto3's,
  mostly (about 11 DynamoDB calls a pair, ~5 ms each in-process);
  sandbox.stack.moto_scale keeps moto from copying the table for each transaction and from
  reading the whole table for each query.

The bench gives the job the whole burst budget (`burst_share` 1): in-process the sandboxes' clock
stands still while a page runs, and the runner's share gate (ghlsync.backfill.runner `_gate`)
reads the headroom of the last GHL answer, which a page that writes nothing to GHL never renews:
from about 5,000 pairs here (over 50 GHL calls in one fake 10 s window) it would sleep 30 s, for
real, before every pair. The wall time at GHL's real limit is worked out with the default share.

N is `BENCH_BACKFILL_PAIRS`, a comma-separated list (default "50,200", a few minutes; the issue's
"1000,10000" takes about 17 minutes on the shared two cores). `python -m bench backfill`.
"""

import io
import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync import connections_cli
from ghlsync.backfill.jobs import JobStore
from ghlsync.store.connections import BackfillSettings, ConnectionStore

DEFAULT_PAIRS = "50,200"
PAGE = 100
SEED = 17
GHL_REQUESTS_PER_S = 10.0  # 100 per 10 s (ghl-api.md §3.2)


def _sizes() -> list[int]:
    raw = os.environ.get("BENCH_BACKFILL_PAIRS", DEFAULT_PAIRS)
    return sorted({max(int(part), 1) for part in raw.split(",") if part.strip()})


class InvocationPeaks:
    """The most memory one handler invocation held at once, over every `stride`-th invocation
    (tracemalloc on only meanwhile)."""

    def __init__(self, stride: int) -> None:
        self.stride = stride
        self.invocations = self.traced = self.peak_bytes = 0
        self.traced_s = 0.0

    def around(self, invoke: Callable[[str, dict[str, Any]], Any]) -> Callable[[str, dict[str, Any]], Any]:
        def measured(logical_id: str, event: dict[str, Any]) -> Any:
            self.invocations += 1
            if self.invocations % self.stride:
                return invoke(logical_id, event)
            self.traced += 1
            started = time.perf_counter()
            tracemalloc.start()
            try:
                return invoke(logical_id, event)
            finally:
                self.peak_bytes = max(self.peak_bytes, tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
                self.traced_s += time.perf_counter() - started

        return measured


def _whole_burst_for_the_job(table: Any, connection_id: str) -> None:
    connections = ConnectionStore(table)
    stored = connections.get(connection_id)
    assert stored is not None
    backfill = stored.settings.backfill.model_copy(update={"burst_share": 1.0})
    connections.put(
        stored.model_copy(update={"settings": stored.settings.model_copy(update={"backfill": backfill})})
    )


def one(pairs: int) -> dict[str, Any]:
    """One N, in this process."""
    from sandbox.apps.kayako.stack import KAYAKO
    from sandbox.stack.world import World

    # One invocation per phase, near its end: the same places at every N.
    peaks = InvocationPeaks(stride=math.ceil(pairs / PAGE))
    with quiet_logs(), World(seed=SEED, apps=[KAYAKO]) as world:
        for n in range(pairs):
            email = f"pair{n}@example.test"
            world.ghl.ui_create_contact(world.location_id, firstName=f"Pair{n}", email=email)
            world.kayako.ui_create_user(f"Pair{n}", email=email)
        world.capture_webhooks()
        connection_id = world.connection_ids["kayako"]
        _whole_burst_for_the_job(world.table, connection_id)
        world.invoke = peaks.around(world.invoke)  # type: ignore[method-assign,assignment]
        mark = world.mark()
        started = time.perf_counter()
        out, err = io.StringIO(), io.StringIO()
        if connections_cli.main(["backfill", connection_id, "--no-wait"], out=out, err=err) != 0:
            raise RuntimeError(err.getvalue())
        world.settle(max_rounds=600)
        elapsed = time.perf_counter() - started
        job = JobStore(world.table).get(connection_id)
        calls = world.api_calls(since=mark)
    assert job is not None and job.status.value == "finished", job
    ghl = [c for c in calls if c.side == "ghl"]
    kayako = [c for c in calls if c.side == "kayako"]
    minimum = 2 * math.ceil(pairs / PAGE)
    share = BackfillSettings().burst_share
    return {
        "linked": job.counts.get("linked_by_email", 0),
        "ghl_calls": len(ghl),
        "kayako_calls": len(kayako),
        "minimum (pages both sides)": minimum,
        "calls / minimum (goal <= 1.2)": (len(ghl) + len(kayako)) / minimum,
        "ghl_wall_at_real_limit_s": len(ghl) / (GHL_REQUESTS_PER_S * share),
        "wall_here_s": elapsed,
        # What the job keeps between pages (its row; the index is in the table): flat in N but
        # for the counts' digits.
        "job_row_bytes": len(job.model_dump_json()),
        "page_peak_mb": peaks.peak_bytes / 2**20,
        "invocations_traced": f"{peaks.traced}/{peaks.invocations}",
        "traced_s": peaks.traced_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run() -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for pairs in _sizes():
        child = subprocess.run(  # noqa: S603 - this interpreter, this module, a number
            [sys.executable, "-m", "bench.backfill", str(pairs)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
        rows[f"N={pairs}"] = json.loads(child.stdout.strip().splitlines()[-1])
    sizes = list(rows.values())
    if len(sizes) > 1:
        # Ratios, under the columns they compare: page_peak_mb is the job's own memory (goal
        # <= 1.1), peak_rss_mb the whole process's (the sandboxes' and moto's N records included).
        rows["largest / smallest"] = {
            column: sizes[-1][column] / sizes[0][column]
            for column in ("page_peak_mb", "peak_rss_mb", "wall_here_s")
        }
    return {
        "each N in its own process (page_peak_mb: the job's own memory; peak_rss_mb: the whole "
        "process, moto's and the sandboxes' N records included)": rows
    }


if __name__ == "__main__":
    print(json.dumps(one(int(sys.argv[1]))))
