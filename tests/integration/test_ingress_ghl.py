"""POST /webhooks/ghl end to end: the real handler in-process, template resources in moto.

Webhooks are signed with test keys whose public halves are configured through the environment,
exactly as the stack parameters GhlWebhookEd25519PublicKeys / GhlWebhookRsaPublicKeys would.
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ghlsync import ingress, queue
from ghlsync.config import get_settings
from ghlsync.core.events import ChangeEvent
from ghlsync.observability import metrics
from ghlsync.store import dynamo
from ghlsync.store.tenants import TenantStatus, TenantStore
from sandbox.stack.gateway import Route, build_proxy_event
from sandbox.stack.lambda_runtime import LambdaContext, load_handler
from tests.fixtures.aws import AwsResources

ED_KEY = Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROUTE = Route(function="GhlWebhookFunction", method="POST", resource="/webhooks/ghl")


def spki(key: Any) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def webhook_body(**fields: Any) -> bytes:
    document = {
        "type": "ContactCreate",
        "locationId": "loc-1",
        "versionId": "v-1",
        "appId": "app-1",
        "id": "contact-1",
        "firstName": "Ada",
        "email": "ada@example.com",
        "timestamp": datetime.now(UTC).isoformat(),
        "webhookId": "wh-1",
        **fields,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def ed_signature(body: bytes) -> str:
    return base64.b64encode(ED_KEY.sign(body)).decode()


def rsa_signature(body: bytes) -> str:
    return base64.b64encode(RSA_KEY.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def _clear_containers() -> None:
    """Each test is a fresh Lambda container: nothing built for the previous one survives."""
    get_settings.cache_clear()
    ingress.default_ghl_ingress.cache_clear()
    queue.sqs_client.cache_clear()
    dynamo.sync_table.cache_clear()


@dataclass
class GhlWebhookFunction:
    aws: AwsResources

    def post(
        self, body: bytes, *, headers: dict[str, str] | None = None, content_type: str = "application/json"
    ) -> dict[str, Any]:
        all_headers = {"Content-Type": content_type, **(headers or {})}
        event = build_proxy_event("POST", "/webhooks/ghl", all_headers, None, body, ROUTE)
        result: dict[str, Any] = load_handler("functions/ghl_webhook")(event, LambdaContext())
        return result

    def post_signed(self, body: bytes) -> dict[str, Any]:
        return self.post(body, headers={"X-GHL-Signature": ed_signature(body)})

    def queued(self) -> list[dict[str, Any]]:
        messages = self.aws.sqs.receive_message(
            QueueUrl=self.aws.queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        return [dict(message) for message in messages]


@pytest.fixture
def ghl_webhook(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[GhlWebhookFunction]:
    """GIVEN GhlWebhookFunction's template environment, with our test keys as GHL's public keys."""
    environment = aws.stack.function_environment("GhlWebhookFunction")
    environment["GHL_WEBHOOK_ED25519_PUBLIC_KEYS"] = spki(ED_KEY)
    environment["GHL_WEBHOOK_RSA_PUBLIC_KEYS"] = spki(RSA_KEY)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # The shared Metrics object was built at import, before the aws fixture set its namespace.
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    _clear_containers()
    yield GhlWebhookFunction(aws)
    _clear_containers()


def test_signed_contact_webhook_is_queued_in_its_location_group(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a ContactCreate signed by GHL's (test) key WHEN posted
    response = ghl_webhook.post_signed(webhook_body())
    # THEN 202, and one message: group = location, dedup id = webhookId, body = the ChangeEvent
    assert response["statusCode"] == 202
    [message] = ghl_webhook.queued()
    assert message["Attributes"]["MessageGroupId"] == "loc-1"
    assert message["Attributes"]["MessageDeduplicationId"] == "wh-1"
    event = ChangeEvent.model_validate_json(message["Body"])
    assert (event.event_id, event.entity_id, event.event_type) == ("wh-1", "contact-1", "ContactCreate")


def test_the_same_webhook_delivered_three_times_is_queued_once(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN one signed delivery WHEN GHL delivers it three times
    body = webhook_body()
    answers = [ghl_webhook.post_signed(body) for _ in range(3)]
    # THEN every delivery is acknowledged, the repeats as duplicates, and only one message exists
    assert [answer["statusCode"] for answer in answers] == [202, 202, 202]
    assert [json.loads(answer["body"])["status"] for answer in answers] == [
        "queued",
        "duplicate",
        "duplicate",
    ]
    assert len(ghl_webhook.queued()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-GHL-Signature": base64.b64encode(b"x" * 64).decode()}, id="wrong"),
        pytest.param({"X-GHL-Signature": "not base64 !"}, id="garbage"),
    ],
)
def test_bad_or_missing_signature_answers_401_and_queues_nothing(
    ghl_webhook: GhlWebhookFunction, headers: dict[str, str]
) -> None:
    # GIVEN a body without a valid signature WHEN posted THEN 401 and nothing queued
    assert ghl_webhook.post(webhook_body(), headers=headers)["statusCode"] == 401
    assert ghl_webhook.queued() == []


def test_tampered_body_answers_401(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a signature over the original body WHEN the body is altered in transit THEN 401, nothing queued
    signature = ed_signature(webhook_body())
    tampered = webhook_body(email="mallory@example.com")
    assert ghl_webhook.post(tampered, headers={"X-GHL-Signature": signature})["statusCode"] == 401
    assert ghl_webhook.queued() == []


def test_stale_timestamp_answers_401(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a correctly signed delivery whose timestamp is past the 90-minute window THEN 401 (replay)
    old = (datetime.now(UTC) - timedelta(minutes=91)).isoformat()
    assert ghl_webhook.post_signed(webhook_body(timestamp=old))["statusCode"] == 401
    assert ghl_webhook.queued() == []


def test_retry_carrying_the_first_attempts_timestamp_is_accepted(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a delivery retried ~70 minutes after its first attempt, with the first timestamp THEN accepted
    first_attempt = (datetime.now(UTC) - timedelta(minutes=75)).isoformat()
    assert ghl_webhook.post_signed(webhook_body(timestamp=first_attempt))["statusCode"] == 202


def test_signed_malformed_json_answers_400(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a signed body that is not JSON THEN 400 (not a 5xx) and nothing queued
    response = ghl_webhook.post_signed(b'{"type": "ContactCreate", ')
    assert response["statusCode"] == 400
    assert ghl_webhook.queued() == []


def test_signed_event_missing_required_fields_answers_400(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a signed ContactCreate without locationId THEN 400
    document = json.loads(webhook_body())
    del document["locationId"]
    assert ghl_webhook.post_signed(json.dumps(document).encode())["statusCode"] == 400


def test_oversize_body_answers_413_before_anything_else(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a body larger than WEBHOOK_MAX_BODY_BYTES (even unsigned) THEN 413 and nothing queued
    huge = webhook_body(firstName="A" * (get_settings().webhook_max_body_bytes + 1))
    assert ghl_webhook.post(huge)["statusCode"] == 413
    assert ghl_webhook.queued() == []


def test_event_type_we_do_not_sync_answers_200_and_queues_nothing(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a signed OpportunityCreate THEN 200 (GHL must not retry it) and nothing queued
    response = ghl_webhook.post_signed(webhook_body(type="OpportunityCreate"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ignored"
    assert ghl_webhook.queued() == []


def test_legacy_rsa_signature_is_accepted_before_the_cutoff(
    ghl_webhook: GhlWebhookFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cutoff in the future and only x-wh-signature THEN the delivery is queued
    monkeypatch.setenv("GHL_RSA_SIGNATURE_CUTOFF", (datetime.now(UTC) + timedelta(days=1)).isoformat())
    _clear_containers()
    body = webhook_body()
    assert ghl_webhook.post(body, headers={"X-WH-Signature": rsa_signature(body)})["statusCode"] == 202
    assert len(ghl_webhook.queued()) == 1


def test_legacy_rsa_signature_is_refused_after_the_cutoff(
    ghl_webhook: GhlWebhookFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cutoff in the past THEN the same valid x-wh-signature answers 401
    monkeypatch.setenv("GHL_RSA_SIGNATURE_CUTOFF", (datetime.now(UTC) - timedelta(days=1)).isoformat())
    _clear_containers()
    body = webhook_body()
    assert ghl_webhook.post(body, headers={"X-WH-Signature": rsa_signature(body)})["statusCode"] == 401
    assert ghl_webhook.queued() == []


def test_base64_encoded_body_is_verified_on_its_decoded_bytes(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a content type API Gateway treats as binary (so the body arrives base64-encoded)
    body = webhook_body()
    headers = {"X-GHL-Signature": ed_signature(body)}
    response = ghl_webhook.post(body, headers=headers, content_type="application/octet-stream")
    # THEN the signature is checked on the decoded bytes and the event queued
    assert response["statusCode"] == 202
    assert len(ghl_webhook.queued()) == 1


def test_queue_failure_answers_429_and_the_retry_is_accepted(
    ghl_webhook: GhlWebhookFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SQS refusing messages WHEN a delivery arrives THEN 429 (GHL retries only on 429)
    body = webhook_body()
    client = queue.sqs_client()
    with monkeypatch.context() as patch:

        def refuse(**_: Any) -> None:
            raise client.exceptions.QueueDoesNotExist({"Error": {"Code": "QueueDoesNotExist"}}, "SendMessage")

        patch.setattr(client, "send_message", refuse)
        assert ghl_webhook.post_signed(body)["statusCode"] == 429
    assert ghl_webhook.queued() == []
    # WHEN GHL retries the same delivery after SQS recovered THEN it is queued, not taken for a duplicate
    retry = ghl_webhook.post_signed(body)
    assert (retry["statusCode"], json.loads(retry["body"])["status"]) == (202, "queued")
    assert len(ghl_webhook.queued()) == 1


def test_task_create_without_contact_is_queued_with_parent_unknown(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN a TaskCreate that GHL sent without contactId THEN it is queued, parent_id None, for the engine
    body = webhook_body(type="TaskCreate", id="task-1", title="Call back", webhookId="wh-task")
    assert ghl_webhook.post_signed(body)["statusCode"] == 202
    [message] = ghl_webhook.queued()
    event = ChangeEvent.model_validate_json(message["Body"])
    assert (event.entity, event.entity_id, event.parent_id) == ("task", "task-1", None)


def test_install_registers_the_tenant(ghl_webhook: GhlWebhookFunction, aws: AwsResources) -> None:
    # GIVEN a signed INSTALL for a location WHEN posted
    body = webhook_body(type="INSTALL", installType="Location", companyId="comp-1", webhookId="wh-install")
    response = ghl_webhook.post_signed(body)
    # THEN 200, the tenant is active, and nothing is queued
    assert response["statusCode"] == 200
    tenant = TenantStore(aws.table).get("loc-1")
    assert tenant is not None
    assert (tenant.status, tenant.company_id) == (TenantStatus.ACTIVE, "comp-1")
    assert ghl_webhook.queued() == []


def test_uninstall_marks_the_tenant_and_keeps_it_for_the_retention(
    ghl_webhook: GhlWebhookFunction, aws: AwsResources
) -> None:
    # GIVEN an installed location
    ghl_webhook.post_signed(webhook_body(type="INSTALL", companyId="comp-1", webhookId="wh-install"))
    # WHEN its UNINSTALL arrives
    response = ghl_webhook.post_signed(webhook_body(type="UNINSTALL", webhookId="wh-uninstall"))
    # THEN the tenant is uninstalled but kept until the configured retention ends
    assert response["statusCode"] == 200
    tenant = TenantStore(aws.table).get("loc-1")
    assert tenant is not None and tenant.status is TenantStatus.UNINSTALLED
    assert tenant.uninstalled_at is not None and tenant.retain_until is not None
    retention = tenant.retain_until - tenant.uninstalled_at
    assert retention == timedelta(days=get_settings().uninstall_retain_days)


def test_uninstall_of_an_unknown_location_is_acknowledged(ghl_webhook: GhlWebhookFunction) -> None:
    # GIVEN no tenant for the location WHEN UNINSTALL arrives THEN 200 (nothing to undo, no retry wanted)
    assert ghl_webhook.post_signed(webhook_body(type="UNINSTALL", webhookId="wh-u"))["statusCode"] == 200
