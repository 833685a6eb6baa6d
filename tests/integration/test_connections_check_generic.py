"""`connections_cli create --app generic --spec-file` then `check` against the generic fake (style
A): the spec's own requests make the read-only calls, one verdict per capability."""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ghlsync.config import get_settings
from ghlsync.connections_cli import main
from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
from sandbox.apps.generic import GenericSandbox
from sandbox.apps.generic.stack import DEV_TOKEN
from sandbox.fakes.clock import FakeClock
from tests.fixtures.aws import AwsResources
from tests.fixtures.generic_spec import example_spec

pytestmark = pytest.mark.integration


def _run(aws: AwsResources, sandbox: GenericSandbox, clock: FakeClock, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(
        list(argv),
        store=ConnectionStore(aws.table),
        vault=ConnectionSecrets(aws.secrets, get_settings().connection_secret_prefix),
        http=httpx.Client(transport=sandbox.transport()),
        out=out,
        now=lambda: datetime.fromtimestamp(clock(), UTC),
    )
    return status, out.getvalue()


def test_check_of_a_generic_connection_gives_a_verdict_per_capability(
    aws: AwsResources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the style A fake with a contact changed a moment ago, and a connection made from its spec
    clock = FakeClock()
    sandbox = GenericSandbox("a", clock=clock)
    sandbox.add_key(DEV_TOKEN)
    contact = sandbox.ui_create_contact(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    spec_file = tmp_path / "app.json"
    spec_file.write_text(json.dumps({**example_spec("a"), "base_url": sandbox.base_url}))
    monkeypatch.setenv("APP_TOKEN", DEV_TOKEN)
    status, output = _run(
        aws, sandbox, clock, "create", "--location", "loc1", "--app", "generic", "--spec-file", str(spec_file)
    )
    assert status == 0, output
    connection_id = output.split("connection_id:", 1)[1].split()[0]
    # WHEN checked
    status, output = _run(aws, sandbox, clock, "check", connection_id)
    # THEN auth, the listing, the lookup and the read of the listed contact pass; nothing was written
    assert status == 0, output
    assert "auth           ok" in output
    assert f"first: contact {contact.id}" in output
    assert f"read contact   ok: contact {contact.id}" in output
    assert "find contact   ok" in output
    assert all(request.method == "GET" for request in sandbox.request_log)
