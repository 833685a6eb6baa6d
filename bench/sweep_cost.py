"""Sweep cost: API calls of the scheduled sweep against the minimum its feeds and rules need,
in-process through the real sweep and worker handlers (sandbox.stack.world, GHL + Kayako).

Links are seeded straight into the table (a GHL contact and a Kayako user per link, both sides'
shadows as of their records), not through the event path, so N = 10,000 stays feasible.

- quiet: one sweep with nothing changed, at N = 100, 1,000, 10,000 links. Minimum: one page per
  change feed (GHL contact search, GHL task search, Kayako users, Kayako cases) = 4, flat in N.
  (No GHL tasks are seeded: the task search's pages grow with the location's open tasks, 100 a
  page, not with links.)
- daily diff: the one sweep a day that lists every id for the delete diff. Minimum: the feeds plus
  the listing pages, ceil(N / 100) per side and kind (an empty kind still costs one call).
  Measured at every N (the Kayako fake serves a page of its users at the page's cost).
- k changes: k GHL contacts renamed with their webhooks lost, at N = 1,000; the sweep after them,
  the worker run, and the next two sweeps. Minimum per change: the GHL read the engine re-reads the
  change with and one Kayako write (plus the feeds' pages).
- daily spend: 10,000 contacts, 1 % churn a day synced with Kayako, 288 sweeps a day (the
  template's rate(5 minutes)): 287 quiet sweeps + 1 diff sweep + churn x the measured cost of one
  change (its sweep share, worker and echo), against the same with every figure at its minimum.

`python -m bench sweep_cost`. Takes a few minutes (10,000 links are written to moto).
"""

import math
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sandbox.stack.lambda_runtime import LAYER_DIR

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from bench._quiet import quiet_logs
from ghlsync.core.entities import EntityKind
from ghlsync.store.connections import ConnectionSettings
from ghlsync.store.links import Link, LinkStore, Shadow
from sandbox.apps import registered_apps
from sandbox.apps.kayako.store import CUSTOMER_ROLE_ID
from sandbox.stack.world import World

SEED = 12
SIZES = (100, 1_000, 10_000)
CHANGES = 100
CHANGES_AT = 1_000
PAGE = 100
FEEDS = 4  # GHL contact search, GHL task search, Kayako users, Kayako cases
SWEEPS_PER_DAY = 288
DAILY_CONTACTS = 10_000
CHURN = 0.01
CHANGE_MINIMUM = 2  # one GHL read, one Kayako write
GOAL_DAILY_RATIO = 1.2
# A diff period of a few sweeps' steps, so the bench's clock need not run a day ahead.
DIFF_PERIOD_HOURS = 0.25
STEP_SECONDS = 300


def _kayako_only() -> list[Any]:
    return [entry for entry in registered_apps() if entry.app == "kayako"]


def _instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class _SeedingLinks(LinkStore):
    """LinkStore whose writes go into a batch: the items `save` builds, without its transaction
    (25 items a call instead of a call per link: 10,000 links are seeded in a few hundred)."""

    def __init__(self, table: Any, batch: Any) -> None:
        super().__init__(table)
        self._batch = batch

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self._batch.put_item(Item=item["Put"]["Item"])


@contextmanager
def linked_world(links: int, diff_period_hours: float = DIFF_PERIOD_HOURS) -> Iterator[World]:
    """A World whose location and Kayako account hold `links` linked contact pairs, swept once;
    its delete diff runs every `diff_period_hours`."""
    with World(seed=SEED, apps=_kayako_only()) as world:
        connection = world.connections.get(world.connection_id)
        assert connection is not None
        settings = connection.settings.model_dump() | {"delete_scan_hours": diff_period_hours}
        world.connections.put(connection.model_copy(update={"settings": ConnectionSettings(**settings)}))
        with world.table.batch_writer() as batch:
            _seed_links(world, connection.connection_id, _SeedingLinks(world.table, batch), links)
        world.capture_webhooks()  # the seed's webhooks are not part of any figure
        # One contact made after the seed, synced by sweeps, moves both feeds' checkpoints past
        # the seed (else every quiet sweep would re-read the seed's last two minutes: the overlap).
        world.clock.advance(STEP_SECONDS)
        world.ghl.ui_create_contact(world.location_id, firstName="After", email="after@example.test")
        settle_by_sweeps(world)
        yield world


def _seed_links(world: World, connection_id: str, store: LinkStore, links: int) -> None:
    """`links` GHL contacts and Kayako users, linked, each shadow at its record's own time."""
    kayako = world.kayako.store
    contacts = world.ghl.store.location(world.location_id).contacts
    for n, ghl_id in enumerate(world.ghl.seed(world.location_id, links)):
        email = f"seed{n}@example.test"
        user = kayako.create_user(
            {"full_name": f"Seed{n} Contact", "role_id": CUSTOMER_ROLE_ID, "email": email}
        )
        ghl_time = _instant(contacts[ghl_id].date_updated_ms / 1000)
        link = Link(
            connection_id=connection_id,
            entity=EntityKind.CONTACT,
            ghl=Shadow(id=ghl_id, content_hash="seeded", source_time=ghl_time),
            app=Shadow(id=str(user.id), content_hash="seeded", source_time=_instant(user.updated_at)),
            synced_at=world.now(),
        )
        store.save(link, previous=None)


def settle_by_sweeps(world: World, rounds: int = 3) -> None:
    """Lose the webhooks so far, then let sweeps and the worker carry what changed (and its echo)."""
    world.capture_webhooks()
    for _ in range(rounds):
        world.clock.advance(STEP_SECONDS)
        world.sweep()
        world.drain()


