"""Sweep, declared capabilities: feeds only where declared, bounded windows, delete checks."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from ghlsync.apps.base import ChangeFeed, EntitySupport, Inbound
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.sweep import APP_FEED, APP_FULL_PASS
from tests.unit.test_engine_fakes import T0
from tests.unit.test_sweep_fakes import CONNECTION, FeedConnector, Sweep, sweep

__all__ = ["sweep"]

WINDOW = timedelta(minutes=15)
OVERLAP = timedelta(seconds=120)


def windowed(app: FeedConnector, *, full_listing: bool) -> None:
    """The app's feed sees only the last 15 minutes (eKyte's polling endpoints)."""
    feed = ChangeFeed(window=WINDOW, full_listing=full_listing)
    app.capabilities = replace(app.capabilities, inbound=Inbound(feed=feed))


class FullListingApp(FeedConnector):
    def list_all_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        self._record("list_all_changes")
        return self._changes(datetime.min.replace(tzinfo=T0.tzinfo))


def test_an_app_without_a_change_feed_is_not_listed(sweep: Sweep) -> None:
    # GIVEN an app that declares webhooks but no change feed
    _, app = sweep.connect()
    app.capabilities = replace(app.capabilities, inbound=Inbound(webhooks=True))
    app.seed_contact(first_name="Ada")
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN the app was never asked for changes, and nothing failed
    assert "list_changes" not in [name for name, _ in app.calls]
    assert summary.failed == [] and summary.feed_gaps == []


def test_a_checkpoint_inside_the_window_is_read_as_usual(sweep: Sweep) -> None:
    # GIVEN a windowed app feed whose checkpoint is 5 minutes old
    _, app = sweep.connect()
    windowed(app, full_listing=False)
    sweep.checkpoints.advance(CONNECTION, APP_FEED, T0 - timedelta(minutes=5))
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN the feed is read from its checkpoint and no gap is reported
    assert ("list_changes", (T0 - timedelta(minutes=5),)) in app.calls
    assert summary.feed_gaps == []


def test_a_checkpoint_older_than_the_window_is_reported_as_a_gap(sweep: Sweep) -> None:
    # GIVEN a windowed app feed without a full listing, last read an hour ago
    _, app = sweep.connect()
    windowed(app, full_listing=False)
    sweep.checkpoints.advance(CONNECTION, APP_FEED, T0 - timedelta(hours=1))
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN the gap is reported with the interval that may be lost, and the window is read
    [gap] = summary.feed_gaps
    assert (gap.feed, gap.checkpoint, gap.window_start, gap.recovered) == (
        APP_FEED,
        T0 - timedelta(hours=1),
        T0 - WINDOW,
        False,
    )
    assert ("list_changes", (T0 - WINDOW,)) in app.calls


def test_a_gap_is_recovered_by_a_full_listing_where_the_app_offers_one(sweep: Sweep) -> None:
    # GIVEN a windowed app feed with a full listing, last read an hour ago, and a change 40 min ago
    sweep.connect()
    app = FullListingApp("kayako", sweep.clock, connection_id=CONNECTION, ordered=False)
    sweep.apps[CONNECTION] = app
    windowed(app, full_listing=True)
    sweep.checkpoints.advance(CONNECTION, APP_FEED, T0 - timedelta(hours=1))
    sweep.clock.now = T0 - timedelta(minutes=40)
    missed = app.seed_contact(first_name="Missed")
    sweep.clock.now = T0
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN everything was listed, the missed change enqueued, and the feed resumes from the listing
    assert summary.feed_gaps[0].recovered is True
    assert "list_all_changes" in [name for name, _ in app.calls]
    assert missed.id in sweep.queue.ids()
    assert sweep.checkpoints.get(CONNECTION, APP_FEED) == T0 - OVERLAP


def test_delete_checks_leave_out_kinds_a_side_cannot_re_read(sweep: Sweep) -> None:
    # GIVEN linked tasks, and an app whose tasks cannot be re-read
    hub, app = sweep.connect()
    entities = {**app.capabilities.entities, EntityKind.TASK: EntitySupport(rereadable=False)}
    app.capabilities = replace(app.capabilities, entities=entities)
    sweep.link_tasks(("ghl-c", "ghl-t"), ("app-c", "app-t"))
    # WHEN the sweep checks for deletes
    summary = sweep.run()
    # THEN no task was read on either side, so none is reported deleted
    assert "get_task" not in [name for name, _ in hub.calls + app.calls]
    assert summary.deletes_found == 0


def test_a_scheduled_full_pass_runs_once_per_its_cadence(sweep: Sweep) -> None:
    # GIVEN an app feed asking for a full pass every hour, and one record already in the app
    sweep.connect()
    app = FullListingApp("generic", sweep.clock, connection_id=CONNECTION, ordered=False)
    sweep.apps[CONNECTION] = app
    feed = ChangeFeed(full_listing=True, full_pass_every=timedelta(hours=1))
    app.capabilities = replace(app.capabilities, inbound=Inbound(feed=feed))
    sweep.clock.now = T0
    app.seed_contact(first_name="Old")

    def full_passes() -> int:
        return [name for name, _ in app.calls].count("list_all_changes")

    # WHEN the sweep runs THEN the first run makes the full pass besides the feed
    sweep.run()
    assert full_passes() == 1 and sweep.checkpoints.swept_through(CONNECTION, APP_FULL_PASS) == T0
    # WHEN it runs 30 minutes later THEN no pass; WHEN an hour after the first THEN the next one
    sweep.clock.now = T0 + timedelta(minutes=30)
    sweep.run()
    assert full_passes() == 1
    sweep.clock.now = T0 + timedelta(hours=1)
    sweep.run()
    assert full_passes() == 2
