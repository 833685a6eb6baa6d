"""Error maps: how one side's answers become errors of the connector family (`ghlsync.core.errors`).

The send loop asks its map about every response, successes included, because some apps report a
failure with a success status (Kixie answers HTTP 200 `{"success": false, "error": "..."}`). A map
also names the classes for failures that have no response (transport errors) and for requests
that cannot be sent at all, so each side keeps its own subclasses (GhlTransportError, ...).

`ErrorClassifier` is the protocol the loop needs; `ErrorMap` is the declarative one most apps are:
a status table, the body paths a message is read from, an optional "success flag" path for 2xx
bodies, and a body inspector hook for whatever a table cannot say.
"""

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ghlsync.core.errors import (
    Conflict,
    ConnectorError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Validation,
)


class ErrorClassifier(Protocol):
    def error_for(self, response: httpx.Response) -> ConnectorError | None:
        """The error this response means, or None when it is a success (any status may be asked)."""
        ...

    def transport_error(self, message: str, *, request_sent: bool) -> ConnectorError:
        """No usable response arrived (timeout, refused, reset)."""
        ...

    def unsendable(self, message: str) -> ConnectorError:
        """The request cannot be sent at all (bad URL, unsupported protocol): a permanent error."""
        ...


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or None when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one."""
    body = json_body(response)
    return body if isinstance(body, dict) else {}


def object_body(
    response: httpx.Response, app: str, error: type[ConnectorError] = ServerError
) -> dict[str, Any]:
    """A success body that must be a JSON object; anything else is the side's fault (`error`)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise error(f"{app} answered {response.status_code} with a non-JSON body") from exc
    if not isinstance(body, dict):
        raise error(f"{app} answered with a JSON body that is not an object")
    return body


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path ("errors.0.message": keys and list indexes), or None."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds, or an HTTP-date when `now` (epoch
    seconds of a wall clock) is given. None when absent or unreadable; a date in the past is 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        if now is None:
            return None
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        return max(0.0, moment.timestamp() - now)
    return seconds if seconds >= 0 else None


DEFAULT_STATUSES: Mapping[int, type[ConnectorError]] = {
    400: Validation,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: Conflict,
    422: Validation,
    429: RateLimited,
}


@dataclass(frozen=True)
class ErrorMap:
    """A declarative error map (see the module docstring).

    - `statuses`: status → class; any 5xx not listed is a ServerError, any other unlisted non-2xx is
      `fallback`. A class here must take the core keyword arguments (no Duplicate: it needs an id,
      which only `inspect` can read).
    - `message_paths`: dotted body paths tried in order for the message; the reason phrase otherwise.
    - `success_flag`: a body path that is False on a failed call answered with a 2xx status; such a
      response becomes `flag_error`.
    - `inspect(response, body)`: runs first, for any status; a non-None answer wins.
    """

    app: str
    statuses: Mapping[int, type[ConnectorError]] = field(default_factory=lambda: dict(DEFAULT_STATUSES))
    message_paths: tuple[str, ...] = ("message", "error", "errors.0.message")
    success_flag: str | None = None
    flag_error: type[ConnectorError] = Validation
    inspect: Callable[[httpx.Response, Any], ConnectorError | None] | None = None
    transport: type[TransportError] = TransportError
    fallback: type[ConnectorError] = ConnectorError

    def error_for(self, response: httpx.Response) -> ConnectorError | None:
        body = json_body(response)
        if self.inspect is not None:
            inspected = self.inspect(response, body)
            if inspected is not None:
                return inspected
        status = response.status_code
        if response.is_success:
            if self.success_flag is not None and value_at(body, self.success_flag) is False:
                return self.flag_error(self._message(response, body), status=status)
            return None
        kind = self.statuses.get(status)
        if kind is None:
            kind = ServerError if status >= 500 else self.fallback
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return kind(self._message(response, body), status=status, retry_after=retry_after)

    def transport_error(self, message: str, *, request_sent: bool) -> ConnectorError:
        return self.transport(message, request_sent=request_sent)

    def unsendable(self, message: str) -> ConnectorError:
        return self.fallback(message)

    def _message(self, response: httpx.Response, body: Any) -> str:
        for path in self.message_paths:
            found = value_at(body, path)
            if isinstance(found, str) and found.strip():
                return f"{self.app} {response.status_code}: {found}"
        reason = response.reason_phrase or f"HTTP {response.status_code}"
        return f"{self.app} {response.status_code}: {reason}"
