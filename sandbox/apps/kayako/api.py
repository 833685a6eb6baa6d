"""The fake's HTTP surface: Kayako's /api/v1 (target-apps.md §1.12) and the /_sandbox admin API.

Request pipeline for /api/v1 (in this order): injected 429/5xx fault (the kit's middleware, in
Kayako's error shape: `fault_response`), Accept check (406), auth
(Basic opens a session; X-Session-ID or _session_id continues one; none -> 401; unknown or
expired -> 454), CSRF on POST/PUT/DELETE (403 CSRF_FAILED), per-minute rate limit (429). The
`.json` suffix is optional everywhere; bodies may be form-urlencoded or JSON. The public Events
webhook (`webhook/<token>/incoming`) skips session auth: its token is the credential.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from sandbox.apps.kayako.store import (
    CASE_STATUSES,
    ROLES,
    ApiError,
    Json,
    field_invalid,
    field_required,
    tag_list,
)
from sandbox.fakes.faults import Fault, FaultKind

if TYPE_CHECKING:
    from sandbox.apps.kayako.sandbox import KayakoSandbox

API = "/api/v1"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MUTATING = frozenset({"POST", "PUT", "DELETE"})
PUBLIC_EVENT_PATH = re.compile(rf"^{API}/webhook/[^/]+/incoming$")


def build_app(sb: "KayakoSandbox") -> Flask:
    app = Flask("sandbox.apps.kayako")
    store = sb.store

    # -- pipeline -------------------------------------------------------------------------
    @app.before_request
    def gate() -> Response | None:
        if not request.path.startswith(API + "/"):
            return None
        accept = request.headers.get("Accept", "*/*")
        if "application/json" not in accept and "*/*" not in accept:
            raise ApiError(406, "NOT_ACCEPTABLE", "The Accept header must allow application/json")
        if not PUBLIC_EVENT_PATH.match(request.path):  # the event token is the credential there
            _authenticate(sb)
        action = f"{request.method} {request.path[len(API) + 1 :].split('/')[0]}"
        retry_after = sb.limiter.check(action)
        if retry_after is not None:
            raise _rate_limited(retry_after)
        g.include = _include_set()
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        if not request.path.startswith(API + "/"):
            return response
        response.headers["X-API-Version"] = "1"
        new_session = g.get("new_session")
        if new_session is not None:
            # The authenticating request's answer carries the new session (reference/authentication).
            response.headers["X-CSRF-Token"] = new_session.csrf_token
            body = response.get_json(silent=True)
            if isinstance(body, dict):
                body["session_id"] = new_session.session_id
                response.set_data(json.dumps(body))
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return Response(
            json.dumps(error.body()), error.status, headers=error.headers, content_type="application/json"
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = {404: "RESOURCE_NOT_FOUND", 405: "RESOURCE_ACTION_NOT_AVAILABLE"}.get(
            error.code or 500, "ERROR"
        )
        return api_error(ApiError(error.code or 500, code, error.description or ""))

    # -- envelope -------------------------------------------------------------------------
    def base_url() -> str:
        return request.host_url.rstrip("/") + API

    def expand(item: Json) -> Json:
        """Replace nested references whose resource_type is in `include=` by the full resource."""
        include: frozenset[str] = g.include
        if not include:
            return item

        def resolve(value: Any) -> Any:
            is_ref = isinstance(value, dict) and set(value) == {"id", "resource_type"}
            if is_ref and ("*" in include or value["resource_type"] in include):
                return store.resolve(value["resource_type"], value["id"], base_url()) or value
            return value

        return {
            k: [resolve(v) for v in val] if isinstance(val, list) else resolve(val) for k, val in item.items()
        }

    def one(data: Json, resource: str, status: int = 200) -> Response:
        tag = _etag(data)
        if request.method == "GET" and request.headers.get("If-None-Match") == tag:
            return Response(status=304, headers={"ETag": tag})
        body = {"status": status, "data": expand(data), "resource": resource}
        return Response(json.dumps(body), status, headers={"ETag": tag}, content_type="application/json")

    def page_window() -> tuple[int, int]:
        """offset and limit of the page asked for."""
        offset = _int_arg("offset", 0, minimum=0)
        return offset, _int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)

    def page_of(page: list[Json], total_count: int, resource: str, window: tuple[int, int]) -> Response:
        offset, limit = window
        body = {
            "status": 200,
            "data": [expand(i) for i in page],
            "resource": resource,
            "offset": offset,
            "limit": limit,
            "total_count": total_count,
        }
        return Response(json.dumps(body), 200, content_type="application/json")

    def many(items: list[Json], resource: str) -> Response:
        offset, limit = window = page_window()
        return page_of(items[offset : offset + limit], len(items), resource, window)

    def ok() -> Response:
        return Response(json.dumps({"status": 200}), 200, content_type="application/json")

    def if_match(current: Json) -> None:
        """Optimistic concurrency: If-Match that no longer matches -> 412."""
        wanted = request.headers.get("If-Match")
        if wanted is not None and wanted != "*" and wanted != _etag(current):
            raise ApiError(412, "PRECONDITION_FAILED", "The resource was modified since it was read")

    # -- session, roles, statuses ---------------------------------------------------------
    @app.get(f"{API}/session")
    def get_session() -> Response:
        return one({"user": {"id": g.session.user_id, "resource_type": "user"}}, "session")

    @app.delete(f"{API}/session")
    def delete_session() -> Response:
        sb.sessions.close(g.session.session_id)
        return ok()

    @app.get(f"{API}/roles")
    def list_roles() -> Response:
        return many([store.resolve("role", i, base_url()) or {} for i in ROLES], "role")

    @app.get(f"{API}/cases/statuses")
    def list_case_statuses() -> Response:
        return many([store.resolve("case_status", i, base_url()) or {} for i in CASE_STATUSES], "case_status")

    # -- users ----------------------------------------------------------------------------
    @app.get(f"{API}/users")
    def list_users() -> Response:
        # Only the page is read and serialised: a listing of 10,000 users costs 100 pages, not
        # 100 times 10,000 users.
        since = _since_arg()
        offset, limit = window = page_window()
        users, total_count = store.users_page(since, offset, limit)
        return page_of([store.user_json(u, base_url()) for u in users], total_count, "user", window)

    @app.post(f"{API}/users")
    def create_user() -> Response:
        return one(store.user_json(store.create_user(_params()), base_url()), "user", 201)

    @app.delete(f"{API}/users")
    def bulk_delete_users() -> Response:
        ids = [_to_int(i, "ids") for i in request.args.get("ids", "").split(",") if i.strip()]
        if not ids:
            raise field_required("ids")
        for user_id in ids:
            store.user(user_id)  # all or nothing: every id must exist first
        for user_id in ids:
            store.delete_user(user_id)
        return ok()

    @app.get(f"{API}/users/<int:user_id>")
    def get_user(user_id: int) -> Response:
        return one(store.user_json(store.user(user_id), base_url()), "user")

    @app.put(f"{API}/users/<int:user_id>")
    def update_user(user_id: int) -> Response:
        if_match(store.user_json(store.user(user_id), base_url()))
        return one(store.user_json(store.update_user(user_id, _params()), base_url()), "user")

    @app.delete(f"{API}/users/<int:user_id>")
    def delete_user(user_id: int) -> Response:
        if_match(store.user_json(store.user(user_id), base_url()))
        store.delete_user(user_id)
        return ok()

    # -- identities and autocomplete --------------------------------------------------------
    for kind in ("email", "phone"):
        _identity_routes(app, sb, kind, one, many, base_url)

    @app.get(f"{API}/autocomplete/emails")
    def autocomplete_emails() -> Response:
        address = request.args.get("address", "")
        if not address.strip():
            raise field_required("address")
        identity = store.find_identity("email", address)
        found = (
            []
            if identity is None
            else [
                {
                    "identity": {"id": identity.id, "resource_type": "identity_email"},
                    "parent": {"id": identity.user_id, "resource_type": "user"},
                    "resource_type": "autocomplete_email",
                }
            ]
        )
        return many(found, "autocomplete_email")

    @app.post(f"{API}/webhook/<token>/incoming")
    def incoming_event(token: str) -> Response:
        recorded = store.record_incoming_event(token, _params())
        data = {
            "id": recorded.id,
            "event": recorded.event,
            "user": {"id": recorded.user_id, "resource_type": "user"},
            "properties": recorded.properties,
            "resource_type": "event",
        }
        return one(data, "event", 201)

    # -- notes ----------------------------------------------------------------------------
    @app.get(f"{API}/users/<int:user_id>/notes")
    def list_notes(user_id: int) -> Response:
        return many([store.note_json(n, base_url()) for n in store.notes_of(user_id)], "note")

    @app.post(f"{API}/users/<int:user_id>/notes")
    def create_note(user_id: int) -> Response:
        note = store.create_note(user_id, _params(), g.session.user_id)
        return one(store.note_json(note, base_url()), "note", 201)

    @app.get(f"{API}/users/<int:user_id>/notes/<int:note_id>")
    def get_note(user_id: int, note_id: int) -> Response:
        return one(store.note_json(store.note(user_id, note_id), base_url()), "note")

    @app.put(f"{API}/users/<int:user_id>/notes/<int:note_id>")
    def update_note(user_id: int, note_id: int) -> Response:
        if_match(store.note_json(store.note(user_id, note_id), base_url()))
        return one(store.note_json(store.update_note(user_id, note_id, _params()), base_url()), "note")

    @app.delete(f"{API}/users/<int:user_id>/notes/<int:note_id>")
    def delete_note(user_id: int, note_id: int) -> Response:
        if_match(store.note_json(store.note(user_id, note_id), base_url()))
        store.delete_note(user_id, note_id)
        return ok()

    # -- tags: POST adds, PUT replaces, DELETE removes ----------------------------------------
    @app.route(f"{API}/users/<int:user_id>/tags", methods=["GET", "POST", "PUT", "DELETE"])
    def user_tags(user_id: int) -> Response:
        if request.method == "GET":
            names = store.tags_of(user_id)
        else:
            source = request.args if request.method == "DELETE" and "tags" in request.args else _params()
            tags = tag_list(source.get("tags", ""))
            if not tags and request.method != "PUT":
                raise field_required("tags")
            mode = {"POST": "add", "PUT": "replace", "DELETE": "remove"}[request.method]
            names = store.change_tags(user_id, mode, tags)
        response = many([store.tag_json(n, base_url()) for n in names], "tag")
        if request.method == "POST":
            response.status_code = 201
            body = json.loads(response.get_data())
            body["status"] = 201
            response.set_data(json.dumps(body))
        return response

    # -- cases ----------------------------------------------------------------------------
    def case_list(requester_id: int | None) -> Response:
        with_tags = "tags" in request.args.get("fields", "")
        cases = store.list_cases(requester_id=requester_id, since=_since_arg())
        return many([store.case_json(c, base_url(), with_tags=with_tags) for c in cases], "case")

    @app.get(f"{API}/cases")
    def list_cases() -> Response:
        requester = request.args.get("requester_id")
        return case_list(None if requester is None else _to_int(requester, "requester_id"))

    @app.get(f"{API}/users/<int:user_id>/cases")
    def list_user_cases(user_id: int) -> Response:
        store.user(user_id)
        return case_list(user_id)

    @app.post(f"{API}/cases")
    def create_case() -> Response:
        case = store.create_case(_params(), g.session.user_id)
        return one(store.case_json(case, base_url()), "case", 201)

    @app.get(f"{API}/cases/<int:case_id>")
    def get_case(case_id: int) -> Response:
        with_tags = "tags" in request.args.get("fields", "")
        return one(store.case_json(store.case(case_id), base_url(), with_tags=with_tags), "case")

    @app.put(f"{API}/cases/<int:case_id>")
    def update_case(case_id: int) -> Response:
        if_match(store.case_json(store.case(case_id), base_url()))
        return one(store.case_json(store.update_case(case_id, _params()), base_url()), "case")

    @app.delete(f"{API}/cases/<int:case_id>")
    def delete_case(case_id: int) -> Response:
        if_match(store.case_json(store.case(case_id), base_url()))
        store.delete_case(case_id)
        return ok()

    _admin_routes(app, sb)
    sb.mount(app, fault_response=fault_response, logged=lambda path: path.startswith(API + "/"))
    app.wsgi_app = _without_json_suffix(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _identity_routes(
    app: Flask,
    sb: "KayakoSandbox",
    kind: str,
    one: Callable[..., Response],
    many: Callable[..., Response],
    base_url: Callable[[], str],
) -> None:
    store = sb.store
    path = f"{API}/identities/{kind}s"
    resource = f"identity_{kind}"

    def list_identities() -> Response:
        user_id = request.args.get("user_id")
        if user_id is None:
            raise field_required("user_id")
        found = store.identities_of(store.user(_to_int(user_id, "user_id")).id, kind)
        return many([store.identity_json(i, base_url()) for i in found], resource)

    def create_identity() -> Response:
        return one(store.identity_json(store.create_identity(kind, _params()), base_url()), resource, 201)

    def get_identity(identity_id: int) -> Response:
        return one(store.identity_json(store.identity(kind, identity_id), base_url()), resource)

    def update_identity(identity_id: int) -> Response:
        params = _params()
        return one(
            store.identity_json(store.update_identity(kind, identity_id, params), base_url()), resource
        )

    app.add_url_rule(path, f"list_{kind}_identities", list_identities, methods=["GET"])
    app.add_url_rule(path, f"create_{kind}_identity", create_identity, methods=["POST"])
    app.add_url_rule(f"{path}/<int:identity_id>", f"get_{kind}_identity", get_identity, methods=["GET"])
    app.add_url_rule(f"{path}/<int:identity_id>", f"update_{kind}_identity", update_identity, methods=["PUT"])

    # Not in the public API reference; Kayako's own agent app removes identities this way.
    def delete_identity(identity_id: int) -> Response:
        store.delete_identity(kind, identity_id)
        return Response(json.dumps({"status": 200}), 200, content_type="application/json")

    app.add_url_rule(
        f"{path}/<int:identity_id>", f"delete_{kind}_identity", delete_identity, methods=["DELETE"]
    )


def _admin_routes(app: Flask, sb: "KayakoSandbox") -> None:
    """/_sandbox: what tests and the dev stack use to set the fake up (never part of Kayako)."""

    def body() -> Json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.post("/_sandbox/agents")
    def add_agent() -> Response:
        data = body()
        agent = sb.add_agent(str(data["email"]), str(data["password"]), str(data.get("full_name", "Agent")))
        return _json({"id": agent.id}, 201)

    @app.route("/_sandbox/automations", methods=["GET", "POST"])
    def automations() -> Response:
        if request.method == "POST":
            data = body()
            endpoint = sb.register_automation(str(data["url"]), headers=data.get("headers"))
            return _json({"id": endpoint.id}, 201)
        return _json(
            {
                "endpoints": [
                    {"id": e.id, "url": e.url, "last_attempt_result": e.last_attempt_result}
                    for e in sb.automations.endpoints.values()
                ],
                "pending": len(sb.automations.pending),
            }
        )

    @app.post("/_sandbox/deliver")
    def deliver() -> Response:
        sent = sb.deliver_automations()
        return _json({"delivered": [{"url": d.url, "status": d.status} for d in sent]})

    @app.post("/_sandbox/rate-limits")
    def rate_limits() -> Response:
        sb.limiter.configure({str(k): int(v) for k, v in body().items()})
        return _json(sb.limiter.limits)

    @app.post("/_sandbox/sessions/expire")
    def expire_sessions() -> Response:
        return _json({"expired": sb.expire_sessions()})


def _without_json_suffix(inner: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """WSGI wrapper: the optional `.json` suffix is stripped before anything sees the path."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.endswith(".json"):
            environ["PATH_INFO"] = path.removesuffix(".json")
        return inner(environ, start_response)

    return app


