"""Caller-ID lookup: latency in-process on a warm container (p50/p95 over LOOKUPS lookups) and GHL
calls per lookup (goal <= 1, and 0 when the answer is cached), against baselines measured in the
same run.

A World (moto, the GHL sandbox, the real CallerLookupFunction handler routed from template.yaml)
holds a Kixie connection with STORED_CONTACTS linked contacts (each with a note and an open task:
links and GHL shadows, as the sync leaves them) and LOOKUPS GHL contacts that are not linked. Each
row sends LOOKUPS lookups through the handler as API Gateway would:

- answer cached: one linked number again and again (after one warm-up lookup);
- store: the linked numbers in turn, in a second World whose answer cache is off
  (CALLER_LOOKUP_ANSWER_TTL_SECONDS=0), so every lookup reads the store. STORED_CONTACTS is smaller
  than LOOKUPS because moto copies the whole table on every transaction: seeding is quadratic;
- GHL fallback: a different GHL-only number each time (one duplicate search each);
- unknown number: a number nobody has, different each time (one duplicate search each).

Baselines: the handler answering a malformed number (the route, the token check and the answer,
no store read and no GHL call) and one DynamoDB GetItem of a link on the same moto. Latency is wall
time in this process (handler, moto and sandbox together), so it shows the stack's own overhead,
not DynamoDB's or GHL's network time. GHL's request log counts the calls.

`python -m bench caller_lookup`, or `python -m bench` for every benchmark. Takes ~2.5 minutes (seeding
moto twice is most of it).
"""

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.store.connections import Connection, ConnectionSecrets, ConnectionSettings
from ghlsync.store.links import Link, LinkStore, Shadow, Side
from sandbox.stack.world import World

LOOKUPS = 1_000
STORED_CONTACTS = 100
GOAL_P95_MS = 300.0
GOAL_GHL_CALLS = 1.0
CONNECTION = "conn-bench-kixie"
TOKEN = "bench-kixie-webhook-token-1d2c3b4a"
SEED = 5
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _linked_number(n: int) -> str:
    return f"+1415{n:07d}"


def _unknown_number(n: int) -> str:
    return f"+1650{n:07d}"


def _link(entity: EntityKind, ghl_id: str, fields: dict[str, Any], parent: str | None = None) -> Link:
    return Link(
        connection_id=CONNECTION,
        entity=entity,
        ghl=Shadow(id=ghl_id, parent_id=parent, fields=fields, source_time=AT),
        app=Shadow(id=f"kixie-{ghl_id}", parent_id=parent),
        synced_at=AT,
    )


def _prepare(world: World) -> list[str]:
    """The Kixie connection, STORED_CONTACTS linked contacts with a note and a task each, and
    LOOKUPS GHL contacts that are not linked; returns the GHL-only contacts' numbers."""
    ConnectionSecrets(world.secrets, get_settings().connection_secret_prefix).put(
        CONNECTION, {"webhook_token": TOKEN}
    )
    world.connections.put(
        Connection(
            connection_id=CONNECTION,
            location_id=world.location_id,
            app="kixie",
            settings=ConnectionSettings(),
        )
    )
    links = LinkStore(world.table)
    for n in range(STORED_CONTACTS):
        contact = f"bench-contact-{n}"
        fields = {"first_name": f"Caller{n}", "last_name": "Bench", "phone": _linked_number(n), "tags": []}
        links.save(_link(EntityKind.CONTACT, contact, fields), previous=None)
        links.save(
            _link(EntityKind.NOTE, f"bench-note-{n}", {"body": "Asked for a quote"}, contact), previous=None
        )
        task = {"title": "Send the quote", "due_date": "2026-03-05T09:00:00Z", "completed": False}
        links.save(_link(EntityKind.TASK, f"bench-task-{n}", task, contact), previous=None)
    world.ghl.seed(world.location_id, LOOKUPS)
    return [c.fields["phone"] for c in world.ghl.store.contacts(world.location_id)]


def _timed(world: World, numbers: Callable[[int], str], expect_found: bool | None) -> dict[str, Any]:
    timings: list[float] = []
    mark = world.mark()
    for n in range(LOOKUPS):
        started = time.perf_counter()
        answer = world.request(
            "GET", f"/kixie/{CONNECTION}/lookup", query=[("number", numbers(n)), ("token", TOKEN)]
        )
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status == 200, answer.body
        if expect_found is not None:
            assert answer.json()["found"] is expect_found, answer.body
    return _row(timings, len(world.api_calls("ghl", since=mark)) / LOOKUPS)


def _row(timings: list[float], ghl_calls: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "p50_ms": statistics.median(timings),
        "p95_ms": statistics.quantiles(timings, n=20)[-1],
    }
    if ghl_calls is not None:
        row["ghl_calls_per_lookup"] = ghl_calls
    return row


def _get_item_baseline(world: World) -> dict[str, Any]:
    links = LinkStore(world.table)
    timings = []
    for n in range(LOOKUPS):
        started = time.perf_counter()
        links.get(CONNECTION, EntityKind.CONTACT, Side.GHL, f"bench-contact-{n % STORED_CONTACTS}")
        timings.append((time.perf_counter() - started) * 1000)
    return _row(timings, None)


def run() -> dict[str, Any]:
    with quiet_logs():
        with World(seed=SEED) as world:
            ghl_only = _prepare(world)
            warm_up = world.request(
                "GET", f"/kixie/{CONNECTION}/lookup", query=[("number", _linked_number(0)), ("token", TOKEN)]
            )
            assert warm_up.status == 200, warm_up.body
            rows = {
                "answer cached": _timed(world, lambda n: _linked_number(0), True),
                "GHL fallback": _timed(world, lambda n: ghl_only[n], True),
                "unknown number": _timed(world, _unknown_number, False),
                "baseline: malformed number (no reads)": _timed(world, lambda n: f"bad-{n}", False),
                "baseline: one DynamoDB GetItem": _get_item_baseline(world),
            }
        with World(seed=SEED, env_overrides={"CALLER_LOOKUP_ANSWER_TTL_SECONDS": "0"}) as world:
            _prepare(world)
            rows["store"] = _timed(world, lambda n: _linked_number(n % STORED_CONTACTS), True)
    order = ["answer cached", "store", "GHL fallback", "unknown number"]
    rows = {name: rows[name] for name in [*order, *(n for n in rows if n not in order)]}
    floor = rows["baseline: malformed number (no reads)"]["p50_ms"]
    for row in rows.values():
        row["p50_vs_handler_floor"] = row["p50_ms"] / floor
    lookups = [row for name, row in rows.items() if not name.startswith("baseline")]
    return {
        "lookups per row": LOOKUPS,
        "linked contacts in the store": STORED_CONTACTS,
        "caller lookups (warm, in-process)": rows,
        f"goal p95 < {GOAL_P95_MS:.0f} ms": all(row["p95_ms"] < GOAL_P95_MS for row in lookups),
        f"goal GHL calls per lookup <= {GOAL_GHL_CALLS:.0f}": all(
            row["ghl_calls_per_lookup"] <= GOAL_GHL_CALLS for row in lookups
        ),
        "goal GHL calls when cached = 0": rows["answer cached"]["ghl_calls_per_lookup"] == 0,
    }


if __name__ == "__main__":
    from bench.__main__ import format_result

    print(format_result("caller_lookup", run()))
