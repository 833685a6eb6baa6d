"""GET /oauth/callback?code=&state= : where GHL sends a location (or an agency) back after it
installs the app.

Verifies the signed state, exchanges the code for tokens, stores them and registers the tenant
(ghlsync.store.tokens.Installer); a Company code stores the agency token and registers each
approved location (ghlsync.store.agency_tokens). 400 when the request is at fault (nothing stored), 502 when
GHL's token endpoint fails (nothing stored), 503 while the app credentials are not configured.
"""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.ghl.oauth import OAuthError, OAuthNotConfigured
from ghlsync.observability import logger, metrics, tracer
from ghlsync.store.tokens import InstallRejected, default_installer

app = APIGatewayRestResolver()


@app.get("/oauth/callback")
@tracer.capture_method
def oauth_callback() -> dict[str, Any]:
    query = app.current_event.query_string_parameters or {}
    installed = default_installer().complete(query.get("code"), query.get("state"))
    metrics.add_metric(name="AppInstalled", unit=MetricUnit.Count, value=1)
    return installed.answer()


@app.exception_handler(InstallRejected)
def install_rejected(exc: InstallRejected) -> Response[dict[str, Any]]:
    logger.info("install rejected", extra={"reason": str(exc)})
    return _error(400, str(exc))


@app.exception_handler(OAuthNotConfigured)
def app_not_configured(exc: OAuthNotConfigured) -> Response[dict[str, Any]]:
    logger.error("GHL app credentials are not configured")
    return _error(503, "the GHL app is not configured yet (client_id / client_secret); try again later")


@app.exception_handler(OAuthError)
def token_endpoint_failed(exc: OAuthError) -> Response[dict[str, Any]]:
    logger.warning("token exchange failed", extra={"status": exc.status, "reason": exc.message})
    metrics.add_metric(name="InstallTokenExchangeFailed", unit=MetricUnit.Count, value=1)
    return _error(502, f"GHL's token endpoint failed; nothing was stored. ({exc.message})")


def _error(status: int, message: str) -> Response[dict[str, Any]]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body={"message": message}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
