"""The scheduled connection check (ConnectionCheckFunction) in a World of GHL and Kayako: its
metric, its stored verdict, and what `ghlsync status` makes of it."""

import json

import pytest

from ghlsync.observability.catalog import MetricName
from sandbox.stack.template import REPO_ROOT
from sandbox.stack.world import World
from tests.fixtures.operate import metric_values, run_cli

pytestmark = pytest.mark.integration

EVENT = json.loads((REPO_ROOT / "events" / "connection_check_scheduled.json").read_text())


def _status(world: World) -> dict[str, object]:
    code, printed = run_cli(world, "status", "--connection", world.connection_id, "--json")
    assert code == 0
    [row] = json.loads(printed)
    return dict(row)


def test_a_healthy_connection_passes_its_scheduled_check(kayako_world: World) -> None:
    world = kayako_world
    # GIVEN a Kayako connection whose app answers
    # WHEN the scheduled function runs (the template's handler, the schedule's event)
    summary = world.invoke("ConnectionCheckFunction", EVENT)
    # THEN it was checked and passed: a 0 for the alarm, and `ghlsync status` says ok
    assert summary["checked"] == 1 and summary["failed"] == []
    assert metric_values(world, MetricName.CONNECTION_CHECK_FAILED, app="kayako")[-1:] == [0]
    row = _status(world)
    assert (row["check"], row["health"]) == ("ok", "ok") and row["checked_at"]


def test_a_connection_whose_app_fails_is_counted_and_shown_failing(kayako_world: World) -> None:
    world = kayako_world
    # GIVEN Kayako answering every API call with a server error
    world.kayako.faults.configure(rate_5xx=1.0)
    try:
        # WHEN the connections are checked
        summary = world.check_connections()
    finally:
        world.kayako.faults.configure()
    # THEN the connection failed at its first call (auth), the alarm's metric counts it by app with
    # the connection id as a property, and the status shows the verdict and the health
    assert summary.failed == [world.connection_id]
    [record] = [
        r
        for r in world.emf_records(MetricName.CONNECTION_CHECK_FAILED)
        if r[MetricName.CONNECTION_CHECK_FAILED]
    ]
    assert (record["app"], record["connection_id"], record["failed_capabilities"]) == (
        "kayako",
        world.connection_id,
        ["auth"],
    )
    row = _status(world)
    assert (row["check"], row["health"]) == ("failed: auth", "check failed")


def test_the_next_passing_check_clears_the_verdict(kayako_world: World) -> None:
    world = kayako_world
    # GIVEN a connection whose last check failed (the test above) or passed
    # WHEN the app answers again and the next check runs
    summary = world.check_connections()
    # THEN the verdict is ok again
    assert summary.failed == [] and _status(world)["check"] == "ok"
