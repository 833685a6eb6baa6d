"""A backfill's work item, and a paused backfill resumed: by the schedule once its pause has run
out, or by the operator (`connections_cli backfill CONN`) at any time.

A job pauses when GHL's daily budget, less the share kept for live traffic, is spent, and records
`paused_until`: the next reset of GHL's day (`next_reset`). GHL documents the daily limit but not
when its day resets, and sends no reset header (ghl-api.md §3.2): the hour (UTC) is a setting,
`GHL_DAILY_RESET_UTC_HOUR`, 0 by default, as the sandbox's day (UNCONFIRMED). `DueBackfills` is the
scheduled part: the refresh function's hourly tick (ghlsync.scheduled_jobs) finds the paused jobs
due (one index query, `JobStore.due`) and resumes each (`resume`): the job row is marked running
conditionally on it still being paused at that step, then its next work item is queued, so of two
ticks (or a tick and an operator) only one queues it, and the work item is the step the job
stopped at: nothing is done twice or skipped. A job resumed early (the operator, or a reset hour
set wrong) finds the budget still spent on its first page and pauses again.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, Field

from ghlsync.backfill.jobs import BackfillJob, JobStore
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.observability import logger
from ghlsync.store.connections import Connection

EVENT_TYPE = "BackfillPage"

Enqueue = Callable[[ChangeEvent, str, str], None]  # (event, deduplication id, group id)


def next_reset(now: datetime, hour_utc: int = 0) -> datetime:
    """The first `hour_utc`:00 UTC after `now`: when GHL's day (as configured) starts again."""
    at = now.astimezone(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def queue_step(job: BackfillJob, enqueue: Enqueue, now: datetime, *, again: bool = False) -> None:
    """Queue the work item of the job's next step (`job.step`), in the job's own message group.
    `again`: an item for this step was sent before (requeued, or resumed after a pause)."""
    # Then it gets its own id: SQS FIFO drops a send whose deduplication id it saw in the last
    # 5 minutes, even if that message was consumed (a pause a minute before the reset).
    suffix = f"-again-{uuid.uuid4().hex[:8]}" if again else ""
    event = ChangeEvent(
        event_id=f"backfill-{job.job_id}-{job.step}{suffix}",
        location_id=job.location_id,
        source="backfill",
        connection_id=job.connection_id,
        entity=EntityKind.CONTACT,
        action=ChangeAction.BACKFILL,
        entity_id=job.job_id,
        occurred_at=now,
        event_type=EVENT_TYPE,
        data={"step": job.step},
    )
    enqueue(event, event.event_id, f"backfill-{job.connection_id}")


def resume(jobs: JobStore, job: BackfillJob, enqueue: Enqueue, now: datetime) -> bool:
    """Mark the paused job running and queue the step it stopped at; False (nothing queued):
    someone else resumed it, or it moved on, since `job` was read."""
    if not jobs.resume(job):
        return False
    # `paused_until` stays until a page is done: past it, the page reads GHL's budget afresh.
    # The step's first item paused the job: this one is sent again.
    queue_step(job, enqueue, now, again=True)
    return True


class ResumeSummary(BaseModel):
    resumed: list[str] = Field(default_factory=list)  # connection ids
    # Due, but left paused: its connection is gone or disabled (resumed when enabled and asked).
    left_paused: list[str] = Field(default_factory=list)
    raced: int = 0  # resumed by someone else between the listing and the write


class Connections(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...


class DueBackfills:
    """The scheduled resume: every paused job whose pause has run out."""

    def __init__(
        self,
        jobs: JobStore,
        connections: Connections,
        enqueue: Enqueue,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._jobs = jobs
        self._connections = connections
        self._enqueue = enqueue
        self._now = now

    def resume_due(self) -> ResumeSummary:
        summary = ResumeSummary()
        now = self._now()
        for job in self._jobs.due(now):
            connection = self._connections.get(job.connection_id)
            if connection is None or not connection.active:
                summary.left_paused.append(job.connection_id)
                continue
            if resume(self._jobs, job, self._enqueue, now):
                summary.resumed.append(job.connection_id)
            else:
                summary.raced += 1
        if summary.resumed or summary.left_paused:
            logger.info("paused backfills due", extra=summary.model_dump())
        return summary
