"""Kixie's errors (target-apps.md §3.5): no catalogue; a failure usually comes back as HTTP 200 with
`{"success": false, "error": "..."}` (a bad key included), so the success flag is read on every 2xx.
Such a failure is permanent (Validation): repeating the same request gets the same answer."""

from ghlsync.http.errors import ErrorMap

KIXIE_ERRORS = ErrorMap(app="Kixie", success_flag="success", message_paths=("error", "message"))
