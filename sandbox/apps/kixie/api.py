"""The fake's HTTP surface: Kixie's `/app/event` and webhook management (target-apps.md §3.1-3.5).

    POST /app/event?apikey=<key>&businessid=<bid>     {"apikey", "businessid", "eventname", …}
    POST /app/v1/api/<postWebhook|getWebhooks|…>       {"apikey", "businessid", "call", …}

Pipeline (in this order): an injected 429/5xx (the kit's middleware); the body, a JSON object of
at most `max_body_bytes`; the credentials (`/app/event`: `apikey` and `businessid` in the query
AND the body, equal in both; management: in the body, and equal in the query when sent there);
the account's daily counter; then the operation. Every refusal is HTTP 200 `{"success": false,
"error": "..."}` (Kixie's only error shape), an unknown path or method included ("function does
not exist", as observed live for `/postwebhook`). Successes are `{"success": true, …}`.
"""

import hmac
import json
from typing import TYPE_CHECKING

from flask import Flask, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from sandbox.apps.kixie.account import Account
from sandbox.apps.kixie.admin import admin_blueprint
from sandbox.apps.kixie.answers import (
    BAD_CREDENTIALS,
    DAILY_LIMIT_REACHED,
    UNKNOWN_FUNCTION,
    Json,
    KixieError,
    failure,
    missing,
    success,
)
from sandbox.apps.kixie.events import handle_event
from sandbox.fakes.faults import Fault, FaultKind

if TYPE_CHECKING:
    from sandbox.apps.kixie.sandbox import KixieSandbox

EVENT_PATH = "/app/event"
MANAGEMENT_PREFIX = "/app/v1/api/"
MAX_BODY_BYTES = 1_000_000  # Kixie's own limit is undocumented


def fault_response(fault: Fault) -> Response:
    if fault.kind is FaultKind.RATE_LIMIT:
        return failure("Too Many Requests", 429)
    return failure("Internal server error", fault.status or 500)


def _body(max_bytes: int) -> Json:
    if (request.content_length or 0) > max_bytes:
        raise KixieError(f"the request body is larger than {max_bytes} bytes")
    try:
        data = json.loads(request.get_data(cache=False) or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KixieError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise KixieError("the body must be a JSON object")
    return data


def _credential(value: object) -> str | None:
    """A key or business id as sent: a non-empty string (a business id may be a number)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def _account(sb: "KixieSandbox", body: Json, *, query_required: bool) -> Account:
    """The account the request authenticates as; a missing or mismatched credential is refused."""
    for name in ("apikey", "businessid"):
        in_body, in_query = _credential(body.get(name)), request.args.get(name)
        if in_body is None:
            raise missing(name)
        if in_query is None and query_required:
            raise missing(name, "the query")
        if in_query is not None and in_query != in_body:
            raise KixieError(BAD_CREDENTIALS)
    account = sb.accounts.get(str(body["businessid"]))
    if account is None or not hmac.compare_digest(str(body["apikey"]).encode(), account.apikey.encode()):
        raise KixieError(BAD_CREDENTIALS)
    if not sb.quota.consume(account.businessid):
        raise KixieError(DAILY_LIMIT_REACHED.format(limit=sb.quota.limit))
    return account


def build_app(sb: "KixieSandbox") -> Flask:
    app = Flask("sandbox.apps.kixie")
    # Werkzeug refuses a longer body itself (413) when it arrives without a Content-Length.
    app.config["MAX_CONTENT_LENGTH"] = sb.max_body_bytes

    @app.errorhandler(KixieError)
    def refused(error: KixieError) -> Response:
        return failure(error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if request.path.startswith("/_sandbox"):
            return failure(error.description or "error", error.code or 500)
        if isinstance(error, RequestEntityTooLarge):
            return failure(f"the request body is larger than {sb.max_body_bytes} bytes")
        return failure(UNKNOWN_FUNCTION)

    @app.post(EVENT_PATH)
    def event() -> Response:
        body = _body(sb.max_body_bytes)
        account = _account(sb, body, query_required=True)
        return success(**handle_event(account, body, sb.clock))

    @app.post(f"{MANAGEMENT_PREFIX}<path:operation>")
    def manage_webhooks(operation: str) -> Response:
        body = _body(sb.max_body_bytes)
        account = _account(sb, body, query_required=False)
        return success(**account.registry.manage(request.path, body))

    app.register_blueprint(admin_blueprint(sb))
    sb.mount(app, fault_response=fault_response, logged=lambda path: path.startswith("/app/"))
    return app
