"""The events/ files for the webhook functions answer what their names promise.

The GHL events are signed with a development Ed25519 key whose private half is
`sha256(b"ghl-sync events/ dev key")` (so anyone can sign more events); its public half is in
events/ghl_webhook_dev_env.json, the --env-vars file for `make invoke`, which also widens the
freshness window because the files carry fixed timestamps.
"""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ghlsync import ingress, queue
from ghlsync.config import get_settings
from ghlsync.observability import metrics
from ghlsync.store import dynamo
from sandbox.stack.lambda_runtime import LambdaContext, load_handler
from sandbox.stack.template import REPO_ROOT
from tests.fixtures.aws import AwsResources

EVENTS = REPO_ROOT / "events"
DEV_ENV: dict[str, str] = json.loads((EVENTS / "ghl_webhook_dev_env.json").read_text())["GhlWebhookFunction"]
EXPECTED = {
    "ghl_webhook_contact_create.json": 202,
    "ghl_webhook_base64_body.json": 202,
    "ghl_webhook_task_create_no_contact.json": 202,
    "ghl_webhook_install.json": 200,
    "ghl_webhook_uninstall.json": 200,
    "ghl_webhook_unhandled_type.json": 200,
    "ghl_webhook_bad_signature.json": 401,
    # The flows `make invoke` runs against `make dev` (tests/integration/test_invoke_flows.py).
    "ghl_webhook_contact_update.json": 202,
    "ghl_webhook_contact_tag_update.json": 202,
    "ghl_webhook_note_create.json": 202,
    "ghl_webhook_task_complete.json": 202,
}


def test_dev_env_key_is_the_documented_development_key() -> None:
    # GIVEN the documented seed THEN its public key is the one the dev env file configures
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ghl-sync events/ dev key").digest())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert DEV_ENV["GHL_WEBHOOK_ED25519_PUBLIC_KEYS"] == base64.b64encode(der).decode()


def test_every_ghl_webhook_event_file_has_an_expected_answer() -> None:
    # GIVEN the ghl_webhook events (the env file aside) THEN each is covered below
    files = {path.name for path in EVENTS.glob("ghl_webhook_*.json")} - {"ghl_webhook_dev_env.json"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name,status", sorted(EXPECTED.items()))
def test_ghl_webhook_event_file_answers_as_named(
    name: str, status: int, aws: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN GhlWebhookFunction's environment with the dev env overrides
    for variable, value in {**aws.stack.function_environment("GhlWebhookFunction"), **DEV_ENV}.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    for cached in (get_settings, ingress.default_ghl_ingress, queue.sqs_client, dynamo.sync_table):
        cached.cache_clear()
    # WHEN the event file is invoked THEN the answer is the one its name promises
    event: dict[str, Any] = json.loads(Path(EVENTS / name).read_text())
    assert load_handler("functions/ghl_webhook")(event, LambdaContext())["statusCode"] == status
    for cached in (get_settings, ingress.default_ghl_ingress, queue.sqs_client, dynamo.sync_table):
        cached.cache_clear()


def test_app_webhook_event_file_for_an_unknown_connection_answers_404(
    aws: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a fresh stack (no connections) WHEN the app webhook event is invoked THEN 404
    for variable, value in aws.stack.function_environment("AppWebhookFunction").items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    for cached in (get_settings, ingress.default_app_ingress, queue.sqs_client, dynamo.sync_table):
        cached.cache_clear()
    event: dict[str, Any] = json.loads((EVENTS / "app_webhook_unknown_connection.json").read_text())
    assert load_handler("functions/app_webhook")(event, LambdaContext())["statusCode"] == 404
    for cached in (get_settings, ingress.default_app_ingress, queue.sqs_client, dynamo.sync_table):
        cached.cache_clear()
