"""The refresh function's hourly tick: first the paused backfills whose pause has run out are
resumed (their next work item queued: ghlsync.backfill.resume), then every due business-enriched
refresh runs in the time left (ghlsync.refresh).

The resume goes first because it is cheap and bounded (one index query, then one conditional
write and one message per due job), while the refreshes run the engine inline and may take the
rest of the invocation. Both ride on one schedule rather than a function each: a backfill is
paused for hours, so an hourly tick resumes it at most an hour after GHL's day resets.
"""

from collections.abc import Callable

from pydantic import Field

from ghlsync.backfill.resume import DueBackfills, ResumeSummary
from ghlsync.refresh import RefreshRunner, RefreshSummary


class ScheduledSummary(RefreshSummary):
    """The refresh's summary (its fields as they were) and the backfills resumed."""

    backfills: ResumeSummary = Field(default_factory=ResumeSummary)


class ScheduledJobs:
    def __init__(self, refresh: RefreshRunner, backfills: DueBackfills) -> None:
        self._refresh = refresh
        self._backfills = backfills

    def run(self, remaining_ms: Callable[[], int]) -> ScheduledSummary:
        resumed = self._backfills.resume_due()
        refreshed = self._refresh.run(remaining_ms)
        return ScheduledSummary(**refreshed.model_dump(), backfills=resumed)


def default_scheduled_jobs() -> ScheduledJobs:
    """Over the container's refresh runner (its one connector cache) and the sync queue."""
    from ghlsync.backfill.service import default_due_backfills
    from ghlsync.refresh import default_runner

    return ScheduledJobs(default_runner(), default_due_backfills())
