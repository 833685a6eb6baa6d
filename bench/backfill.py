"""Backfill (`connections_cli backfill`) of N matching pairs (a GHL contact and a Kayako user with
the same email, neither linked), in-process through the real CLI, sync_worker handler, engine and
stores (sandbox.stack.world: moto, the GHL sandbox, the Kayako fake), counted from the call log:

- API calls / (pages to list both sides + writes needed) — goal <= 1.2. The pairs are identical,
  so no write is needed: the minimum is ceil(N/100) GHL search pages + ceil(N/100) Kayako pages;
- peak RSS of the process at the largest N / at the smallest (each N in its own process) — goal
  <= 1.1. The job holds one page in memory whatever N; but in-process moto keeps the table, and
  the sandboxes keep both sides' records, in the same process, so this ratio also grows with
  their N records (stated beside it, not subtracted);
- the job's own state between pages (its row's size: the page in hand is the only memory it holds);
- the wall time the job's GHL calls would take at GHL's real limit (100 / 10 s per location) with
  the backfill's default share (half of it), and the wall time it took here (moto's, mostly:
  moto deep-copies the table before every transactional write, one per linked pair).

N is `BENCH_BACKFILL_PAIRS`, a comma-separated list (default "50,200"; "1000,10000" for the
issue's figures, which take long in-process). `python -m bench backfill`.
"""

import io
import json
import math
import os
import resource
import subprocess
import sys
import time
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync import connections_cli
from ghlsync.backfill.jobs import JobStore
from ghlsync.store.connections import BackfillSettings

DEFAULT_PAIRS = "50,200"
PAGE = 100
SEED = 17
GHL_REQUESTS_PER_S = 10.0  # 100 per 10 s (ghl-api.md §3.2)


def _sizes() -> list[int]:
    raw = os.environ.get("BENCH_BACKFILL_PAIRS", DEFAULT_PAIRS)
    return sorted({max(int(part), 1) for part in raw.split(",") if part.strip()})


def one(pairs: int) -> dict[str, Any]:
    """One N, in this process."""
    from sandbox.apps.kayako.stack import KAYAKO
    from sandbox.stack.world import World

    with quiet_logs(), World(seed=SEED, apps=[KAYAKO]) as world:
        for n in range(pairs):
            email = f"pair{n}@example.test"
            world.ghl.ui_create_contact(world.location_id, firstName=f"Pair{n}", email=email)
            world.kayako.ui_create_user(f"Pair{n}", email=email)
        world.capture_webhooks()
        connection_id = world.connection_ids["kayako"]
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
        rows["largest / smallest"] = {
            "peak_rss_mb": sizes[-1]["peak_rss_mb"] / sizes[0]["peak_rss_mb"],
            "wall_here_s": sizes[-1]["wall_here_s"] / sizes[0]["wall_here_s"],
        }
    return rows


if __name__ == "__main__":
    print(json.dumps(one(int(sys.argv[1]))))
