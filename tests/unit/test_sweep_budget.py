"""Sweep time budget: it stops starting work when the invocation's remaining time nears the reserve."""

from datetime import timedelta

from ghlsync.sweep import GHL_FEED
from tests.unit.test_engine_fakes import T0
from tests.unit.test_sweep_fakes import Sweep, sweep

__all__ = ["sweep"]


def test_the_sweep_stops_when_the_remaining_time_reaches_the_reserve(sweep: Sweep) -> None:
    # GIVEN two connections, the first with five GHL changes that take 10 s each to read,
    # and 60 s left of which 30 s are the reserve
    hub, _ = sweep.connect("conn-a")
    _, later_app = sweep.connect("conn-b")
    for minute in range(1, 6):
        sweep.clock.now = T0 + timedelta(minutes=minute)
        hub.seed_contact(first_name=f"C{minute}")
    hub.on_item = lambda: sweep.remaining.spend(10)
    sweep.remaining.ms = 60_000
    # WHEN the sweep runs
    summary = sweep.run(reserve_seconds=30)
    # THEN it read three changes (60 -> 30 s left), resumes after the third, and left conn-b for next time
    assert hub.handed_out == 3 and summary.enqueued == 3
    assert sweep.checkpoints.get("conn-a", GHL_FEED) == T0 + timedelta(minutes=3)
    assert sweep.checkpoints.get("conn-a", "app") is None  # an unordered feed cut short stays put
    assert (summary.connections, summary.not_reached, summary.truncated_feeds) == (1, 1, 2)
    assert later_app.calls == []


def test_no_connection_is_started_without_time_left(sweep: Sweep) -> None:
    # GIVEN an invocation already inside its reserve WHEN the sweep runs THEN nothing is read
    hub, app = sweep.connect()
    sweep.remaining.ms = 29_000
    summary = sweep.run(reserve_seconds=30)
    assert (summary.connections, summary.not_reached) == (0, 1)
    assert hub.calls == [] and app.calls == []


def test_delete_checks_stop_at_the_reserve(sweep: Sweep) -> None:
    # GIVEN three linked contacts, each check taking 10 s, and 45 s left of which 30 s are the reserve
    hub, app = sweep.connect()
    for n in range(3):
        ghl, other = hub.seed_contact(first_name=f"C{n}"), app.seed_contact(first_name=f"C{n}")
        assert ghl.id and other.id
        sweep.link_contacts(ghl.id, other.id)
    hub.contacts.clear()  # every check finds its GHL record gone
    hub.on_call = lambda method: sweep.remaining.spend(10 if method == "get_contact" else 0)
    sweep.remaining.ms = 45_000
    # WHEN the sweep runs (its feeds list nothing: the records predate the checkpoints)
    sweep.checkpoints.advance("conn1", GHL_FEED, T0 + timedelta(hours=1))
    sweep.checkpoints.advance("conn1", "app", T0 + timedelta(hours=1))
    summary = sweep.run(reserve_seconds=30)
    # THEN two checks ran (45 -> 25 s left) and the third waits for the next run
    assert (summary.links_checked, summary.deletes_found) == (2, 2)
