"""connections CLI: create writes the secret and the row, prints the webhook path and token."""

import io
import json
from pathlib import Path
from typing import Any

import pytest

from ghlsync.apps.kayako import KayakoSettings
from ghlsync.store.connections import ConnectionStatus, DeletePolicy
from tests.fixtures.connections_cli import create_kayako, printed, run_cli
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def app_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PASSWORD", PASSWORD)


def test_create_stores_the_connection_and_prints_its_webhook_path_and_token(table: Any) -> None:
    # WHEN a Kayako connection is created with a delete policy
    status, output, store, vault = create_kayako(table, "--delete-policy", "delete")
    # THEN the row exists with the policy, and the printed path and token are the stored ones
    assert status == 0
    connection_id = printed(output, "connection_id")
    connection = store.get(connection_id)
    assert connection is not None and connection.settings.delete_policy is DeletePolicy.DELETE
    assert printed(output, "webhook_path") == f"/webhooks/kayako/{connection_id}"
    assert vault.credentials(connection_id)["webhook_token"] == printed(output, "webhook_token")


def test_credentials_never_reach_the_table(table: Any) -> None:
    # WHEN a connection is created
    _, output, _, _ = create_kayako(table)
    token = printed(output, "webhook_token")
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
    _, output, store, _ = create_kayako(table, "--map-file", str(path))
    # THEN both maps are stored
    connection = store.get(printed(output, "connection_id"))
    assert connection is not None
    assert connection.settings.ghl_custom_fields == {"f1": "plan"}
    assert connection.settings.app["custom_field_map"] == {"plan": "plan"}


def test_unknown_map_file_key_is_refused_and_nothing_is_written(table: Any, tmp_path: Path) -> None:
    # GIVEN a mapping file with a typo
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"ghl_custom_field": {}}))
    # WHEN create runs
    status, _, _, _ = create_kayako(table, "--map-file", str(path))
    # THEN it fails and the table stays empty
    assert status == 2
    assert table.scan()["Items"] == []


def test_disable_marks_the_connection_disabled(table: Any) -> None:
    _, output, store, _ = create_kayako(table)
    connection_id = printed(output, "connection_id")
    status, _, _, _ = run_cli(table, "disable", connection_id)
    connection = store.get(connection_id)
    assert status == 0 and connection is not None and connection.status is ConnectionStatus.DISABLED


def test_list_shows_a_locations_connections(table: Any) -> None:
    _, output, _, _ = create_kayako(table)
    connection_id = printed(output, "connection_id")
    _, listing, _, _ = run_cli(table, "list", "--location", "loc1")
    assert listing.split("\t")[0] == connection_id


def test_list_json_gives_scripts_the_connections_without_secrets(table: Any) -> None:
    # GIVEN a Kayako connection created with its password
    _, output, _, _ = create_kayako(table)
    connection_id = printed(output, "connection_id")
    # WHEN the connections are listed as JSON
    _, listing, _, _ = run_cli(table, "list", "--json")
    # THEN each is an object with its id and app, and no secret is in it
    [row] = json.loads(listing)
    assert (row["connection_id"], row["app"]) == (connection_id, "kayako")
    assert PASSWORD not in listing


