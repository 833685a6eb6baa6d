"""POST /webhooks/{app}/{connectionId} end to end: the real handler, the real connection store,
secrets and connector registry (Kayako's automation endpoint), template resources in moto."""

import json
from dataclasses import dataclass
from typing import Any

import pytest

from ghlsync import queue
from ghlsync.config import get_settings
from ghlsync.core.events import ChangeEvent
from ghlsync.store.connections import ConnectionStatus, ConnectionStore
from tests.fixtures.app_webhook import AppWebhookStack
from tests.fixtures.aws import AwsResources

CONNECTION = "conn-kayako-1"
TOKEN = "automation-token-0123456789"


def automation(event: str = "user.updated", **fields: Any) -> bytes:
    document = {"event": event, "id": 12, "user_id": 12, "updated_at": "2026-05-01T12:00:00+00:00", **fields}
    return json.dumps(document).encode()


@dataclass
class AppWebhookFunction:
    stack: AppWebhookStack

    def post(
        self, body: bytes, *, app: str = "kayako", connection_id: str = CONNECTION, token: str | None = TOKEN
    ) -> dict[str, Any]:
        query = {"token": token} if token is not None else None
        return self.stack.invoke(app, connection_id, body, {"Content-Type": "application/json"}, query)

    def queued(self) -> list[dict[str, Any]]:
        return self.stack.queued()


@pytest.fixture
def app_webhook(app_webhook_stack: AppWebhookStack) -> AppWebhookFunction:
    """GIVEN AppWebhookFunction's environment and an active Kayako connection for location loc-1."""
    app_webhook_stack.connect(
        CONNECTION,
        "kayako",
        {"base_url": "http://kayako.invalid/api/v1"},
        {"email": "agent@example.com", "password": "pw", "webhook_token": TOKEN},
    )
    return AppWebhookFunction(app_webhook_stack)


def test_verified_app_webhook_is_queued_for_its_connection(app_webhook: AppWebhookFunction) -> None:
    # GIVEN a Kayako automation call carrying the connection's token WHEN posted
    response = app_webhook.post(automation())
    # THEN 202 and one ChangeEvent in the connection's location group, tagged with the connection
    assert response["statusCode"] == 202
    [message] = app_webhook.queued()
    event = ChangeEvent.model_validate_json(message["Body"])
    assert (event.connection_id, event.location_id, event.entity_id) == (CONNECTION, "loc-1", "12")
    assert message["Attributes"]["MessageGroupId"] == "loc-1"
    assert message["Attributes"]["MessageDeduplicationId"] == event.event_id


def test_repeated_app_delivery_is_queued_once(app_webhook: AppWebhookFunction) -> None:
    # GIVEN the same automation call delivered twice THEN the second reports a duplicate, one message exists
    app_webhook.post(automation())
    second = json.loads(app_webhook.post(automation())["body"])
    assert (second["queued"], second["duplicates"]) == (0, 1)
    assert len(app_webhook.queued()) == 1


@pytest.mark.parametrize("token", [None, "wrong-token-0000000000"], ids=["missing", "wrong"])
def test_app_webhook_without_the_right_token_answers_401(
    app_webhook: AppWebhookFunction, token: str | None
) -> None:
    # GIVEN a call without the connection's token THEN 401 and nothing queued
    assert app_webhook.post(automation(), token=token)["statusCode"] == 401
    assert app_webhook.queued() == []


def test_unknown_connection_wrong_app_and_disabled_connection_look_the_same(
    app_webhook: AppWebhookFunction, aws: AwsResources
) -> None:
    # GIVEN an unknown connection id, the right id under another app's path, and a disabled connection
    unknown = app_webhook.post(automation(), connection_id="conn-nope")
    wrong_app = app_webhook.post(automation(), app="payaca")
    ConnectionStore(aws.table).set_status(CONNECTION, ConnectionStatus.DISABLED)
    disabled = app_webhook.post(automation())
    # THEN all three answer the same 404, revealing nothing, and nothing is queued
    assert {r["statusCode"] for r in (unknown, wrong_app, disabled)} == {404}
    assert unknown["body"] == wrong_app["body"] == disabled["body"]
    assert app_webhook.queued() == []


def test_unreadable_app_payload_answers_400(app_webhook: AppWebhookFunction) -> None:
    # GIVEN a verified call whose body is not an automation payload THEN 400
    assert app_webhook.post(b'{"hello": "world"}')["statusCode"] == 400
    assert app_webhook.queued() == []


def test_oversize_app_payload_answers_413(app_webhook: AppWebhookFunction) -> None:
    # GIVEN a body over WEBHOOK_MAX_BODY_BYTES THEN 413
    huge = automation(data={"blob": "x" * get_settings().webhook_max_body_bytes})
    assert app_webhook.post(huge)["statusCode"] == 413


def test_app_trigger_we_do_not_sync_is_acknowledged(app_webhook: AppWebhookFunction) -> None:
    # GIVEN a verified trigger the connector does not sync THEN 202 with nothing queued
    body = json.loads(app_webhook.post(automation("organization.updated"))["body"])
    assert body["queued"] == 0
    assert app_webhook.queued() == []


def test_app_queue_failure_answers_429_and_the_retry_is_accepted(
    app_webhook: AppWebhookFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SQS refusing messages THEN 429
    client = queue.sqs_client()
    with monkeypatch.context() as patch:

        def refuse(**_: Any) -> None:
            raise client.exceptions.QueueDoesNotExist({"Error": {"Code": "QueueDoesNotExist"}}, "SendMessage")

        patch.setattr(client, "send_message", refuse)
        assert app_webhook.post(automation())["statusCode"] == 429
    # WHEN the app retries after SQS recovered THEN the event is queued (the failed attempt left no record)
    assert json.loads(app_webhook.post(automation())["body"])["queued"] == 1
    assert len(app_webhook.queued()) == 1
