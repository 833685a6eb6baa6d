"""GHL sandbox: webhook payloads, signatures against the published keys, GHL's retry rule."""

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from sandbox.ghl import FakeClock, GhlSandbox
from tests.fixtures.ghl import GHL_LOCATION_ID, GHL_PIT

TARGET = "https://receiver.example/webhooks/ghl"


class Receiver:
    """Answers each delivery with the next scripted status (the last one repeats)."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.script = list(statuses)
        self.received: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.received.append((url, body, headers))
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def receiver(ghl_sandbox) -> Receiver:
    ghl_sandbox.register_webhook(TARGET)
    ghl_sandbox.webhook_sender = Receiver(200)
    return ghl_sandbox.webhook_sender


def _public_key(b64_spki: str):
    return serialization.load_der_public_key(base64.b64decode(b64_spki))


def test_contact_create_payload_is_flat_compact_and_omits_absent_fields(ghl_sandbox, receiver):
    # GIVEN a registered receiver
    # WHEN a user creates a contact with a name and email only
    contact = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", email="ada@example.com")
    ghl_sandbox.deliver_webhooks()
    # THEN one flat, compact payload arrives with the envelope fields and no nulls
    [(url, body, _)] = receiver.received
    payload = json.loads(body)
    assert url == TARGET
    assert body == json.dumps(payload, separators=(",", ":")).encode()
    assert payload["type"] == "ContactCreate"
    assert payload["id"] == contact.id
    assert {"locationId", "appId", "versionId", "timestamp", "webhookId"} <= set(payload)
    assert payload["timestamp"] == "2026-01-01T00:00:00.000Z"
    assert None not in payload.values()
    assert "phone" not in payload and "data" not in payload


def test_ed25519_signature_verifies_against_the_published_key(ghl_sandbox, receiver):
    # GIVEN a webhook was delivered
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    ghl_sandbox.deliver_webhooks()
    [(_, body, headers)] = receiver.received
    key = _public_key(ghl_sandbox.public_keys["ed25519"])
    assert isinstance(key, ed25519.Ed25519PublicKey)
    # WHEN the x-ghl-signature is checked over the exact bytes
    key.verify(base64.b64decode(headers["x-ghl-signature"]), body)
    # THEN it verifies, and a changed body does not
    with pytest.raises(InvalidSignature):
        key.verify(base64.b64decode(headers["x-ghl-signature"]), body + b" ")
    assert "x-wh-signature" not in headers


def test_rsa_signature_is_sent_when_enabled_and_verifies(ghl_sandbox, receiver):
    # GIVEN legacy RSA signing is on
    ghl_sandbox.sign_rsa = True
    # WHEN a webhook is delivered
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    ghl_sandbox.deliver_webhooks()
    [(_, body, headers)] = receiver.received
    key = _public_key(ghl_sandbox.public_keys["rsa"])
    assert isinstance(key, rsa.RSAPublicKey)
    # THEN x-wh-signature verifies as RSA-SHA256 PKCS#1 v1.5 over the body
    key.verify(base64.b64decode(headers["x-wh-signature"]), body, padding.PKCS1v15(), hashes.SHA256())


def test_keys_are_published_over_the_admin_api(ghl_sandbox, ghl_http):
    # GIVEN / WHEN the keys are fetched
    keys = ghl_http.get("/_sandbox/keys").json()
    # THEN they are the sandbox's, as base64 SPKI and PEM
    assert keys["ed25519"] == ghl_sandbox.public_keys["ed25519"]
    assert keys["pem"]["ed25519"].startswith("-----BEGIN PUBLIC KEY-----")


def test_a_429_is_retried_at_the_interval_until_delivered(ghl_sandbox, ghl_clock):
    # GIVEN a receiver that answers 429 twice then 200
    ghl_sandbox.register_webhook(TARGET)
    ghl_sandbox.webhook_sender = receiver = Receiver(429, 429, 200)
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    # WHEN deliveries are flushed now, too early, and after each 10-minute interval
    first = ghl_sandbox.deliver_webhooks()
    too_early = ghl_sandbox.deliver_webhooks(now=ghl_clock() + 599)
    second = ghl_sandbox.deliver_webhooks(now=ghl_clock() + 600)
    third = ghl_sandbox.deliver_webhooks(now=ghl_clock() + 1200)
    # THEN the same bytes were sent three times and the delivery ended delivered
    assert (len(first), len(too_early), len(second), len(third)) == (1, 0, 1, 1)
    [delivery] = ghl_sandbox.deliveries
    assert (delivery.state, delivery.attempts, delivery.history) == ("delivered", 3, [429, 429, 200])
    assert len({body for _, body, _ in receiver.received}) == 1


def test_a_5xx_is_not_retried(ghl_sandbox, ghl_clock):
    # GIVEN a receiver that fails with 500
    ghl_sandbox.register_webhook(TARGET)
    ghl_sandbox.webhook_sender = Receiver(500)
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    # WHEN deliveries are flushed, and again much later
    ghl_sandbox.deliver_webhooks()
    later = ghl_sandbox.deliver_webhooks(now=ghl_clock() + 3600)
    # THEN it was given up after one attempt, like GHL
    [delivery] = ghl_sandbox.deliveries
    assert (delivery.state, delivery.attempts, later) == ("failed", 1, [])


def test_an_exception_is_recorded_and_given_up(ghl_sandbox):
    # GIVEN a receiver that cannot be reached
    ghl_sandbox.register_webhook(TARGET)
    ghl_sandbox.webhook_sender = Receiver(ConnectionError("refused"))
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    # WHEN deliveries are flushed
    ghl_sandbox.deliver_webhooks()
    # THEN the failure is recorded
    [delivery] = ghl_sandbox.deliveries
    assert delivery.state == "failed"
    assert delivery.error == "ConnectionError: refused"


def test_429_forever_stops_after_six_retries(ghl_sandbox, ghl_clock):
    # GIVEN a receiver that always answers 429
    ghl_sandbox.register_webhook(TARGET)
    ghl_sandbox.webhook_sender = Receiver(429)
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    # WHEN deliveries are flushed every interval for two hours
    for step in range(13):
        ghl_sandbox.deliver_webhooks(now=ghl_clock() + step * 600)
    # THEN there were 1 + 6 attempts and the delivery is exhausted
    [delivery] = ghl_sandbox.deliveries
    assert (delivery.attempts, delivery.state) == (7, "exhausted")


def test_api_and_ui_mutations_emit_ghl_event_types(ghl_sandbox, receiver):
    # GIVEN a contact
    contact = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", tags=["a"])
    # WHEN a user edits, tags, adds and completes a task, writes a note, books, and deletes
    ghl_sandbox.ui_update_contact(GHL_LOCATION_ID, contact.id, lastName="L", tags=["a", "b"])
    task = ghl_sandbox.ui_create_task(
        GHL_LOCATION_ID, contact.id, title="Call", dueDate="2026-01-02T00:00:00Z"
    )
    ghl_sandbox.ui_complete_task(GHL_LOCATION_ID, contact.id, task.id)
    ghl_sandbox.ui_update_task(GHL_LOCATION_ID, contact.id, task.id, title="Called")  # GHL has no TaskUpdate
    note = ghl_sandbox.ui_create_note(GHL_LOCATION_ID, contact.id, body="hello", userId="u1", title="t")
    appointment = ghl_sandbox.ui_create_appointment(GHL_LOCATION_ID, contact.id, title="Demo")
    ghl_sandbox.ui_delete_appointment(GHL_LOCATION_ID, contact.id, appointment.id)
    ghl_sandbox.ui_delete_contact(GHL_LOCATION_ID, contact.id)
    # THEN the webhooks are GHL's, in order
    types = [d.event_type for d in ghl_sandbox.deliveries]
    assert types == [
        "ContactCreate",
        "ContactUpdate",
        "ContactTagUpdate",
        "TaskCreate",
        "TaskComplete",
        "NoteCreate",
        "AppointmentCreate",
        "AppointmentDelete",
        "ContactDelete",
    ]
    by_type = {d.event_type: d.payload for d in ghl_sandbox.deliveries}
    assert by_type["ContactTagUpdate"]["tags"] == ["a", "b"]
    assert set(by_type["NoteCreate"]) - {
        "type",
        "locationId",
        "appId",
        "versionId",
        "timestamp",
        "webhookId",
    } == {
        "id",
        "body",
        "contactId",
        "dateAdded",
    }
    assert by_type["NoteCreate"]["id"] == note.id
    assert by_type["AppointmentCreate"]["appointment"]["id"] == appointment.id


def test_seeded_keys_are_stable_per_seed():
    # GIVEN two sandboxes with the same seed and one with another
    def key(seed: int) -> str:
        sb = GhlSandbox(clock=FakeClock(), seed=seed)
        sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
        return sb.public_keys["ed25519"]

    # WHEN their Ed25519 keys are compared / THEN the seed decides the key
    assert key(1) == key(1)
    assert key(1) != key(2)
