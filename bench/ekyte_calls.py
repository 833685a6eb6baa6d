"""eKyte API economy: eKyte calls per synced GHL change ÷ the writes the flow needs, and the calls
of a quiet poll ÷ one per polled feed (goal 1.0), in-process through the real handlers
(sandbox.stack.world), counted from the eKyte fake's request log.

eKyte cannot be searched by e-mail and its creates are not idempotent, so every create is preceded
by a look (the persons the polling window shows; the contact's tasks) that a blind create would
skip: the ratio above 1 is that price of never duplicating. The scheduled business refresh
(flow 2), which shares one look across its contacts, is measured by bench/ekyte_refresh.py.

`python -m bench ekyte_calls`, or `python -m bench` for every benchmark.
"""

import sys
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._app_calls import CHANGES_PER_FLOW, Flow, calls_per_change
from bench._quiet import quiet_logs
from sandbox.apps.ekyte import EkyteSandbox
from sandbox.stack.world import World

SEED = 17
FEED_PATHS = ("/n8n/polling/persons", "/n8n/polling/tasks")


def _ekyte(world: World) -> EkyteSandbox:
    fake = world.fake("ekyte")
    assert isinstance(fake, EkyteSandbox)
    return fake


def _contact_ids(world: World) -> list[str]:
    return sorted(world.ghl_contact_ids())


FLOWS = [
    Flow(
        "GHL contact, new business -> Person + person-contact",
        lambda w, n: w.ghl.ui_create_contact(
            w.location_id, firstName=f"Bench{n}", email=f"bench{n}@x.test", companyName=f"Business {n}"
        ),
        2,
    ),
    Flow(
        "GHL contact, same business -> person-contact",
        lambda w, n: w.ghl.ui_create_contact(
            w.location_id, firstName=f"Second{n}", email=f"second{n}@x.test", companyName=f"Business {n}"
        ),
        1,
    ),
    Flow(
        "GHL task created -> eKyte task",
        lambda w, n: w.ghl.ui_create_task(
            w.location_id, _contact_ids(w)[n], title=f"Follow up {n}", dueDate="2027-01-15T09:00:00Z"
        ),
        1,
    ),
]


def _quiet_poll_calls(world: World) -> tuple[int, int]:
    """(feed calls, other calls: the sweep's delete check reading linked records) of a quiet poll."""
    log = _ekyte(world).request_log
    world.sweep()
    world.settle()
    world.clock.advance(60)
    mark = len(log)
    world.sweep()
    api = [request.path for request in log[mark:] if not request.path.startswith("/_sandbox")]
    feed = sum(1 for path in api if path in FEED_PATHS)
    return feed, len(api) - feed


def run() -> dict[str, Any]:
    with quiet_logs(), World(seed=SEED) as world:
        table, overall = calls_per_change(
            world,
            _ekyte(world).request_log,
            FLOWS,
            "ekyte calls/change",
            counted=lambda request: not request.path.startswith("/_sandbox"),
        )
        feed_calls, delete_checks = _quiet_poll_calls(world)
        dead = len(world.dead_letters())
    return {
        "changes": CHANGES_PER_FLOW * len(FLOWS),
        "eKyte API calls per change by flow": table,
        "eKyte API calls / minimum writes (all flows)": overall,
        "quiet poll: feed calls / polled feeds (goal 1.0)": feed_calls / len(FEED_PATHS),
        "quiet poll: delete-check reads (SWEEP_DELETE_CHECKS_PER_CONNECTION)": delete_checks,
        "dead letters": dead,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("ekyte_calls", run()))
