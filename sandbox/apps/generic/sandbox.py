"""GenericSandbox: the generic fake app, in style "a" or "b", that the generic connector's tests,
the demo and the dev stack talk to.

    sb = GenericSandbox("a", clock=fake_clock)       # or "b"
    sb.add_key("dev-generic-token")                  # A: the bearer token; B: the api_key
    http = httpx.Client(transport=sb.transport(), base_url=sb.base_url)
    sb.register_webhook("https://stack.example/webhooks/generic/c", secret="whsec")   # style A
    contact = sb.ui_create_contact(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    sb.deliver_webhooks()                            # POSTs what is due

Webhooks (style A only; style B has none, clients poll): one POST per change (the API's and the
`ui_*` ones alike) to every registered URL, body `{"event": "contact.updated", "data": {"id",
"contact_id" (tasks and notes)}, "occurred_at": "<ISO Z>"}`, signed HMAC-SHA256 hex over
`<X-Timestamp>.<raw body>` in `X-Signature`, `X-Timestamp` the unix seconds at queueing. A 2xx
ends a delivery; a 429/5xx or no answer is retried 3 times, 30 s then 60 s then 120 s apart,
with the same bytes and headers. State is in `sb.store`, API calls in `sb.request_log`.
"""

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.apps.generic.api import build_app
from sandbox.apps.generic.store import Change, Contact, GenericStore, Kind, Record
from sandbox.apps.generic.style_a import StyleA, iso_z
from sandbox.apps.generic.style_b import StyleB
from sandbox.apps.generic.styles import Style
from sandbox.fakes.base import FakeApp
from sandbox.fakes.faults import FaultInjector
from sandbox.fakes.ratelimit import RequestLimit
from sandbox.fakes.webhooks import (
    Delivery,
    Outbox,
    RetryRule,
    Sender,
    http_sender,
    timestamped_hmac_signature,
)

STYLES: dict[str, Callable[[], Style]] = {"a": StyleA, "b": StyleB}
DEFAULT_ORIGIN = "https://generic.sandbox"
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
GENERIC_RETRY = RetryRule(
    retry_statuses=frozenset({429, *range(500, 600)}),
    retry_errors=True,
    max_retries=3,
    interval_s=30,
    backoff_factor=2,
)


@dataclass(frozen=True)
class Subscriber:
    url: str
    secret: str


class GenericSandbox(FakeApp):
    def __init__(
        self,
        style: str = "a",
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        origin: str = DEFAULT_ORIGIN,
        webhook_sender: Sender | None = None,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"the generic fake's style is one of {', '.join(STYLES)}, not {style!r}")
        self.style = STYLES[style]()
        self.base_url = origin.rstrip("/") + self.style.api_path
        self.store = GenericStore(clock)
        prefix = self.style.api_path + "/"
        faults = FaultInjector(f"generic-{style}:{seed}", api_paths=lambda path: path.startswith(prefix))
        super().__init__(clock=clock, sleep=sleep, faults=faults, lock=self.store.lock)
        self.keys: set[str] = set()
        self.limiter = RequestLimit(clock)
        self.subscribers: list[Subscriber] = []
        self.outbox: Outbox[Delivery] = Outbox(
            clock, self.lock, webhook_sender or http_sender(), GENERIC_RETRY
        )
        self.store.listeners.append(self._on_change)
        build_app(self)

    # -- setup ----------------------------------------------------------------------------
    def add_key(self, key: str) -> None:
        """A credential the API accepts (style A: a bearer token; style B: an `api_key`)."""
        self.keys.add(key)

    def register_webhook(self, url: str, *, secret: str) -> Subscriber:
        """Style A: POST every change to `url`, signed with `secret`."""
        if self.style.name != "a":
            raise ValueError("style B sends no webhooks: clients poll by ModifiedSince")
        subscriber = Subscriber(url, secret)
        with self.lock:
            self.subscribers = [s for s in self.subscribers if s.url != url] + [subscriber]
        return subscriber

    def _on_change(self, change: Change) -> None:
        data = (
            {"id": change.id}
            if change.contact_id is None
            else {"id": change.id, "contact_id": change.contact_id}
        )
        event = {"event": change.event, "data": data, "occurred_at": iso_z(change.at)}
        body = json.dumps(event, separators=(",", ":")).encode()
        for subscriber in self.subscribers:
            sign = timestamped_hmac_signature(
                subscriber.secret, SIGNATURE_HEADER, TIMESTAMP_HEADER, self.clock
            )
            headers = {"Content-Type": "application/json", **sign(body)}
            self.outbox.queue(
                Delivery(url=subscriber.url, body=body, headers=headers, next_attempt_at=change.at)
            )

    def render(self, record: Record) -> dict[str, Any]:
        """A record as this style's API shows it."""
        return self.style.render(record)

    # -- a user in the app's own UI (changes fire webhooks like any other) -------------------
    def ui_create(self, kind: Kind, **fields: Any) -> Record:
        """Neutral fields (sandbox.apps.generic.store): a contact's first_name, last_name, email,
        phone, company, custom, tags; a task's contact_id, title, body, due_at, done; a note's
        contact_id, body."""
        with self.lock:
            return self.store.create(kind, fields)

    def ui_update(self, kind: Kind, record_id: str, **fields: Any) -> Record:
        with self.lock:
            return self.store.update(kind, record_id, fields)

    def ui_delete(self, kind: Kind, record_id: str) -> None:
        with self.lock:
            self.store.delete(kind, record_id)

    def ui_create_contact(self, **fields: Any) -> Contact:
        record = self.ui_create("contact", **fields)
        assert isinstance(record, Contact)
        return record

    def ui_update_contact(self, contact_id: str, **fields: Any) -> Contact:
        record = self.ui_update("contact", contact_id, **fields)
        assert isinstance(record, Contact)
        return record

    def ui_change_tags(
        self, contact_id: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> Contact:
        with self.lock:
            return self.store.change_tags(contact_id, add=add, remove=remove)
