"""The `Version` header: which API generation a request speaks, and the v3 dialect.

GHL serves several versions side by side (ghl-api.md §1, VERS): `v3`, `2023-02-21`, `2021-07-28`,
`2021-04-15` and `legacy`. A request without the header is `401 "version header was not found."`,
one with any other value `401 "version header is invalid"` (live probes). The contacts spec
declares only `2021-07-28` and the v3 files only `v3`; what the dated versions other than
2021-07-28 answer is undocumented, so they get 2021-07-28's shapes (⚠ UNCONFIRMED).

v3 (SPEC `apps/v3/contacts-v3.json`, `apps/v3/oauth-v3.json`) is the same backend behind other
names, so the sandbox translates at the edge: a v3 request body is rewritten into 2021-07-28 terms
before the routes validate it, and a v3 answer is rewritten from the 2021-07-28 one:
- `dndSettings` channels are lower-camel (`call, email, sms, whatsApp, gmb, fb`) both ways; the
  capitalised v2 names are unknown properties under v3 (and the v3 names under v2);
- custom-field writes take `fieldValue` (preferred) or the deprecated `field_value`; 2021-07-28
  knows only `field_value`;
- PUT /contacts/{id} answers `succeeded` (no `succeded`); the deletes answer both spellings;
- POST /oauth/token takes camelCase (`clientId, clientSecret, grantType, code, refreshToken,
  userType, redirectUri`, form or JSON) and answers camelCase (`accessToken, tokenType, expiresIn,
  refreshToken`, ...); without `Version: v3` it stays snake_case (the v2 spec declares no header);
- the agency routes have v3 names of their own (agency_v3.py).
Messages about a translated field name the 2021-07-28 field (`customFields.0.field_value`): GHL's
v3 wording is not documented.
"""

import json
from typing import Any

from flask import Response, request

from sandbox.ghl.errors import ApiError, unprocessable

V2 = "2021-07-28"
V3 = "v3"
SERVED = frozenset({V3, "2023-02-21", V2, "2021-04-15", "legacy"})
VERSION_MISSING = "version header was not found."
VERSION_INVALID = "version header is invalid"

_V3_DND = {"Call": "call", "Email": "email", "SMS": "sms", "WhatsApp": "whatsApp", "GMB": "gmb", "FB": "fb"}
_V2_DND = {v3: v2 for v2, v3 in _V3_DND.items()}
_DELETES = frozenset({"delete_contact", "delete_task", "delete_note"})
_V3_TOKEN_FIELDS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "grantType": "grant_type",
    "code": "code",
    "refreshToken": "refresh_token",
    "userType": "user_type",
    "redirectUri": "redirect_uri",
}
_V3_TOKEN_ANSWER = {
    "access_token": "accessToken",
    "token_type": "tokenType",
    "expires_in": "expiresIn",
    "refresh_token": "refreshToken",
}


def required_version() -> str:
    """The request's version, or GHL's 401 when it is missing or not one GHL serves."""
    version = request.headers.get("Version")
    if version is None:
        raise ApiError(401, VERSION_MISSING)
    if version not in SERVED:
        raise ApiError(401, VERSION_INVALID)
    return version


def is_v3() -> bool:
    return request.headers.get("Version") == V3


def inbound(body: Any) -> tuple[Any, list[str]]:
    """A request body in 2021-07-28 terms, and the problems only the request's version sees."""
    if not (is_v3() and isinstance(body, dict)):
        return body, []
    problems: list[str] = []
    translated = dict(body)
    dnd = body.get("dndSettings")
    if isinstance(dnd, dict):
        problems += [f"dndSettings.property {key} should not exist" for key in dnd if key not in _V2_DND]
        translated["dndSettings"] = {_V2_DND[key]: value for key, value in dnd.items() if key in _V2_DND}
    fields = body.get("customFields")
    if isinstance(fields, list):
        translated["customFields"] = [_v2_custom_field(item) for item in fields]
    return translated, problems


def _v2_custom_field(item: Any) -> Any:
    if not (isinstance(item, dict) and "fieldValue" in item):
        return item
    rest = {key: value for key, value in item.items() if key not in ("fieldValue", "field_value")}
    return {**rest, "field_value": item["fieldValue"]}


def outbound(endpoint: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """A 2021-07-28 answer of the route `endpoint` as v3 gives it."""
    if endpoint == "update_contact" and "succeded" in body:
        body = {"succeeded": body["succeded"], **{k: v for k, v in body.items() if k != "succeded"}}
    elif endpoint in _DELETES and "succeded" in body:
        body = {"succeeded": body["succeded"], **body}
    if isinstance(body.get("contact"), dict):
        body["contact"] = _v3_contact(body["contact"])
    if isinstance(body.get("contacts"), list):
        body["contacts"] = [
            _v3_contact(item) if isinstance(item, dict) else item for item in body["contacts"]
        ]
    return body


def _v3_contact(contact: dict[str, Any]) -> dict[str, Any]:
    dnd = contact.get("dndSettings")
    if not isinstance(dnd, dict):
        return contact
    return {**contact, "dndSettings": {_V3_DND.get(key, key): value for key, value in dnd.items()}}


def translate_answer(response: Response) -> Response:
    """after_request: a successful JSON answer of a contacts route rewritten for v3."""
    if not is_v3() or not response.is_json or not 200 <= response.status_code < 300:
        return response
    if request.endpoint is None or "." in request.endpoint:  # blueprints (admin) are unversioned
        return response
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        response.set_data(json.dumps(outbound(request.endpoint, body), separators=(",", ":")))
    return response


def token_form(payload: dict[str, str]) -> dict[str, str]:
    """A POST /oauth/token body in the snake_case the token endpoint reads (v3: from camelCase)."""
    if not is_v3():
        return payload
    unknown = [f"property {key} should not exist" for key in payload if key not in _V3_TOKEN_FIELDS]
    required = ("clientId", "clientSecret", "grantType")
    missing = [f"{key} should not be empty" for key in required if not payload.get(key)]
    if unknown or missing:
        raise unprocessable(unknown + missing)
    return {_V3_TOKEN_FIELDS[key]: value for key, value in payload.items()}


def token_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """A token answer as the request's version spells it (v3: camelCase)."""
    if not is_v3():
        return answer
    return {_V3_TOKEN_ANSWER.get(key, key): value for key, value in answer.items()}
