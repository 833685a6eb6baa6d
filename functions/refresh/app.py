"""Scheduled (EventBridge Scheduler, hourly): run every due business-enriched refresh (eKyte's
flow 2) within the invocation's remaining time; an unfinished one resumes on the next run.
Returns the summary.

What a refresh does, when it is due and how it stops are in ghlsync.refresh.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.observability import logger, metrics, tracer
from ghlsync.refresh import RefreshRunner, default_runner


@cache
def runner() -> RefreshRunner:
    return default_runner()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = runner().run(context.get_remaining_time_in_millis)
    return summary.model_dump(mode="json")
