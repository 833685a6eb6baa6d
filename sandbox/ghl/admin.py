"""The sandbox's own admin API under /_sandbox/: set up locations, apps and webhook targets,
act as the consent screen, seed data, edit like a UI user, inspect deliveries. Faults, the request
log and the clock are the kit's admin routes (sandbox.fakes.admin)."""

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request

from sandbox.ghl import serialize
from sandbox.ghl.errors import ApiError

if TYPE_CHECKING:
    from sandbox.ghl.sandbox import GhlSandbox
    from sandbox.ghl.webhooks import Delivery


def _delivery_json(delivery: "Delivery") -> dict[str, Any]:
    return {
        "webhookId": delivery.webhook_id,
        "type": delivery.event_type,
        "locationId": delivery.location_id,
        "url": delivery.url,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "status": delivery.status,
        "error": delivery.error,
        "history": delivery.history,
    }


def _admin_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Setup mistakes (unknown ids, duplicates, bad values) are 400s with the reason."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ApiError:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            # A KeyError's str() is the repr of its message (quoted): send the message itself.
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return jsonify({"error": str(message)}), 400

    return wrapper


def admin_blueprint(sb: "GhlSandbox") -> Blueprint:
    bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValueError("send a JSON object")
        return data

    @bp.get("/health")
    def health() -> Any:
        return jsonify({"ok": True, "locations": sorted(sb.store.locations)})

    @bp.post("/locations")
    @_admin_errors
    def add_location() -> Any:
        data = body()
        location = sb.add_location(
            data["locationId"],
            token=data.get("token"),
            allow_duplicates=bool(data.get("allowDuplicates", False)),
            scopes=data.get("scopes"),
            company_id=data.get("companyId"),
            country=data.get("country", "US"),
            name=data.get("name"),
        )
        return jsonify({"locationId": location.id, "companyId": location.company_id}), 201

    @bp.post("/oauth-clients")
    @_admin_errors
    def add_oauth_client() -> Any:
        data = body()
        app = sb.add_oauth_client(
            data["clientId"],
            data["clientSecret"],
            redirect_uri=data.get("redirectUri"),
            webhook_url=data.get("webhookUrl"),
            scopes=data.get("scopes"),
        )
        return jsonify({"clientId": app.client_id, "appId": app.app_id}), 201

    @bp.post("/authorize")
    @_admin_errors
    def authorize() -> Any:
        data = body()
        return jsonify({"code": sb.authorize(data["clientId"], data["locationId"])})

    @bp.post("/authorize-company")
    @_admin_errors
    def authorize_company() -> Any:
        """An agency's bulk install: `locationIds` (absent: all of the company's), and whether
        the app follows onto locations created later (`installToFutureLocations`)."""
        data = body()
        code = sb.authorize_company(
            data["clientId"],
            data["companyId"],
            data.get("locationIds"),
            install_to_future_locations=bool(data.get("installToFutureLocations", False)),
        )
        return jsonify({"code": code})

    @bp.get("/authorize")
    @_admin_errors
    def consent_screen() -> Any:
        """Like the marketplace's chooselocation page: approve, then redirect with ?code=&state=.
        `location_id=` installs one location; `company_id=` (with any `location_id=` to approve,
        none: all, and `install_to_future_locations=true`) is an agency's bulk install."""
        client_id = request.args["client_id"]
        if "company_id" in request.args:
            code = sb.authorize_company(
                client_id,
                request.args["company_id"],
                request.args.getlist("location_id") or None,
                install_to_future_locations=request.args.get("install_to_future_locations") == "true",
            )
        else:
            code = sb.authorize(client_id, request.args["location_id"])
        redirect_uri = request.args.get("redirect_uri") or sb.oauth.apps[client_id].redirect_uri
        if not redirect_uri:
            raise ValueError("no redirect_uri given or registered for this client")
        params = {"code": code, **({"state": request.args["state"]} if "state" in request.args else {})}
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{separator}{urlencode(params)}", code=302)

    @bp.post("/uninstall")
    @_admin_errors
    def uninstall() -> Any:
        """`locationId`: one location removes the app; `companyId` alone: the agency does."""
        data = body()
        if "locationId" in data:
            sb.uninstall(data["clientId"], data["locationId"])
        else:
            sb.uninstall_company(data["clientId"], data["companyId"])
        return jsonify({"uninstalled": True})

    @bp.post("/webhooks")
    @_admin_errors
    def register_webhook() -> Any:
        data = body()
        sb.register_webhook(data["url"], location_id=data.get("locationId"), app_id=data.get("appId"))
        return jsonify({"registered": data["url"]}), 201

    @bp.post("/seed")
    @_admin_errors
    def seed() -> Any:
        data = body()
        ids = sb.seed(
            data["locationId"],
            int(data.get("contacts", 0)),
            int(data.get("tasksPerContact", 0)),
            int(data.get("notesPerContact", 0)),
            emit_webhooks=bool(data.get("emitWebhooks", False)),
        )
        return jsonify({"ids": ids}), 201

    @bp.post("/tags")
    @_admin_errors
    def configure_tags() -> Any:
        """`{"lowercase": true}`: store every tag lower-cased, as GHL may (unconfirmed)."""
        lowercase = body().get("lowercase")
        if not isinstance(lowercase, bool):
            raise ValueError("lowercase must be true or false")
        with sb.lock:
            sb.crm.lowercase_tags = lowercase
        return jsonify({"lowercase": sb.crm.lowercase_tags})

    @bp.post("/search")
    @_admin_errors
    def configure_search() -> Any:
        """`{"lag_s": 5}`: search and the contact listing trail writes by 5 seconds (0: live)."""
        lag = body().get("lag_s")
        if isinstance(lag, bool) or not isinstance(lag, int | float) or not 0 <= lag <= 3600:
            raise ValueError("lag_s must be a number of seconds from 0 to 3600")
        with sb.lock:
            sb.crm.index.set_lag(lag)
        return jsonify({"lag_s": sb.crm.index.lag_s})

    @bp.post("/oauth")
    @_admin_errors
    def configure_oauth() -> Any:
        """`{"previous_access_token_valid_after_refresh": false}`: a refresh revokes the access
        token issued with the refresh token it spends (unconfirmed for GHL, oauth.py)."""
        valid = body().get("previous_access_token_valid_after_refresh")
        if not isinstance(valid, bool):
            raise ValueError("previous_access_token_valid_after_refresh must be true or false")
        with sb.lock:
            sb.oauth.previous_access_token_valid_after_refresh = valid
        return jsonify({"previous_access_token_valid_after_refresh": valid})

    @bp.get("/keys")
    def keys() -> Any:
        return jsonify({**sb.public_keys, "pem": sb.signer.public_keys_pem})

    @bp.post("/deliver")
    def deliver() -> Any:
        # The lock is re-entrant; delivery releases it while sending.
        return jsonify({"deliveries": [_delivery_json(d) for d in sb.deliver_webhooks()]})

    @bp.get("/deliveries")
    def deliveries() -> Any:
        return jsonify({"deliveries": [_delivery_json(d) for d in sb.deliveries]})

    @bp.get("/locations/<location_id>/contacts")
    @_admin_errors
    def dump_contacts(location_id: str) -> Any:
        return jsonify({"contacts": [serialize.contact_json(c) for c in sb.store.contacts(location_id)]})

    # --- edits as a GHL UI user (fire webhooks like the real UI) ---

    @bp.post("/ui/<location_id>/contacts")
    @_admin_errors
    def ui_create_contact(location_id: str) -> Any:
        contact = sb.ui_create_contact(location_id, **body())
        return jsonify({"contact": serialize.contact_json(contact)}), 201

    @bp.put("/ui/<location_id>/contacts/<contact_id>")
    @_admin_errors
    def ui_update_contact(location_id: str, contact_id: str) -> Any:
        contact = sb.ui_update_contact(location_id, contact_id, **body())
        return jsonify({"contact": serialize.contact_json(contact)})

    @bp.delete("/ui/<location_id>/contacts/<contact_id>")
    @_admin_errors
    def ui_delete_contact(location_id: str, contact_id: str) -> Any:
        sb.ui_delete_contact(location_id, contact_id)
        return jsonify({"deleted": contact_id})

    @bp.post("/ui/<location_id>/contacts/<contact_id>/tasks")
    @_admin_errors
    def ui_create_task(location_id: str, contact_id: str) -> Any:
        task = sb.ui_create_task(location_id, contact_id, **body())
        return jsonify({"task": serialize.task_json(task)}), 201

    @bp.post("/ui/<location_id>/contacts/<contact_id>/notes")
    @_admin_errors
    def ui_create_note(location_id: str, contact_id: str) -> Any:
        note = sb.ui_create_note(location_id, contact_id, **body())
        return jsonify({"note": serialize.note_json(note)}), 201

    @bp.post("/ui/<location_id>/contacts/<contact_id>/appointments")
    @_admin_errors
    def ui_create_appointment(location_id: str, contact_id: str) -> Any:
        appointment = sb.ui_create_appointment(location_id, contact_id, **body())
        return jsonify({"event": serialize.event_json(appointment, location_id)}), 201

    return bp
