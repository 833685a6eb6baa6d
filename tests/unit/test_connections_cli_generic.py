"""connections CLI with the generic app: the spec file is the connection's settings, its auth
decides the credentials asked for, the webhook secret is generated and printed, and
`validate-spec` checks a spec file offline with every problem at once."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghlsync.connections_cli import main
from tests.fixtures.connections_cli import printed, run_cli
from tests.fixtures.generic_spec import example_path, example_spec
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]


def _create(table: Any, spec_file: Path) -> tuple[int, str, Any]:
    status, output, store, vault = run_cli(
        table, "create", "--location", "loc1", "--app", "generic", "--spec-file", str(spec_file)
    )
    return status, output, (store, vault)


def test_a_generic_connection_stores_its_spec_and_asks_only_its_auths_credential(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN style A's spec (bearer, webhooks) and its token in the environment
    monkeypatch.setenv("APP_TOKEN", "token-from-the-app")
    # WHEN the connection is created from the spec file
    status, output, (store, vault) = _create(table, example_path("a"))
    # THEN the row holds the spec, the secret the token and a generated webhook secret, printed once
    assert status == 0
    connection_id = printed(output, "connection_id")
    connection = store.get(connection_id)
    assert connection.settings.app["name"] == "generic-style-a"
    credentials = vault.credentials(connection_id)
    assert set(credentials) == {"token", "webhook_secret"}
    assert printed(output, "webhook_secret") == credentials["webhook_secret"]
    assert f"/webhooks/generic/{connection_id}" in output
    assert "token-from-the-app" not in output


def test_a_spec_with_an_api_key_asks_for_the_key_and_generates_no_webhook_secret(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", "key-from-the-app")
    monkeypatch.delenv("APP_TOKEN", raising=False)
    status, output, (_, vault) = _create(table, example_path("b"))
    assert status == 0
    assert vault.credentials(printed(output, "connection_id")) == {"api_key": "key-from-the-app"}


def test_an_invalid_spec_file_stores_nothing(
    table: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a spec with a misspelt placeholder
    spec = example_spec("a")
    spec["entities"]["contact"]["delete"]["path"] = "/contacts/{key}"
    broken = tmp_path / "app.yaml"
    broken.write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("APP_TOKEN", "token-from-the-app")
    # WHEN created THEN refused with the path of the mistake, and nothing is stored
    status, _, _ = _create(table, broken)
    assert status == 2
    assert "entities.contact.delete.path: unknown placeholder {key}" in capsys.readouterr().err
    assert table.scan()["Items"] == []


def test_validate_spec_summarises_a_valid_spec(tmp_path: Path) -> None:
    # GIVEN the style B spec as JSON WHEN validated offline (no table, no secrets)
    as_json = tmp_path / "app.json"
    as_json.write_text(json.dumps(example_spec("b")))
    out = io.StringIO()
    status = main(["validate-spec", str(as_json)], out=out)
    # THEN it passes and says what the app can do
    assert status == 0
    assert "tags: add_remove" in out.getvalue() and "inbound: polling" in out.getvalue()


def test_validate_spec_lists_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = example_spec("b")
    del spec["entities"]["contact"]["update"]
    spec["entities"]["task"]["get"]["path"] = "/Tasks/{taskId}"
    broken = tmp_path / "app.yaml"
    broken.write_text(yaml.safe_dump(spec))
    status = main(["validate-spec", str(broken)], out=io.StringIO())
    error = capsys.readouterr().err
    assert status == 2
    assert "3 problem(s)" in error  # the placeholder it misspelt, the one it lacks, the update
    assert "tags.field: needs entities.contact.update" in error
    assert "entities.task.get.path: unknown placeholder {taskId}" in error