def _sweep_calls(world: World) -> tuple[int, Any]:
    mark = world.mark()
    summary = world.sweep()
    return len(world.api_calls(since=mark)), summary


def _pages(records: int) -> int:
    return max(1, math.ceil(records / PAGE))


def _listing_minimum(world: World) -> int:
    """One page per 100 records of each listing: GHL contacts and tasks, Kayako users (agents
    included: the listing cannot leave them out) and cases."""
    location = world.ghl.store.location(world.location_id)
    kayako = world.kayako.store
    return (
        _pages(len(location.contacts))
        + _pages(sum(len(tasks) for tasks in location.tasks.values()))
        + _pages(len(kayako.list_users(None)))
        + _pages(len(kayako.list_cases(requester_id=None, since=None)))
    )


def _quiet_and_diff(links: int) -> dict[str, Any]:
    with linked_world(links) as world:
        world.clock.advance(STEP_SECONDS)
        quiet, summary = _sweep_calls(world)
        assert summary.enqueued == 0, summary
        row: dict[str, Any] = {"quiet calls": quiet, "quiet minimum": FEEDS, "quiet ratio": quiet / FEEDS}
        diff_minimum = FEEDS + _listing_minimum(world)
        world.clock.advance(DIFF_PERIOD_HOURS * 3600)
        diff, summary = _sweep_calls(world)
        assert summary.ids_listed >= 2 * links, summary
    return row | {"diff calls": diff, "diff minimum": diff_minimum, "diff ratio": diff / diff_minimum}


def _after_changes() -> dict[str, Any]:
    # The template's daily diff, so the change figures hold no listing pages of the diff.
    with linked_world(CHANGES_AT - CHANGES, diff_period_hours=24) as world:
        # The contacts that change are synced through the event path first, so their links hold
        # the shadows the engine writes (the seeded links' shadows hold no fields).
        ids = [
            world.ghl.ui_create_contact(
                world.location_id, firstName=f"Synced{n}", lastName="Contact", email=f"synced{n}@example.test"
            ).id
            for n in range(CHANGES)
        ]
        settle_by_sweeps(world)
        world.clock.advance(STEP_SECONDS)
        for n, ghl_id in enumerate(ids):
            world.ghl.ui_update_contact(world.location_id, ghl_id, lastName=f"Renamed{n}")
        world.capture_webhooks()  # lost: only the sweep can see them
        world.clock.advance(STEP_SECONDS)
        mark = world.mark()
        first = world.sweep()
        world.drain()
        changed_calls = len(world.api_calls(since=mark))
        kinds = Counter(f"{c.side} {c.method} {_family(c.path)}" for c in world.api_calls(since=mark))
        runs = []
        for _ in range(2):
            world.clock.advance(STEP_SECONDS)
            mark = world.mark()
            summary = world.sweep()
            world.drain()
            runs.append((summary.enqueued, len(world.api_calls(since=mark))))
    minimum = FEEDS + math.ceil(CHANGES / PAGE) - 1 + CHANGES * CHANGE_MINIMUM
    return {
        "queued, first sweep": first.enqueued,
        "queued, next sweep": runs[0][0],
        "queued, the one after": runs[1][0],
        "calls, first sweep + worker": changed_calls,
        "calls minimum": minimum,
        "calls ratio": changed_calls / minimum,
        "calls, next sweep + worker": runs[0][1],
        "calls, the one after": runs[1][1],
        "first sweep + worker, calls by kind": dict(kinds.most_common()),
    }


def _family(path: str) -> str:
    """A path with its ids left out (`/users/12/tags` -> `/users/*/tags`)."""
    return "/".join("*" if part.isdigit() or len(part) >= 16 else part for part in path.split("/"))


def run() -> dict[str, Any]:
    with quiet_logs():
        sizes = {f"N={n:,}": _quiet_and_diff(n) for n in SIZES}
        changes = _after_changes()
    quiet = sizes[f"N={DAILY_CONTACTS:,}"]
    diff_calls = quiet["diff calls"]
    churn = int(DAILY_CONTACTS * CHURN)
    # What one change costs beyond the quiet sweeps: its sweep and worker calls and its echo's.
    per_change = (
        changes["calls, first sweep + worker"]
        - quiet["quiet calls"]
        + changes["calls, next sweep + worker"]
        - quiet["quiet calls"]
    ) / CHANGES
    spend = (SWEEPS_PER_DAY - 1) * quiet["quiet calls"] + diff_calls + churn * per_change
    minimum = (SWEEPS_PER_DAY - 1) * FEEDS + quiet["diff minimum"] + churn * CHANGE_MINIMUM
    return {
        "sweep calls by links (minimum: one page per feed; the diff adds its listing pages)": sizes,
        f"after {CHANGES} changes at N={CHANGES_AT:,}": changes,
        "daily spend, 10,000 contacts, 1 % churn": {
            "quiet sweeps": {
                "calls a day": (SWEEPS_PER_DAY - 1) * quiet["quiet calls"],
                "minimum": (SWEEPS_PER_DAY - 1) * FEEDS,
            },
            "delete diff": {
                "calls a day": round(diff_calls),
                "minimum": quiet["diff minimum"],
            },
            "changes (sweep share, worker, echo)": {
                "calls a day": round(churn * per_change),
                "minimum": churn * CHANGE_MINIMUM,
            },
            "total": {"calls a day": round(spend), "minimum": minimum, "ratio": spend / minimum},
        },
        "goal daily ratio": GOAL_DAILY_RATIO,
        "quiet flat in N (same calls at every N)": len({row["quiet calls"] for row in sizes.values()}) == 1,
    }