def test_create_without_a_password_in_the_environment_stores_nothing(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no $APP_PASSWORD and no terminal to ask at
    monkeypatch.delenv("APP_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO())
    # WHEN a connection is created
    status, _, store, _ = create_kayako(table)
    # THEN the CLI fails and no connection was written
    assert status != 0
    assert list(store.all()) == []


def _failure(table: Any, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    status, _, store, _ = create_kayako(table, *extra)
    assert status == 2 and list(store.all()) == []
    return capsys.readouterr().err


def test_create_stores_exactly_the_credentials_the_app_declares(table: Any) -> None:
    # WHEN a Kayako connection is created
    _, output, _, vault = create_kayako(table)
    # THEN its secret holds the asked fields and the generated token, nothing else
    secret = vault.credentials(printed(output, "connection_id"))
    assert secret == {
        "email": "agent@acme.io",
        "password": PASSWORD,
        "webhook_token": secret["webhook_token"],
    }
    assert len(secret["webhook_token"]) >= 32


def test_credential_fields_come_from_app_environment_variables(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the login in $APP_EMAIL instead of --email
    monkeypatch.setenv("APP_EMAIL", "env-agent@acme.io")
    # WHEN created without --email
    status, output, _, vault = run_cli(
        table, "create", "--location", "loc1", "--app", "kayako", "--setting", "subdomain=acme"
    )
    # THEN the environment's login is stored
    assert status == 0
    assert vault.credentials(printed(output, "connection_id"))["email"] == "env-agent@acme.io"


def test_in_a_terminal_secret_fields_are_asked_without_echo(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no $APP_PASSWORD, a terminal, and an operator typing at the prompts
    monkeypatch.delenv("APP_PASSWORD")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    hidden: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda label: hidden.append(label) or "typed secret")
    monkeypatch.setattr("builtins.input", lambda label: pytest.fail(f"echoed prompt for {label}"))
    # WHEN created
    _, output, _, vault = create_kayako(table)
    # THEN the password was asked for without echo and stored
    assert hidden == ["kayako password: "]
    assert vault.credentials(printed(output, "connection_id"))["password"] == "typed secret"


def test_a_missing_credential_names_its_environment_variable(
    table: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no password anywhere and no terminal
    monkeypatch.delenv("APP_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO())
    # WHEN created / THEN the error says which variable to set
    assert "$APP_PASSWORD" in _failure(table, capsys)


def test_secrets_cannot_be_given_on_the_command_line(table: Any) -> None:
    # WHEN a password flag is tried / THEN argparse refuses it (no such option)
    with pytest.raises(SystemExit):
        create_kayako(table, "--password", PASSWORD)


def test_settings_flags_are_stored_for_the_app(table: Any) -> None:
    # WHEN a connection is created with --setting values
    _, output, store, _ = create_kayako(
        table, "--setting", "replace_changed_email=false", "--setting", "read_cache_size=4"
    )
    # THEN they are stored with the app settings, and the app reads them with its types
    connection = store.get(printed(output, "connection_id"))
    assert connection is not None
    settings = KayakoSettings.model_validate(connection.settings.app)
    assert (settings.replace_changed_email, settings.read_cache_size) == (False, 4)
    assert settings.base_url == "https://acme.kayako.com/api/v1"


def test_a_bad_setting_is_named_with_its_field_and_never_echoed(
    table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN created with an out-of-range and an unknown setting
    error = _failure(table, capsys, "--setting", "page_size=500", "--setting", "bogus=hunter2-value")
    # THEN each problem names its field; neither the values nor the password are shown
    assert "settings.page_size: Input should be less than or equal to 100" in error
    assert "settings.bogus: Extra inputs are not permitted" in error
    assert "hunter2" not in error and "500" not in error and PASSWORD not in error


def test_a_bad_credential_is_named_with_its_field(
    table: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the login is too short to be one
    error = _failure(table, capsys, "--email", "ab")
    # THEN the credential field is named, the password is not shown
    assert "credentials.email: String should have at least 3 characters" in error
    assert PASSWORD not in error


def test_create_prints_the_urls_to_configure_in_the_app(table: Any) -> None:
    # WHEN created with the stack's API URL
    _, output, _, _ = create_kayako(table, "--api-url", "https://api.example.test/prod/")
    # THEN the automation endpoint URL carries the token, and the setup text follows
    connection_id, token = printed(output, "connection_id"), printed(output, "webhook_token")
    expected = f"POST https://api.example.test/prod/webhooks/kayako/{connection_id}?token={token}"
    assert printed(output, "webhook_url") == expected
    assert "Configure kayako:" in output


def test_without_an_api_url_the_printed_url_has_a_placeholder(table: Any) -> None:
    _, output, _, _ = create_kayako(table)
    assert printed(output, "webhook_url").startswith("POST <ApiUrl>/webhooks/kayako/")


def test_check_of_an_unknown_connection_fails(table: Any) -> None:
    status, _, _, _ = run_cli(table, "check", "conn_nope")
    assert status == 2
