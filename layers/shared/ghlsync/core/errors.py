"""One error family for every side (GHL, each app, the token endpoint).

The engine, the worker and the sweep classify failures with `isinstance` against these classes and
read `transient` (can the same request succeed later?) from the error itself:

| class          | transient | meaning                                                           |
|----------------|-----------|-------------------------------------------------------------------|
| NotFound       | no        | the record does not exist                                         |
| Duplicate      | no        | a create was refused because the record exists (`existing_id`)    |
| Validation     | no        | the request broke the side's rules (`messages`)                   |
| Unauthorized   | no        | credentials refused or lacking a scope (refresh/re-login failed)  |
| Forbidden      | no        | authenticated, but not allowed to touch this record or tenant     |
| RateLimited    | yes       | 429 or a known-spent quota; `retry_after` seconds when known      |
| ServerError    | yes       | 5xx                                                               |
| TransportError | yes       | no usable answer; `request_sent` says whether it may have acted   |
| Conflict       | yes       | precondition failed (the record changed under us): re-read, retry |

Messages come from untrusted bodies and may echo request data, so every message passes through
`redact` before it is stored: a credential never reaches an exception or a log line.
"""

import re
from typing import ClassVar, TypedDict, Unpack

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+")
# JWTs (OAuth access/refresh tokens) and GHL private-integration tokens (pit-<uuid>).
_TOKEN_LIKE = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*|\bpit-[0-9a-fA-F-]{8,}")
REDACTED = "[REDACTED]"


def redact(text: str, *secrets: str) -> str:
    """`text` without the given secrets, bearer/basic credentials or anything shaped like a token."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _TOKEN_LIKE.sub(REDACTED, text)


class ErrorOptions(TypedDict, total=False):
    """What every error of the family may carry (see ConnectorError)."""

    status: int | None
    transient: bool | None
    retry_after: float | None
    trace_id: str | None


class ConnectorError(Exception):
    """A call to one side failed. Permanent unless the class (or the caller) says otherwise."""

    default_transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool | None = None,
        retry_after: float | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.status = status
        self.transient = self.default_transient if transient is None else transient
        self.retry_after = retry_after
        self.trace_id = trace_id
        super().__init__(self._describe())

    def redact_secrets(self, *secrets: str) -> None:
        """Remove these secrets (the ones only the caller knows, such as a session id) from the
        message and the string form."""
        self.message = redact(self.message, *secrets)
        self.args = (self._describe(),)

    def _describe(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.trace_id:
            parts.append(f"traceId={self.trace_id}")
        return " ".join(parts)


class NotFound(ConnectorError):
    """The record does not exist."""


class Duplicate(ConnectorError):
    """A create was refused because the record already exists; `existing_id` names it."""

    def __init__(self, message: str, *, existing_id: str, **options: Unpack[ErrorOptions]) -> None:
        self.existing_id = existing_id
        super().__init__(message, **options)


class Validation(ConnectorError):
    """The request broke the side's validation rules; `messages` lists each rule reported."""

    def __init__(
        self, message: str, *, messages: list[str] | None = None, **options: Unpack[ErrorOptions]
    ) -> None:
        self.messages = [redact(m) for m in (messages if messages is not None else [message])]
        super().__init__(message, **options)

    def redact_secrets(self, *secrets: str) -> None:
        self.messages = [redact(m, *secrets) for m in self.messages]
        super().redact_secrets(*secrets)


class Unauthorized(ConnectorError):
    """Credentials refused, expired beyond refresh, or missing a scope."""


class Forbidden(ConnectorError):
    """Authenticated, but not allowed to act on this tenant or record."""


class RateLimited(ConnectorError):
    """429, or a quota known to be spent. `retry_after` is in seconds when the side said."""

    default_transient = True


class ServerError(ConnectorError):
    """5xx from the side (or a gateway in front of it)."""

    default_transient = True


class TransportError(ConnectorError):
    """No usable response: timeout, connection refused or reset, protocol error.

    `request_sent` is False when the connection was never established (the side cannot have acted on
    the request) and True when it may have been.
    """

    default_transient = True

    def __init__(self, message: str, *, request_sent: bool = True, **options: Unpack[ErrorOptions]) -> None:
        self.request_sent = request_sent
        super().__init__(message, **options)


class Conflict(ConnectorError):
    """A precondition failed (the record changed between our read and our write): re-read, retry."""

    default_transient = True


class UnexpectedResponse(ConnectorError):
    """A success status whose body is not the shape the API documents."""


class PaginationError(ConnectorError):
    """A listing stopped making progress (a cursor that does not advance, a repeated page)."""


class RecordRefused(Exception):
    """The side cannot hold this record at all (a Kixie PowerList contact needs a phone number):
    the engine skips it with `reason`, nothing written. Not a failure: retrying changes nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookRejected(Exception):
    """The request is not from the side it claims (bad or missing secret/signature): answer 401."""


class MalformedWebhook(Exception):
    """The request is from the side but cannot be understood: answer 400."""
