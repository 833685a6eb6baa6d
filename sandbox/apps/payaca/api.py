"""The fake's HTTP surface: Payaca's /v1 (target-apps.md §4.2-4.3, §4.7 [PROPOSAL]).

Pipeline for /v1 (in this order): an injected 429/5xx (the kit's middleware, in the [PROPOSAL]
error envelope), HTTP Basic with the client id and secret (401 otherwise; the real error body is
unknown, so it is minimal), the fake's rate limit (429 + Retry-After; Payaca documents none, so
it is off unless configured), then the route. Errors are `{"error": {"code", "message",
"details"}}`; lists are `offset`/`limit` (1-100, default 50) with `totalCount`.
"""

import base64
import binascii
import hmac
import json
from typing import TYPE_CHECKING

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from sandbox.apps.payaca.errors import ApiError, Json, invalid
from sandbox.fakes.faults import Fault, FaultKind

if TYPE_CHECKING:
    from sandbox.apps.payaca.sandbox import PayacaSandbox

API = "/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def fault_response(fault: Fault) -> Response:
    if fault.kind is FaultKind.RATE_LIMIT:
        error = ApiError(429, "RATE_LIMITED", "Too many requests")
        return _error(error, headers={"Retry-After": "1"})
    return _error(ApiError(fault.status or 500, "SERVER_ERROR", "Internal server error"))


def _error(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(error.body()), error.status, headers=headers, content_type="application/json")


def _ok(body: Json, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def _body() -> Json:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    return data


def _int_arg(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer", name) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise invalid(f"{name} is out of range", name)
    return value


def _page(items: list[Json], key: str) -> Response:
    offset = _int_arg("offset", 0, minimum=0)
    limit = _int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    return _ok({key: items[offset : offset + limit], "totalCount": len(items)})


def build_app(sb: "PayacaSandbox") -> Flask:
    app = Flask("sandbox.apps.payaca")
    store = sb.store

    @app.before_request
    def gate() -> Response | None:
        if not request.path.startswith(API + "/"):
            return None
        if not _authorised(sb, request.headers.get("Authorization", "")):
            return _error(ApiError(401, "UNAUTHORIZED", "Unauthorized"))
        retry_after = sb.limiter.check()
        if retry_after is not None:
            return _error(
                ApiError(429, "RATE_LIMITED", "Too many requests"), {"Retry-After": str(int(retry_after))}
            )
        return None

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _error(
            ApiError(
                error.code or 500, "NOT_FOUND" if error.code == 404 else "ERROR", error.description or ""
            )
        )

    # -- customers (documented; list by e-mail is a PROPOSAL) ---------------------------------
    @app.post(f"{API}/customers")
    def upsert_customer() -> Response:
        customer, created = store.upsert_customer(_body())
        return _ok({"customer": store.customer_json(customer)}, 201 if created else 200)

    @app.get(f"{API}/customers")
    def list_customers() -> Response:
        found = store.search(request.args.get("email"))
        return _page([store.customer_json(c) for c in found], "customers")

    @app.get(f"{API}/customers/<customer_id>")
    def get_customer(customer_id: str) -> Response:
        return _ok({"customer": store.customer_json(store.customer(customer_id))})

    @app.route(f"{API}/customers/<customer_id>", methods=["PATCH", "PUT"])
    def update_customer(customer_id: str) -> Response:
        return _ok({"customer": store.customer_json(store.update_customer(customer_id, _body()))})

    @app.post(f"{API}/customers/<customer_id>/tags")
    def add_tags(customer_id: str) -> Response:
        customer = store.change_tags(customer_id, _body().get("tagNames"), add=True)
        return _ok({"customer": store.customer_json(customer)})

    @app.delete(f"{API}/customers/<customer_id>/tags")  # PROPOSAL
    def remove_tags(customer_id: str) -> Response:
        customer = store.change_tags(customer_id, _body().get("tagNames"), add=False)
        return _ok({"customer": store.customer_json(customer)})

    # -- projects (create documented; the rest PROPOSAL / UNVERIFIED) -------------------------
    @app.post(f"{API}/customers/<customer_id>/projects")
    def create_project(customer_id: str) -> Response:
        project = store.create_project(customer_id, _body())
        return _ok({"project": store.project_json(project)}, 201)

    @app.get(f"{API}/customers/<customer_id>/projects")
    def list_projects(customer_id: str) -> Response:
        store.customer(customer_id)
        projects = sorted(
            (p for p in store.projects.values() if p.customer_id == customer_id), key=lambda p: p.created_at
        )
        return _page([store.project_json(p) for p in projects], "projects")

    @app.get(f"{API}/projects/<project_id>")
    def get_project(project_id: str) -> Response:
        return _ok({"project": store.project_json(store.project(project_id))})

    @app.patch(f"{API}/projects/<project_id>")
    def update_project(project_id: str) -> Response:
        return _ok({"project": store.project_json(store.update_project(project_id, _body()))})

    @app.post(f"{API}/projects/<project_id>/notes")
    def add_note(project_id: str) -> Response:
        return _ok({"note": store.add_note(project_id, _body().get("note"))}, 201)

    @app.get(f"{API}/projects/<project_id>/tasks")
    def list_tasks(project_id: str) -> Response:
        project = store.project(project_id)
        return _page([store.tasks[t] for t in project.tasks], "tasks")

    @app.post(f"{API}/projects/<project_id>/tasks")
    def create_task(project_id: str) -> Response:
        return _ok({"task": store.create_task(project_id, _body())}, 201)

    @app.patch(f"{API}/tasks/<task_id>")
    def update_task(task_id: str) -> Response:
        return _ok({"task": store.update_task(task_id, _body())})

    sb.mount(app, fault_response=fault_response, logged=lambda path: path.startswith(API + "/"))
    return app


def _authorised(sb: "PayacaSandbox", header: str) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = sb.clients.get(client_id)
    return expected is not None and hmac.compare_digest(secret.encode(), expected.encode())
