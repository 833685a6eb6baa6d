"""The WSGI layer every fake runs behind: injected faults, the request log and the fake's lock.

    app.wsgi_app = FakeMiddleware(app.wsgi_app, fake, fault_response=..., logged=...)

Around every request to the app's API (the admin API under /_sandbox is only serialised):
- the fault decided for it (by `FaultyTransport` in-process, drawn here in server mode) is
  applied: a 429/5xx answered in the app's own shape, a timeout (server mode: answered only after
  `timeout_delay_s`, applied or not per the draw), or a reset (server mode: the socket is shut);
- the request runs under the fake's lock, so server threads, webhook bookkeeping and `ui_*`
  edits never interleave; the lock is never held while sleeping for a timeout;
- (method, path, status) goes to the request log; status 0 means the client got no answer.
"""

import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from werkzeug.wrappers import Response

from sandbox.fakes.faults import Fault, FaultKind, decided_fault

if TYPE_CHECKING:
    from sandbox.fakes.base import FakeApp

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class LoggedRequest(NamedTuple):
    method: str
    path: str
    status: int  # 0: the client got no answer (an injected timeout or reset)


def _everything(path: str) -> bool:
    return True


class FakeMiddleware:
    """See the module docstring. `fault_response(fault)` renders an injected 429/5xx (and the
    504 a server-mode timeout ends in); `logged(path)`
    says which API requests the log keeps (Kayako logs only /api/v1)."""

    def __init__(
        self,
        inner: WSGIApp,
        fake: "FakeApp",
        *,
        fault_response: Callable[[Fault], Response],
        logged: Callable[[str], bool] = _everything,
    ) -> None:
        self.inner = inner
        self.fake = fake
        self._fault_response = fault_response
        self._logged = logged

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox"):
            with self.fake.lock:
                return list(self.inner(environ, start_response))
        method = environ.get("REQUEST_METHOD", "GET")
        preset = decided_fault.get()
        fault = preset[0] if preset is not None else self.fake.faults.decide(path, method)
        if fault is None:
            return self._handle(environ, start_response, method, path)
        if fault.kind in (FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR):
            self._log(method, path, fault.status)
            return self._fault_response(fault)(environ, start_response)
        if fault.kind is FaultKind.TIMEOUT:
            return self._time_out(fault, environ, start_response, method, path)
        return self._reset(environ, start_response, method, path)

    def log_dropped(self, method: str, path: str) -> None:
        """A request the client sent that never got an answer (status 0)."""
        self._log(method, path, 0)

    def _log(self, method: str, path: str, status: int) -> None:
        if self._logged(path):
            with self.fake.lock:
                self.fake.request_log.append(LoggedRequest(method, path, status))

    def _handle(
        self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str
    ) -> Iterable[bytes]:
        statuses: list[int] = []

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        with self.fake.lock:
            result = list(self.inner(environ, recording))
            self._log(method, path, statuses[-1] if statuses else 0)
        return result

    def _time_out(
        self, fault: Fault, environ: dict[str, Any], start_response: StartResponse, method: str, path: str
    ) -> Iterable[bytes]:
        """Server mode: answer only after the client's timeout (applied or not, per the draw)."""
        if fault.applied:
            result = self._handle(environ, start_response, method, path)
            self.fake.sleep(self.fake.faults.timeout_delay_s)
            return result
        self.fake.sleep(self.fake.faults.timeout_delay_s)
        self.log_dropped(method, path)
        return self._fault_response(Fault(FaultKind.TIMEOUT, status=504))(environ, start_response)

    def _reset(
        self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str
    ) -> Iterable[bytes]:
        self.log_dropped(method, path)
        connection = environ.get("werkzeug.socket")
        if connection is None:
            raise ConnectionResetError("sandbox: injected connection reset")
        connection.shutdown(socket.SHUT_RDWR)
        # The server's write of this response now fails, and it drops the request quietly.
        start_response("500 Internal Server Error", [("Content-Length", "0")])
        return [b""]
