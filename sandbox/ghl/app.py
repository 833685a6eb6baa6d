"""The GHL API v2 routes (Version 2021-07-28; v3 translated at the edge, versions.py): contacts,
tags, tasks, notes, appointments, search, and the OAuth token endpoint. Admin routes live in
admin.py; faults, the lock and the request log in the kit's middleware (sandbox.fakes), which
answers injected faults in GHL's shape.
"""

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox.fakes.faults import Fault
from sandbox.ghl import bodies, serialize, versions
from sandbox.ghl import validation as dto
from sandbox.ghl.errors import ApiError, OAuthError, unprocessable
from sandbox.ghl.oauth import Credential
from sandbox.ghl.search import (
    LIST_MAX_LIMIT,
    by_date_added,
    list_page,
    matches_query,
    search,
    search_location_tasks,
)
from sandbox.ghl.state import Contact

if TYPE_CHECKING:
    from sandbox.ghl.sandbox import GhlSandbox

READ = "contacts.readonly"
TASKS_READ = "locations/tasks.readonly"
WRITE = "contacts.write"
FORBIDDEN_LOCATION = "The token does not have access to this location."


@dataclass(frozen=True)
class Caller:
    credential: Credential

    def require_location(self, location_id: Any) -> None:
        if location_id != self.credential.location_id:
            raise ApiError(403, FORBIDDEN_LOCATION)


