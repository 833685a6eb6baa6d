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
extra headers configured on the endpoint. Changes queue up (the kit's Outbox, with no retry: an
endpoint that fails misses the change, as in Kayako) until `deliver()` posts them, once each; the
result is recorded on the endpoint like Kayako's `last_attempt_result`.
"""

import json
import threading
from dataclasses import dataclass, field

from sandbox.apps.kayako.store import Change
from sandbox.fakes.clock import Clock
from sandbox.fakes.webhooks import NO_RETRY, Outbox, Sender
from sandbox.fakes.webhooks import Delivery as KitDelivery


@dataclass
class Endpoint:
    id: int
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    is_enabled: bool = True
    last_attempt_result: str | None = None  # SUCCESS | FAILURE
    last_attempt_message: str | None = None


@dataclass(kw_only=True)
class Delivery(KitDelivery):
    """One change posted to one endpoint (status 0 when the sender raised)."""

    endpoint_id: int


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
    """The admin-configured endpoints; changes go out through the kit's Outbox, never retried."""

    def __init__(self, clock: Clock, lock: threading.RLock, sender: Sender) -> None:
        self.clock = clock
        self.outbox: Outbox[Delivery] = Outbox(clock, lock, sender, NO_RETRY)
        self.endpoints: dict[int, Endpoint] = {}
        self._lock = lock

    def register(self, url: str, *, headers: dict[str, str] | None = None) -> Endpoint:
        with self._lock:
            endpoint = Endpoint(id=len(self.endpoints) + 1, url=url, headers=dict(headers or {}))
            self.endpoints[endpoint.id] = endpoint
            return endpoint

    @property
    def pending(self) -> list[Delivery]:
        return self.outbox.pending

    def on_change(self, change: Change) -> None:
        """Store listener: queue one delivery per enabled endpoint."""
        body = payload(change)
        now = self.clock()
        for endpoint in [e for e in self.endpoints.values() if e.is_enabled]:
            headers = {"Content-Type": "application/json", **endpoint.headers}
            self.outbox.queue(
                Delivery(
                    endpoint_id=endpoint.id, url=endpoint.url, body=body, headers=headers, next_attempt_at=now
                )
            )

    def deliver(self) -> list[Delivery]:
        """Post every queued payload once, in order; the result is recorded on its endpoint."""
        sent = self.outbox.deliver()
        for delivery in sent:
            endpoint = self.endpoints[delivery.endpoint_id]
            status = delivery.status or 0
            endpoint.last_attempt_result = "SUCCESS" if 200 <= status < 300 else "FAILURE"
            endpoint.last_attempt_message = (
                f"HTTP {status}" if delivery.error is None else delivery.error.split(":", 1)[0]
            )
        return sent
