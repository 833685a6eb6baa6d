"""connections CLI: create writes the secret and the row, prints the webhook path and token."""

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ghlsync.connections_cli import main
from ghlsync.store.connections import ConnectionSecrets, ConnectionStatus, ConnectionStore, DeletePolicy
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def app_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PASSWORD", PASSWORD)


def _run(table: Any, *argv: str) -> tuple[int, str, ConnectionStore, ConnectionSecrets]:
    store = ConnectionStore(table)
    vault = ConnectionSecrets(boto3.client("secretsmanager", region_name="us-east-1"), "stack/connections/")
    out = io.StringIO()
    status = main(list(argv), store=store, vault=vault, out=out)
    return status, out.getvalue(), store, vault


def _create(table: Any, *extra: str) -> tuple[int, str, ConnectionStore, ConnectionSecrets]:
    return _run(
        table,
        "create",
        "--location", "loc1",
        "--app", "kayako",
        "--base-url", "https://acme.kayako.com/api/v1",
        "--email", "agent@acme.io",
        *extra,
    )  # fmt: skip


def _printed(output: str, key: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith(key + ":"))


def test_create_stores_the_connection_and_prints_its_webhook_path_and_token(table: Any) -> None:
    # WHEN a Kayako connection is created with a delete policy
    status, output, store, vault = _create(table, "--delete-policy", "delete")
    # THEN the row exists with the policy, and the printed path and token are the stored ones
    assert status == 0
    connection_id = _printed(output, "connection_id")
    connection = store.get(connection_id)
    assert connection is not None and connection.settings.delete_policy is DeletePolicy.DELETE
    assert _printed(output, "webhook_path") == f"/webhooks/kayako/{connection_id}"
    assert vault.credentials(connection_id)["webhook_token"] == _printed(output, "webhook_token")


def test_credentials_never_reach_the_table(table: Any) -> None:
    # WHEN a connection is created
    _, output, _, _ = _create(table)
    token = _printed(output, "webhook_token")
    # THEN no item in the table holds the password or the token
    dump = json.dumps(table.scan()["Items"], default=str)
    assert PASSWORD not in dump and token not in dump


def test_map_file_settings_are_applied(table: Any, tmp_path: Path) -> None:
    # GIVEN a mapping file with a GHL custom field and a Kayako field map
    path = tmp_path / "mapping.json"
    path.write_text(
        json.dumps({"ghl_custom_fields": {"f1": "plan"}, "app": {"custom_field_map": {"plan": "plan"}}})
    )
    # WHEN a connection is created with it
    _, output, store, _ = _create(table, "--map-file", str(path))
    # THEN both maps are stored
    connection = store.get(_printed(output, "connection_id"))
    assert connection is not None
    assert connection.settings.ghl_custom_fields == {"f1": "plan"}
    assert connection.settings.app["custom_field_map"] == {"plan": "plan"}


def test_unknown_map_file_key_is_refused_and_nothing_is_written(table: Any, tmp_path: Path) -> None:
    # GIVEN a mapping file with a typo
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"ghl_custom_field": {}}))
    # WHEN create runs
    status, _, _, _ = _create(table, "--map-file", str(path))
    # THEN it fails and the table stays empty
    assert status == 2
    assert table.scan()["Items"] == []


def test_disable_marks_the_connection_disabled(table: Any) -> None:
    _, output, store, _ = _create(table)
    connection_id = _printed(output, "connection_id")
    status, _, _, _ = _run(table, "disable", connection_id)
    connection = store.get(connection_id)
    assert status == 0 and connection is not None and connection.status is ConnectionStatus.DISABLED


def test_list_shows_a_locations_connections(table: Any) -> None:
    _, output, _, _ = _create(table)
    connection_id = _printed(output, "connection_id")
    _, listing, _, _ = _run(table, "list", "--location", "loc1")
    assert listing.split("\t")[0] == connection_id


def test_create_without_a_password_in_the_environment_stores_nothing(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no $APP_PASSWORD and no terminal to ask at
    monkeypatch.delenv("APP_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO())
    # WHEN a connection is created
    status, _, store, _ = _create(table)
    # THEN the CLI fails and no connection was written
    assert status != 0
    assert list(store.all()) == []
