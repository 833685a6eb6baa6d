"""eKyte's scheduled business-enriched refresh (flow 2): the GHL and eKyte calls of one refresh ÷
the minimum (goal ≤ 1.1), first when nothing is in eKyte yet and again when nothing changed, and
a quiet poll's feed calls ÷ the polled feeds (goal 1.0), in-process through the real refresh
function (sandbox.stack.world), counted from the fakes' request logs.

The minimum, for C contacts in B businesses: GHL ceil(C/100) contact pages + ceil(B/100) business
pages (every contact must be looked at to know it did not change); eKyte, when empty, one persons
index, one look per business (eKyte lists older persons by name only) and one create per Person
and person-contact (1 + 2B + C); when nothing changed, none.

BENCH_EKYTE_REFRESH_CONTACTS contacts (default 100, to run within a minute; the issue's case:
1000), one business per ten.
`python -m bench ekyte_refresh`, or `python -m bench` for every benchmark.
"""

import io
import math
import os
import sys
from contextlib import redirect_stdout
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync import connections_cli
from sandbox.apps.ekyte.stack import EKYTE
from sandbox.stack.world import World

SEED = 23
CONTACTS_PER_BUSINESS = 10
FEED_PATHS = ("/n8n/polling/persons", "/n8n/polling/tasks")


def _contacts() -> int:
    return max(CONTACTS_PER_BUSINESS, int(os.environ.get("BENCH_EKYTE_REFRESH_CONTACTS", "100")))


def _calls(world: World, since: int, side: str) -> int:
    return sum(1 for call in world.api_calls(side, since=since) if not call.path.startswith("/_sandbox"))


def _row(ghl: int, ekyte: int, ghl_min: int, ekyte_min: int) -> dict[str, Any]:
    return {
        "GHL calls": ghl,
        "GHL minimum": ghl_min,
        "GHL ratio": ghl / ghl_min,
        "eKyte calls": ekyte,
        "eKyte minimum": ekyte_min,
        "eKyte ratio": ekyte / ekyte_min if ekyte_min else (1.0 if ekyte == 0 else float(ekyte)),
    }


def run() -> dict[str, Any]:
    contacts = _contacts()
    businesses = contacts // CONTACTS_PER_BUSINESS
    with quiet_logs(), World(seed=SEED, apps=[EKYTE]) as world:
        for n in range(businesses):
            business = world.ghl.add_business(world.location_id, f"Business {n:03d}")
            world.ghl.seed(world.location_id, CONTACTS_PER_BUSINESS, business_id=business)
        ghl_min = math.ceil(contacts / 100) + math.ceil(businesses / 100)

        mark = world.mark()
        summary = world.refresh()
        first = _row(
            _calls(world, mark, "ghl"), _calls(world, mark, "ekyte"), ghl_min, 1 + 2 * businesses + contacts
        )

        mark = world.mark()
        status = connections_cli.main(
            ["refresh", world.connection_ids["ekyte"], "--json"], out=io.StringIO(), err=io.StringIO()
        )
        unchanged = _row(_calls(world, mark, "ghl"), _calls(world, mark, "ekyte"), ghl_min, 0)

        with redirect_stdout(io.StringIO()):  # the sweep's EMF metric lines, meant for CloudWatch
            world.settle()
            world.clock.advance(60)
            world.sweep()
            world.clock.advance(60)
            mark = world.mark()
            world.sweep()
        polled = [c.path.split("?")[0] for c in world.api_calls("ekyte", since=mark)]
        feed_calls = sum(1 for path in polled if path in FEED_PATHS)
    return {
        "contacts / businesses": f"{contacts} / {businesses}",
        "refresh": {"first (eKyte empty)": first, "again (nothing changed)": unchanged},
        "refreshes finished": [run["status"] for run in summary["runs"]] == ["finished"] and status == 0,
        "quiet poll: feed calls / polled feeds (goal 1.0)": feed_calls / len(FEED_PATHS),
        "quiet poll: other eKyte calls (delete checks)": len(polled) - feed_calls,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("ekyte_refresh", run()))
