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
from ghlsync.http.errors import json_object, parse_retry_after


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
    """Timeout or connection failure; `request_sent` says whether it may have been applied."""

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


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
    errors = json_object(response).get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
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
        # Without a readable Retry-After, one second (Kayako's own answers always carry one).
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return KayakoRateLimited(text, retry_after=1.0 if retry_after is None else retry_after, code=code)
    elif status == 400:
        kind = KayakoValidationError
    else:
        kind = KayakoError
    return kind(text, status=status, code=code, parameter=parameter)


class KayakoErrorMap:
    """Kayako's error map for the shared send loop: any status from 400 up is `error_from_response`."""

    def error_for(self, response: httpx.Response) -> KayakoError | None:
        return error_from_response(response) if response.status_code >= 400 else None

    def transport_error(self, message: str, *, request_sent: bool) -> KayakoError:
        return KayakoTransportError(f"Kayako {message}", request_sent=request_sent)

    def unsendable(self, message: str) -> KayakoError:
        return KayakoError(f"Kayako {message}")
