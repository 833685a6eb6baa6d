"""Scheduled (EventBridge Scheduler): sweep every active connection for changes and deletes that no
webhook reported, within the invocation's remaining time. Returns the summary.

What a sweep does, its bounds and settings are in ghlsync.sweep.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.observability import logger, metrics, tracer
from ghlsync.sweep import Sweeper, default_sweeper


@cache
def sweeper() -> Sweeper:
    return default_sweeper()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = sweeper().run(context.get_remaining_time_in_millis)
    return summary.model_dump(mode="json")
