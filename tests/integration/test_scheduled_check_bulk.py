"""The scheduled connection check reports an unfinished bulk sync (GHL and Kixie only; its own
module, so no other World is open beside it)."""

import pytest

from ghlsync.observability.catalog import MetricName
from tests.fixtures.kixie_bulk import DAY_ONE, BulkWorld
from tests.fixtures.operate import metric_values

pytestmark = pytest.mark.integration


def test_an_unfinished_bulk_sync_reports_how_long_it_has_been_idle(kixie_bulk_world: BulkWorld) -> None:
    bulk = kixie_bulk_world
    # GIVEN a Kixie bulk sync stopped by a spent daily quota (left unfinished)
    bulk.existing_contacts(3)
    bulk.set_daily_quota(1)
    run = bulk.bulk("--all", now=DAY_ONE)
    assert run.status == 1, run.err
    # WHEN the scheduled check runs later
    summary = bulk.world.check_connections()
    # THEN the idle time since the job's last save is reported, by app, for the stuck-sync alarm
    assert summary.bulk_syncs_unfinished == 1
    idle = (bulk.world.now() - DAY_ONE).total_seconds()
    assert metric_values(bulk.world, MetricName.BULK_SYNC_IDLE, app="kixie") == [idle]
