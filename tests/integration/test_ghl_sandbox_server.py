"""GHL sandbox in server mode: a real socket on 127.0.0.1, then shut down."""

import socket
from collections.abc import Iterator

import httpx
import pytest

from sandbox.fakes.server import PortInUseError, SandboxServer, serve
from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.ghl.__main__ import main
from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT


@pytest.fixture
def served() -> Iterator[SandboxServer]:
    sb = GhlSandbox(clock=FakeClock(), sleep=lambda _: None)
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    server = serve(sb, port=0)  # a free port
    yield server
    server.shutdown()


def test_a_real_http_request_is_served(served):
    # GIVEN the sandbox serving on a free port of 127.0.0.1
    assert served.url.startswith("http://127.0.0.1:")
    # WHEN a contact is created over HTTP
    response = httpx.post(
        f"{served.url}/contacts/",
        json={"locationId": GHL_LOCATION_ID, "firstName": "Ada"},
        headers=GHL_HEADERS,
    )
    # THEN it answers like GHL and logs the call
    assert response.status_code == 201
    assert response.headers["X-RateLimit-Max"] == "100"
    assert served.sandbox.request_log == [("POST", "/contacts/", 201)]


def test_an_injected_reset_drops_the_connection(served):
    # GIVEN every request is reset
    served.sandbox.faults.configure(rate_reset=1.0)
    # WHEN a request is made over HTTP
    # THEN the connection drops without a response
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(f"{served.url}/contacts/", params={"locationId": GHL_LOCATION_ID}, headers=GHL_HEADERS)


def test_a_busy_port_is_a_clear_error():
    # GIVEN a port already bound on 127.0.0.1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # WHEN the sandbox tries to serve there
        # THEN it says so
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve(GhlSandbox(clock=FakeClock()), port=port)


def test_the_cli_reports_a_busy_port_and_exits_2(capsys):
    # GIVEN a port already bound on 127.0.0.1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # WHEN the CLI is started on it
        code = main(["--port", str(port), "--location-id", "LOC", "--token", "TOKEN"])
    # THEN it exits 2 with a one-line explanation
    assert code == 2
    assert f"error: port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
