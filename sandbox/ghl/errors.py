"""API errors in GHL's NestJS shape: {"statusCode", "message", ...} plus the request's traceId."""

from typing import Any


class ApiError(Exception):
    """Raised anywhere while handling a request; the app turns it into a JSON error response."""

    def __init__(
        self,
        status: int,
        message: str | list[str],
        *,
        error: str | None = None,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.error = error
        self.meta = meta
        self.headers = headers or {}

    def body(self, trace_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"statusCode": self.status, "message": self.message}
        if self.error is not None:
            body["error"] = self.error
        if self.meta is not None:
            body["meta"] = self.meta
        body["traceId"] = trace_id
        return body


def unprocessable(messages: list[str]) -> ApiError:
    return ApiError(422, messages, error="Unprocessable Entity")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


class OAuthError(Exception):
    """Token-endpoint errors use the OAuth shape {"error", "error_description"}, not NestJS."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description is not None:
            body["error_description"] = self.description
        return body
