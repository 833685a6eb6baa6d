"""connections CLI with Kixie's spec: the operator gives the API key and Business ID, the webhook
token is generated, the webhooks are registered through Kixie's API before anything is stored,
and the caller-ID lookup URL is printed."""

import io
import json
from typing import Any

import boto3
import httpx
import pytest

from ghlsync.connections_cli import main
from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
from tests.fixtures.connections_cli import SECRET_PREFIX, printed
from tests.fixtures.kixie import KIXIE_API, KIXIE_BUSINESS, KIXIE_KEY, KixieRecorder
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]


def _create(table: Any, recorder: KixieRecorder, *extra: str) -> tuple[int, str, ConnectionSecrets]:
    vault = ConnectionSecrets(boto3.client("secretsmanager", region_name="us-east-1"), SECRET_PREFIX)
    out = io.StringIO()
    status = main(
        ["create", "--location", "loc1", "--app", "kixie", "--base-url", KIXIE_API, *extra],
        store=ConnectionStore(table),
        vault=vault,
        http=httpx.Client(transport=httpx.MockTransport(recorder)),
        out=out,
    )
    return status, out.getvalue(), vault


@pytest.fixture(autouse=True)
def kixie_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_KEY", KIXIE_KEY)
    monkeypatch.setenv("APP_BUSINESS_ID", KIXIE_BUSINESS)


def test_create_registers_the_webhooks_and_prints_the_lookup_url(table: Any) -> None:
    # GIVEN an account without registrations
    recorder = KixieRecorder()
    # WHEN the connection is created with the stack's URL
    status, output, vault = _create(table, recorder, "--api-url", "https://stack.test")
    # THEN the webhooks point at this connection with its generated token, and the lookup URL is shown
    assert status == 0
    connection_id = printed(output, "connection_id")
    token = vault.credentials(connection_id)["webhook_token"]
    created = [json.loads(r.content) for r in recorder.requests][1:]
    assert len(created) == 5
    assert all(
        b["location"].startswith(f"https://stack.test/webhooks/kixie/{connection_id}?token={token}&event=")
        for b in created
    )
    assert f"GET https://stack.test/kixie/{connection_id}/lookup?token={token}" in output
    assert "kixie webhook ghl-sync-endcall (endcall): created" in output


def test_a_refused_registration_stores_nothing(table: Any) -> None:
    # GIVEN Kixie refusing the key
    recorder = KixieRecorder()
    recorder.failures.append(httpx.Response(200, json={"success": False, "error": "invalid apikey"}))
    # WHEN created / THEN it fails with Kixie's message and no connection or secret exists
    status, _, _ = _create(table, recorder, "--api-url", "https://stack.test")
    assert status == 2
    assert table.scan()["Items"] == []


def test_without_the_stack_url_nothing_is_registered_and_the_operator_is_told(table: Any) -> None:
    recorder = KixieRecorder()
    status, output, _ = _create(table, recorder)
    assert status == 0 and recorder.requests == []
    assert "run again with --api-url to register" in output
