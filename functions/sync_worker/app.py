"""SQS FIFO trigger: each record is a ChangeEvent for the sync engine (ReportBatchItemFailures).

How failures map onto the queue (retry with backoff, dead-letter with a reason, keep each
location's order) is in ghlsync.worker.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.observability import logger, metrics, tracer
from ghlsync.sync import wiring
from ghlsync.worker import SyncWorker


@cache
def worker() -> SyncWorker:
    # Built on the first batch, not at import: the engine's AWS and HTTP clients need the
    # environment, and the dev stack and tests swap `wiring.default_engine` for their own.
    return SyncWorker.from_settings(wiring.default_engine())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return worker().process_batch(event, context)
