"""How the Kixie fake answers (target-apps.md §3.5): every outcome is HTTP 200 with a `success` flag.

Kixie has no error catalogue: a failure is `{"success": false, "error": "..."}` with status 200
(a bad key, an unknown `eventname`, a missing field alike), so a client must read `success` on
every answer. Only the messages Kixie was seen to send are its own ("function does not exist");
the others are the fake's, worded to say what was wrong.
"""

import json
from typing import Any

from werkzeug.wrappers import Response

Json = dict[str, Any]

UNKNOWN_FUNCTION = "function does not exist"  # observed live for an unknown path or eventname
BAD_CREDENTIALS = "invalid apikey or businessid"
DAILY_LIMIT_REACHED = (
    "daily API limit of {limit} calls reached; it resets at 00:00 UTC"  # wording unconfirmed
)


class KixieError(Exception):
    """A refused request: answered 200 `{"success": false, "error": message}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def missing(field: str, where: str = "the body") -> KixieError:
    return KixieError(f"{field} is required in {where}")


def json_answer(body: Json, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def success(**fields: Any) -> Response:
    return json_answer({"success": True, **fields})


def failure(message: str, status: int = 200) -> Response:
    return json_answer({"success": False, "error": message}, status)
