"""Kixie bulk sync (`connections_cli bulk-sync --all`), in-process through the real CLI, engine and
stores (sandbox.stack.world: moto, the GHL sandbox, the Kixie fake), every contact with one open
task and one note, counted from the call log:

- Kixie calls / contacts (goal 1.0: one `updatepowerlist` carrying the fields and the digest);
- GHL calls / ceil(N/100), split into contact pages (POST /contacts/search, 100 a page: the goal's
  1 per 100) and the per-contact task and note listings the digest needs (GHL has no
  location-wide notes listing, so these are 2 per contact and the ratio is ~1 + 200);
- wall time and peak RSS of the process.

N is `BENCH_KIXIE_BULK_CONTACTS` (default 200). Wall time in-process is moto's, not ours: moto
deep-copies the whole table before every transactional write (a link save), so a run grows with
N squared; 10,000 contacts do not finish in minutes in-process. The ratios do not depend on N.

`python -m bench kixie_bulk`. Takes ~1 minute at the default.
"""

import io
import math
import os
import resource
import sys
import time
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync import connections_cli
from sandbox.stack.world import World

DEFAULT_CONTACTS = 200
SEED = 13
PAGE = 100


def _contacts() -> int:
    raw = os.environ.get("BENCH_KIXIE_BULK_CONTACTS", str(DEFAULT_CONTACTS))
    return max(int(raw), 1)


def run() -> dict[str, Any]:
    contacts = _contacts()
    with quiet_logs(), World(seed=SEED) as world:
        world.ghl.seed(world.location_id, contacts, tasks_per_contact=1, notes_per_contact=1)
        mark = world.mark()
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        status = connections_cli.main(
            ["bulk-sync", world.connection_ids["kixie"], "--all", "--json"], out=out, err=err
        )
        elapsed = time.perf_counter() - started
        if status != 0:
            raise RuntimeError(f"bulk-sync exited {status}: {out.getvalue()} {err.getvalue()}")
        calls = world.api_calls(since=mark)
    kixie = [c for c in calls if c.side == "kixie"]
    ghl = [c for c in calls if c.side == "ghl"]
    pages = [c for c in ghl if c.path.endswith("/contacts/search")]
    children = [c for c in ghl if c.path.endswith(("/tasks", "/notes"))]
    minimum_pages = math.ceil(contacts / PAGE)
    return {
        "contacts": contacts,
        "kixie_calls": len(kixie),
        "kixie_calls_per_contact (goal 1.0)": len(kixie) / contacts,
        "ghl_calls": len(ghl),
        "ghl_contact_pages": len(pages),
        "ghl_task_and_note_reads": len(children),
        "ghl_other": len(ghl) - len(pages) - len(children),
        "ghl_calls / ceil(N/100)": len(ghl) / minimum_pages,
        "ghl_pages / ceil(N/100) (goal 1.0)": len(pages) / minimum_pages,
        "wall_s": elapsed,
        "contacts_per_s": contacts / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
