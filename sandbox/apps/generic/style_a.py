"""Style A of the generic fake: bearer token, `{"data": …, "meta": {"next_cursor"}}`, cursor paging,
snake_case fields with one `name`, tags by endpoint, webhooks (sandbox.generic.sandbox).

    GET    /api/v1/contacts?limit&cursor&updated_since&email&phone&company   list (ascending updated_at)
    POST   /api/v1/contacts                     201 {"data": contact}
    GET|PATCH|DELETE /api/v1/contacts/{id}      DELETE: 204; a PATCH merges `custom` key by key
                                                (a null value removes the key)
    POST   /api/v1/contacts/{id}/tags           {"tags": [...]} adds -> {"data": contact}
    DELETE /api/v1/contacts/{id}/tags/{tag}     removes one (URL-encoded; absent: still 204)
    GET|POST /api/v1/contacts/{id}/tasks|notes  list (cursor) / create 201
    GET|PATCH|DELETE /api/v1/tasks/{id}, /api/v1/notes/{id}

The cursor is opaque: it names the last record of the page by (updated_at, creation order), so a
record changed while a client pages moves behind it and is still listed once. `updated_since`
is inclusive. Errors: `{"error": {"code", "message", "field"}}`.
"""

import base64
import binascii
import hmac
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, request

from sandbox.apps.generic.store import ApiError, Contact, Json, Kind, Note, Record, Task, bad_request, invalid
from sandbox.apps.generic.styles import (
    FieldReader,
    Style,
    choice,
    email,
    int_arg,
    json_body,
    json_response,
    moment,
    read_body,
    tag_list,
    text,
    time_arg,
    utc_format,
)

if TYPE_CHECKING:
    from sandbox.apps.generic.sandbox import GenericSandbox

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
iso_z = utc_format("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """ISO 8601 with a zone (`Z` or an offset); a time without one is refused."""
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError("no time zone")
    return at.astimezone(UTC).timestamp()


def _name(value: Any) -> Json:
    """One full name: the first word is the first name, the rest the last name."""
    if value is None:
        return {"first_name": "", "last_name": ""}
    if not isinstance(value, str):
        raise invalid("name", "must be a string")
    first, _, last = value.strip().partition(" ")
    return {"first_name": first, "last_name": last.strip()}


def _custom(value: Any) -> Json:
    if not isinstance(value, dict):
        raise invalid("custom", "must be an object")
    return {"custom": dict(value)}


FIELDS: dict[Kind, dict[str, FieldReader]] = {
    "contact": {
        "name": _name,
        "email": email("email"),
        "phone": text("phone", "phone"),
        "company": text("company", "company"),
        "custom": _custom,
    },
    "task": {
        "title": text("title", "title", required=True),
        "body": text("body", "body", nullable=False),
        "due_at": moment("due_at", "due_at", parse_iso),
        "status": choice("status", "done", {"open": False, "done": True}),
    },
    "note": {"body": text("body", "body", required=True)},
}
REQUIRED: dict[Kind, tuple[str, ...]] = {"contact": (), "task": ("title",), "note": ("body",)}


def _encode_cursor(record: Record) -> str:
    return base64.urlsafe_b64encode(f"{record.updated_at!r}:{record.seq}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        updated_at, _, seq = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        return float(updated_at), int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("cursor is not one this API gave") from None


class StyleA(Style):
    name = "a"
    api_path = "/api/v1"
    record_paths = {"contact": "/contacts", "task": "/tasks", "note": "/notes"}

    def authorised(self, sb: "GenericSandbox", req: Request) -> bool:
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and any(hmac.compare_digest(token, key) for key in sb.keys)

    def error_body(self, error: ApiError) -> Json:
        return {"error": {"code": error.code, "message": error.message, "field": error.field}}

    def render(self, record: Record) -> Json:
        common = {"id": record.id, "updated_at": iso_z(record.updated_at)}
        if isinstance(record, Contact):
            name = " ".join(part for part in (record.first_name, record.last_name) if part)
            return {
                **common,
                "name": name,
                "email": record.email,
                "phone": record.phone,
                "company": record.company,
                "tags": list(record.tags),
                "custom": dict(record.custom),
                "created_at": iso_z(record.created_at),
            }
        if isinstance(record, Task):
            status = "done" if record.done else "open"
            return {**common, "contact_id": record.contact_id, "title": record.title, "body": record.body,
                    "due_at": iso_z(record.due_at), "status": status}  # fmt: skip
        assert isinstance(record, Note)
        return {**common, "contact_id": record.contact_id, "body": record.body}

    def read(self, kind: Kind, body: Json, *, creating: bool) -> Json:
        return read_body(FIELDS[kind], body, required=REQUIRED[kind] if creating else ())

    def one(self, record: Record, *, created: bool = False) -> Response:
        return json_response({"data": self.render(record)}, 201 if created else 200)

    def many(self, records: list[Record]) -> Response:
        limit = int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        cursor = request.args.get("cursor")
        if cursor:
            after = _decode_cursor(cursor)
            records = [r for r in records if r.order > after]
        page = records[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(records) > limit else None
        return json_response({"data": [self.render(r) for r in page], "meta": {"next_cursor": next_cursor}})

    def deleted(self) -> Response:
        return Response(status=204)

    def add_collection_routes(self, app: Flask, sb: "GenericSandbox") -> None:
        store, api = sb.store, self.api_path

        @app.get(f"{api}/contacts")
        def list_contacts() -> Response:
            since = time_arg("updated_since", parse_iso)
            args = request.args
            return self.many(
                store.listing(
                    "contact",
                    since=since,
                    email=args.get("email"),
                    phone=args.get("phone"),
                    company=args.get("company"),
                )
            )

        @app.post(f"{api}/contacts")
        def create_contact() -> Response:
            return self.one(
                store.create("contact", self.read("contact", json_body(), creating=True)), created=True
            )

        @app.post(f"{api}/contacts/<contact_id>/tags")
        def add_tags(contact_id: str) -> Response:
            store.contact(contact_id)
            tags = read_body({"tags": tag_list("tags")}, json_body(), required=("tags",))["tags"]
            return self.one(store.change_tags(contact_id, add=tags))

        @app.delete(f"{api}/contacts/<contact_id>/tags/<path:tag>")
        def remove_tag(contact_id: str, tag: str) -> Response:
            store.change_tags(contact_id, remove=[tag])
            return self.deleted()

        def children(kind: Kind, contact_id: str) -> Response:
            return self.many(store.listing(kind, contact_id=contact_id))

        def create_child(kind: Kind, contact_id: str) -> Response:
            store.contact(contact_id)
            values = {**self.read(kind, json_body(), creating=True), "contact_id": contact_id}
            return self.one(store.create(kind, values), created=True)

        children_paths: tuple[tuple[Kind, str], ...] = (("task", "/tasks"), ("note", "/notes"))
        for kind, path in children_paths:
            rule = f"{api}/contacts/<contact_id>{path}"
            app.add_url_rule(rule, f"list_{kind}s", partial(children, kind), methods=["GET"])
            app.add_url_rule(rule, f"create_{kind}", partial(create_child, kind), methods=["POST"])