def create_app(sb: "GhlSandbox") -> Flask:
    app = Flask("sandbox.ghl")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep GHL's field order
    app.url_map.strict_slashes = False  # GHL answers /contacts and /contacts/ alike

    def trace_id() -> str:
        if "trace_id" not in g:
            g.trace_id = sb.next_trace_id()
        return str(g.trace_id)

    def authorize(scope: str) -> Caller:
        """Rate limit, then Version, token, scope (scope is checked before location, like GHL)."""
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        credential = sb.oauth.resolve(token) if token else None
        if credential is not None:
            verdict = sb.rate_limiter.consume(credential.app_id, credential.location_id)
            g.rate_headers = verdict.headers
            if not verdict.allowed:
                # Retry-After on GHL's API 429s is undocumented: sent only when the switch says so.
                retry_after = {"Retry-After": str(verdict.retry_after_s)} if sb.retry_after_on_429 else {}
                raise ApiError(429, "Too Many Requests", headers=retry_after)
        versions.required_version()
        if credential is None:
            raise ApiError(401, "Invalid JWT")
        if scope not in credential.scopes:
            raise ApiError(401, "The token is not authorized for this scope.")
        return Caller(credential)

    def body_for(caller: Caller, schema: dto.Dto, *, location_in_body: bool = False) -> dict[str, Any]:
        body, problems = versions.inbound(bodies.parse_json(request.get_data()))
        if location_in_body and isinstance(body, dict) and isinstance(body.get("locationId"), str):
            caller.require_location(body["locationId"])
        return bodies.validated(body, schema, problems)

    def query_location(caller: Caller) -> str:
        location_id = request.args.get("locationId")
        if not location_id:
            raise unprocessable(["locationId should not be empty", "locationId must be a string"])
        caller.require_location(location_id)
        return location_id

    def contact_for(caller: Caller, contact_id: str) -> Contact:
        contact = sb.store.find_contact(contact_id)
        if contact is None:
            raise sb.crm.not_found("Contact", contact_id)
        caller.require_location(contact.location_id)
        return contact

    def ok(body: dict[str, Any], status: int = 200) -> tuple[Response, int]:
        return jsonify(body), status

    @app.after_request
    def add_rate_limit_headers(response: Response) -> Response:
        for name, value in g.get("rate_headers", {}).items():
            response.headers[name] = value
        return versions.translate_answer(response)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int, dict[str, str]]:
        return jsonify(error.body(trace_id())), error.status, error.headers

    @app.errorhandler(OAuthError)
    def oauth_error(error: OAuthError) -> tuple[Response, int]:
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        if status in (404, 405):
            # NestJS routes by method and path together: PATCH on a path served only for GET/PUT is
            # no route, its NotFoundException (`Cannot <METHOD> <originalUrl>`), never a 405.
            query = request.query_string.decode("latin-1")
            url = f"{request.path}?{query}" if query else request.path
            body = {"message": f"Cannot {request.method} {url}", "error": "Not Found", "statusCode": 404}
            return jsonify({**body, "traceId": trace_id()}), 404
        body = {
            "statusCode": status,
            "message": error.description,
            "error": error.name,
            "traceId": trace_id(),
        }
        return jsonify(body), status

    # --- contacts ---

    @app.get("/contacts/<contact_id>")
    def get_contact(contact_id: str) -> Any:
        contact = contact_for(authorize(READ), contact_id)
        return ok({"contact": serialize.contact_json(contact)})

    @app.post("/contacts/")
    def create_contact() -> Any:
        caller = authorize(WRITE)
        body = body_for(caller, dto.CREATE_CONTACT, location_in_body=True)
        contact = sb.crm.create_contact(body["locationId"], body)
        return ok({"contact": serialize.created_contact_json(contact)}, 201)

    @app.put("/contacts/<contact_id>")
    def update_contact(contact_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        body = body_for(caller, dto.UPDATE_CONTACT)
        sb.crm.update_contact(contact, body)
        return ok({"succeded": True, "contact": serialize.contact_json(contact)})

    @app.delete("/contacts/<contact_id>")
    def delete_contact(contact_id: str) -> Any:
        contact = contact_for(authorize(WRITE), contact_id)
        sb.crm.delete_contact(contact)
        return ok({"succeded": True})

    @app.post("/contacts/upsert")
    def upsert_contact() -> Any:
        caller = authorize(WRITE)
        body = body_for(caller, dto.UPSERT_CONTACT, location_in_body=True)
        contact, created = sb.crm.upsert_contact(body["locationId"], body)
        return ok({"new": created, "contact": serialize.contact_json(contact), "traceId": trace_id()})

    @app.get("/contacts/")
    def list_contacts() -> Any:
        """Deprecated listing with the `meta` cursor live responses carry (startAfter + startAfterId)."""
        caller = authorize(READ)
        location_id = query_location(caller)
        limit = _int_arg("limit", 20, maximum=LIST_MAX_LIMIT)
        start_after = _int_arg("startAfter", None) if request.args.get("startAfter") else None
        page = list_page(
            sb.crm.index.contacts(location_id),
            limit=limit,
            start_after=start_after,
            start_after_id=request.args.get("startAfterId"),
            query=request.args.get("query", ""),
        )
        last = page.contacts[-1] if page.contacts else None
        next_url = None
        if page.has_next and last is not None:
            cursor = {"locationId": location_id, "startAfter": last.date_added_ms, "startAfterId": last.id}
            next_url = f"{request.host_url}contacts/?{urlencode({**cursor, 'limit': limit})}"
        meta = {
            "total": page.total,
            "nextPageUrl": next_url,
            "startAfterId": last.id if last else None,
            "startAfter": last.date_added_ms if last else None,
            "currentPage": page.current_page,
            "nextPage": page.current_page + 1 if page.has_next else None,
            "prevPage": page.current_page - 1 if page.current_page > 1 else None,
        }
        items = [serialize.list_item_json(c) for c in page.contacts]
        return ok({"contacts": items, "count": page.total, "meta": meta})

    @app.post("/contacts/search")
    def search_contacts() -> Any:
        caller = authorize(READ)
        body = body_for(caller, dto.SEARCH, location_in_body=True)
        location = sb.store.location(body["locationId"])
        result = search(sb.crm.index.contacts(location.id), body, region=location.country)
        items = [serialize.search_item_json(contact, cursor) for contact, cursor in result.contacts]
        return ok({"contacts": items, "total": result.total})

    @app.get("/contacts/search/duplicate")
    def find_duplicate() -> Any:
        caller = authorize(READ)
        location = sb.store.location(query_location(caller))
        match = sb.crm.find_duplicate(location, request.args.get("email"), request.args.get("number"))
        return ok({"contact": serialize.contact_json(match[0]) if match else None})

    @app.get("/contacts/business/<business_id>")
    def contacts_by_business(business_id: str) -> Any:
        caller = authorize(READ)
        location_id = query_location(caller)
        limit, skip = _int_arg("limit", 25), _int_arg("skip", 0)
        query = request.args.get("query", "")
        members = [
            c
            for c in by_date_added(sb.store.contacts(location_id))
            if c.business_id == business_id and matches_query(c, query)
        ]
        items = [serialize.list_item_json(c) for c in members[skip : skip + limit]]
        return ok({"contacts": items, "count": len(members)})

    @app.get("/businesses/")
    def list_businesses() -> Any:
        """GET /businesses/?locationId (apps/businesses.json): `limit` and `skip` as strings,
        default 100 and 0; `{"businesses": [...]}` with no count."""
        caller = authorize("businesses.readonly")
        location_id = query_location(caller)
        limit, skip = _int_arg("limit", 100), _int_arg("skip", 0)
        listed = sb.businesses_of(location_id)
        return ok({"businesses": listed[skip : skip + limit]})

    @app.post("/contacts/bulk/business")
    def bulk_business() -> Any:
        caller = authorize(WRITE)
        body = body_for(caller, dto.BULK_BUSINESS, location_in_body=True)
        contacts = [sb.crm.contact(body["locationId"], contact_id) for contact_id in body["ids"]]
        for contact in contacts:
            sb.crm.set_business(contact, body.get("businessId"))
        return ok({"success": True, "ids": body["ids"]})

    # --- tags ---

    @app.post("/contacts/<contact_id>/tags")
    def add_tags(contact_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        body = body_for(caller, dto.TAGS)
        return ok({"tags": sb.crm.add_tags(contact, body["tags"])}, 201)

    @app.delete("/contacts/<contact_id>/tags")
    def remove_tags(contact_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        body = body_for(caller, dto.TAGS)
        return ok({"tags": sb.crm.remove_tags(contact, body["tags"])})

    # --- tasks ---

    @app.get("/contacts/<contact_id>/tasks")
    def list_tasks(contact_id: str) -> Any:
        contact = contact_for(authorize(READ), contact_id)
        tasks = sb.store.location(contact.location_id).tasks.get(contact.id, {}).values()
        return ok({"tasks": [serialize.task_json(t) for t in tasks]})

    @app.post("/contacts/<contact_id>/tasks")
    def create_task(contact_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        task = sb.crm.create_task(contact, body_for(caller, dto.CREATE_TASK))
        return ok({"task": serialize.task_json(task)}, 201)

    @app.get("/contacts/<contact_id>/tasks/<task_id>")
    def get_task(contact_id: str, task_id: str) -> Any:
        contact = contact_for(authorize(READ), contact_id)
        return ok({"task": serialize.task_json(sb.crm.task(contact, task_id))})

    @app.put("/contacts/<contact_id>/tasks/<task_id>")
    def update_task(contact_id: str, task_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        task = sb.crm.task(contact, task_id)
        sb.crm.update_task(contact, task, body_for(caller, dto.UPDATE_TASK))
        return ok({"task": serialize.task_json(task)})

    @app.put("/contacts/<contact_id>/tasks/<task_id>/completed")
    def complete_task(contact_id: str, task_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        task = sb.crm.task(contact, task_id)
        sb.crm.update_task(contact, task, body_for(caller, dto.UPDATE_TASK_STATUS))
        return ok({"task": serialize.task_json(task)})

    @app.delete("/contacts/<contact_id>/tasks/<task_id>")
    def delete_task(contact_id: str, task_id: str) -> Any:
        contact = contact_for(authorize(WRITE), contact_id)
        sb.crm.delete_task(contact, sb.crm.task(contact, task_id))
        return ok({"succeded": True})

    @app.post("/locations/<location_id>/tasks/search")
    def search_tasks(location_id: str) -> Any:
        """Every task of the location, oldest added first, `skip`/`limit` (default 25) paged;
        `completed`, `contactId`, `assignedTo` and `query` (in the title) filter."""
        caller = authorize(TASKS_READ)
        caller.require_location(location_id)
        body = body_for(caller, dto.TASK_SEARCH)
        tasks = search_location_tasks(sb.store.location(location_id), body)
        return ok({"tasks": [serialize.task_json(t) for t in tasks]})

    # --- notes ---

    @app.get("/contacts/<contact_id>/notes")
    def list_notes(contact_id: str) -> Any:
        contact = contact_for(authorize(READ), contact_id)
        notes = sb.store.location(contact.location_id).notes.get(contact.id, {}).values()
        return ok({"notes": [serialize.note_json(n) for n in notes]})

    @app.post("/contacts/<contact_id>/notes")
    def create_note(contact_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        note = sb.crm.create_note(contact, body_for(caller, dto.CREATE_NOTE))
        return ok({"note": serialize.note_json(note)}, 201)

    @app.get("/contacts/<contact_id>/notes/<note_id>")
    def get_note(contact_id: str, note_id: str) -> Any:
        contact = contact_for(authorize(READ), contact_id)
        return ok({"note": serialize.note_json(sb.crm.note(contact, note_id))})

    @app.put("/contacts/<contact_id>/notes/<note_id>")
    def update_note(contact_id: str, note_id: str) -> Any:
        caller = authorize(WRITE)
        contact = contact_for(caller, contact_id)
        note = sb.crm.note(contact, note_id)
        sb.crm.update_note(contact, note, body_for(caller, dto.UPDATE_NOTE))
        return ok({"note": serialize.note_json(note)})

    @app.delete("/contacts/<contact_id>/notes/<note_id>")
    def delete_note(contact_id: str, note_id: str) -> Any:
        contact = contact_for(authorize(WRITE), contact_id)
        sb.crm.delete_note(contact, sb.crm.note(contact, note_id))
        return ok({"succeded": True})

    # --- appointments ---

    @app.get("/contacts/<contact_id>/appointments")
    def list_appointments(contact_id: str) -> Any:
        contact = contact_for(authorize(READ), contact_id)
        appointments = sb.store.location(contact.location_id).appointments.get(contact.id, {}).values()
        return ok({"events": [serialize.event_json(a, contact.location_id) for a in appointments]})

    # --- OAuth ---

    @app.post("/oauth/token")
    def oauth_token() -> Any:
        # The spec says form-encoded; GHL's own OAuth sample posts JSON, so both are read.
        payload = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        form = {str(k): str(v) for k, v in payload.items()} if isinstance(payload, dict) else {}
        return ok(versions.token_answer(sb.oauth.token(versions.token_form(form))))

    from sandbox.ghl.admin import admin_blueprint
    from sandbox.ghl.agency import register_agency_routes
    from sandbox.ghl.agency_v3 import register_agency_v3_routes
    from sandbox.ghl.custom_fields import admin_custom_fields_blueprint, register_custom_field_routes

    register_agency_routes(app, sb, authorize)
    register_agency_v3_routes(app, sb, authorize)
    register_custom_field_routes(app, sb, authorize)
    app.register_blueprint(admin_blueprint(sb))
    app.register_blueprint(admin_custom_fields_blueprint(sb))
    return sb.mount(app, fault_response=lambda fault: fault_response(sb, fault))


def _int_arg(name: str, default: int | None, *, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise unprocessable([f"{name} should not be empty"])
        return default
    try:
        value = int(raw)
    except ValueError:
        raise unprocessable([f"{name} must be a number conforming to the specified constraints"]) from None
    if maximum is not None and value > maximum:
        raise unprocessable([f"{name} must not be greater than {maximum}"])
    if value < 0:
        raise unprocessable([f"{name} must not be less than 0"])
    return value


_FAULT_MESSAGES = {
    429: "Too Many Requests",
    500: "Internal server error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def fault_response(sb: "GhlSandbox", fault: Fault) -> Response:
    """An injected 429/5xx (or a server-mode timeout's 504) in GHL's shape, with a traceId."""
    body = {
        "statusCode": fault.status,
        "message": _FAULT_MESSAGES[fault.status],
        "traceId": sb.next_trace_id(),
    }
    response = Response(json.dumps(body), status=fault.status, mimetype="application/json")
    if fault.status == 429 and sb.retry_after_on_429:
        response.headers["Retry-After"] = str(max(sb.rate_limiter.burst_interval_ms // 1000, 1))
    return response
