"""One outgoing request as the send loop, authenticators, budget plug-ins and observers see it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

from ghlsync.core.errors import ConnectorError


@dataclass
class Call:
    """One request as the loop sends it. Authenticators add to `headers`, `params` and `json`."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: Mapping[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_safe: bool = False

    def copy(self) -> "Call":
        body = dict(self.json) if isinstance(self.json, dict) else self.json
        return replace(self, params=dict(self.params), headers=dict(self.headers), json=body)


# What an authenticator is handed to send its own requests (a login, a token fetch).
Send = Callable[[Call], httpx.Response]


class CallObserver(Protocol):
    """Told of every attempt the send loop makes: its response, or the error it ended in (a
    transport failure has no response). Metrics hook in here; it must not raise."""

    def observed(self, call: Call, response: httpx.Response | None, error: ConnectorError | None) -> None: ...
