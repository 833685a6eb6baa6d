"""POST /webhooks/ghl: GHL Marketplace webhooks in, verified and de-duplicated, onto the sync queue.

The answers and why (GHL retries only on 429) are in ghlsync.ingress.
"""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

# Every request here verifies and parses a GHL webhook: load that at init (ghlsync.ingress defers it).
import ghlsync.ghl.webhooks  # noqa: F401
from ghlsync.ingress import ProxyRequest, default_ghl_ingress
from ghlsync.observability import logger, metrics, tracer

app = APIGatewayRestResolver()


@app.post("/webhooks/ghl")
@tracer.capture_method
def ghl_webhook() -> Response[str]:
    answer = default_ghl_ingress().receive(ProxyRequest.from_event(app.current_event))
    return Response(answer.status, content_types.APPLICATION_JSON, answer.json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    default_ghl_ingress().register_lambda_context(context)
    return app.resolve(event, context)
