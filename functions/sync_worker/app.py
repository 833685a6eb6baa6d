"""SQS FIFO trigger: each record is a ChangeEvent for the sync engine, or a backfill work item
(ReportBatchItemFailures).

How failures map onto the queue (retry with backoff, dead-letter with a reason, keep each
location's order) is in ghlsync.worker.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.backfill.service import default_router
from ghlsync.observability import logger, metrics, tracer
from ghlsync.store.dynamo import sync_table
from ghlsync.store.tenants import TenantStore
from ghlsync.sync import wiring
from ghlsync.worker import SyncWorker


@cache
def worker() -> SyncWorker:
    # Built on the first batch, not at import: the engine's AWS and HTTP clients need the
    # environment, and the dev stack and tests swap `wiring.default_engine` for their own.
    return SyncWorker.from_settings(default_router())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    try:
        return worker().process_batch(event, context)
    finally:
        save_budget_headroom()


def save_budget_headroom() -> None:
    """What the batch's GHL answers left of each location's budget, on its tenant row."""
    try:
        wiring.default_connectors().save_ghl_headroom(TenantStore(sync_table()))
    except Exception:
        # The batch's answer matters more than a status figure.
        logger.exception("could not save the GHL budget headroom")
