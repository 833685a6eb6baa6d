"""One outgoing request as the send loop, authenticators and budget plug-ins see it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx


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
