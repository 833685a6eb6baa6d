"""connections CLI with Payaca's spec: the operator gives the API key pair and the webhook secret
Payaca shows (asked, never generated), and is told where Payaca posts its signed webhooks."""

from typing import Any

import pytest

from ghlsync.store.connections import ConnectionSecrets
from tests.fixtures.connections_cli import printed, run_cli
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]


def _create(table: Any) -> tuple[int, str, ConnectionSecrets]:
    status, output, _, vault = run_cli(
        table, "create", "--location", "loc1", "--app", "payaca", "--setting", "tag_removal=true"
    )
    return status, output, vault


def test_a_payaca_connection_stores_the_given_key_pair_and_webhook_secret(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the credentials in the environment, as the operator copied them from Payaca
    monkeypatch.setenv("APP_CLIENT_ID", "client-1")
    monkeypatch.setenv("APP_CLIENT_SECRET", "client-secret-1")
    monkeypatch.setenv("APP_WEBHOOK_SECRET", "whsec-from-payaca")
    # WHEN the connection is created
    status, output, vault = _create(table)
    # THEN the secret holds exactly them (the webhook secret is not generated) and the path is printed
    assert status == 0
    connection_id = printed(output, "connection_id")
    assert vault.credentials(connection_id) == {
        "client_id": "client-1",
        "client_secret": "client-secret-1",
        "webhook_secret": "whsec-from-payaca",
    }
    assert f"/webhooks/payaca/{connection_id}" in output
    assert "whsec-from-payaca" not in output


def test_a_payaca_connection_without_its_webhook_secret_stores_nothing(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the key pair but no webhook secret WHEN created THEN refused, nothing stored
    monkeypatch.setenv("APP_CLIENT_ID", "client-1")
    monkeypatch.setenv("APP_CLIENT_SECRET", "client-secret-1")
    monkeypatch.delenv("APP_WEBHOOK_SECRET", raising=False)
    status, _, _ = _create(table)
    assert status != 0
    assert table.scan()["Items"] == []
