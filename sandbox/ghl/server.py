"""Serve a GhlSandbox over real HTTP (threaded werkzeug server) with background webhook delivery."""

import errno
import socket
import threading
from dataclasses import dataclass, field

from werkzeug.serving import BaseWSGIServer, make_server, select_address_family

from sandbox.ghl.sandbox import GhlSandbox

DELIVERY_INTERVAL_S = 0.2


class PortInUseError(RuntimeError):
    """The requested port is taken by another process."""


@dataclass
class SandboxServer:
    """A running server: `url`, and `shutdown()` to stop both threads."""

    sandbox: GhlSandbox
    server: BaseWSGIServer
    delivery_interval_s: float = DELIVERY_INTERVAL_S
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def start(self) -> "SandboxServer":
        serve = threading.Thread(target=self.server.serve_forever, name="ghl-sandbox-http", daemon=True)
        deliver = threading.Thread(target=self._deliver_loop, name="ghl-sandbox-webhooks", daemon=True)
        self._threads = [serve, deliver]
        for thread in self._threads:
            thread.start()
        return self

    def _deliver_loop(self) -> None:
        while not self._stop.wait(self.delivery_interval_s):
            self.sandbox.deliver_webhooks()

    def shutdown(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def serve(
    sandbox: GhlSandbox,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    delivery_interval_s: float = DELIVERY_INTERVAL_S,
) -> SandboxServer:
    """Bind (port 0 picks a free port) and start serving in background threads."""
    listener = _bind(host, port)
    try:
        # werkzeug exits the process when it cannot bind, so it is handed a bound socket instead.
        server = make_server(host, port, sandbox.wsgi_app, threaded=True, fd=listener.fileno())
    finally:
        listener.close()  # the server holds its own duplicate of the descriptor
    return SandboxServer(sandbox, server, delivery_interval_s).start()


def _bind(host: str, port: int) -> socket.socket:
    listener = socket.socket(select_address_family(host, port), socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is already in use; stop whatever uses it or pick another with --port"
            ) from exc
        raise
    return listener
