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

import sys
from collections.abc import Callable
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._app_calls import CHANGES_PER_FLOW, Flow, calls_per_change
from bench._quiet import quiet_logs
from sandbox.apps.kixie import KixieSandbox
from sandbox.stack.world import World

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


def _kixie(world: World) -> KixieSandbox:
    fake = world.fake("kixie")
    assert isinstance(fake, KixieSandbox)
    return fake


def _contact_ids(world: World) -> list[str]:
    return sorted(world.ghl_contact_ids())


def _phone(n: int, generation: int = 0) -> str:
    return f"+1415{generation + 2}55{n:04d}"


_CHANGES: list[tuple[str, Callable[[World, int], object]]] = [
    (
        "GHL contact created -> PowerList",
        lambda w, n: w.ghl.ui_create_contact(
            w.location_id,
            firstName=f"Bench{n}",
            lastName="Caller",
            email=f"caller{n}@x.test",
            phone=_phone(n),
        ),
    ),
    (
        "GHL contact renamed -> PowerList",
        lambda w, n: w.ghl.ui_update_contact(w.location_id, _contact_ids(w)[n], lastName=f"Renamed{n}"),
    ),
    (
        "GHL phone changed -> PowerList (new entry, old removed)",
        lambda w, n: w.ghl.ui_update_contact(w.location_id, _contact_ids(w)[n], phone=_phone(n, 1)),
    ),
    (
        "GHL tag added (Kixie holds no tags)",
        lambda w, n: w.ghl.ui_add_tags(w.location_id, _contact_ids(w)[n], [f"bench-{n}"]),
    ),
    (
        "GHL task created -> digest",
        lambda w, n: w.ghl.ui_create_task(
            w.location_id, _contact_ids(w)[n], title=f"Follow up {n}", dueDate="2027-01-15T09:00:00Z"
        ),
    ),
    (
        "GHL note created -> digest",
        lambda w, n: w.ghl.ui_create_note(w.location_id, _contact_ids(w)[n], body=f"Spoke to them ({n})"),
    ),
    ("Kixie call ended -> GHL note (+ digest)", lambda w, n: _kixie(w).emit_endcall(_phone(n, 1))),
]
FLOWS = [Flow(name, change, MINIMUM_CALLS[name]) for name, change in _CHANGES]


def run() -> dict[str, Any]:
    with quiet_logs(), World(seed=SEED) as world:
        table, overall = calls_per_change(
            world,
            _kixie(world).request_log,
            FLOWS,
            "kixie calls/change",
            counted=lambda request: not request.path.startswith("/_sandbox"),
        )
        dead = len(world.dead_letters())
        outgoing = len(_kixie(world).outgoing())
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
