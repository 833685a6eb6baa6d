"""What the workflow API answers when it does not answer 200: one exception per HTTP status.

The handler maps each to its status in one place; `message` is safe to show the caller (no ids of
other locations, no secrets), `field` names the request field at fault for 400/422.
"""


class WorkflowError(Exception):
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(WorkflowError):
    """The request cannot be read (not JSON, not an object, an unknown `include` part)."""

    status = 400


class NotAuthorized(WorkflowError):
    """No key, a wrong key, or a connection that does not exist (the same answer for all three)."""

    status = 401


class WritesRefused(WorkflowError):
    """The connection is read-only, disabled, or GHL refused the token's scope."""

    status = 403


class NotFound(WorkflowError):
    """The contact, task or note is not in the connection's location (or does not exist)."""

    status = 404


class TooLarge(WorkflowError):
    status = 413


class Unprocessable(WorkflowError):
    """The body is JSON but a field is wrong (`field` says which)."""

    status = 422


class RateLimited(WorkflowError):
    """GHL's budget for the location is spent; try again after `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(WorkflowError):
    """GHL failed (5xx, timeout) after the client's retries: nothing is known to be written."""

    status = 502
