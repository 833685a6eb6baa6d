"""`make dev`: the stack starts on free ports, serves a request through the gateway, stops on SIGINT."""

import io
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from sandbox.apps import registered_apps
from sandbox.stack.dev import DevConfig, DevStack, main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def stack() -> Iterator[DevStack]:
    """The whole stack in-process on free ports, nothing running in the background."""
    config = DevConfig(
        gateway_port=0,
        moto_port=0,
        ghl_port=0,
        app_ports={app.app: 0 for app in registered_apps()},
        background=False,
    )
    with DevStack(config, out=io.StringIO()) as started:
        yield started


def test_unknown_route_on_the_running_gateway_answers_403(stack: DevStack) -> None:
    response = httpx.get(f"{stack.gateway_url}/no/such/route")
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_oauth_callback_route_reaches_its_handler(stack: DevStack) -> None:
    # GIVEN the running stack
    # WHEN the OAuth redirect arrives without a code
    response = httpx.get(f"{stack.gateway_url}/oauth/callback")
    # THEN the handler itself answers (not API Gateway's 403 nor a 502 crash)
    assert response.status_code not in (403, 502)
    assert 400 <= response.status_code < 500


def test_template_resources_are_created_in_moto(stack: DevStack) -> None:
    sqs = stack.client("sqs")
    urls = sqs.list_queues()["QueueUrls"]
    assert stack.env["SYNC_QUEUE_URL"] in urls
    assert stack.env["SYNC_DLQ_URL"] in urls


def test_the_printed_exports_let_a_cli_in_another_shell_reach_the_stack(stack: DevStack) -> None:
    # GIVEN the export line the stack prints for the operator CLIs
    exports = dict(part.split("=", 1) for part in stack.cli_exports().removeprefix("export ").split())
    # WHEN a client is built from those variables alone
    sqs = boto3.client(
        "sqs",
        endpoint_url=exports["AWS_ENDPOINT_URL"],
        region_name=exports["AWS_DEFAULT_REGION"],
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
    )
    # THEN it finds the stack's queues and table under the names given
    assert {exports["SYNC_QUEUE_URL"], exports["SYNC_DLQ_URL"]} <= set(sqs.list_queues()["QueueUrls"])
    assert exports["SYNC_TABLE_NAME"] == stack.env["SYNC_TABLE_NAME"]


def test_busy_port_exits_non_zero_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the gateway port is taken by another program
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        # WHEN the stack starts on it
        code = main(
            ["--gateway-port", str(busy), "--moto-port", "0", "--ghl-port", "0", "--kayako-port", "0"]
        )
    # THEN it exits non-zero and says which port
    assert code == 2
    assert f"port {busy}" in capsys.readouterr().err


def test_make_dev_serves_the_gateway_and_stops_on_sigint() -> None:
    # GIVEN `python -m sandbox.stack.dev` on free ports
    ports = {name: free_port() for name in ("gateway", "moto", "ghl", "kayako")}
    args = [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed module
        [sys.executable, "-m", "sandbox.stack.dev", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read_output() -> None:
        for line in process.stdout or []:
            lines.put(line)
        lines.put(None)  # the process closed its output

    threading.Thread(target=read_output, daemon=True).start()
    try:
        seen: list[str] = []
        while not any("ready" in line for line in seen):
            line = lines.get(timeout=STARTUP_TIMEOUT_S)
            assert line is not None, "sandbox.stack.dev exited before it was ready:\n" + "".join(seen)
            seen.append(line)
        # WHEN one request goes through the gateway, then SIGINT
        response = httpx.get(f"http://127.0.0.1:{ports['gateway']}/oauth/callback", timeout=30)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=STARTUP_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # THEN the handler answered, the request was logged by the gateway, and the stack exited cleanly
    assert response.status_code not in (403, 502)
    output = "".join(seen) + "".join(line for line in iter_queue(lines) if line)
    assert "[gateway] GET /oauth/callback" in output
    assert code == 0


def iter_queue(lines: "queue.Queue[str | None]") -> Iterator[str | None]:
    while not lines.empty():
        yield lines.get_nowait()
