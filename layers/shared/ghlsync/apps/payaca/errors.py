"""Payaca's errors (target-apps.md §4.6): no catalogue is published. 429 (with `Retry-After` when
present) and 5xx are transient; 400/401/403/404/409/422 are final. The message is read from the
[PROPOSAL] envelope `{"error": {"code", "message", "details"}}`, or a plain `message`."""

from ghlsync.http.errors import ErrorMap

PAYACA_ERRORS = ErrorMap(app="Payaca", message_paths=("error.message", "message", "error"))
