"""PayacaSandbox: the fake Payaca account tests, the demo and the dev stack talk to.

    sb = PayacaSandbox(clock=fake_clock, seed=0)
    sb.add_client("dev-payaca-client", "dev-payaca-secret")          # an API key pair (Basic auth)
    http = httpx.Client(transport=sb.transport(), base_url=sb.base_url)
    sb.register_webhook("https://hooks.example/payaca", secret="whsec")   # signed deliveries
    sb.ui_move_project(project.id, "Install")                         # like a user in the web app
    sb.deliver_webhooks()                                              # POSTs what is due

Webhooks (target-apps.md §4.5): one POST per change with the resource as the body
(`{"customer": …}` / `{"project": …}`), `X-Payaca-Event`, and `X-Payaca-Signature` = HMAC-SHA256
hex of the exact bytes with the webhook's secret. A 2xx or 4xx answer ends a delivery; a 5xx or
no answer (timeout, refused) is retried with exponential backoff (30 s, 60 s, …, 5 retries): the
kit's Outbox with Payaca's RetryRule. State is in `sb.store`; API calls in `sb.request_log`.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.apps.payaca.api import build_app
from sandbox.apps.payaca.store import Change, Customer, PayacaStore, Project
from sandbox.fakes.base import FakeApp
from sandbox.fakes.faults import FaultInjector
from sandbox.fakes.ratelimit import RequestLimit
from sandbox.fakes.webhooks import Delivery, Outbox, RetryRule, Sender, hmac_signature, http_sender

DEFAULT_BASE_URL = "https://api.payaca.sandbox/v1"
# Payaca: "If you respond with HTTP 2XX or 4XX, we will not attempt to redeliver"; 5xx and
# timeouts are retried with exponential backoff (the list was cut off in the stored copy).
PAYACA_RETRY = RetryRule(
    retry_statuses=frozenset(range(500, 600)),
    retry_errors=True,
    max_retries=5,
    interval_s=30,
    backoff_factor=2,
)
SIGNATURE_HEADER = "X-Payaca-Signature"
EVENT_HEADER = "X-Payaca-Event"


@dataclass(frozen=True)
class Subscriber:
    url: str
    secret: str
    events: frozenset[str] | None = None  # None: every event


class PayacaSandbox(FakeApp):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        base_url: str = DEFAULT_BASE_URL,
        webhook_sender: Sender | None = None,
    ) -> None:
        self.base_url = base_url
        self.store = PayacaStore(clock)
        faults = FaultInjector(f"payaca:{seed}", api_paths=lambda path: path.startswith("/v1/"))
        super().__init__(clock=clock, sleep=sleep, faults=faults, lock=self.store.lock)
        self.clients: dict[str, str] = {}
        self.limiter = RequestLimit(clock)
        self.subscribers: list[Subscriber] = []
        self.outbox: Outbox[Delivery] = Outbox(
            clock, self.lock, webhook_sender or http_sender(), PAYACA_RETRY
        )
        self.store.listeners.append(self._on_change)
        build_app(self)

    # -- setup ----------------------------------------------------------------------------
    def add_client(self, client_id: str, client_secret: str) -> None:
        """An API key pair (My Company > Integrations > Create API key)."""
        self.clients[client_id] = client_secret

    def add_user(self, email: str, full_name: str) -> None:
        """A Payaca user projects can be assigned to (`assignTo.email`)."""
        self.store.add_user(email, full_name)

    def register_webhook(self, url: str, *, secret: str, events: frozenset[str] | None = None) -> Subscriber:
        """A webhook created in the web app (Payaca has no registration API)."""
        subscriber = Subscriber(url, secret, events)
        with self.lock:
            self.subscribers.append(subscriber)
        return subscriber

    def _on_change(self, change: Change) -> None:
        body = json.dumps(change.body, separators=(",", ":")).encode()
        now = self.clock()
        for subscriber in self.subscribers:
            if subscriber.events is not None and change.event not in subscriber.events:
                continue
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: change.event,
                **hmac_signature(subscriber.secret, SIGNATURE_HEADER)(body),
            }
            self.outbox.queue(Delivery(url=subscriber.url, body=body, headers=headers, next_attempt_at=now))

    # -- a user in Payaca's web app (fires webhooks like any change) ------------------------
    def ui_create_customer(
        self,
        full_name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        company: str | None = None,
        custom_fields: dict[str, Any] | None = None,
    ) -> Customer:
        contact = {"fullName": full_name, "email": email, "phoneNumber": phone, "isPrimaryContact": True}
        body: dict[str, Any] = {"name": company, "contacts": [contact], "customFields": custom_fields or {}}
        with self.lock:
            customer, _ = self.store.upsert_customer(body)
            return customer

    def ui_update_customer(self, customer_id: str, **fields: Any) -> Customer:
        """`name`, `customFields`, `addresses`, or the primary contact's `fullName`/`email`/`phoneNumber`."""
        with self.lock:
            customer = self.store.customer(customer_id)
            body: dict[str, Any] = {
                k: fields.pop(k) for k in ("name", "customFields", "addresses") if k in fields
            }
            if fields:
                contacts = [dict(c) for c in customer.contacts]
                primary = next((c for c in contacts if c["isPrimaryContact"]), contacts[0])
                primary.update(fields)
                body["contacts"] = contacts
            return self.store.update_customer(customer_id, body)

    def ui_delete_customer(self, customer_id: str) -> None:
        with self.lock:
            self.store.delete_customer(customer_id)

    def ui_add_tags(self, customer_id: str, *tags: str) -> Customer:
        with self.lock:
            return self.store.change_tags(customer_id, list(tags), add=True)

    def ui_create_project(
        self,
        customer_id: str,
        reference: str,
        *,
        stage: str = "New lead",
        pipeline: str = "Sales",
        assign_to: str | None = None,
        notes: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
    ) -> Project:
        body: dict[str, Any] = {
            "reference": reference,
            "pipeline": {"title": pipeline},
            "pipelineStage": {"title": stage},
            "notes": list(notes),
            "tags": list(tags),
        }
        if assign_to is not None:
            body["assignTo"] = {"email": assign_to}
        with self.lock:
            return self.store.create_project(customer_id, body)

    def ui_move_project(self, project_id: str, stage: str) -> Project:
        with self.lock:
            return self.store.update_project(project_id, {"pipelineStage": {"title": stage}})

    def ui_assign_project(self, project_id: str, email: str) -> Project:
        with self.lock:
            return self.store.update_project(project_id, {"assignTo": {"email": email}})
