"""Kixie API economy: Kixie API calls per synced GHL change, divided by the minimum the flow needs
(goal <= 1.1), in-process through the real handlers (sandbox.stack.world), counted from the Kixie
fake's own request log. Every Kixie call spends the account's 10,000-a-day quota.

Kixie has no read API, so every minimum is the writes themselves (MINIMUM_CALLS): one
`updatepowerlist` per contact change, two when the phone changes (the new entry, then removing the
old one), one digest refresh per task or note change, none for a change Kixie does not hold (a
tag). A call Kixie reports back carries its record (no read), but the GHL note it becomes is one of
the contact's latest notes, so the digest is refreshed once: one call.

`python -m bench kixie_calls`, or `python -m bench` for every benchmark. Takes ~15 seconds.
"""

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from ghlsync.observability import logger
from sandbox.apps.kixie import KixieSandbox
from sandbox.stack.world import World

CHANGES_PER_FLOW = 10
GOAL_RATIO = 1.1
SEED = 11

MINIMUM_CALLS = {
    "GHL contact created -> PowerList": 1,
    "GHL contact renamed -> PowerList": 1,
    "GHL phone changed -> PowerList (new entry, old removed)": 2,
    "GHL tag added (Kixie holds no tags)": 0,
    "GHL task created -> digest": 1,
    "GHL note created -> digest": 1,
    "Kixie call ended -> GHL note (+ digest)": 1,
}


@dataclass(frozen=True)
class Flow:
    name: str
    change: Callable[[World, int], object]  # (world, n): make the n-th change of this flow


def _kixie(world: World) -> KixieSandbox:
    fake = world.fake("kixie")
    assert isinstance(fake, KixieSandbox)
    return fake


def _contact_ids(world: World) -> list[str]:
    return sorted(world.ghl_contact_ids())


def _phone(n: int, generation: int = 0) -> str:
    return f"+1415{generation + 2}55{n:04d}"


FLOWS = [
    Flow(
        "GHL contact created -> PowerList",
        lambda w, n: w.ghl.ui_create_contact(
            w.location_id,
            firstName=f"Bench{n}",
            lastName="Caller",
            email=f"caller{n}@x.test",
            phone=_phone(n),
        ),
    ),
    Flow(
        "GHL contact renamed -> PowerList",
        lambda w, n: w.ghl.ui_update_contact(w.location_id, _contact_ids(w)[n], lastName=f"Renamed{n}"),
    ),
    Flow(
        "GHL phone changed -> PowerList (new entry, old removed)",
        lambda w, n: w.ghl.ui_update_contact(w.location_id, _contact_ids(w)[n], phone=_phone(n, 1)),
    ),
    Flow(
        "GHL tag added (Kixie holds no tags)",
        lambda w, n: w.ghl.ui_add_tags(w.location_id, _contact_ids(w)[n], [f"bench-{n}"]),
    ),
    Flow(
        "GHL task created -> digest",
        lambda w, n: w.ghl.ui_create_task(
            w.location_id, _contact_ids(w)[n], title=f"Follow up {n}", dueDate="2027-01-15T09:00:00Z"
        ),
    ),
    Flow(
        "GHL note created -> digest",
        lambda w, n: w.ghl.ui_create_note(w.location_id, _contact_ids(w)[n], body=f"Spoke to them ({n})"),
    ),
    Flow("Kixie call ended -> GHL note (+ digest)", lambda w, n: _kixie(w).emit_endcall(_phone(n, 1))),
]


def run() -> dict[str, Any]:
    level = logger.log_level
    logger.setLevel(logging.WARNING)
    table: dict[str, dict[str, Any]] = {}
    total_actual = total_minimum = 0
    try:
        with World(seed=SEED) as world:
            log = _kixie(world).request_log
            for flow in FLOWS:
                mark = len(log)
                for n in range(CHANGES_PER_FLOW):
                    flow.change(world, n)
                    world.clock.advance(1)
                world.settle(max_rounds=100)
                actual = sum(1 for r in log[mark:] if not r.path.startswith("/_sandbox"))
                minimum = MINIMUM_CALLS[flow.name] * CHANGES_PER_FLOW
                total_actual += actual
                total_minimum += minimum
                table[flow.name] = {
                    "kixie calls/change": actual / CHANGES_PER_FLOW,
                    "minimum": MINIMUM_CALLS[flow.name],
                    "ratio": actual / minimum if minimum else ("-" if actual == 0 else "over"),
                }
            dead = len(world.dead_letters())
            outgoing = len(_kixie(world).outgoing())
    finally:
        logger.setLevel(level)
    overall = total_actual / total_minimum
    return {
        "changes": CHANGES_PER_FLOW * len(FLOWS),
        "Kixie API calls per change by flow": table,
        "Kixie API calls / minimum (all flows)": overall,
        f"goal <= {GOAL_RATIO}": overall <= GOAL_RATIO,
        "calls or texts sent to customers": outgoing,
        "dead letters": dead,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("kixie_calls", run()))
