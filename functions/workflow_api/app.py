"""The workflow API: /connections/{connectionId}/contacts/{contactId}/bundle|tasks|notes.

Apps call it from their workflows with the connection's key in `X-Api-Key`; the rules (auth,
scope, cost, what a write leaves behind) are ghlsync.workflow.service's, the answers are:

| status | when |
|--------|------|
| 200 / 201 | read / written (201: created) |
| 304 | bundle unchanged: `If-None-Match` holds its `ETag` |
| 400 | body not a JSON object, unknown `include` part (`field` names it) |
| 401 | no key, wrong key, unknown connection |
| 403 | write on a read-only connection, GHL refused the token's scope, connection disabled |
| 404 | contact / task / note not in the connection's location (or no such record, or a bad id) |
| 413 | body over WORKFLOW_MAX_BODY_BYTES |
| 422 | a body field is wrong (`field` names it) |
| 429 | GHL's budget for the location is spent (`Retry-After`) |
| 502 | GHL failed after the client's retries |
"""

import base64
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ghlsync.config import get_settings
from ghlsync.observability import logger, metrics, tracer
from ghlsync.store.connections import Connection
from ghlsync.workflow import errors
from ghlsync.workflow.bundle import etag_matches, etag_of, parse_include
from ghlsync.workflow.requests import NoteBody, TaskCompletedBody, TaskCreateBody, TaskUpdateBody, parse_body
from ghlsync.workflow.service import WorkflowApi, default_workflow_api

app = APIGatewayRestResolver()
CONTACT = "/connections/<connection_id>/contacts/<contact_id>"
KEY_HEADER = "X-Api-Key"


@cache
def workflow_api() -> WorkflowApi:
    # Built on the first request, not at import: its AWS and HTTP clients need the environment,
    # and the dev stack and tests swap `wiring.default_connectors` for their own.
    return default_workflow_api()


def _key() -> str | None:
    return app.current_event.headers.get(KEY_HEADER)


def _body() -> bytes:
    event = app.current_event
    # Not `decoded_body`: a base64 body that is not UTF-8 must answer 400, not fail decoding here.
    text = event.body or ""
    body = base64.b64decode(text) if event.is_base64_encoded else text.encode()
    limit = get_settings().workflow_max_body_bytes
    if len(body) > limit:
        raise errors.TooLarge(f"the body is larger than {limit} bytes")
    return body


def _writer(connection_id: str) -> tuple[WorkflowApi, Connection, bytes]:
    """A write's checks in the order the answers are documented: 413, 401, 403; then the body."""
    raw = _body()
    api = workflow_api()
    connection = api.authorize(connection_id, _key())
    api.require_writes(connection)
    return api, connection, raw


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


@app.get(f"{CONTACT}/bundle")
@tracer.capture_method
def bundle(connection_id: str, contact_id: str) -> Response[Any]:
    api = workflow_api()
    connection = api.authorize(connection_id, _key())
    query = app.current_event.multi_value_query_string_parameters or {}
    document = api.bundle(connection, contact_id, parse_include(query.get("include")))
    etag = etag_of(document)
    metrics.add_metric(name="WorkflowBundleServed", unit=MetricUnit.Count, value=1)
    if etag_matches(app.current_event.headers.get("If-None-Match"), etag):
        return Response(status_code=304, headers={"ETag": etag}, body=None)
    return _json(200, document, {"ETag": etag, "Cache-Control": "private, no-cache"})


@app.get(f"{CONTACT}/tasks")
@tracer.capture_method
def list_tasks(connection_id: str, contact_id: str) -> Response[dict[str, Any]]:
    api = workflow_api()
    return _json(200, api.list_tasks(api.authorize(connection_id, _key()), contact_id))


@app.post(f"{CONTACT}/tasks")
@tracer.capture_method
def create_task(connection_id: str, contact_id: str) -> Response[dict[str, Any]]:
    api, connection, raw = _writer(connection_id)
    return _json(201, api.create_task(connection, contact_id, parse_body(raw, TaskCreateBody)))


@app.put(f"{CONTACT}/tasks/<task_id>")
@tracer.capture_method
def update_task(connection_id: str, contact_id: str, task_id: str) -> Response[dict[str, Any]]:
    api, connection, raw = _writer(connection_id)
    body = parse_body(raw, TaskUpdateBody)
    return _json(200, api.update_task(connection, contact_id, task_id, body))


@app.put(f"{CONTACT}/tasks/<task_id>/completed")
@tracer.capture_method
def complete_task(connection_id: str, contact_id: str, task_id: str) -> Response[dict[str, Any]]:
    api, connection, raw = _writer(connection_id)
    body = parse_body(raw, TaskCompletedBody)
    return _json(200, api.set_task_completed(connection, contact_id, task_id, body))


@app.get(f"{CONTACT}/notes")
@tracer.capture_method
def list_notes(connection_id: str, contact_id: str) -> Response[dict[str, Any]]:
    api = workflow_api()
    return _json(200, api.list_notes(api.authorize(connection_id, _key()), contact_id))


@app.post(f"{CONTACT}/notes")
@tracer.capture_method
def create_note(connection_id: str, contact_id: str) -> Response[dict[str, Any]]:
    api, connection, raw = _writer(connection_id)
    return _json(201, api.create_note(connection, contact_id, parse_body(raw, NoteBody)))


@app.put(f"{CONTACT}/notes/<note_id>")
@tracer.capture_method
def update_note(connection_id: str, contact_id: str, note_id: str) -> Response[dict[str, Any]]:
    api, connection, raw = _writer(connection_id)
    body = parse_body(raw, NoteBody)
    return _json(200, api.update_note(connection, contact_id, note_id, body))


@app.exception_handler(errors.WorkflowError)
def refused(error: errors.WorkflowError) -> Response[dict[str, Any]]:
    """Every refusal in one place: its status, a message, the field at fault, Retry-After on 429."""
    logger.info("workflow API refused", extra={"status": error.status, "reason": error.message})
    metrics.add_metric(name=f"WorkflowApi{error.status}", unit=MetricUnit.Count, value=1)
    body: dict[str, Any] = {"message": error.message}
    if error.field is not None:
        body["field"] = error.field
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, errors.RateLimited) else None
    return _json(error.status, body, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
