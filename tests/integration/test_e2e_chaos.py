"""Chaos end to end through the real handlers (sandbox.stack.world): 200 seeded changes on both sides
while both sandboxes answer 10% of API calls with a 429, a 5xx or a timeout.

After the retries (client retries, then SQS backoff) and one DLQ redrive, both sides must agree,
no contact may exist twice, and every event that went through the queue must be accounted for: an
audit row with a final decision (applied / echo / skipped with a reason / conflict), or a dead
letter with its reason before the redrive.
"""

import logging
import random
from collections.abc import Callable, Iterator

import pytest

from ghlsync.observability import logger
from sandbox.apps import apps_named
from sandbox.ghl.variants import GhlVariant
from sandbox.stack.world import World

pytestmark = pytest.mark.integration

SEED = 2
NEW_CONTACTS_GHL = 40
NEW_USERS_KAYAKO = 20
EDITS = 140  # with the creates: 200 changes
DUE = "2027-02-01T10:00:00Z"
REDRIVES = 4  # at 10 % faults, an event failing this many redrives in a row is a bug
FINAL_DECISIONS = frozenset({"applied", "echo", "skipped", "conflict"})


@pytest.fixture
def world(ghl_variant: GhlVariant) -> Iterator[World]:
    # 200 changes log thousands of INFO lines; the assertions below read the audit trail instead.
    level = logger.log_level
    logger.setLevel(logging.WARNING)
    # One receive per event (the template's default is 5) so that a failed attempt reaches the DLQ and
    # its redrive take part; the worker reads the same parameter (MAX_RECEIVE_COUNT).
    with World(
        seed=SEED,
        apps=apps_named("kayako"),
        parameter_overrides={"MaxReceiveCount": "1"},
        ghl_variant=ghl_variant,
    ) as started:
        yield started
    logger.setLevel(level)


def faults_on(world: World) -> None:
    """10% of API calls fail on each side: 4% 429, 3% 5xx, 3% timeouts (half of GHL's applied)."""
    world.ghl.faults.configure(rate_429=0.04, rate_5xx=0.03, rate_timeout=0.03)
    world.kayako.faults.configure(rate_429=0.04, rate_5xx=0.03, rate_timeout=0.03)


def create_people(world: World) -> None:
    for n in range(NEW_CONTACTS_GHL):
        world.ghl.ui_create_contact(
            world.location_id, firstName=f"Gina{n}", lastName="Hub", email=f"gina{n}@example.com"
        )
        world.clock.advance(1)
    for n in range(NEW_USERS_KAYAKO):
        world.kayako.ui_create_user(f"Kay{n} Desk", email=f"kay{n}@example.com")
        world.clock.advance(1)


def random_edits(world: World, rng: random.Random) -> None:
    """EDITS changes on linked people, from both sides, one fake second apart."""
    pairs = [(contact_id, int(user_id)) for contact_id, user_id in world.linked_pairs(app="kayako")]
    location = world.location_id
    edits: list[Callable[[str, int, int], object]] = [
        lambda c, u, i: world.ghl.ui_update_contact(location, c, firstName=f"Renamed{i}"),
        lambda c, u, i: world.kayako.ui_update_user(u, full_name=f"Desk{i} Renamed"),
        lambda c, u, i: world.ghl.ui_add_tags(location, c, [f"tag{i % 5}"]),
        lambda c, u, i: world.kayako.ui_add_tags(u, f"ktag{i % 5}"),
        lambda c, u, i: world.ghl.ui_create_note(location, c, body=f"GHL note {i}"),
        lambda c, u, i: world.kayako.ui_add_note(u, f"Kayako note {i}"),
        lambda c, u, i: world.ghl.ui_create_task(location, c, title=f"Task {i}", dueDate=DUE),
        lambda c, u, i: world.kayako.ui_create_case(u, f"Case {i}"),
    ]
    for i in range(EDITS):
        contact_id, user_id = rng.choice(pairs)
        rng.choice(edits)(contact_id, user_id, i)
        world.clock.advance(1)


def final_event_ids(world: World) -> set[str]:
    rows = world.audit()
    assert all(row.reason for row in rows if row.decision == "skipped"), "a skip without a reason"
    return {row.event_id for row in rows if row.decision in FINAL_DECISIONS}


@pytest.mark.ghl_variants("all-flipped")
def test_200_changes_under_10_percent_faults_converge_with_every_event_accounted_for(world: World) -> None:
    # GIVEN 60 people created on both sides, then 140 random edits, all under 10% API faults
    rng = random.Random(SEED)
    faults_on(world)
    create_people(world)
    world.settle(max_rounds=200)
    random_edits(world, rng)
    world.settle(max_rounds=200)
    enqueued = {event.event_id for event in world.worker_records}
    # THEN before any redrive, every queued event is either decided (audited) or dead-lettered
    letters = world.dead_letters()
    assert letters, "the chaos never reached the DLQ"
    assert all(letter["failure_reason"] and letter["event"] for letter in letters)
    dead = {letter["event"]["event_id"] for letter in letters}
    assert enqueued <= final_event_ids(world) | dead, "an event neither decided nor dead-lettered"

    # WHEN the DLQ is redriven and the stack settles again, faults still on (so a redriven event
    # can fail once more and dead-letter again: the operator redrives again, a few times at most)
    assert world.redrive()["redriven"] == len(letters)
    world.settle(max_rounds=200)
    for _ in range(REDRIVES - 1):
        if not world.dead_letters():
            break
        world.redrive()
        world.settle(max_rounds=200)

    # THEN every event reached a final decision, nothing is left in either queue,
    assert enqueued <= final_event_ids(world)
    assert world.dead_letters() == []
    assert world.queue_depth() == {"visible": 0, "in_flight": 0}
    # every webhook was taken by ingress (faults hit the APIs, never the stack's own endpoints),
    assert {a.status for a in world.answers["ghl"] + world.answers["kayako"]} == {202}
    # the faults really happened and were retried,
    assert sum(world.ghl.faults.injected.values()) > 0 and world.kayako.faults.injected
    assert len(world.worker_records) > len(enqueued), "no event needed a second attempt"
    # and both sides hold the same people, tasks and notes, each person once
    assert world.differences() == []
    assert len(world.ghl_contact_ids()) == len(world.app_person_ids("kayako")) == 60
