"""Workflow-API bundle: latency in-process, and GHL calls per bundle ÷ parts requested (goal 1.0).

A World (moto, the GHL and Kayako sandboxes, the real handler) holds one synced contact with a
task, a note and an appointment. Each `include` set is asked for `REPEATS` times through the
workflow API's handler, as API Gateway would send it; GHL's request log counts the calls. Latency
is wall time per request in this process (the handler, moto and the sandboxes together), so it
shows the stack's own overhead, not GHL's network time.

`python -m bench.workflow_bundle`, or `python -m bench` for every benchmark.
"""

import statistics
import time
from typing import Any

REPEATS = 30
INCLUDES = {
    "all four parts": None,
    "contact": "contact",
    "contact,tasks": "contact,tasks",
    "tasks,notes,appointments": "tasks,notes,appointments",
}
GOAL_CALLS_PER_PART = 1.0
APP = "kayako"  # the connection used (the workflow API is the same for every app)
DUE = "2027-01-15T09:00:00Z"


def run() -> dict[str, Any]:
    from sandbox.stack.world import World

    rows: dict[str, dict[str, Any]] = {}
    with World(seed=1) as world:
        headers = {"X-Api-Key": world.issue_workflow_key(APP)}
        ghl_id = world.ghl.ui_create_contact(world.location_id, firstName="Ada", email="bench@example.com").id
        world.ghl.ui_create_task(world.location_id, ghl_id, title="Quote", dueDate=DUE)
        world.ghl.ui_create_note(world.location_id, ghl_id, body="Met on site")
        world.ghl.ui_create_appointment(
            world.location_id, ghl_id, title="Survey", start_time=DUE, end_time=DUE
        )
        world.settle()
        path = f"/connections/{world.connection_ids[APP]}/contacts"
        worst = 0.0
        for name, include in INCLUDES.items():
            parts = len(include.split(",")) if include else 4
            query = [("include", include)] if include else None
            timings: list[float] = []
            mark = world.mark()
            for _ in range(REPEATS):
                started = time.perf_counter()
                answer = world.request("GET", f"{path}/{ghl_id}/bundle", headers=headers, query=query)
                timings.append((time.perf_counter() - started) * 1000)
                assert answer.status == 200, answer.body
            ratio = len(world.api_calls("ghl", since=mark)) / (REPEATS * parts)
            worst = max(worst, ratio)
            rows[name] = {
                "parts": parts,
                "median_ms": statistics.median(timings),
                "p95_ms": statistics.quantiles(timings, n=20)[-1],
                "ghl_calls_per_part": ratio,
            }
    return {
        "bundles": rows,
        "goal_calls_per_part": GOAL_CALLS_PER_PART,
        "goal_met": worst <= GOAL_CALLS_PER_PART,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("workflow_bundle", run()))
