"""The Payaca fake's error answers, in the [PROPOSAL] envelope (target-apps.md §4.7)."""

from typing import Any

Json = dict[str, Any]


class ApiError(Exception):
    """An error answer in the [PROPOSAL] envelope `{"error": {"code", "message", "details"}}`."""

    def __init__(self, status: int, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []

    def body(self) -> Json:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def invalid(message: str, *details: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, list(details))


def not_found(what: str, record_id: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} {record_id} not found")
