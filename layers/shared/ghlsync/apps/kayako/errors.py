"""Typed Kayako API errors, in the connector error family (`ghlsync.core.errors`)."""

import httpx

from ghlsync.core.errors import (
    Conflict,
    ConnectorError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Validation,
)


class KayakoError(ConnectorError):
    """Any failure talking to Kayako. `code` and `parameter` come from the body's `errors[0]`."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        parameter: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.parameter = parameter
        super().__init__(message, status=status, retry_after=retry_after)


class KayakoRateLimited(KayakoError, RateLimited):
    """429 RATE_LIMIT_REACHED / AUTHENTICATION_LOCKED still there after the bounded retries."""

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, status=429, code=code, retry_after=retry_after)


class KayakoServerError(KayakoError, ServerError):
    """5xx."""


class KayakoTransportError(KayakoError, TransportError):
    """Timeout or connection failure: the request may or may not have been applied."""


class KayakoConflict(KayakoError, Conflict):
    """412: the record changed between our read and our write; a retry re-reads it."""


class KayakoNotFound(KayakoError, NotFound):
    """404, or an id that cannot be a Kayako id."""


class KayakoValidationError(KayakoError, Validation):
    """400 (FIELD_REQUIRED, FIELD_INVALID, ...) or a record the mapping cannot express."""


class KayakoAuthError(KayakoError, Unauthorized):
    """Login refused (bad credentials, OTP_EXPECTED, CREDENTIAL_EXPIRED) or 401/403 after a fresh login."""


def error_from_response(response: httpx.Response) -> KayakoError:
    """Map an error answer `{"status", "errors": [{code, parameter?, message}]}` to a typed error."""
    status = response.status_code
    code = parameter = None
    message = response.reason_phrase or f"HTTP {status}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            code = first.get("code")
            parameter = first.get("parameter")
            message = str(first.get("message") or message)
    text = f"Kayako {status} {code or ''}: {message}" + (f" (parameter {parameter})" if parameter else "")
    kind: type[KayakoError]
    if status == 404:
        kind = KayakoNotFound
    elif status == 412:
        kind = KayakoConflict
    elif status in (401, 403, 454):
        kind = KayakoAuthError
    elif status >= 500:
        kind = KayakoServerError
    elif status == 429:
        return KayakoRateLimited(text, retry_after=retry_after_seconds(response), code=code)
    elif status == 400:
        kind = KayakoValidationError
    else:
        kind = KayakoError
    return kind(text, status=status, code=code, parameter=parameter)


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return default
