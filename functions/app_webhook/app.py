"""POST /webhooks/{app}/{connectionId}: an app's webhooks in, verified by its connector, queued.

The answers are the same as for GHL webhooks (ghlsync.ingress); an unknown connection, an
inactive one or the wrong app all answer 404 alike.
"""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

# Every request here looks up its connection: load the store at init (ghlsync.ingress defers it).
import ghlsync.store.connections  # noqa: F401
from ghlsync.ingress import ProxyRequest, default_app_ingress
from ghlsync.observability import logger, metrics, tracer

app = APIGatewayRestResolver()


@app.post("/webhooks/<app_name>/<connection_id>")
@tracer.capture_method
def app_webhook(app_name: str, connection_id: str) -> Response[str]:
    request = ProxyRequest.from_event(app.current_event)
    answer = default_app_ingress().receive(app_name, connection_id, request)
    return Response(answer.status, content_types.APPLICATION_JSON, answer.json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    default_app_ingress().register_lambda_context(context)
    return app.resolve(event, context)
