"""GHL webhook verification, parsing, freshness and normalisation (ghlsync.ghl.webhooks)."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook, WebhookRejected
from ghlsync.core.events import ChangeAction
from ghlsync.ghl.webhooks import (
    AppointmentWebhook,
    ContactWebhook,
    StaleWebhook,
    TaskWebhook,
    UnhandledWebhook,
    WebhookVerifier,
    check_fresh,
    delivery_id,
    parse_webhook,
    to_change_event,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CUTOFF = datetime(2026, 7, 1, tzinfo=UTC)
ED_KEY = Ed25519PrivateKey.generate()
OTHER_ED_KEY = Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def spki(key: Any) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def ed_sign(body: bytes, key: Ed25519PrivateKey = ED_KEY) -> str:
    return base64.b64encode(key.sign(body)).decode()


def rsa_sign(body: bytes) -> str:
    return base64.b64encode(RSA_KEY.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def verifier(ed: str | None = None, rsa_keys: str | None = None) -> WebhookVerifier:
    return WebhookVerifier.from_config(
        ed25519_keys=spki(ED_KEY) if ed is None else ed,
        rsa_keys=spki(RSA_KEY) if rsa_keys is None else rsa_keys,
        rsa_cutoff=CUTOFF,
    )


def body_of(**fields: Any) -> bytes:
    document = {
        "type": "ContactCreate",
        "locationId": "loc-1",
        "id": "contact-1",
        "timestamp": "2026-05-01T11:59:00.000Z",
        "webhookId": "wh-1",
        **fields,
    }
    return json.dumps(document, separators=(",", ":")).encode()


# ---- signatures ------------------------------------------------------------------------------


def test_ed25519_signature_over_the_raw_body_is_accepted() -> None:
    # GIVEN a body signed with a configured Ed25519 key WHEN verified THEN nothing is raised
    body = body_of()
    verifier().verify(body, {"x-ghl-signature": ed_sign(body)}, now=NOW)


def test_tampered_body_is_rejected() -> None:
    # GIVEN a signature over one body WHEN a different body is presented THEN it is rejected
    signature = ed_sign(body_of())
    with pytest.raises(WebhookRejected):
        verifier().verify(body_of(firstName="Mallory"), {"x-ghl-signature": signature}, now=NOW)


def test_missing_signature_is_rejected() -> None:
    # GIVEN no signature header THEN the body is rejected
    with pytest.raises(WebhookRejected):
        verifier().verify(body_of(), {}, now=NOW)


def test_signature_that_is_not_base64_is_rejected() -> None:
    # GIVEN a signature header with garbage THEN it is rejected (not a crash)
    with pytest.raises(WebhookRejected):
        verifier().verify(body_of(), {"x-ghl-signature": "%%%not-base64%%%"}, now=NOW)


def test_any_of_several_configured_keys_verifies_during_a_rotation() -> None:
    # GIVEN two configured Ed25519 keys WHEN the body is signed by the second THEN it is accepted
    body = body_of()
    both = f"{spki(OTHER_ED_KEY)}, {spki(ED_KEY)}"
    verifier(ed=both).verify(body, {"x-ghl-signature": ed_sign(body)}, now=NOW)


def test_signature_by_an_unconfigured_key_is_rejected() -> None:
    # GIVEN a body signed by a key we do not trust THEN it is rejected
    body = body_of()
    with pytest.raises(WebhookRejected):
        verifier().verify(body, {"x-ghl-signature": ed_sign(body, OTHER_ED_KEY)}, now=NOW)


def test_legacy_rsa_signature_is_accepted_before_the_cutoff() -> None:
    # GIVEN only x-wh-signature (RSA PKCS1v15 SHA-256) before the cutoff THEN it is accepted
    body = body_of()
    verifier().verify(body, {"x-wh-signature": rsa_sign(body)}, now=CUTOFF - timedelta(seconds=1))


def test_legacy_rsa_signature_is_rejected_from_the_cutoff_on() -> None:
    # GIVEN a valid x-wh-signature at the cutoff instant THEN it is no longer accepted
    body = body_of()
    with pytest.raises(WebhookRejected, match="no longer accepted"):
        verifier().verify(body, {"x-wh-signature": rsa_sign(body)}, now=CUTOFF)


def test_an_invalid_ed25519_signature_is_not_rescued_by_a_valid_rsa_one() -> None:
    # GIVEN both headers, the Ed25519 one wrong WHEN verified THEN the Ed25519 header decides: rejected
    body = body_of()
    headers = {"x-ghl-signature": ed_sign(body, OTHER_ED_KEY), "x-wh-signature": rsa_sign(body)}
    with pytest.raises(WebhookRejected):
        verifier().verify(body, headers, now=NOW)


def test_a_key_of_the_wrong_type_is_a_configuration_error() -> None:
    # GIVEN an RSA key configured as an Ed25519 key THEN building the verifier fails loudly
    with pytest.raises(ValueError, match="Ed25519"):
        verifier(ed=spki(RSA_KEY))


def test_a_key_that_is_not_base64_spki_is_a_configuration_error() -> None:
    # GIVEN a configured key that is not base64 DER THEN building the verifier fails loudly
    with pytest.raises(ValueError, match="SPKI"):
        verifier(rsa_keys="not a key")


# ---- parsing ---------------------------------------------------------------------------------


def test_real_contact_create_capture_parses_and_keeps_unknown_fields() -> None:
    # GIVEN the community capture of a real ContactCreate (flat, with appId/versionId/attributionSource)
    body = body_of(
        appId="app",
        versionId="ver",
        firstName="Ada",
        tags=[],
        customFields=[],
        attributionSource={"medium": "manual", "mediumId": None, "sessionSource": "CRM UI"},
    )
    # WHEN parsed THEN it is a ContactWebhook and the extra fields survive
    webhook = parse_webhook(body)
    assert isinstance(webhook, ContactWebhook)
    assert webhook.model_extra is not None and webhook.model_extra["firstName"] == "Ada"


def test_task_create_without_contact_id_or_body_parses() -> None:
    # GIVEN a TaskCreate without contactId and body (GHL issue #332) THEN it parses with contact_id None
    webhook = parse_webhook(body_of(type="TaskCreate", id="task-1", title="Call back"))
    assert isinstance(webhook, TaskWebhook)
    assert webhook.contact_id is None


def test_nested_appointment_parses() -> None:
    # GIVEN an AppointmentUpdate with the record nested under `appointment`
    document = json.loads(body_of(type="AppointmentUpdate", appointment={"id": "appt-1", "contactId": "c-9"}))
    del document["id"]
    webhook = parse_webhook(json.dumps(document).encode())
    # THEN the nested record is read
    assert isinstance(webhook, AppointmentWebhook)
    assert webhook.appointment.id == "appt-1"


def test_unknown_event_type_comes_back_unhandled() -> None:
    # GIVEN an event type we do not sync, even without timestamp THEN it is UnhandledWebhook, not an error
    webhook = parse_webhook(b'{"type":"OpportunityCreate","locationId":"loc-1"}')
    assert isinstance(webhook, UnhandledWebhook)
    assert webhook.type == "OpportunityCreate"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[1,2]", id="array"),
        pytest.param(b'{"locationId":"loc-1"}', id="no-type"),
    ],
)
def test_unreadable_bodies_are_malformed(body: bytes) -> None:
    # GIVEN a body that is not a GHL event object THEN MalformedWebhook
    with pytest.raises(MalformedWebhook):
        parse_webhook(body)


def test_handled_event_without_its_id_is_malformed() -> None:
    # GIVEN a ContactUpdate without `id` THEN MalformedWebhook naming the field
    document = json.loads(body_of(type="ContactUpdate"))
    del document["id"]
    with pytest.raises(MalformedWebhook, match="id"):
        parse_webhook(json.dumps(document).encode())


def test_handled_event_without_timestamp_is_malformed() -> None:
    # GIVEN a ContactCreate without the signed timestamp THEN it cannot be checked for replay: malformed
    document = json.loads(body_of())
    del document["timestamp"]
    with pytest.raises(MalformedWebhook, match="timestamp"):
        parse_webhook(json.dumps(document).encode())


def test_odd_date_formats_outside_timestamp_do_not_fail_parsing() -> None:
    # GIVEN a TaskCreate whose dueDate is not ISO THEN it still parses (dates other than timestamp stay text)
    webhook = parse_webhook(body_of(type="TaskCreate", dueDate="tomorrow-ish"))
    assert isinstance(webhook, TaskWebhook)


# ---- freshness and ids -----------------------------------------------------------------------


def contact_at(timestamp: datetime) -> ContactWebhook:
    webhook = parse_webhook(body_of(timestamp=timestamp.isoformat()))
    assert isinstance(webhook, ContactWebhook)
    return webhook


def test_timestamp_inside_the_retry_window_is_fresh() -> None:
    # GIVEN a retry 80 min after the first attempt, with its timestamp THEN accepted (90 min window)
    check_fresh(contact_at(NOW - timedelta(minutes=80)), now=NOW, max_age=timedelta(minutes=90))


def test_timestamp_older_than_the_window_is_stale() -> None:
    # GIVEN a timestamp 91 minutes old THEN it is refused as a replay
    with pytest.raises(StaleWebhook):
        check_fresh(contact_at(NOW - timedelta(minutes=91)), now=NOW, max_age=timedelta(minutes=90))


def test_timestamp_from_the_future_is_stale() -> None:
    # GIVEN a timestamp 10 minutes ahead of our clock THEN it is refused
    with pytest.raises(StaleWebhook):
        check_fresh(contact_at(NOW + timedelta(minutes=10)), now=NOW, max_age=timedelta(minutes=90))


def test_delivery_id_is_the_webhook_id() -> None:
    # GIVEN a webhookId THEN it is the delivery's idempotency key
    body = body_of(webhookId="wh-77")
    assert delivery_id(parse_webhook(body), body) == "wh-77"  # type: ignore[arg-type]


def test_delivery_id_without_webhook_id_is_a_body_hash() -> None:
    # GIVEN two bodies without webhookId THEN their keys differ, and the same body gives the same key
    first, second = body_of(webhookId=None), body_of(webhookId=None, firstName="B")
    key = delivery_id(contact_of(first), first)
    assert key.startswith("sha256-")
    assert key == delivery_id(contact_of(first), first)
    assert key != delivery_id(contact_of(second), second)


def contact_of(body: bytes) -> ContactWebhook:
    webhook = parse_webhook(body)
    assert isinstance(webhook, ContactWebhook)
    return webhook


# ---- normalisation ---------------------------------------------------------------------------


def test_contact_tag_update_becomes_a_tags_change_with_the_tag_list() -> None:
    # GIVEN a ContactTagUpdate WHEN normalised THEN action TAGS, and data keeps the full tag list
    event = to_change_event(
        contact_of(body_of(type="ContactTagUpdate", tags=["vip", "lead"])), event_id="wh-1"
    )
    assert (event.entity, event.action, event.entity_id) == (
        EntityKind.CONTACT,
        ChangeAction.TAGS,
        "contact-1",
    )
    assert event.data["tags"] == ["vip", "lead"]
    assert "webhookId" not in event.data


def test_task_create_without_contact_keeps_parent_unknown() -> None:
    # GIVEN a TaskCreate without contactId WHEN normalised THEN an UPSERT with parent_id None
    webhook = parse_webhook(body_of(type="TaskCreate", id="task-1"))
    assert isinstance(webhook, TaskWebhook)
    event = to_change_event(webhook, event_id="wh-1")
    assert (event.entity, event.action, event.parent_id) == (EntityKind.TASK, ChangeAction.UPSERT, None)


def test_note_delete_keeps_its_contact_as_parent() -> None:
    # GIVEN a NoteDelete WHEN normalised THEN a DELETE of the note under its contact, timed by the webhook
    webhook = parse_webhook(body_of(type="NoteDelete", id="note-1", contactId="contact-1"))
    event = to_change_event(webhook, event_id="wh-1")  # type: ignore[arg-type]
    assert (event.entity, event.action, event.entity_id, event.parent_id) == (
        EntityKind.NOTE,
        ChangeAction.DELETE,
        "note-1",
        "contact-1",
    )
    assert event.occurred_at == datetime(2026, 5, 1, 11, 59, tzinfo=UTC)
    assert (event.location_id, event.source, event.event_type) == ("loc-1", "ghl", "NoteDelete")


def test_appointment_event_is_keyed_by_the_nested_record() -> None:
    # GIVEN an AppointmentDelete WHEN normalised THEN entity_id/parent_id come from the nested appointment
    document = json.loads(body_of(type="AppointmentDelete", appointment={"id": "appt-1", "contactId": "c-2"}))
    del document["id"]
    webhook = parse_webhook(json.dumps(document).encode())
    event = to_change_event(webhook, event_id="wh-1")  # type: ignore[arg-type]
    assert (event.entity, event.action, event.entity_id, event.parent_id) == (
        EntityKind.APPOINTMENT,
        ChangeAction.DELETE,
        "appt-1",
        "c-2",
    )
