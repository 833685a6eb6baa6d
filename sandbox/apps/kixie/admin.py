"""The Kixie fake's admin API, next to the kit's /_sandbox routes (never part of Kixie).

    GET  /_sandbox/powerlists               every PowerList: {"powerlists": [{"powerlistId", "name",
                                            "contacts"}]}
    GET  /_sandbox/powerlists/<id>          one list: {"powerlistId", "name", "contacts": [...]}
    GET  /_sandbox/outgoing[?eventname=call|sms|bizsms]   the recorded call/sms requests
    GET  /_sandbox/webhooks                 {"registrations": [...], "deliveries": [...]}
    POST /_sandbox/emit/<event>             emit endcall | startcall | disposition |
                                            scheduledactivity | SMS | cisummary; the body holds the
                                            emitter's options (customer_number, message, callid, …;
                                            scheduledactivity's `due` is ISO 8601) -> {"payload", "queued"}
    POST /_sandbox/deliver                  post every queued webhook now -> {"delivered": [...]}
    GET  /_sandbox/quota                    {"limit", "remaining"} of the account
    POST /_sandbox/quota                    {"limit": n} a new limit (counts start again),
                                            {"reset": true} today's count back to 0,
                                            {"spend": n} count n calls as made (start near the limit)
    POST /_sandbox/lookup                   {"url", "number"}: Kixie's custom-CRM lookup -> {"status", "body"}

Every route takes `?businessid=` (default: the first account). A bad option is a 400 with
{"error": ...}; an unknown PowerList, account or call is a 404.
"""

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request

from sandbox.apps.kixie.answers import Json

if TYPE_CHECKING:
    from sandbox.apps.kixie.sandbox import KixieSandbox


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def admin_blueprint(sb: "KixieSandbox") -> Blueprint:
    bp = Blueprint("kixie_admin", __name__, url_prefix="/_sandbox")
    emitters: dict[str, Callable[..., Json]] = {
        "endcall": sb.emit_endcall,
        "startcall": sb.emit_startcall,
        "disposition": sb.emit_disposition,
        "scheduledactivity": sb.emit_scheduledactivity,
        "SMS": sb.emit_sms,
        "cisummary": sb.emit_cisummary,
    }

    def body() -> Json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def businessid() -> str:
        wanted = request.args.get("businessid")
        try:
            return sb.account(wanted).businessid
        except (KeyError, LookupError):
            raise AdminError(404, f"no Kixie account {wanted}") from None

    @bp.errorhandler(AdminError)
    def admin_error(error: AdminError) -> Any:
        return jsonify({"error": error.message}), error.status

    def powerlist_json(powerlist_id: str, name: str) -> Json:
        contents = sb.account(businessid()).powerlists.contents(powerlist_id)
        return {"powerlistId": powerlist_id, "name": name, "contacts": contents}

    @bp.get("/powerlists")
    def powerlists() -> Any:
        names = sb.account(businessid()).powerlists.names
        return jsonify({"powerlists": [powerlist_json(i, n) for i, n in names.items()]})

    @bp.get("/powerlists/<powerlist_id>")
    def powerlist(powerlist_id: str) -> Any:
        names = sb.account(businessid()).powerlists.names
        if powerlist_id not in names:
            raise AdminError(404, f"no PowerList {powerlist_id}")
        return jsonify(powerlist_json(powerlist_id, names[powerlist_id]))

    @bp.get("/outgoing")
    def outgoing() -> Any:
        sent = sb.outgoing(request.args.get("eventname"), businessid())
        return jsonify({"outgoing": [o.json() for o in sent]})

    @bp.get("/webhooks")
    def webhooks() -> Any:
        registry = sb.account(businessid()).registry
        return jsonify(
            {
                "registrations": [r.json() for r in registry.registrations.values()],
                "deliveries": [d.json() for d in sb.outbox.deliveries],
            }
        )

    @bp.post("/emit/<event>")
    def emit(event: str) -> Any:
        emitter = emitters.get(event)
        if emitter is None:
            raise AdminError(404, f"no emitter for {event}; one of {', '.join(emitters)}")
        options = {**body(), "businessid": businessid()}
        if isinstance(options.get("due"), str):
            try:
                options["due"] = datetime.fromisoformat(options["due"])
            except ValueError:
                raise AdminError(400, "due is an ISO 8601 date-time") from None
        before = len(sb.outbox.deliveries)
        try:
            payload = emitter(**options)
        except KeyError as exc:
            raise AdminError(404, f"unknown {exc}") from None
        except (TypeError, ValueError) as exc:
            raise AdminError(400, str(exc)) from None
        return jsonify({"payload": payload, "queued": len(sb.outbox.deliveries) - before})

    @bp.post("/deliver")
    def deliver() -> Any:
        return jsonify({"delivered": [d.json() for d in sb.deliver_webhooks()]})

    def quota_json() -> Json:
        return {"limit": sb.quota.limit, "remaining": sb.quota.remaining(businessid())}

    @bp.get("/quota")
    def quota() -> Any:
        return jsonify(quota_json())

    @bp.post("/quota")
    def change_quota() -> Any:
        data = body()
        try:
            if "limit" in data:
                sb.quota.configure(int(data["limit"]))
            if data.get("reset"):
                sb.quota.reset()
            if "spend" in data:
                sb.quota.spend(businessid(), int(data["spend"]))
        except (TypeError, ValueError) as exc:
            raise AdminError(400, str(exc)) from None
        return jsonify(quota_json())

    @bp.post("/lookup")
    def lookup() -> Any:
        data = body()
        if not isinstance(data.get("url"), str) or not isinstance(data.get("number"), str):
            raise AdminError(400, "url and number are strings")
        answer = sb.lookup(data["url"], data["number"])
        return jsonify({"status": answer.status, "body": answer.body})

    return bp
