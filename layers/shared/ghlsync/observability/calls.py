"""Outbound API calls as metrics: success and failure per app and endpoint family, and what the
app's rate-limit answers leave of its budget.

`CallMetrics` is a send-loop observer (`ghlsync.http.call.CallObserver`): every attempt is one EMF
record `OutboundCalls` with dimensions app, family and outcome, and, where the client knows its
budget (`Headroom`: GHL's X-RateLimit-* headers, Kixie's daily quota), the window and daily headroom
in percent by app. The location (and any other context the client logs with) is a property, not a
dimension: the worst location is the minimum over the app, and Logs Insights names it.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from ghlsync.core.errors import ConnectorError, RateLimited, ServerError
from ghlsync.http.call import Call
from ghlsync.observability import emf, logger
from ghlsync.observability.catalog import MetricName

# A path segment that names a resource (`contacts`, `search`, `powerlist`) rather than a record:
# letters, `-` or `_`, nothing that an id is made of. Three segments at most keep families few.
_RESOURCE = re.compile(r"^[A-Za-z][A-Za-z_-]{0,39}$")
_MAX_SEGMENTS = 3


@dataclass(frozen=True)
class Headroom:
    """What is left of a budget, in percent of it; None where the client does not know."""

    window_percent: float | None = None
    daily_percent: float | None = None


def endpoint_family(path: str) -> str:
    """`/contacts/abc123/tasks/x9` -> `contacts/tasks`: the resource names of a path, without ids."""
    bare = path.split("?", 1)[0]
    segments = [s for s in bare.split("/") if s and _RESOURCE.match(s) and not _looks_like_id(s)]
    return "/".join(segments[:_MAX_SEGMENTS]) or "root"


def _looks_like_id(segment: str) -> bool:
    # Long mixed-case runs without separators are ids (GHL's are 20 letters and digits; a few
    # may be letters only).
    return len(segment) >= 16 and "-" not in segment and "_" not in segment


def outcome_of(response: httpx.Response | None, error: ConnectorError | None) -> str:
    if error is None:
        return "success"
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, ServerError):
        return "server_error"
    if response is None:
        return "transport_error"
    return "client_error"


class CallMetrics:
    def __init__(
        self,
        app: str,
        *,
        context: Mapping[str, str] | None = None,
        headroom: Callable[[], Headroom] | None = None,
    ) -> None:
        self._app = app
        self._context = dict(context or {})
        self._headroom = headroom

    def observed(self, call: Call, response: httpx.Response | None, error: ConnectorError | None) -> None:
        try:
            self._emit(call, response, error)
        except Exception:
            # Metrics must never fail a sync call.
            logger.exception("could not emit the outbound call metric", extra={"app": self._app})

    def _emit(self, call: Call, response: httpx.Response | None, error: ConnectorError | None) -> None:
        properties = {
            **self._context,
            "method": call.method,
            "status": response.status_code if response is not None else None,
        }
        emf.emit(
            {MetricName.OUTBOUND_CALLS: 1},
            dimensions={
                "app": self._app,
                "family": endpoint_family(call.path),
                "outcome": outcome_of(response, error),
            },
            properties=properties,
        )
        if self._headroom is None:
            return
        left = self._headroom()
        values: dict[str, float | list[float]] = {
            name: value
            for name, value in (
                (MetricName.API_WINDOW_HEADROOM, left.window_percent),
                (MetricName.API_DAILY_HEADROOM, left.daily_percent),
            )
            if value is not None
        }
        if values:
            emf.emit(values, dimensions={"app": self._app}, properties=self._context)
