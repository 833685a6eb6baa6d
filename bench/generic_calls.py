"""Generic connector economy: the app's API calls per synced change ÷ the minimum the flow needs,
for each API style of the generic fake (goal <= 1.1), in-process through the real handlers
(sandbox.stack.world), counted from the fake's own request log; and the connector's CPU per record
read against the Kayako connector's (goal <= 1.5x).

The minimums follow the design's rules: never create before a lookup; a change is re-read, never
trusted from its notice; an echo of our own write is confirmed by reading it back (style A: its
webhook; style B: the sweep sees it in its listing). Style B learns of app changes by the sweep's
listing (one page per entity for up to 100 changes) and re-reads each changed record; the sweep's
delete check reads no app record that listing just showed (it is there).

`python -m bench generic_calls`, or `python -m bench` for every benchmark.
"""

import sys
import time
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._app_calls import CHANGES_PER_FLOW, Flow, calls_per_change
from bench._quiet import quiet_logs
from ghlsync.apps.base import as_contacts
from ghlsync.core.entities import EntityKind
from sandbox.apps import SandboxedApp
from sandbox.apps.generic import GenericSandbox
from sandbox.apps.generic.stack import GENERIC_A, GENERIC_B
from sandbox.stack.world import World

GOAL_RATIO = 1.1
GOAL_CPU_RATIO = 1.5
SEED = 11
READS = 200
SWEEP_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

# style -> flow -> the app calls one change needs (echo included).
MINIMUM_CALLS = {
    "a": {
        "GHL contact created -> app": 3,  # lookup by e-mail + create + the echo webhook's re-read
        "GHL contact updated -> app": 3,  # read for the merge + update + the echo's re-read
        "GHL tag added -> app": 2,  # the add-tags call + the echo's re-read
        "app contact change -> GHL": 1,  # the changed contact re-read
    },
    "b": {
        "GHL contact created -> app": 2,  # lookup by e-mail + create
        "GHL contact updated -> app": 2,  # read for the merge + update
        "GHL tag added -> app": 2,  # read the list + write it whole
        "app contact change -> GHL": 1,  # the changed contact re-read (the listing is shared)
    },
}


def _fake(world: World) -> GenericSandbox:
    fake = world.fake("generic")
    assert isinstance(fake, GenericSandbox)
    return fake


def _contact_ids(world: World) -> list[str]:
    return sorted(world.ghl_contact_ids())


def _create(world: World, n: int) -> None:
    world.ghl.ui_create_contact(
        world.location_id, firstName=f"Bench{n}", lastName="Person", email=f"b{n}@x.test"
    )


def _update(world: World, n: int) -> None:
    world.ghl.ui_update_contact(world.location_id, _contact_ids(world)[n], lastName=f"Renamed{n}")


def _tag(world: World, n: int) -> None:
    world.ghl.ui_add_tags(world.location_id, _contact_ids(world)[n], [f"bench-{n}"])


def _app_change(world: World, n: int) -> None:
    app_id = world.app_id_of(EntityKind.CONTACT, _contact_ids(world)[n], app="generic")
    _fake(world).ui_update_contact(app_id, company=f"Bench Co {n}")
    if _fake(world).style.name == "b" and n == CHANGES_PER_FLOW - 1:
        world.clock.advance(60)
        world.invoke("SweepFunction", SWEEP_EVENT)  # style B has no webhooks: the sweep polls


def _flows(style: str) -> list[Flow]:
    changes = {
        "GHL contact created -> app": _create,
        "GHL contact updated -> app": _update,
        "GHL tag added -> app": _tag,
        "app contact change -> GHL": _app_change,
    }
    return [Flow(name, change, MINIMUM_CALLS[style][name]) for name, change in changes.items()]


def _style_calls(style: str, entry: SandboxedApp) -> tuple[dict[str, Any], float, int]:
    with World(seed=SEED, apps=[entry]) as world:
        table, overall = calls_per_change(world, _fake(world).request_log, _flows(style), "calls/change")
        return table, overall, len(world.dead_letters())


def _cpu_per_read(app: str) -> float:
    """CPU seconds per contact read through the app's own connector over its fake (in-process)."""
    with World(seed=SEED, apps=[entry for entry in _registered() if entry.app == app]) as world:
        world.ghl.ui_create_contact(world.location_id, firstName="Cpu", lastName="Probe", email="cpu@x.test")
        world.settle()
        contact_id = world.app_id_of(EntityKind.CONTACT, _contact_ids(world)[0], app=app)
        contacts = as_contacts(world.app_reader(app))
        started = time.process_time()
        for _ in range(READS):
            contacts.get_contact(contact_id)
        return (time.process_time() - started) / READS


def _registered() -> list[SandboxedApp]:
    from sandbox.apps import registered_apps

    return registered_apps()


def run() -> dict[str, Any]:
    with quiet_logs():
        result: dict[str, Any] = {}
        for style, entry in (("a", GENERIC_A), ("b", GENERIC_B)):
            table, overall, dead = _style_calls(style, entry)
            result[f"style {style.upper()}: app calls per change by flow"] = table
            result[f"style {style.upper()}: app calls / minimum (all flows)"] = overall
            result[f"style {style.upper()}: goal <= {GOAL_RATIO}"] = overall <= GOAL_RATIO
            result[f"style {style.upper()}: dead letters"] = dead
        generic_cpu, kayako_cpu = _cpu_per_read("generic"), _cpu_per_read("kayako")
        result["CPU per contact read, generic (ms)"] = generic_cpu * 1000
        result["CPU per contact read, Kayako (ms)"] = kayako_cpu * 1000
        result[f"generic / Kayako CPU (goal <= {GOAL_CPU_RATIO})"] = generic_cpu / kayako_cpu
    return result


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("generic_calls", run()))
