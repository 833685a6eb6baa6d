"""sandbox.stack.invoke against a moto server (AWS_ENDPOINT_URL), as with `make dev` running.

The server runs in this process, on a thread bound to 127.0.0.1.
"""

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from sandbox.stack import invoke

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent.parent / "template" / "fixtures"


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    yield endpoint
    server.stop()


def invoke_echo() -> dict[str, Any]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = invoke.main(
        [
            "EchoFunction",
            "--event",
            str(FIXTURES / "event.json"),
            "--template",
            str(FIXTURES / "template.yaml"),
        ],
        stdout=stdout,
        stderr=stderr,
    )
    assert status == invoke.EXIT_OK, stderr.getvalue()
    result: dict[str, Any] = json.loads(stdout.getvalue())
    return result


def test_invocations_share_the_server_state(moto_server: str) -> None:
    # GIVEN a moto server WHEN the function is invoked twice (each run writes one item)
    first = invoke_echo()
    second = invoke_echo()
    # THEN the second run sees the first one's item and the same resources
    assert (first["items_in_table"], second["items_in_table"]) == (1, 2)
    assert first["environment"] == second["environment"]
    assert second["environment"]["QUEUE_URL"].startswith(moto_server)
