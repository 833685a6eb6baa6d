"""Payaca API economy: Payaca API calls per synced change, divided by the minimum the flow needs
(goal <= 1.1), in-process through the real handlers (sandbox.stack.world), counted from the Payaca
fake's own request log.

The minimum of each flow (MINIMUM_CALLS) follows the design's rules: a webhook payload is never
trusted for content (a customer is re-read); never create before a lookup; an echo is confirmed by
reading the record back. A Payaca contact read is two calls: the customer, then its projects (the
[PROPOSAL] listing the stage tags come from; `stage_tag_prefix: ""` drops it).

`python -m bench payaca_calls`, or `python -m bench` for every benchmark. Takes ~20 seconds.
"""

import sys
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._app_calls import CHANGES_PER_FLOW, Flow, calls_per_change
from bench._quiet import quiet_logs
from ghlsync.core.entities import EntityKind
from sandbox.apps.payaca import PayacaSandbox
from sandbox.stack.world import World

GOAL_RATIO = 1.1
SEED = 7

# Why each minimum is what it is (Payaca calls per change, echo included):
MINIMUM_CALLS = {
    # lookup by e-mail (1) + the upsert (1) + the echo (customer.created) read back (2).
    "GHL contact created -> Payaca customer": 4,
    # customer + projects for the 3-way merge (2) + the update (1) + the echo read back (2).
    "GHL contact updated -> Payaca customer": 5,
    # the add-tags call (1) + the echo (customer.updated) read back (2).
    "GHL tag added -> Payaca tag": 3,
    # the changed customer re-read (2); GHL's echo of our write needs no Payaca call.
    "Payaca customer change -> GHL contact": 2,
    # the note and the task travel in the event (0); the customer's tags re-read (2).
    "Payaca project stage move -> GHL note + tag": 2,
}


def _payaca(world: World) -> PayacaSandbox:
    fake = world.fake("payaca")
    assert isinstance(fake, PayacaSandbox)
    return fake


def _contact_ids(world: World) -> list[str]:
    return sorted(world.ghl_contact_ids())


def _customer_of(world: World, contact_id: str) -> str:
    return world.app_id_of(EntityKind.CONTACT, contact_id, app="payaca")


def _create(world: World, n: int) -> None:
    world.ghl.ui_create_contact(
        world.location_id, firstName=f"Bench{n}", lastName="Person", email=f"bench{n}@x.test"
    )


def _update(world: World, n: int) -> None:
    world.ghl.ui_update_contact(world.location_id, _contact_ids(world)[n], lastName=f"Renamed{n}")


def _tag(world: World, n: int) -> None:
    world.ghl.ui_add_tags(world.location_id, _contact_ids(world)[n], [f"bench-{n}"])


def _customer_change(world: World, n: int) -> None:
    _payaca(world).ui_update_customer(
        _customer_of(world, _contact_ids(world)[n]), phoneNumber=f"+1415555{n:04d}"
    )


def _stage_move(world: World, n: int) -> None:
    fake = _payaca(world)
    customer_id = _customer_of(world, _contact_ids(world)[n])
    project = next(p for p in fake.store.projects.values() if p.customer_id == customer_id)
    fake.ui_move_project(project.id, "Install")


def _projects_for_everyone(world: World) -> None:
    """Each synced customer gets a project (synced too), for the stage-move flow."""
    fake = _payaca(world)
    for index, contact_id in enumerate(_contact_ids(world)):
        fake.ui_create_project(_customer_of(world, contact_id), f"BENCH{index}")
    world.settle(max_rounds=100)


FLOWS = [
    Flow(name, change, MINIMUM_CALLS[name], before)
    for name, change, before in (
        ("GHL contact created -> Payaca customer", _create, None),
        ("GHL contact updated -> Payaca customer", _update, None),
        ("GHL tag added -> Payaca tag", _tag, None),
        ("Payaca customer change -> GHL contact", _customer_change, None),
        ("Payaca project stage move -> GHL note + tag", _stage_move, _projects_for_everyone),
    )
]


def run() -> dict[str, Any]:
    with quiet_logs(), World(seed=SEED) as world:
        table, overall = calls_per_change(world, _payaca(world).request_log, FLOWS, "payaca calls/change")
        dead = len(world.dead_letters())
    return {
        "changes": CHANGES_PER_FLOW * len(FLOWS),
        "Payaca API calls per change by flow": table,
        "Payaca API calls / minimum (all flows)": overall,
        f"goal <= {GOAL_RATIO}": overall <= GOAL_RATIO,
        "dead letters": dead,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("payaca_calls", run()))
