"""`connections_cli check` against the Kayako fake: read-only calls, one verdict per capability.

The connection is made by `connections_cli create` in moto (template resources); the check talks
to the fake through its in-process transport.
"""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ghlsync.config import get_settings
from ghlsync.connections_cli import GhlDefinitions, main
from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
from sandbox.apps.kayako import KayakoSandbox
from sandbox.ghl import FakeClock as GhlClock
from sandbox.ghl import GhlSandbox
from sandbox.ghl.custom_fields import define_field
from tests.fixtures.aws import AwsResources
from tests.fixtures.ghl import GHL_BASE_URL, GHL_LOCATION_ID, GHL_PIT
from tests.fixtures.kayako import KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD, FakeClock

pytestmark = pytest.mark.integration


class _Cli:
    def __init__(self, aws: AwsResources, sandbox: KayakoSandbox, clock: FakeClock) -> None:
        self.store = ConnectionStore(aws.table)
        self.vault = ConnectionSecrets(aws.secrets, get_settings().connection_secret_prefix)
        self.sandbox = sandbox
        self.clock = clock
        self.ghl_definitions: GhlDefinitions | None = None

    def run(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        status = main(
            list(argv),
            store=self.store,
            vault=self.vault,
            http=httpx.Client(transport=self.sandbox.transport()),
            out=out,
            now=lambda: datetime.fromtimestamp(self.clock(), UTC),
            ghl_definitions=self.ghl_definitions,
        )
        return status, out.getvalue()

    def create(self, *extra: str) -> str:
        status, output = self.run(
            "create", "--location", "loc1", "--app", "kayako", "--base-url", self.sandbox.base_url, *extra
        )
        assert status == 0, output
        return output.split("connection_id:", 1)[1].split()[0]


@pytest.fixture
def cli(
    aws: AwsResources, kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> _Cli:
    monkeypatch.setenv("APP_EMAIL", KAYAKO_AGENT_EMAIL)
    monkeypatch.setenv("APP_PASSWORD", KAYAKO_AGENT_PASSWORD)
    return _Cli(aws, kayako_sandbox, kayako_clock)


def verdicts(output: str) -> dict[str, str]:
    lines = [line.strip() for line in output.splitlines()[1:]]
    return {line[:14].strip(): line[14:].strip() for line in lines}


def test_check_of_a_working_connection_reads_what_changed_and_accepts_the_token(
    cli: _Cli, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a connection, and a customer created in Kayako a moment ago
    connection_id = cli.create()
    user = kayako_sandbox.ui_create_user("Ada Lovelace", email="ada@example.com")
    # WHEN checked
    status, output = cli.run("check", connection_id)
    found = verdicts(output)
    # THEN auth, listing, lookup, the read of that user and the webhook token are ok; nothing written
    assert status == 0, output
    assert found["auth"] == "ok"
    assert (
        found["list changes"].startswith("ok: since") and f"first: contact {user.id}" in found["list changes"]
    )
    assert found["find contact"].startswith("ok: no record holds")
    assert found["read contact"] == f"ok: contact {user.id}"
    assert found["read task"] == "declared; no recent task to read"
    assert found["tags"] == "ok: read with the contact"
    assert found["webhooks"].startswith(f"ok: /webhooks/kayako/{connection_id}")
    assert not [r for r in kayako_sandbox.request_log if r.method in {"POST", "PUT", "DELETE"}]


def test_check_with_a_wrong_password_fails_auth_and_exits_non_zero(
    cli: _Cli, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a connection whose stored password is wrong
    connection_id = cli.create()
    secret = cli.vault.credentials(connection_id)
    cli.vault.put(connection_id, {**secret, "password": "not-the-password"})
    # WHEN checked
    status, output = cli.run("check", connection_id)
    # THEN auth failed, nothing else ran, the password is not printed, and the exit status says so
    assert status == 1
    assert verdicts(output)["auth"].startswith("failed: KayakoAuthError")
    assert list(verdicts(output)) == ["auth"]
    assert "not-the-password" not in output


def test_check_with_nothing_recent_says_there_was_nothing_to_read(cli: _Cli, kayako_clock: FakeClock) -> None:
    # GIVEN a connection and no change in the last hour
    connection_id = cli.create()
    kayako_clock.advance(7200)
    # WHEN checked
    status, output = cli.run("check", connection_id)
    found = verdicts(output)
    # THEN the listing is ok and empty, and the reads say so rather than failing
    assert status == 0, output
    assert found["list changes"].endswith("nothing")
    assert found["read contact"] == "declared; no recent contact to read"


@pytest.fixture
def ghl_fields(cli: _Cli, ghl_sandbox: GhlSandbox, ghl_clock: GhlClock) -> GhlSandbox:
    """The check reads the definitions of the GHL sandbox's location through a real GhlClient."""
    client = GhlClient(
        httpx.Client(transport=ghl_sandbox.transport()),
        StaticTokenProvider(GHL_PIT),
        GHL_LOCATION_ID,
        base_url=GHL_BASE_URL,
        clock=ghl_clock,
        sleep=ghl_clock.sleep,
    )
    cli.ghl_definitions = lambda connection: client.list_custom_fields()
    define_field(ghl_sandbox, GHL_LOCATION_ID, "Plan", "NUMERICAL")
    return ghl_sandbox


def _mapped(cli: _Cli, tmp_path: Path, fields: dict[str, str]) -> str:
    map_file = tmp_path / "map.json"
    map_file.write_text(json.dumps({"ghl_custom_fields": fields}))
    return cli.create("--map-file", str(map_file))


def test_check_fails_on_an_unknown_key_and_a_field_of_the_wrong_type(cli, ghl_fields, tmp_path) -> None:
    # GIVEN a map naming a key the location lacks, and the external id on its NUMERICAL field
    connection_id = _mapped(cli, tmp_path, {"contact.nope": "tier", "contact.plan": "external_id"})
    # WHEN checked
    status, output = cli.run("check", connection_id)
    # THEN the ghl fields verdict fails naming both, and the exit status says so
    assert status == 1, output
    verdict = verdicts(output)["ghl fields"]
    assert verdict.startswith("failed: ")
    assert "contact.nope -> tier: the location has no custom field with this key" in verdict
    assert "contact.plan -> external_id: holds the external id but is NUMERICAL" in verdict


def test_check_passes_when_every_mapped_field_exists(cli, ghl_fields, tmp_path) -> None:
    # GIVEN a map naming the location's field by key / WHEN checked
    status, output = cli.run("check", _mapped(cli, tmp_path, {"contact.plan": "plan"}))
    # THEN the ghl fields verdict is ok
    assert status == 0, output
    assert verdicts(output)["ghl fields"] == "ok: 1 mapped field(s) exist in the location"
