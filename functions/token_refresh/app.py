"""Scheduled (EventBridge Scheduler): refresh every GHL OAuth token that expires within
TOKEN_REFRESH_WINDOW_SECONDS, one location at a time under its lease; then reconcile every agency
(Company) install against GHL's installed locations. Returns both summaries, merged."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.config import get_settings
from ghlsync.observability import logger, metrics, tracer
from ghlsync.store.agencies import AgencyStore
from ghlsync.store.agency_tokens import reconcile_agencies
from ghlsync.store.dynamo import sync_table
from ghlsync.store.tokens import (
    default_agency_api,
    default_agency_members,
    default_tenant_store,
    default_token_provider,
    refresh_expiring_tokens,
)


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
    reconciled = reconcile_agencies(
        default_agency_members(), AgencyStore(sync_table()), default_token_provider(), default_agency_api()
    )
    logger.info("scheduled token refresh done", extra={**summary.model_dump(), **reconciled.model_dump()})
    return {**summary.model_dump(), **reconciled.model_dump()}
