"""GET /kixie/{connectionId}/lookup?number=<E.164>&token=<webhook token>: Kixie's caller-ID lookup.

The rules and answers are ghlsync.lookup's: 200 `{"found": true, "contact": {...}}` or 200
`{"found": false}` (also for malformed numbers and GHL failures), 401 for every refused token.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.lookup import CallerLookup, NotAuthorized, Source, default_caller_lookup
from ghlsync.observability import logger, metrics, tracer

app = APIGatewayRestResolver()
APP = "kixie"
# The answer names a person: no cache between Kixie and us may keep it.
NO_STORE = {"Cache-Control": "no-store"}
METRIC_OF = {
    Source.CACHE: "CallerLookupFromCache",
    Source.STORE: "CallerLookupFromStore",
    Source.GHL: "CallerLookupFromGhl",
    Source.NOBODY: "CallerLookupUnknownNumber",
    Source.MALFORMED: "CallerLookupMalformedNumber",
    Source.GHL_FAILED: "CallerLookupGhlFailed",
}


@cache
def caller_lookup() -> CallerLookup:
    # Built on the first request, not at import: its AWS and HTTP clients need the environment, and
    # its caches (tokens, answers) must live as long as the warm container.
    return default_caller_lookup(APP)


@app.get(f"/{APP}/<connection_id>/lookup")
@tracer.capture_method
def lookup(connection_id: str) -> Response[dict[str, Any]]:
    query = app.current_event.query_string_parameters or {}
    result = caller_lookup().lookup(connection_id, query.get("token"), query.get("number"))
    metrics.add_metric(name=METRIC_OF[result.source], unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CallerLookupGhlCalls", unit=MetricUnit.Count, value=result.ghl_calls)
    return Response(200, content_types.APPLICATION_JSON, result.answer, headers=NO_STORE)


@app.exception_handler(NotAuthorized)
def refused(_: NotAuthorized) -> Response[dict[str, Any]]:
    metrics.add_metric(name="CallerLookupRefused", unit=MetricUnit.Count, value=1)
    return Response(401, content_types.APPLICATION_JSON, {"message": "unauthorized"}, headers=NO_STORE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
