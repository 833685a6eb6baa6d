"""Scheduled (EventBridge Scheduler, hourly): resume the backfills GHL's daily budget paused once
their pause has run out, then run every due business-enriched refresh (eKyte's flow 2) within the
invocation's remaining time; an unfinished refresh resumes on the next run. Returns the summary.

What each does, when it is due and how it stops are in ghlsync.scheduled_jobs,
ghlsync.backfill.resume and ghlsync.refresh.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.observability import logger, metrics, tracer
from ghlsync.scheduled_jobs import ScheduledJobs, default_scheduled_jobs


@cache
def scheduled_jobs() -> ScheduledJobs:
    return default_scheduled_jobs()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = scheduled_jobs().run(context.get_remaining_time_in_millis)
    return summary.model_dump(mode="json")
