"""The agency side of GHL's OAuth API (SPEC `apps/oauth.json`): location tokens minted from an
agency token, the installed-locations listing, and the removed reconnect endpoint.

Rules from the spec: both endpoints take `Version: 2021-07-28` and an agency token only
(`Agency-Access-Only`), with `oauth.write` (locationToken, form body `companyId*`, `locationId*`)
or `oauth.readonly` (installedLocations, query `companyId*`, `appId*`, `skip`/`limit` as strings,
defaults 0/20, filters `query` (name), `isInstalled`, `locationId`, `versionId`, `onTrial`,
`planId`). `POST /oauth/reconnect` answers what GHL now answers (ISSUES #333).

⚠ UNCONFIRMED, the sandbox's guesses (README "Unconfirmed"): the message for a Location token on
these routes (`AUTH_CLASS_REFUSED`), 403 for another company's id or app id, 400 for a location
the agency has not installed, and that minting leaves earlier location tokens valid.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request

from sandbox.ghl.errors import ApiError, unprocessable
from sandbox.ghl.oauth import Credential
from sandbox.ghl.state import iso_ms

if TYPE_CHECKING:
    from sandbox.ghl.app import Caller
    from sandbox.ghl.sandbox import GhlSandbox

AUTH_CLASS_REFUSED = (
    "This authClass type is not allowed to access this scope. "
    "Please reach out to the Platform team to get it added."
)
NOT_INSTALLED = "The app is not installed on this location for this company."
RECONNECT_REMOVED = {"message": "API endpoint has been removed", "error": "Bad Request", "statusCode": 400}
INSTALLED_LOCATIONS_DEFAULT_LIMIT = 20


def register_agency_routes(app: Flask, sb: "GhlSandbox", authorize: Callable[[str], "Caller"]) -> None:
    @app.post("/oauth/locationToken")
    def location_token() -> Any:
        return jsonify(minted_location_token(sb, authorize))

    @app.get("/oauth/installedLocations")
    def installed_locations() -> Any:
        rows, follows = installed_location_rows(sb, authorize)
        skip = _count_arg("skip", 0)
        limit = _count_arg("limit", INSTALLED_LOCATIONS_DEFAULT_LIMIT)
        return jsonify(
            {"locations": rows[skip : skip + limit], "count": len(rows), "installToFutureLocations": follows}
        )

    @app.post("/oauth/reconnect")
    def reconnect() -> Any:
        return jsonify(RECONNECT_REMOVED), 400


def minted_location_token(sb: "GhlSandbox", authorize: Callable[[str], "Caller"]) -> dict[str, Any]:
    """The request's location token (form `companyId`, `locationId`), in 2021-07-28's spelling."""
    agency = _agency(authorize("oauth.write"))
    form = request.form.to_dict()
    missing = [name for name in ("companyId", "locationId") if not form.get(name)]
    if missing:
        raise unprocessable([f"{name} should not be empty" for name in missing])
    _require_company(agency, form["companyId"])
    for (client_id, location_id), installation in sb.oauth.installations.items():
        app_ = sb.oauth.apps[client_id]
        if (
            location_id == form["locationId"]
            and app_.app_id == agency.app_id
            and installation.active
            and installation.company_id == agency.company_id
        ):
            return sb.oauth.location_token(app_, installation)
    raise ApiError(400, NOT_INSTALLED)


def installed_location_rows(
    sb: "GhlSandbox", authorize: Callable[[str], "Caller"]
) -> tuple[list[dict[str, Any]], bool]:
    """The request's filtered InstalledLocationSchema rows, and whether the app follows onto new
    locations of the company (query `companyId`, `appId` and the filters both versions share)."""
    agency = _agency(authorize("oauth.readonly"))
    missing = [name for name in ("companyId", "appId") if not request.args.get(name)]
    if missing:
        raise unprocessable([f"{name} should not be empty" for name in missing])
    _require_company(agency, request.args["companyId"])
    if request.args["appId"] != agency.app_id:
        raise ApiError(403, "The token does not belong to this app.")
    rows = [row for row in _company_locations(sb, agency) if _matches(row, request.args)]
    follows = any(
        sb.oauth.apps[company.client_id].app_id == agency.app_id
        for company in sb.oauth.follows_new_locations(agency.company_id)
    )
    return rows, follows


def _agency(caller: "Caller") -> Credential:
    if caller.credential.user_type != "Company":
        raise ApiError(401, AUTH_CLASS_REFUSED)
    return caller.credential


def _require_company(agency: Credential, company_id: str) -> None:
    if company_id != agency.company_id:
        raise ApiError(403, "The token does not have access to this company.")


def _company_locations(sb: "GhlSandbox", agency: Credential) -> list[dict[str, Any]]:
    """Every location of the company (InstalledLocationSchema), installed or not, by id."""
    installs = {
        location_id: installation
        for (client_id, location_id), installation in sb.oauth.installations.items()
        if sb.oauth.apps[client_id].app_id == agency.app_id and installation.active
    }
    rows = []
    for location in sorted(sb.store.locations.values(), key=lambda loc: loc.id):
        if location.company_id != agency.company_id:
            continue
        row: dict[str, Any] = {
            "_id": location.id,
            "name": location.name,
            "address": location.address,
            "isInstalled": location.id in installs,
        }
        if location.id in installs:
            installation = installs[location.id]
            row["versionId"] = sb.oauth.apps[installation.client_id].version_id
            row["installedAt"] = iso_ms(int(installation.installed_at * 1000))
        rows.append(row)
    return rows


def _matches(row: dict[str, Any], args: Any) -> bool:
    query = args.get("query")
    if query and query.lower() not in row["name"].lower():
        return False
    if "isInstalled" in args and row["isInstalled"] != _bool_arg("isInstalled"):
        return False
    if args.get("locationId") and row["_id"] != args["locationId"]:
        return False
    if args.get("versionId") and row.get("versionId") != args["versionId"]:
        return False
    # The sandbox has no paid plans and no trials: those filters match nothing.
    return not (args.get("planId") or ("onTrial" in args and _bool_arg("onTrial")))


def _bool_arg(name: str) -> bool:
    value = request.args[name]
    if value not in ("true", "false"):
        raise unprocessable([f"{name} must be a boolean value"])
    return value == "true"


def _count_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise unprocessable([f"{name} must be a number string"])
    return int(raw)
