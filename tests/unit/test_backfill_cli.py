"""What `connections_cli` prints about backfills: after `create`, and a job's progress line."""

import io
from datetime import UTC, datetime, timedelta

from ghlsync.backfill.cli import after_create, print_status, progress_line
from ghlsync.backfill.jobs import BackfillJob, JobStatus, Phase
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


def test_a_paused_jobs_status_says_when_it_resumes_by_itself_and_how_to_resume_it_now() -> None:
    # GIVEN a job paused by GHL's daily budget until 00:00 UTC
    job = BackfillJob(
        job_id="j1",
        connection_id="conn-1",
        location_id="loc-1",
        status=JobStatus.PAUSED,
        paused_until=datetime(2026, 12, 3, 0, 0, tzinfo=UTC),
    )
    # WHEN its status is printed
    out = io.StringIO()
    print_status(job, _connection(), out)
    # THEN it names the resume time and the command that resumes it sooner
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(", paused until 2026-12-03T00:00:00+00:00")
    assert lines[1] == (
        "resumes by itself at the first scheduled tick (hourly) after 2026-12-03 00:00 UTC, when "
        "GHL's daily budget is back; `connections_cli backfill conn-1` resumes it now"
    )


def test_a_resumed_job_not_yet_past_its_first_page_is_not_shown_as_paused() -> None:
    # GIVEN a job resumed (running) whose row still holds the pause it came out of
    job = BackfillJob(
        job_id="j1",
        connection_id="conn-1",
        location_id="loc-1",
        paused_until=datetime(2026, 12, 3, 0, 0, tzinfo=UTC),
    )
    # WHEN its status is printed
    out = io.StringIO()
    print_status(job, _connection(), out)
    # THEN nothing says paused
    assert "paused" not in out.getvalue() and "resumes by itself" not in out.getvalue()
