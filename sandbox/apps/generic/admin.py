"""The generic fake's admin API, next to the kit's /_sandbox routes (never part of the app).

Changes here are made "as a user in the app's UI": no auth, no rate limit, no faults, and (style
A) they fire webhooks like API changes. Bodies use the style's own field names (style A: `name`,
`email`, …; style B: `FirstName`, `Email`, …); a task or note names its contact with
`contact_id` (style A) or `ContactId` (style B). Records come back as the style's API shows them.

    GET    /_sandbox/state                    {"contacts": [...], "tasks": [...], "notes": [...]}
    POST   /_sandbox/<contacts|tasks|notes>    create -> 201 the record
    PATCH  /_sandbox/<contacts|tasks|notes>/<id>   update -> the record
    DELETE /_sandbox/<contacts|tasks|notes>/<id>   delete -> 204
    POST   /_sandbox/contacts/<id>/tags       {"add": [...], "remove": [...]} -> the contact
    GET    /_sandbox/webhooks                 {"subscribers": [{"url"}], "deliveries": [...]}
    POST   /_sandbox/webhooks                 {"url", "secret"}: style A posts every change there
    POST   /_sandbox/deliver                  post every due webhook now -> {"delivered": [...]}
    GET    /_sandbox/rate-limit               {"per_minute": n | null}
    POST   /_sandbox/rate-limit               {"per_minute": n | null}: at most n API requests per
                                              clock minute (429 + Retry-After past it); null: none

A bad body is a 400/422 in the style's error shape; an unknown id a 404.
"""

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from sandbox.apps.generic.store import KINDS, Json, Kind, bad_request, invalid
from sandbox.apps.generic.styles import json_body, json_response, tag_list

if TYPE_CHECKING:
    from sandbox.apps.generic.sandbox import GenericSandbox

COLLECTIONS: dict[str, Kind] = {f"{kind}s": kind for kind in KINDS}


def admin_blueprint(sb: "GenericSandbox") -> Blueprint:
    bp = Blueprint("generic_admin", __name__, url_prefix="/_sandbox")
    store, style = sb.store, sb.style

    def kind_of(collection: str) -> Kind:
        if collection not in COLLECTIONS:
            raise bad_request(f"records are one of {', '.join(COLLECTIONS)}")
        return COLLECTIONS[collection]

    def deliveries() -> list[Json]:
        return [
            {
                "url": d.url,
                "state": d.state,
                "attempts": d.attempts,
                "status": d.status,
                "body": d.body.decode(),
            }
            for d in sb.outbox.deliveries
        ]

    @bp.get("/state")
    def state() -> Response:
        return json_response({f"{kind}s": [sb.render(r) for r in store.listing(kind)] for kind in KINDS})

    @bp.post("/<collection>")
    def create(collection: str) -> Response:
        kind, body = kind_of(collection), json_body()
        parent = body.pop("contact_id", None) if style.name == "a" and kind != "contact" else None
        values = style.read(kind, body, creating=True)
        if parent is not None:
            values["contact_id"] = parent
        elif kind != "contact" and "contact_id" not in values:
            raise invalid("contact_id", "is required")
        return json_response(sb.render(sb.ui_create(kind, **values)), 201)

    @bp.patch("/<collection>/<record_id>")
    def update(collection: str, record_id: str) -> Response:
        kind = kind_of(collection)
        store.get(kind, record_id)
        return json_response(
            sb.render(sb.ui_update(kind, record_id, **style.read(kind, json_body(), creating=False)))
        )

    @bp.delete("/<collection>/<record_id>")
    def delete(collection: str, record_id: str) -> Response:
        sb.ui_delete(kind_of(collection), record_id)
        return Response(status=204)

    @bp.post("/contacts/<contact_id>/tags")
    def change_tags(contact_id: str) -> Response:
        data = json_body()
        unknown = sorted(set(data) - {"add", "remove"})
        if unknown:
            raise invalid(unknown[0], "is not add or remove")
        add, remove = (tag_list(name)(data.get(name, []))["tags"] for name in ("add", "remove"))
        return json_response(sb.render(sb.ui_change_tags(contact_id, add=add, remove=remove)))

    @bp.get("/webhooks")
    def webhooks() -> Response:
        return json_response(
            {"subscribers": [{"url": s.url} for s in sb.subscribers], "deliveries": deliveries()}
        )

    @bp.post("/webhooks")
    def register() -> Response:
        data = json_body()
        if not isinstance(data.get("url"), str) or not isinstance(data.get("secret"), str):
            raise bad_request("url and secret are strings")
        try:
            sb.register_webhook(data["url"], secret=data["secret"])
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return json_response({"subscribers": [{"url": s.url} for s in sb.subscribers]}, 201)

    @bp.post("/deliver")
    def deliver() -> Response:
        sent = sb.deliver_webhooks()
        return json_response(
            {"delivered": [{"url": d.url, "status": d.status, "state": d.state} for d in sent]}
        )

    @bp.route("/rate-limit", methods=["GET", "POST"])
    def rate_limit() -> Response:
        if request.method == "POST":
            per_minute: Any = json_body().get("per_minute")
            try:
                sb.limiter.configure(None if per_minute is None else int(per_minute))
            except (TypeError, ValueError) as exc:
                raise bad_request(str(exc)) from None
        return json_response({"per_minute": sb.limiter.per_minute})

    return bp
