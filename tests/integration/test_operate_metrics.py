"""The operator's metrics, end to end in the World: latency, outbound calls, budget headroom."""

import pytest

from ghlsync.observability.catalog import MetricName
from sandbox.stack.world import World
from tests.fixtures.operate import metric_values

pytestmark = pytest.mark.integration

DELAY_S = 42


def test_a_change_applied_delay_seconds_later_reports_that_latency(operated_world: World) -> None:
    world = operated_world
    # GIVEN a contact created in GHL at t, its webhook queued at once
    world.ghl.ui_create_contact(world.location_id, firstName="Ada", email="ada@latency.test")
    world.deliver_webhooks()
    # WHEN the worker applies it DELAY_S later on the fake clock
    world.clock.advance(DELAY_S)
    world.drain()
    # THEN every app it reached reports DELAY_S from the source timestamp, tagged with its direction
    values = metric_values(world, MetricName.SYNC_LATENCY_FROM_SOURCE, app="kayako", direction="to_app")
    assert values == [DELAY_S * 1000]


def test_latency_records_carry_ids_as_properties_not_dimensions(operated_world: World) -> None:
    world = operated_world
    # GIVEN a synced contact
    world.ghl.ui_create_contact(world.location_id, firstName="Bo", email="bo@latency.test")
    world.settle()
    # WHEN the latency records are read back
    records = world.emf_records(MetricName.SYNC_LATENCY_FROM_SOURCE)
    # THEN the location and connection are properties; the dimensions are service, app, direction
    assert records
    for record in records:
        assert record["location_id"] == world.location_id
        assert record["connection_id"] in world.connection_ids.values()
        dimension_sets = record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        assert dimension_sets == [["service", "app", "direction"], ["service"]]


def test_every_outbound_call_is_counted_by_app_family_and_outcome(operated_world: World) -> None:
    world = operated_world
    # GIVEN a contact synced from GHL to the apps
    mark = world.mark()
    world.ghl.ui_create_contact(world.location_id, firstName="Cy", email="cy@calls.test")
    world.settle()
    # WHEN the outbound call metrics are summed per app
    ghl_calls = [c for c in world.api_calls("ghl", since=mark)]
    counted = metric_values(world, MetricName.OUTBOUND_CALLS, app="ghl")
    # THEN each GHL request the sync made is one count, and contact reads fall under `contacts`
    assert len(counted) == len(ghl_calls) > 0
    families = {r["family"] for r in world.emf_records(MetricName.OUTBOUND_CALLS) if r["app"] == "ghl"}
    assert "contacts" in families
    assert all("/" not in f or not any(ch.isdigit() for ch in f) for f in families)


def test_ghl_budget_headroom_follows_the_rate_limit_headers(operated_world: World) -> None:
    world = operated_world
    # GIVEN a contact synced (GHL answers every call with X-RateLimit-* headers)
    world.ghl.ui_create_contact(world.location_id, firstName="Di", email="di@budget.test")
    world.settle()
    # WHEN the headroom the GHL client reported is read
    daily = metric_values(world, MetricName.API_DAILY_HEADROOM, app="ghl")
    window = metric_values(world, MetricName.API_WINDOW_HEADROOM, app="ghl")
    # THEN it is a share of the budget, below 100 once calls were made, never negative
    assert daily and window
    assert all(0 <= v < 100 for v in daily)
    assert all(0 <= v <= 100 for v in window)
