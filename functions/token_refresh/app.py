"""Scheduled (EventBridge Scheduler): refresh every GHL OAuth token that expires within
TOKEN_REFRESH_WINDOW_SECONDS, one location at a time under its lease. Returns the summary."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.config import get_settings
from ghlsync.observability import logger, metrics, tracer
from ghlsync.store.tokens import default_tenant_store, default_token_provider, refresh_expiring_tokens


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    summary = refresh_expiring_tokens(
        default_token_provider(),
        default_tenant_store(),
        window_s=get_settings().token_refresh_window_seconds,
        now=datetime.now(UTC),
    )
    logger.info("scheduled token refresh done", extra=summary.model_dump())
    return summary.model_dump()
