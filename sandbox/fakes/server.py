"""Server mode for every fake (and the dev stack's other servers): threaded werkzeug on 127.0.0.1.

    server = serve(fake, port=8082)        # port 0 picks a free port
    server.url                             # http://127.0.0.1:8082
    server.shutdown()

The socket is bound up front: a busy port fails fast with a clear message (werkzeug itself would
print and `sys.exit`), and a fake learns its own URL before it is built. `serve` also runs the
fake's webhook delivery every `delivery_interval_s` in a background thread.
"""

import contextlib
import errno
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.fakes.base import FakeApp

DELIVERY_INTERVAL_S = 0.2


class PortInUseError(RuntimeError):
    """The requested port is taken by another process."""


def bind(host: str, port: int, *, name: str = "", option: str = "--port") -> socket.socket:
    """A listening socket on host:port (0: any free port), or PortInUseError saying what to do."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            prefix = f"{name}: " if name else ""
            raise PortInUseError(
                f"{prefix}port {port} on {host} is already in use; stop whatever uses it or pick another "
                f"with {option}"
            ) from exc
        raise
    return listener


def quiet_handler(log: Callable[[str], None] | None) -> type[WSGIRequestHandler]:
    """A request handler that logs `METHOD path status` to `log` (or nothing)."""

    class Handler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if log is not None:
                log(f"{self.command} {self.path.split('?')[0]} {code}")

        def log_error(self, format: str, *args: Any) -> None:
            if log is not None:
                log(format % args)

    return Handler


class ServerThread:
    """A threaded werkzeug server on a socket bound at construction; `serve(app)` starts it."""

    def __init__(self, name: str, host: str, port: int, *, standalone: bool = False) -> None:
        """`standalone`: a fake served on its own (`--port`), not one part of the dev stack
        (`--<name>-port`); the busy-port message says which option to change."""
        self.name = name
        self._host = host
        if standalone:
            self._socket = bind(host, port)
        else:
            self._socket = bind(host, port, name=name, option=f"--{name}-port")
        self.port = int(self._socket.getsockname()[1])
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def serve(
        self,
        app: Any,
        *,
        log: Callable[[str], None] | None = None,
        request_handler: type[WSGIRequestHandler] | None = None,
    ) -> None:
        self._server = make_server(
            self._host,
            self.port,
            app,
            threaded=True,
            request_handler=request_handler or quiet_handler(log),
            fd=self._socket.fileno(),
        )
        self._socket.close()  # the server holds its own duplicate of the descriptor
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        else:
            self._socket.close()
        if self._thread is not None:
            self._thread.join(10)


@dataclass
class SandboxServer:
    """A fake served over HTTP: `url`, and `shutdown()` to stop serving and delivering."""

    sandbox: FakeApp
    http: ServerThread
    delivery_interval_s: float = DELIVERY_INTERVAL_S
    _stop: threading.Event = field(default_factory=threading.Event)
    _delivery: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.http.url

    def start(self) -> "SandboxServer":
        self.http.serve(self.sandbox.wsgi_app)
        self._delivery = threading.Thread(
            target=self._deliver_loop, name=f"{self.http.name}-webhooks", daemon=True
        )
        self._delivery.start()
        return self

    def _deliver_loop(self) -> None:
        while not self._stop.wait(self.delivery_interval_s):
            self.sandbox.deliver_webhooks()

    def shutdown(self) -> None:
        self._stop.set()
        self.http.stop()
        if self._delivery is not None:
            self._delivery.join(timeout=5)


def serve(
    sandbox: FakeApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    delivery_interval_s: float = DELIVERY_INTERVAL_S,
    name: str = "sandbox",
) -> SandboxServer:
    """Bind and start serving `sandbox` (and delivering its webhooks) in background threads."""
    thread = ServerThread(name, host, port, standalone=True)
    return SandboxServer(sandbox, thread, delivery_interval_s).start()


def serve_until_stopped(server: SandboxServer) -> None:
    """A fake's command line: keep serving until SIGTERM or Ctrl-C, then shut down."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop it
            stop.wait()
    finally:
        server.shutdown()


def run_from_command_line(
    sandbox: FakeApp,
    *,
    host: str,
    port: int,
    name: str,
    describe: Callable[[str], str],
    delivery_interval_s: float = DELIVERY_INTERVAL_S,
) -> int:
    """A fake's `python -m` entry: serve it until stopped; 2 when the port is busy.
    `describe(url)` is the line printed once it listens."""
    try:
        server = serve(sandbox, host=host, port=port, delivery_interval_s=delivery_interval_s, name=name)
    except PortInUseError as exc:
        print(f"error: {exc} (cannot listen on {host}:{port})", file=sys.stderr)
        return 2
    print(describe(server.url), flush=True)
    serve_until_stopped(server)
    return 0
