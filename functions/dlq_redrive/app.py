"""Manual: list dead letters with their reasons, or send them back to the sync queue.

Event: {"action": "list" | "redrive", "filter": {location_id, connection_id, event_type,
occurred_after, occurred_before}, "max": n}. The same operations run from a shell with
`python -m ghlsync.redrive_cli`.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.observability import logger, metrics, tracer
from ghlsync.queue import RedriveRequest, SyncQueue, handle_redrive_request


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_redrive_request(SyncQueue.from_settings(), RedriveRequest.model_validate(event))
