"""`connections_cli check` against the Kayako fake: read-only calls, one verdict per capability.

The connection is made by `connections_cli create` in moto (template resources); the check talks
to the fake through its in-process transport.
"""

import io
from datetime import UTC, datetime

import httpx
import pytest

from ghlsync.config import get_settings
from ghlsync.connections_cli import main
from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
from sandbox.apps.kayako import KayakoSandbox
from tests.fixtures.aws import AwsResources
from tests.fixtures.kayako import KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD, FakeClock

pytestmark = pytest.mark.integration


class _Cli:
    def __init__(self, aws: AwsResources, sandbox: KayakoSandbox, clock: FakeClock) -> None:
        self.store = ConnectionStore(aws.table)
        self.vault = ConnectionSecrets(aws.secrets, get_settings().connection_secret_prefix)
        self.sandbox = sandbox
        self.clock = clock

    def run(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        status = main(
            list(argv),
            store=self.store,
            vault=self.vault,
            http=httpx.Client(transport=self.sandbox.transport()),
            out=out,
            now=lambda: datetime.fromtimestamp(self.clock(), UTC),
        )
        return status, out.getvalue()

    def create(self) -> str:
        status, output = self.run(
            "create", "--location", "loc1", "--app", "kayako", "--base-url", self.sandbox.base_url
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
