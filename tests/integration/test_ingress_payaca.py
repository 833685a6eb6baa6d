"""POST /webhooks/payaca/{connectionId} through the real handler: HMAC-signed bodies, Payaca's
answers (2xx only once queued, 401 for a bad signature, 503 when it cannot queue: Payaca retries
5xx and timeouts, never a 4xx), de-duplication on the body's hash. Template resources in moto."""

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import pytest

from ghlsync import queue
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from tests.fixtures.app_webhook import AppWebhookStack

pytestmark = pytest.mark.integration

CONNECTION = "conn-payaca-1"
SECRET = "payaca-webhook-secret-0123"
UNSIGNED = object()


def customer_body(name: str = "Marie Curie") -> bytes:
    customer = {
        "id": "cus_abc",
        "name": "Curie Heat Pumps",
        "contacts": [
            {"id": "con_1", "fullName": name, "email": "marie@example.com", "isPrimaryContact": True}
        ],
        "updatedAt": "2026-05-01T12:00:00Z",
    }
    return json.dumps({"customer": customer}).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class PayacaWebhook:
    stack: AppWebhookStack

    def post(
        self, body: bytes, *, event: str | None = "customer.updated", signed: Any = None
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if event is not None:
            headers["X-Payaca-Event"] = event
        if signed is not UNSIGNED:
            headers["X-Payaca-Signature"] = signed if isinstance(signed, str) else signature(body)
        return self.stack.invoke("payaca", CONNECTION, body, headers)

    def queued(self) -> list[ChangeEvent]:
        return [ChangeEvent.model_validate_json(m["Body"]) for m in self.stack.queued()]


@pytest.fixture
def payaca(app_webhook_stack: AppWebhookStack) -> PayacaWebhook:
    """GIVEN AppWebhookFunction's environment and an active Payaca connection for location loc-1."""
    app_webhook_stack.connect(
        CONNECTION,
        "payaca",
        {"base_url": "http://payaca.invalid/v1"},
        {"client_id": "client", "client_secret": "secret", "webhook_secret": SECRET},
    )
    return PayacaWebhook(app_webhook_stack)


def test_a_signed_customer_webhook_is_queued_as_the_customers_upsert(payaca: PayacaWebhook) -> None:
    # GIVEN a customer.updated delivery signed with the connection's secret WHEN posted
    response = payaca.post(customer_body())
    # THEN 202 and one contact upsert for that customer in the connection's location
    assert response["statusCode"] == 202
    [event] = payaca.queued()
    assert (event.connection_id, event.location_id, event.entity, event.entity_id) == (
        CONNECTION,
        "loc-1",
        EntityKind.CONTACT,
        "cus_abc",
    )


@pytest.mark.parametrize(
    "signed",
    [UNSIGNED, "", "00" * 32, signature(customer_body(), "someone-elses-secret")],
    ids=["unsigned", "empty", "zeros", "other-secret"],
)
def test_a_missing_or_wrong_signature_is_401_and_nothing_is_queued(
    payaca: PayacaWebhook, signed: Any
) -> None:
    # GIVEN a delivery without a signature, or signed with another secret WHEN posted
    response = payaca.post(customer_body(), signed=signed)
    # THEN 401 (Payaca does not retry a 4xx) and nothing is queued
    assert response["statusCode"] == 401
    assert payaca.queued() == []


def test_a_tampered_body_is_401(payaca: PayacaWebhook) -> None:
    # GIVEN the signature of one body sent with another WHEN posted THEN 401
    response = payaca.post(customer_body("Mallory"), signed=signature(customer_body()))
    assert response["statusCode"] == 401
    assert payaca.queued() == []


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (b"not json at all", "customer.updated"),
        (b"[1, 2, 3]", "customer.updated"),
        (b'{"customer": {"name": "no id"}}', "customer.updated"),
        (b'{"project": {"id": "prj_1"}}', "project.pipelineStageChanged"),
        (customer_body(), None),
    ],
    ids=["garbage", "not-an-object", "customer-without-id", "project-without-customer", "no-event-header"],
)
def test_a_signed_body_that_is_not_a_payaca_event_is_400(
    payaca: PayacaWebhook, body: bytes, event: str | None
) -> None:
    # GIVEN a correctly signed body Payaca could not have sent WHEN posted
    response = payaca.post(body, event=event)
    # THEN 400, never a 5xx (which Payaca would retry for nothing), and nothing is queued
    assert response["statusCode"] == 400
    assert payaca.queued() == []


def test_a_huge_body_is_413(payaca: PayacaWebhook) -> None:
    # GIVEN a signed body over the size limit WHEN posted THEN 413 and nothing queued
    huge = json.dumps({"customer": {"id": "c", "blob": "x" * get_settings().webhook_max_body_bytes}}).encode()
    assert payaca.post(huge)["statusCode"] == 413
    assert payaca.queued() == []


def test_an_event_we_do_not_sync_is_acknowledged(payaca: PayacaWebhook) -> None:
    # GIVEN a verified invoice.fullyPaid delivery THEN 202 with nothing queued
    body = json.loads(payaca.post(b'{"invoice": {"id": "inv_1"}}', event="invoice.fullyPaid")["body"])
    assert body["queued"] == 0
    assert payaca.queued() == []


def test_a_redelivered_body_is_a_duplicate(payaca: PayacaWebhook) -> None:
    # GIVEN one delivery posted twice (same bytes: Payaca sends no delivery id)
    first = json.loads(payaca.post(customer_body())["body"])
    second = json.loads(payaca.post(customer_body())["body"])
    # THEN queued once, the second answered as a duplicate
    assert (first["queued"], second["queued"], second["duplicates"]) == (1, 0, 1)
    assert len(payaca.queued()) == 1


def test_when_it_cannot_queue_it_answers_503_and_the_retry_is_accepted(
    payaca: PayacaWebhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SQS refusing messages WHEN a delivery arrives THEN 503 (a 5xx: Payaca redelivers)
    client = queue.sqs_client()
    with monkeypatch.context() as patch:

        def refuse(**_: Any) -> None:
            raise client.exceptions.QueueDoesNotExist({"Error": {"Code": "QueueDoesNotExist"}}, "SendMessage")

        patch.setattr(client, "send_message", refuse)
        assert payaca.post(customer_body())["statusCode"] == 503
    # WHEN Payaca redelivers after SQS recovered THEN it is queued (the failed attempt left no record)
    assert json.loads(payaca.post(customer_body())["body"])["queued"] == 1
    assert len(payaca.queued()) == 1
