"""Typed errors for GHL API v2 calls, built from the status code and the NestJS-style error body.

Every error carries `status` (None when no response arrived), `message` and `trace_id` (when GHL sent
one). `transient` says whether trying again later can succeed: 429, 5xx, timeouts and connection
errors are transient; every other 4xx is permanent (the request itself is wrong).

Messages come from an untrusted body and may echo request data, so every message passes through
`redact` before it is stored: an access token never ends up in an exception or a log line.
"""

from typing import Any, Literal

import httpx

from ghlsync.core.errors import (
    ConnectorError,
    Duplicate,
    Forbidden,
    NotFound,
    PaginationError,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    Validation,
    redact,
)
from ghlsync.http.errors import json_object, parse_retry_after

UnauthorizedKind = Literal["invalid_token", "missing_scope", "version"]


class GhlError(ConnectorError):
    """A GHL API call failed."""


class GhlBadRequest(GhlError):
    """400 that is neither a duplicate contact nor a lookup of a missing record."""


class GhlNotFound(GhlError, NotFound):
    """The record does not exist (404, or the 400 "... not found" GHL sends for some lookups)."""


class GhlDuplicateContact(GhlError, Duplicate):
    """Create refused because the location does not allow duplicates; `contact_id` is the existing one."""

    def __init__(
        self,
        message: str,
        *,
        contact_id: str,
        matching_field: str | None,
        contact_name: str | None = None,
        status: int | None = 400,
        trace_id: str | None = None,
    ) -> None:
        self.contact_id = contact_id
        self.matching_field = matching_field
        self.contact_name = contact_name
        super().__init__(message, existing_id=contact_id, status=status, trace_id=trace_id)


class GhlValidationError(GhlError, Validation):
    """422: the body broke GHL's validation rules; `messages` lists each rule GHL reported."""

    def __init__(self, messages: list[str], *, status: int | None = 422, trace_id: str | None = None) -> None:
        cleaned = [redact(m) for m in messages]
        super().__init__(
            "; ".join(cleaned) or "Unprocessable Entity", messages=cleaned, status=status, trace_id=trace_id
        )


class GhlUnauthorized(GhlError, Unauthorized):
    """401. `kind` tells a rejected token (refresh it) from a missing scope or a bad Version header."""

    def __init__(
        self, message: str, *, kind: UnauthorizedKind, status: int | None = 401, trace_id: str | None = None
    ) -> None:
        self.kind: UnauthorizedKind = kind
        super().__init__(message, status=status, trace_id=trace_id)


class GhlForbidden(GhlError, Forbidden):
    """403: the token does not have access to this location."""


class GhlRateLimited(GhlError, RateLimited):
    """429, or the daily budget is known to be spent. `retry_after` is in seconds when known."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, status=status, trace_id=trace_id)


class GhlServerError(GhlError, ServerError):
    """5xx from GHL (or a gateway in front of it)."""


class GhlTransportError(GhlError, TransportError):
    """No usable response: timeout, connection refused or reset, protocol error (see TransportError)."""


class GhlUnexpectedResponse(GhlError, UnexpectedResponse):
    """A success status whose body is not the JSON shape the API documents."""


class GhlPaginationError(GhlError, PaginationError):
    """A paginated listing stopped making progress (a cursor that does not advance, a repeated page)."""


def _messages(body: dict[str, Any], fallback: str) -> list[str]:
    raw = body.get("message")
    if isinstance(raw, list):
        return [str(item) for item in raw]
    if isinstance(raw, str) and raw:
        return [raw]
    error = body.get("error")
    return [error] if isinstance(error, str) and error else [fallback]


def _trace_id(response: httpx.Response, body: dict[str, Any]) -> str | None:
    trace = body.get("traceId")
    if isinstance(trace, str) and trace:
        return trace
    return response.headers.get("traceid") or response.headers.get("x-trace-id")


def unauthorized_kind(message: str) -> UnauthorizedKind:
    lowered = message.lower()
    if "scope" in lowered:
        return "missing_scope"
    if "version" in lowered:
        return "version"
    return "invalid_token"


def error_from_response(response: httpx.Response) -> GhlError:
    """The typed error for a non-2xx response."""
    status = response.status_code
    body = json_object(response)
    messages = _messages(body, response.reason_phrase or f"HTTP {status}")
    message = "; ".join(messages)
    trace_id = _trace_id(response, body)

    if status == 400:
        meta = body.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("contactId"), str):
            matching = meta.get("matchingField")
            name = meta.get("contactName")
            return GhlDuplicateContact(
                message,
                contact_id=meta["contactId"],
                matching_field=matching if isinstance(matching, str) else None,
                contact_name=name if isinstance(name, str) else None,
                status=status,
                trace_id=trace_id,
            )
        if "not found" in message.lower():
            return GhlNotFound(message, status=status, trace_id=trace_id)
        return GhlBadRequest(message, status=status, trace_id=trace_id)
    if status == 401:
        return GhlUnauthorized(message, kind=unauthorized_kind(message), status=status, trace_id=trace_id)
    if status == 403:
        return GhlForbidden(message, status=status, trace_id=trace_id)
    if status == 404:
        return GhlNotFound(message, status=status, trace_id=trace_id)
    if status == 422:
        return GhlValidationError(messages, status=status, trace_id=trace_id)
    if status == 429:
        return GhlRateLimited(
            message,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            status=status,
            trace_id=trace_id,
        )
    if status >= 500:
        return GhlServerError(message, status=status, trace_id=trace_id)
    return GhlError(message, status=status, trace_id=trace_id)


class GhlErrorMap:
    """GHL's error map for the shared send loop: every non-2xx is `error_from_response`."""

    def error_for(self, response: httpx.Response) -> GhlError | None:
        return None if response.is_success else error_from_response(response)

    def transport_error(self, message: str, *, request_sent: bool) -> GhlError:
        return GhlTransportError(message, request_sent=request_sent)

    def unsendable(self, message: str) -> GhlError:
        return GhlError(message)


def is_rejected_token(error: ConnectorError) -> bool:
    """A 401 a fresh token can cure (not a missing scope or a bad Version header)."""
    return isinstance(error, GhlUnauthorized) and error.kind == "invalid_token"
