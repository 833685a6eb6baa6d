"""What `connections_cli` prints about backfills: after `create`, and a job's progress line."""

from datetime import UTC, datetime, timedelta

from ghlsync.backfill.cli import after_create, progress_line
from ghlsync.backfill.jobs import BackfillJob, Phase
from ghlsync.store.connections import BackfillSettings, Connection, ConnectionSettings


def _connection(**backfill: object) -> Connection:
    settings = ConnectionSettings(backfill=BackfillSettings.model_validate(backfill))
    return Connection(connection_id="conn-1", location_id="loc-1", app="kayako", settings=settings)


def test_a_new_connection_by_default_is_told_how_to_plan_and_confirm_its_backfill() -> None:
    # GIVEN a connection created with the default settings
    # WHEN create finishes
    lines = after_create(_connection())
    # THEN the two commands are printed, nothing is started
    assert "connections_cli backfill conn-1 --plan" in lines[1]
    assert lines[2].strip().startswith("connections_cli backfill conn-1 ")


def test_on_create_none_prints_nothing() -> None:
    assert after_create(_connection(on_create="none")) == []


def test_progress_shows_records_done_the_rate_and_an_eta() -> None:
    # GIVEN a job 20 s in, 150 of 400 records listed (200 on each side)
    started = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    job = BackfillJob(
        job_id="j1",
        connection_id="conn-1",
        location_id="loc-1",
        phase=Phase.MATCH_HUB,
        counts={"indexed": 100, "listed_hub": 50},
        started_at=started,
        updated_at=started + timedelta(seconds=20),
        total_app=200,
        total_hub=200,
    )
    # WHEN its progress is shown
    # THEN 150 of 400 at 7.5/s, 250 left: 33 s
    assert progress_line(job, _connection()) == (
        "backfill j1: running, match_hub, 150 of 400 records, 7.5/s, ETA 33 s"
    )
