"""Scheduled (EventBridge Scheduler): the read-only connection check of every active connection
(ghlsync.scheduled_check), within the invocation's remaining time. Returns the summary."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.observability import logger, tracer
from ghlsync.scheduled_check import default_scheduled_check


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = default_scheduled_check().run(context.get_remaining_time_in_millis)
    return summary.model_dump(mode="json")
