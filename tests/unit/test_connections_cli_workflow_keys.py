"""connections CLI and the workflow API: create prints a key once, rotate-key replaces it, --read-only."""

import json
from typing import Any

import boto3
import pytest

from ghlsync.workflow.keys import key_matches
from tests.fixtures.connections_cli import create_kayako, printed, run_cli
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]


@pytest.fixture(autouse=True)
def app_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PASSWORD", "correct horse battery")


def test_create_prints_a_workflow_key_that_matches_the_stored_digest(table: Any) -> None:
    # WHEN a connection is created
    status, output, _, vault = create_kayako(table)
    connection_id = printed(output, "connection_id")
    key = printed(output, "workflow_api_key")
    # THEN the printed key is the one the stored digest accepts, and its URL is printed
    assert status == 0
    assert key_matches(key, vault.workflow_key_digest(connection_id))
    assert f"/connections/{connection_id}/contacts/<contactId>/bundle" in output


def test_the_workflow_key_never_reaches_the_table_or_the_secret(table: Any) -> None:
    # WHEN a connection is created
    _, output, _, vault = create_kayako(table)
    connection_id, key = printed(output, "connection_id"), printed(output, "workflow_api_key")
    # THEN neither the table nor the secret holds the key itself
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secret = secrets.get_secret_value(SecretId=vault.secret_id(connection_id))["SecretString"]
    assert key not in json.dumps(table.scan()["Items"], default=str) and key not in secret


def test_rotate_key_prints_a_new_key_and_retires_the_old(table: Any) -> None:
    # GIVEN a connection and its first key
    _, output, _, vault = create_kayako(table)
    connection_id, old = printed(output, "connection_id"), printed(output, "workflow_api_key")
    # WHEN its key is rotated
    status, rotated, _, _ = run_cli(table, "rotate-key", connection_id)
    new = printed(rotated, "workflow_api_key")
    # THEN only the new key matches, and the app credentials are untouched
    digest = vault.workflow_key_digest(connection_id)
    assert status == 0 and new != old
    assert key_matches(new, digest) and not key_matches(old, digest)
    assert vault.credentials(connection_id)["password"] == "correct horse battery"


def test_rotate_key_of_an_unknown_connection_is_an_error(table: Any) -> None:
    # WHEN the key of a connection that does not exist is rotated THEN exit status 2
    status, _, _, _ = run_cli(table, "rotate-key", "conn_missing")
    assert status == 2


def test_read_only_creates_a_connection_whose_workflow_api_only_reads(table: Any) -> None:
    # WHEN a connection is created with --read-only THEN its settings say so
    _, output, store, _ = create_kayako(table, "--read-only")
    connection = store.get(printed(output, "connection_id"))
    assert connection is not None and connection.settings.read_only is True


def test_connections_are_writable_by_default(table: Any) -> None:
    # WHEN a connection is created without --read-only THEN writes are allowed
    _, output, store, _ = create_kayako(table)
    connection = store.get(printed(output, "connection_id"))
    assert connection is not None and connection.settings.read_only is False
