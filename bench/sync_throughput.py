"""Sync throughput and API economy, in-process through the real handlers (sandbox.stack.world).

Two figures:

1. Changes per second through the whole path (webhook -> ingress handler -> SQS FIFO in moto ->
   sync_worker -> engine -> sandboxes, echoes included), for N changes made as users make them,
   against the baseline: the same N changes handed straight to the engine (no ingress, no queue,
   no idempotency table). The ratio says what the event spine costs on top of the sync itself;
   both run on moto, so absolute rates are moto's, not AWS's.
2. API calls per synced change, divided by the minimum the flow needs (goal <= 1.1), counted from
   the sandboxes' own request logs. Kayako logins (GET /session) are left out of the ratio and
   reported on their own: one per connector per container, not per change.

The minimum of each flow (MINIMUM_CALLS) follows the design's rules: a webhook payload is never
trusted for content (the source record is re-read); never create before a lookup; an echo is
confirmed by reading the record back, except a tag list equal to the shadow, which is an echo on
its face. A Kayako contact read is two calls (the user, then its tags: Kayako serves tags apart).

`python -m bench.sync_throughput`, or `python -m bench` for every benchmark. Takes ~1.5 minutes.
"""

import contextlib
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.stack.lambda_runtime import LAYER_DIR

# The layer is on Lambda's path (/opt/python); running this module puts it on ours.
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync.apps.base import InboundRequest, as_webhooks
from ghlsync.core.events import ChangeEvent
from ghlsync.ghl.webhooks import (
    InstallWebhook,
    UnhandledWebhook,
    UninstallWebhook,
    delivery_id,
    parse_webhook,
)
from ghlsync.ghl.webhooks import to_change_event as ghl_change_event
from ghlsync.sync import wiring
from sandbox.stack.world import World

CHANGES = 200
PEOPLE = 40
GOAL_RATIO = 1.1
SEED = 7


@dataclass(frozen=True)
class Flow:
    name: str
    minimum: int  # API calls one change of this flow needs, at least (see MINIMUM_CALLS)
    change: Callable[[World, str, int, int], object]  # (world, GHL contact id, Kayako user id, n)


# Why each minimum is what it is (calls per change, both sides, echo included):
MINIMUM_CALLS = {
    # GHL read of the contact (1) + Kayako user and tags for the 3-way merge (2) + Kayako PUT (1)
    # + the echo (user.updated) confirmed by reading user and tags (2).
    "GHL contact update -> Kayako user": 6,
    # Kayako user and tags (2) + GHL contact for the merge (1) + GHL PUT (1) + echo read (1).
    "Kayako user update -> GHL contact": 5,
    # GHL read confirming the tag-list snapshot (1) + Kayako tag POST (1); the echo (tags.updated)
    # lists exactly the shadow's tags: no read.
    "GHL tag added -> Kayako tag": 2,
    # Kayako user and tags (2) + GHL tag POST (1); the echo (ContactTagUpdate) equals the shadow.
    "Kayako tag added -> GHL tag": 3,
    # source note read (1) + target note list, the lookup before a create (1) + create (1)
    # + echo read (1); the same both ways, and for Kayako cases <-> GHL tasks.
    "Kayako note -> GHL note": 4,
    "GHL note -> Kayako note": 4,
    "Kayako case -> GHL task": 4,
    "GHL task -> Kayako case": 4,
}

FLOWS = [
    Flow(
        "GHL contact update -> Kayako user",
        MINIMUM_CALLS["GHL contact update -> Kayako user"],
        lambda w, c, u, n: w.ghl.ui_update_contact(w.location_id, c, firstName=f"Renamed{n}"),
    ),
    Flow(
        "Kayako user update -> GHL contact",
        MINIMUM_CALLS["Kayako user update -> GHL contact"],
        lambda w, c, u, n: w.kayako.ui_update_user(u, full_name=f"Desk{n} Renamed"),
    ),
    Flow(
        "GHL tag added -> Kayako tag",
        MINIMUM_CALLS["GHL tag added -> Kayako tag"],
        lambda w, c, u, n: w.ghl.ui_add_tags(w.location_id, c, [f"tag{n}"]),
    ),
    Flow(
        "Kayako tag added -> GHL tag",
        MINIMUM_CALLS["Kayako tag added -> GHL tag"],
        lambda w, c, u, n: w.kayako.ui_add_tags(u, f"ktag{n}"),
    ),
    Flow(
        "Kayako note -> GHL note",
        MINIMUM_CALLS["Kayako note -> GHL note"],
        lambda w, c, u, n: w.kayako.ui_add_note(u, f"Kayako note {n}"),
    ),
    Flow(
        "GHL note -> Kayako note",
        MINIMUM_CALLS["GHL note -> Kayako note"],
        lambda w, c, u, n: w.ghl.ui_create_note(w.location_id, c, body=f"GHL note {n}"),
    ),
    Flow(
        "Kayako case -> GHL task",
        MINIMUM_CALLS["Kayako case -> GHL task"],
        lambda w, c, u, n: w.kayako.ui_create_case(u, f"Case {n}"),
    ),
    Flow(
        "GHL task -> Kayako case",
        MINIMUM_CALLS["GHL task -> Kayako case"],
        lambda w, c, u, n: w.ghl.ui_create_task(
            w.location_id, c, title=f"Task {n}", dueDate="2027-03-01T09:00:00Z"
        ),
    ),
]


