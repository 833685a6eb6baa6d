"""The shared measure of the `<app>_calls` benchmarks: for each flow, make its changes in World,
let the stack settle, and count the app's API calls (from its fake's request log) against the
flow's minimum."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.stack.world import World

CHANGES_PER_FLOW = 10


@dataclass(frozen=True)
class Flow:
    name: str
    change: Callable[[World, int], object]  # (world, n): make the n-th change of this flow
    minimum: int  # the app calls one change of this flow needs
    before: Callable[[World], object] | None = None  # set-up the flow needs, not counted


def calls_per_change(
    world: World,
    log: Sequence[Any],
    flows: Sequence[Flow],
    column: str,
    counted: Callable[[Any], bool] = lambda request: True,
) -> tuple[dict[str, dict[str, Any]], float]:
    """(one row per flow, all calls ÷ all minimums); `counted` picks the app's API calls out of the
    fake's request log."""
    table: dict[str, dict[str, Any]] = {}
    total_actual = total_minimum = 0
    for flow in flows:
        if flow.before is not None:
            flow.before(world)
        mark = len(log)
        for n in range(CHANGES_PER_FLOW):
            flow.change(world, n)
            world.clock.advance(1)
        world.settle(max_rounds=100)
        actual = sum(1 for request in log[mark:] if counted(request))
        minimum = flow.minimum * CHANGES_PER_FLOW
        total_actual += actual
        total_minimum += minimum
        table[flow.name] = {
            column: actual / CHANGES_PER_FLOW,
            "minimum": flow.minimum,
            "ratio": actual / minimum if minimum else ("-" if actual == 0 else "over"),
        }
    return table, total_actual / total_minimum
