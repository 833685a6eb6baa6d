"""The agency routes under their v3 names (SPEC `apps/v3/oauth-v3.json`): POST
/oauth/location-token and GET /oauth/installed-locations, served with `Version: v3` only.

Under any other version these paths are no route, NestJS's `404 Cannot POST /oauth/location-token`
(live probe, ghl-api.md §1; the camelCase paths, agency.py, answer under every version). The
location token answer is camelCase (`GetLocationAccessTokenV3SuccessfulResponseDto`); the listing
pages AIP-style: `pageSize` (default 20) and an opaque `pageToken`, answering `{items, pagination:
{totalRecords, hasNextPage, hasPrevPage, nextPageToken, prevPageToken, currentPageSize},
metadata, installToFutureLocations}`; a bad token is 400 in the AIP error shape
(`AipErrorResponseDto`). ⚠ UNCONFIRMED, the sandbox's guesses: the token's encoding (base64url of
the offset), the largest `pageSize` (100), the `metadata` contents and the error code names.
"""

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import NotFound

from sandbox.ghl import versions
from sandbox.ghl.agency import installed_location_rows, minted_location_token
from sandbox.ghl.errors import ApiError, unprocessable

if TYPE_CHECKING:
    from sandbox.ghl.app import Caller
    from sandbox.ghl.sandbox import GhlSandbox

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
FILTERS = ("query", "isInstalled", "locationId", "versionId", "onTrial", "planId")


class AipError(ApiError):
    """v3's error body, `{"error": {"code", "message"}}`, instead of NestJS's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code

    def body(self, trace_id: str) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": {"traceId": trace_id}}}


def register_agency_v3_routes(app: Flask, sb: "GhlSandbox", authorize: Callable[[str], "Caller"]) -> None:
    @app.post("/oauth/location-token")
    def location_token_v3() -> Any:
        _v3_only()
        return jsonify(versions.token_answer(minted_location_token(sb, authorize)))

    @app.get("/oauth/installed-locations")
    def installed_locations_v3() -> Any:
        _v3_only()
        rows, follows = installed_location_rows(sb, authorize)
        size = _page_size()
        offset = _offset(request.args.get("pageToken"))
        page = rows[offset : offset + size]
        pagination: dict[str, Any] = {
            "totalRecords": len(rows),
            "hasNextPage": offset + size < len(rows),
            "hasPrevPage": offset > 0,
            "currentPageSize": len(page),
        }
        if pagination["hasNextPage"]:
            pagination["nextPageToken"] = _token(offset + size)
        if offset > 0:
            pagination["prevPageToken"] = _token(max(offset - size, 0))
        filters = {name: request.args[name] for name in FILTERS if name in request.args}
        return jsonify(
            {
                "items": page,
                "pagination": pagination,
                "metadata": {"filterApplied": filters, "sortApplied": {"_id": "asc"}},
                "installToFutureLocations": follows,
            }
        )


def _v3_only() -> None:
    if not versions.is_v3():
        raise NotFound()


def _page_size() -> int:
    raw = request.args.get("pageSize")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise unprocessable([f"pageSize must be a number between 1 and {MAX_PAGE_SIZE}"])
    return int(raw)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    prefix, _, number = decoded.partition(":")
    if prefix != "offset" or not number.isdigit():
        raise AipError(400, "INVALID_ARGUMENT", "pageToken is invalid")
    return int(number)
