"""Connection store and connection secrets."""

from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from ghlsync.store.connections import (
    WORKFLOW_KEY_DIGEST_FIELD,
    Connection,
    ConnectionNotFound,
    ConnectionSecrets,
    ConnectionSettings,
    ConnectionStatus,
    ConnectionStore,
    DeletePolicy,
)
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]


def test_connection_round_trips_with_its_settings(table: Any) -> None:
    # GIVEN a connection with non-default settings
    store = ConnectionStore(table)
    connection = Connection(
        connection_id="conn1",
        location_id="loc1",
        app="kayako",
        settings=ConnectionSettings(
            delete_policy=DeletePolicy.DELETE, skew_seconds=2.5, app={"base_url": "https://x"}
        ),
    )
    # WHEN stored and read back
    store.put(connection)
    # THEN it is equal
    assert store.get("conn1") == connection


def test_connections_are_listed_per_location(table: Any) -> None:
    store = ConnectionStore(table)
    for cid, loc in (("c1", "loc1"), ("c2", "loc1"), ("c3", "loc2")):
        store.put(Connection(connection_id=cid, location_id=loc, app="kayako"))
    assert [c.connection_id for c in store.for_location("loc1")] == ["c1", "c2"]


def test_disable_changes_only_the_status(table: Any) -> None:
    store = ConnectionStore(table)
    store.put(Connection(connection_id="c1", location_id="loc1", app="kayako"))
    store.set_status("c1", ConnectionStatus.DISABLED)
    found = store.get("c1")
    assert found is not None and found.status is ConnectionStatus.DISABLED and not found.active


def test_disabling_an_unknown_connection_says_so(table: Any) -> None:
    with pytest.raises(ConnectionNotFound):
        ConnectionStore(table).set_status("nope", ConnectionStatus.DISABLED)


def test_credentials_live_in_secrets_manager_per_connection(aws_env: None) -> None:
    # GIVEN credentials stored for a connection, then rotated
    client = boto3.client("secretsmanager", region_name="us-east-1")
    secrets = ConnectionSecrets(client, "stack/connections/")
    secrets.put("c1", {"email": "a@x.io", "password": "one"})
    secrets.put("c1", {"email": "a@x.io", "password": "two"})
    # THEN the secret is named by prefix + id and holds the latest values
    assert secrets.credentials("c1") == {"email": "a@x.io", "password": "two"}
    assert client.describe_secret(SecretId="stack/connections/c1")["Name"] == "stack/connections/c1"


def test_one_credential_is_read_and_a_missing_one_is_none(aws_env: None) -> None:
    # GIVEN a connection's secret with a webhook token and a workflow-key digest, and no secret for c2
    client = boto3.client("secretsmanager", region_name="us-east-1")
    secrets = ConnectionSecrets(client, "stack/connections/")
    secrets.put("c1", {"webhook_token": "tok", "empty": ""})
    secrets.set_workflow_key_digest("c1", "digest")
    # THEN the token is read; an absent or empty field, the stack's own digest and a missing secret are None
    assert secrets.credential("c1", "webhook_token") == "tok"
    assert secrets.credential("c1", "password") is None and secrets.credential("c1", "empty") is None
    assert secrets.credential("c1", WORKFLOW_KEY_DIGEST_FIELD) is None
    assert secrets.credential("c2", "webhook_token") is None


def test_webhook_path_names_the_app_and_connection() -> None:
    assert Connection(connection_id="c1", location_id="l", app="kayako").webhook_path == "/webhooks/kayako/c1"


def test_phones_default_to_the_us_numbering_plan() -> None:
    # GIVEN settings that name no country / THEN national phone numbers are read as US ones
    assert ConnectionSettings().default_country == "US"


@pytest.mark.parametrize(("given", "stored"), [("gb", "GB"), (" BR ", "BR"), (None, None)])
def test_the_default_country_is_an_iso_region(given: str | None, stored: str | None) -> None:
    # GIVEN a region in any case / WHEN the settings are built / THEN it is kept upper-cased
    assert ConnectionSettings(default_country=given).default_country == stored


@pytest.mark.parametrize("region", ["UK", "XX", "USA", "44", ""])
def test_a_region_without_a_numbering_plan_is_refused(region: str) -> None:
    # GIVEN a code libphonenumber has no plan for (the UK's ISO code is GB) / THEN a clear error
    with pytest.raises(ValidationError, match="default_country"):
        ConnectionSettings(default_country=region)


@pytest.mark.parametrize(("code", "region"), [("1", "US"), ("44", "GB"), ("55", "BR"), (None, None)])
def test_a_row_stored_with_a_calling_code_reads_as_its_region(code: str | None, region: str | None) -> None:
    # GIVEN settings stored before `default_country`, with the calling code they had then
    stored = ConnectionSettings().model_dump(mode="json", exclude={"default_country"})
    stored["default_country_code"] = code
    # WHEN read back / THEN the code's main region (or, for none, no region) is the setting
    assert ConnectionSettings.model_validate(stored).default_country == region


def _connection(connection_id: str) -> Connection:
    return Connection(connection_id=connection_id, location_id="loc1", app="kayako")


def test_all_lists_connections_from_the_index_not_the_table(table: Any) -> None:
    # GIVEN two connections saved, and one row stored the old way (without the index keys)
    store = ConnectionStore(table)
    store.put(_connection("conn2"))
    store.put(_connection("conn1"))
    store.put(_connection("conn_old"))
    table.update_item(Key={"pk": "CONN#conn_old", "sk": "CONN"}, UpdateExpression="REMOVE gsi2pk, gsi2sk")
    # WHEN every connection is listed
    listed = [c.connection_id for c in store.all()]
    # THEN the index's two come, by id; the unindexed row is not found (no scan happened)
    assert listed == ["conn1", "conn2"]


def test_reindex_brings_older_rows_into_the_index_once(table: Any) -> None:
    # GIVEN a connection row stored before the index carried connections
    store = ConnectionStore(table)
    store.put(_connection("conn_old"))
    table.update_item(Key={"pk": "CONN#conn_old", "sk": "CONN"}, UpdateExpression="REMOVE gsi2pk, gsi2sk")
    stored = store.get("conn_old")
    # WHEN reindexed twice
    first, second = store.reindex(), store.reindex()
    # THEN the first moved it, the second found nothing left, and it is listed unchanged
    assert (first, second) == (1, 0)
    assert list(store.all()) == [stored]
