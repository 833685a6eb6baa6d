"""Automation HTTP endpoints: how the fake tells the outside world that its data changed.

Real Kayako fires admin-configured triggers at HTTP endpoints; their payload is whatever the
trigger renders and is not documented (target-apps.md §1.9, UNVERIFIED). The fake therefore sends
one plain, documented JSON body per change (compact separators, UTF-8):

    {"event": "user.created" | "user.updated" | "user.deleted"
            | "case.created" | "case.updated" | "case.deleted"
            | "note.created" | "note.updated" | "note.deleted"
            | "tags.updated",
     "id": <id of the changed resource; the user id for tags.updated>,
     "user_id": <the user the change belongs to: the user, the note's user, the case's requester>,
     "updated_at": "<ISO-8601 time of the change>",
     "data": <the resource as the API serialises it; {"tags": [...]} for tags.updated>}

Endpoints are unsigned, as in Kayako: the receiver's secret rides in the URL (e.g. `?token=`) or in
extra headers configured on the endpoint. Changes queue up until `deliver()` posts them, once each;
the result is recorded on the endpoint like Kayako's `last_attempt_result`.
"""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sandbox.kayako.store import Change

Sender = Callable[[str, bytes, dict[str, str]], int]


def http_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
    """Default sender: a real HTTP POST (server mode and manual runs)."""
    return httpx.post(url, content=body, headers=headers, timeout=10.0).status_code


@dataclass
class Endpoint:
    id: int
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    is_enabled: bool = True
    last_attempt_result: str | None = None  # SUCCESS | FAILURE
    last_attempt_message: str | None = None


@dataclass(frozen=True)
class Delivery:
    endpoint_id: int
    url: str
    body: bytes
    status: int  # 0 when the sender raised (connection refused, timeout, ...)


def payload(change: Change) -> bytes:
    body = {
        "event": change.event,
        "id": change.id,
        "user_id": change.user_id,
        "updated_at": change.updated_at,
        "data": change.data,
    }
    return json.dumps(body, separators=(",", ":")).encode()


class Automations:
    def __init__(self, sender: Sender = http_sender) -> None:
        self.sender = sender
        self.endpoints: dict[int, Endpoint] = {}
        self.pending: list[tuple[int, bytes]] = []
        self.delivered: list[Delivery] = []
        self._lock = threading.Lock()

    def register(self, url: str, *, headers: dict[str, str] | None = None) -> Endpoint:
        with self._lock:
            endpoint = Endpoint(id=len(self.endpoints) + 1, url=url, headers=dict(headers or {}))
            self.endpoints[endpoint.id] = endpoint
            return endpoint

    def on_change(self, change: Change) -> None:
        """Store listener: queue one delivery per enabled endpoint."""
        body = payload(change)
        with self._lock:
            self.pending.extend((e.id, body) for e in self.endpoints.values() if e.is_enabled)

    def deliver(self) -> list[Delivery]:
        """Post every queued payload once, in order; return what was sent."""
        with self._lock:
            due, self.pending = self.pending, []
        sent: list[Delivery] = []
        for endpoint_id, body in due:
            endpoint = self.endpoints[endpoint_id]
            headers = {"Content-Type": "application/json", **endpoint.headers}
            try:
                status = self.sender(endpoint.url, body, headers)
                endpoint.last_attempt_message = f"HTTP {status}"
            except Exception as exc:  # the receiver is down: recorded on the endpoint, like Kayako
                status = 0
                endpoint.last_attempt_message = type(exc).__name__
            endpoint.last_attempt_result = "SUCCESS" if 200 <= status < 300 else "FAILURE"
            sent.append(Delivery(endpoint_id, endpoint.url, body, status))
        self.delivered.extend(sent)
        return sent
