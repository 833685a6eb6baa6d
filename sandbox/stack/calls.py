"""What the World records: every API call the sync sent to a sandbox, and every webhook a sandbox sent."""

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

Source = str
"""Who a call went to or a webhook came from: "ghl", or an app's registry name."""

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POST calls that only read (GHL's contact search and its location-wide task search).
_READ_ONLY_POSTS = ("/contacts/search", "/tasks/search")


@dataclass(frozen=True)
class ApiCall:
    """One request the sync sent to a sandbox, as it left the client."""

    side: Source
    method: str
    path: str
    status: int  # 0: no answer (an injected timeout or reset)
    body: Any  # the JSON body sent, or None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method in _WRITE_METHODS and not self.path.endswith(_READ_ONLY_POSTS)

    @property
    def is_login(self) -> bool:
        """A session login (Kayako's GET /session); GHL has no such path."""
        return self.path.endswith("/session")


class RecordingTransport(httpx.BaseTransport):
    """Records every request (with its JSON body) before the sandbox's own transport handles it."""

    def __init__(self, side: Source, inner: httpx.BaseTransport, calls: list[ApiCall]) -> None:
        self._side = side
        self._inner = inner
        self._calls = calls

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            body = request.content.decode("utf-8", "replace")
        status = 0
        try:
            response = self._inner.handle_request(request)
            status = response.status_code
            return response
        finally:
            self._calls.append(
                ApiCall(self._side, request.method, request.url.path, status, body, dict(request.url.params))
            )


class Unrouted(httpx.BaseTransport):
    """Anything not addressed to a sandbox fails: a World never opens a socket."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"World: no sandbox serves {request.url.host}", request=request)


@dataclass(frozen=True)
class Webhook:
    """One delivery a sandbox made (or was about to make) to the stack."""

    source: Source
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Answered:
    webhook: Webhook
    status: int
    answer: dict[str, Any]


@dataclass(frozen=True)
class ApiAnswer:
    """What the stack's API answered one `World.request`: status, headers, raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)
