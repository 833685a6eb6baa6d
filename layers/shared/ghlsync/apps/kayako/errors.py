"""Typed Kayako API errors. `transient` tells the engine whether a retry can help."""

from typing import ClassVar

import httpx


class KayakoError(Exception):
    """Any failure talking to Kayako. Permanent unless a subclass says otherwise."""

    transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        parameter: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.parameter = parameter


class KayakoRateLimited(KayakoError):
    """429 RATE_LIMIT_REACHED / AUTHENTICATION_LOCKED still there after the bounded retries."""

    transient = True

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, status=429, code=code)
        self.retry_after = retry_after


class KayakoServerError(KayakoError):
    """5xx."""

    transient = True


class KayakoTransportError(KayakoError):
    """Timeout or connection failure: the request may or may not have been applied."""

    transient = True


class KayakoConflict(KayakoError):
    """412: the record changed between our read and our write; a retry re-reads it."""

    transient = True


class KayakoNotFound(KayakoError):
    """404, or an id that cannot be a Kayako id."""


class KayakoValidationError(KayakoError):
    """400 (FIELD_REQUIRED, FIELD_INVALID, ...) or a record the mapping cannot express."""


class KayakoAuthError(KayakoError):
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