def fault_response(fault: Fault) -> Response:
    """An injected 429 (Retry-After: 1), 500 or server-mode 504, in Kayako's error shape."""
    if fault.kind is FaultKind.RATE_LIMIT:
        error = _rate_limited(1)
    elif fault.kind is FaultKind.TIMEOUT:
        error = ApiError(fault.status, "GATEWAY_TIMEOUT", "The request timed out (injected)")
    else:
        error = ApiError(fault.status, "INTERNAL_SERVER_ERROR", "Something went wrong (injected)")
    headers = {"X-API-Version": "1", **error.headers}
    return Response(json.dumps(error.body()), error.status, headers=headers, content_type="application/json")


# -- request helpers ---------------------------------------------------------------------------
def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, content_type="application/json")


def _etag(data: Json) -> str:
    return '"' + hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24] + '"'


def _rate_limited(retry_after: float) -> ApiError:
    return ApiError(
        429,
        "RATE_LIMIT_REACHED",
        "The rate limit for this action was reached",
        headers={"Retry-After": str(int(retry_after))},
    )


def _authenticate(sb: "KayakoSandbox") -> None:
    g.new_session = None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        entry = sb.store.passwords.get((auth.username or "").lower())
        if entry is None or not hmac.compare_digest(entry[0], auth.password or ""):
            raise ApiError(401, "AUTHENTICATION_FAILED", "Invalid email or password")
        csrf_required = request.headers.get("X-CSRF", "").lower() != "false"
        g.session = g.new_session = sb.sessions.open(entry[1], csrf_required=csrf_required)
        return
    session_id = request.headers.get("X-Session-ID") or request.args.get("_session_id")
    if not session_id:
        raise ApiError(401, "AUTHENTICATION_REQUIRED", "Authentication is required for this resource")
    session = sb.sessions.get(session_id)
    if session is None:
        raise ApiError(454, "SESSION_NOT_FOUND", "Session Not Found")
    if request.method in MUTATING and session.csrf_required:
        token = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(token, session.csrf_token):
            raise ApiError(403, "CSRF_FAILED", "The CSRF token is missing or invalid")
    g.session = session


def _params() -> Json:
    """Body parameters from JSON or form-urlencoded (`custom_fields[key]=value` nests)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "INVALID_REQUEST", "The JSON body must be an object")
        return data
    params: Json = {}
    for key, value in request.form.items():
        if key.startswith("custom_fields[") and key.endswith("]"):
            params.setdefault("custom_fields", {})[key[len("custom_fields[") : -1]] = value
        else:
            params[key] = value
    return params


def _include_set() -> frozenset[str]:
    return frozenset(s.strip() for s in request.args.get("include", "").split(",") if s.strip())


def _to_int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise field_invalid(name, "The value of the argument must be an integer") from None


def _int_arg(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    value = default if raw is None else _to_int(raw, name)
    if value < minimum or (maximum is not None and value > maximum):
        raise field_invalid(name, f"The value of the argument is out of range ({minimum}..{maximum or ''})")
    return value


def _since_arg() -> float | None:
    raw = request.args.get("since")
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise field_invalid("since", "The value of the argument must be an ISO-8601 date") from None
    if parsed.tzinfo is None:
        raise field_invalid("since", "The date must carry a UTC offset")
    return parsed.timestamp()
