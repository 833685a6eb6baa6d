"""Paused backfills resumed (ghlsync.backfill.resume): when GHL's day resets, which jobs the
scheduled tick finds due, and that of two resumes of one job only one queues its next page."""

from datetime import UTC, datetime, timedelta

import pytest

from ghlsync.backfill.jobs import BackfillJob, JobStatus, JobStore
from ghlsync.backfill.resume import DueBackfills, next_reset, resume
from ghlsync.core.events import ChangeEvent
from ghlsync.store.connections import Connection, ConnectionStatus, ConnectionStore
from tests.fixtures.aws import AwsResources

PAUSED_UNTIL = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


class Queued(list[tuple[ChangeEvent, str, str]]):
    def __call__(self, event: ChangeEvent, deduplication_id: str, group_id: str) -> None:
        self.append((event, deduplication_id, group_id))


def _paused_job(aws: AwsResources, connection_id: str = "conn-1") -> tuple[JobStore, BackfillJob]:
    jobs = JobStore(aws.table)
    ConnectionStore(aws.table).put(Connection(connection_id=connection_id, location_id="loc-1", app="kayako"))
    job = BackfillJob(job_id="job-1", connection_id=connection_id, location_id="loc-1", step=3)
    jobs.start(job)
    job.status, job.paused_until = JobStatus.PAUSED, PAUSED_UNTIL
    assert jobs.advance(job, from_step=3)
    return jobs, job


@pytest.mark.parametrize(
    ("now", "hour", "expected"),
    [
        (datetime(2026, 12, 2, 22, 17, tzinfo=UTC), 0, datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),
        (datetime(2026, 12, 3, 0, 0, tzinfo=UTC), 0, datetime(2026, 12, 4, 0, 0, tzinfo=UTC)),
        (datetime(2026, 12, 2, 5, 59, tzinfo=UTC), 6, datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),
        (datetime(2026, 12, 2, 8, 0, tzinfo=UTC), 6, datetime(2026, 12, 3, 6, 0, tzinfo=UTC)),
    ],
)
def test_ghls_day_resets_at_the_next_configured_hour_after_now(
    now: datetime, hour: int, expected: datetime
) -> None:
    # GIVEN now and the configured reset hour / WHEN the next reset is asked for / THEN it is later
    assert next_reset(now, hour) == expected


def test_a_paused_job_is_due_from_the_end_of_its_pause_only(aws: AwsResources) -> None:
    # GIVEN a job paused until 00:00 UTC
    jobs, job = _paused_job(aws)
    # WHEN the tick asks a second before it, and at it
    before = list(jobs.due(PAUSED_UNTIL - timedelta(seconds=1)))
    at = list(jobs.due(PAUSED_UNTIL))
    # THEN only the second finds it
    assert (before, [j.job_id for j in at]) == ([], [job.job_id])


def test_of_two_resumes_from_one_reading_only_one_queues_the_next_page(aws: AwsResources) -> None:
    # GIVEN a paused job that two ticks read before either wrote
    jobs, _ = _paused_job(aws)
    [first_reading] = jobs.due(PAUSED_UNTIL)
    [second_reading] = jobs.due(PAUSED_UNTIL)
    queued = Queued()
    # WHEN both resume it
    results = [resume(jobs, reading, queued, PAUSED_UNTIL) for reading in (first_reading, second_reading)]
    # THEN one did: one work item for the step it stopped at, under an id of its own (SQS FIFO
    # drops an id it saw in the last 5 minutes, and the step's first item had paused the job),
    # the job running and no longer due
    assert results == [True, False]
    [(event, dedup, group)] = queued
    assert (event.data, group) == ({"step": 3}, "backfill-conn-1")
    assert dedup.startswith("backfill-job-1-3-") and dedup == event.event_id
    stored = jobs.get("conn-1")
    assert stored is not None and stored.status is JobStatus.RUNNING
    assert list(jobs.due(PAUSED_UNTIL)) == []


def test_a_due_job_of_a_disabled_connection_stays_paused(aws: AwsResources) -> None:
    # GIVEN a due paused job whose connection was disabled meanwhile
    jobs, _ = _paused_job(aws)
    connections = ConnectionStore(aws.table)
    connections.set_status("conn-1", ConnectionStatus.DISABLED)
    queued = Queued()
    # WHEN the tick runs after its pause
    summary = DueBackfills(jobs, connections, queued, now=lambda: PAUSED_UNTIL).resume_due()
    # THEN nothing is queued and the job stays paused, reported as such
    assert (summary.resumed, summary.left_paused, queued) == ([], ["conn-1"], [])
    stored = jobs.get("conn-1")
    assert stored is not None and stored.status is JobStatus.PAUSED