def _people(world: World) -> list[tuple[str, int]]:
    """PEOPLE contacts created in GHL and synced (setup, not measured)."""
    for n in range(PEOPLE):
        world.ghl.ui_create_contact(
            world.location_id, firstName=f"Person{n}", lastName="Bench", email=f"p{n}@bench.test"
        )
    world.settle(max_rounds=100)
    world.clock.advance(60)
    return [(contact_id, int(user_id)) for contact_id, user_id in world.linked_pairs(app="kayako")]


def _make_changes(world: World, flow: Flow, pairs: list[tuple[str, int]], count: int, start: int) -> None:
    for n in range(start, start + count):
        contact_id, user_id = pairs[n % len(pairs)]
        flow.change(world, contact_id, user_id, n)
        world.clock.advance(10)  # outside the skew window of the previous change


def _engine_events(world: World) -> list[ChangeEvent]:
    """The ChangeEvents ingress would enqueue for the webhooks now waiting (parsed, not sent)."""
    events: list[ChangeEvent] = []
    connector = as_webhooks(world.app_reader("kayako"))
    for webhook in world.capture_webhooks():
        if webhook.source == "ghl":
            parsed = parse_webhook(webhook.body)
            if not isinstance(parsed, UnhandledWebhook | InstallWebhook | UninstallWebhook):
                events.append(ghl_change_event(parsed, event_id=delivery_id(parsed, webhook.body)))
            continue
        request = InboundRequest(
            body=webhook.body,
            headers={k.lower(): v for k, v in webhook.headers.items()},
            query=dict(parse_qsl(urlsplit(webhook.url).query)),
            path_params={"app": "kayako", "connectionId": world.connection_ids["kayako"]},
        )
        connector.verify_webhook(request)
        events.extend(
            connector.parse_webhook(
                request, location_id=world.location_id, connection_id=world.connection_ids["kayako"]
            )
        )
    return events


def _engine_alone(world: World) -> None:
    """Hand every waiting change (and the echoes it causes) straight to the engine."""
    engine = wiring.default_engine()
    # The engine prints its EMF metrics to stdout; the World captures the handlers' the same way.
    with contextlib.redirect_stdout(io.StringIO()):
        while events := _engine_events(world):
            for event in events:
                engine.handle(event)
            world.clock.advance(1)


def _measure(settle: Callable[[World], object]) -> tuple[float, int, dict[str, dict[str, int]]]:
    """Run CHANGES changes (an equal share per flow) through `settle`: the seconds spent, the Kayako
    logins of the whole run (setup included) and the calls per flow."""
    per_flow = CHANGES // len(FLOWS)
    calls: dict[str, dict[str, int]] = {}
    elapsed = 0.0
    with World(seed=SEED) as world:
        pairs = _people(world)
        for index, flow in enumerate(FLOWS):
            ghl_mark, kayako_mark = len(world.ghl.request_log), len(world.kayako.request_log)
            _make_changes(world, flow, pairs, per_flow, index * per_flow)
            started = time.perf_counter()
            settle(world)
            elapsed += time.perf_counter() - started
            kayako = world.kayako.request_log[kayako_mark:]
            logins = sum(1 for r in kayako if r.path.endswith("/session"))
            calls[flow.name] = {
                "ghl": len(world.ghl.request_log) - ghl_mark,
                "kayako": len(kayako) - logins,
                "logins": logins,
            }
        all_logins = sum(1 for r in world.kayako.request_log if r.path.endswith("/session"))
    return elapsed, all_logins, calls


def run() -> dict[str, Any]:
    with quiet_logs():
        pipeline_s, run_logins, calls = _measure(lambda world: world.settle(max_rounds=100))
        engine_s, _, _ = _measure(_engine_alone)

    per_flow = CHANGES // len(FLOWS)
    table: dict[str, dict[str, Any]] = {}
    total_actual = total_minimum = logins = 0
    for flow in FLOWS:
        counted = calls[flow.name]
        actual = counted["ghl"] + counted["kayako"]
        minimum = flow.minimum * per_flow
        total_actual += actual
        total_minimum += minimum
        logins += counted["logins"]
        table[flow.name] = {
            "calls/change": actual / per_flow,
            "minimum": flow.minimum,
            "ratio": actual / minimum,
            "ghl": counted["ghl"],
            "kayako": counted["kayako"],
        }
    overall = total_actual / total_minimum
    changes = per_flow * len(FLOWS)
    pipeline_rate, engine_rate = changes / pipeline_s, changes / engine_s
    return {
        "changes": changes,
        "pipeline changes/s (ingress + SQS + worker)": pipeline_rate,
        "engine alone changes/s (baseline)": engine_rate,
        "pipeline / engine alone": pipeline_rate / engine_rate,
        "API calls per change by flow": table,
        "API calls / minimum (all flows)": overall,
        f"goal <= {GOAL_RATIO}": overall <= GOAL_RATIO,
        "Kayako logins while measuring (not in the ratio)": logins,
        "Kayako logins in the whole run, setup included": run_logins,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("sync_throughput", run()))
