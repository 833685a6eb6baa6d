"""Sweep lag per feed: how long ago each feed was last read through, as a metric and a row."""

import json
from datetime import timedelta

import pytest

from ghlsync.observability.catalog import MetricName
from ghlsync.sweep import GHL_FEED
from tests.unit.test_engine_fakes import T0
from tests.unit.test_sweep_fakes import CONNECTION, Sweep, sweep

__all__ = ["sweep"]


def lag_records(out: str) -> list[dict]:
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [r for r in records if MetricName.SWEEP_LAG in r]


def test_a_feed_read_to_its_end_is_read_through_the_start_of_that_read(
    sweep: Sweep, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a connection whose GHL feed has one change
    hub, _ = sweep.connect()
    hub.seed_contact(first_name="Ada")
    # WHEN the sweep runs at T0
    sweep.clock.now = T0
    sweep.run()
    # THEN the GHL feed is read through T0 and reports no lag, with the ids as properties
    assert sweep.checkpoints.swept_through(CONNECTION, GHL_FEED) == T0
    [record] = [r for r in lag_records(capsys.readouterr().out) if r["feed"] == GHL_FEED]
    assert record[MetricName.SWEEP_LAG] == 0
    assert (
        record["connection_id"] == CONNECTION
        and "connection_id" not in record["_aws"]["CloudWatchMetrics"][0]
    )


def test_a_feed_left_behind_by_its_bound_reports_a_growing_lag(
    sweep: Sweep, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN five GHL changes a minute apart and a bound of three per run
    hub, _ = sweep.connect()
    for minute in range(1, 6):
        sweep.clock.now = T0 + timedelta(minutes=minute)
        hub.seed_contact(first_name=f"C{minute}")
    # WHEN the sweep runs ten minutes after the fourth change
    sweep.clock.now = T0 + timedelta(minutes=14)
    sweep.run(max_events_per_feed=3)
    # THEN the feed is read through the oldest change left over: ten minutes of lag
    [record] = [r for r in lag_records(capsys.readouterr().out) if r["feed"] == GHL_FEED]
    assert record[MetricName.SWEEP_LAG] == 600
