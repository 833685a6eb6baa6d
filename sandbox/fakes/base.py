"""FakeApp: the base every app fake is built on (GHL's and each app's).

    class AcmeSandbox(FakeApp):
        def __init__(self, *, clock=time.time, seed=0):
            super().__init__(clock=clock, faults=FaultInjector(f"acme:{seed}"))
            self.mount(build_acme_flask_app(self), fault_response=acme_error_response)

What the base gives a fake: its clock and sleep (a FakeClock in tests), one lock for requests,
webhook bookkeeping and `ui_*` edits, seeded faults, the request log, the in-process transport
(`transport()`: httpx.WSGITransport plus transport-level faults), and the kit's admin routes
under /_sandbox (faults, request log, clock), and webhook delivery through its `outbox` (the
kit's emitter, built by the fake with the app's retry rule and signing). Server mode is sandbox.fakes.server.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from flask import Flask
from werkzeug.wrappers import Response

from sandbox.fakes.admin import kit_admin_blueprint
from sandbox.fakes.clock import Clock
from sandbox.fakes.faults import Fault, FaultInjector, FaultyTransport
from sandbox.fakes.middleware import FakeMiddleware, LoggedRequest
from sandbox.fakes.webhooks import Outbox, Sender


def _everything(path: str) -> bool:
    return True


class FakeApp:
    wsgi_app: Flask
    middleware: FakeMiddleware
    outbox: Outbox[Any]  # the fake's webhooks, built with its retry rule and signing

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
        faults: FaultInjector,
        lock: "threading.RLock | None" = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.lock = lock or threading.RLock()
        self.faults = faults
        self.request_log: list[LoggedRequest] = []

    def mount(
        self,
        app: Flask,
        *,
        fault_response: Callable[[Fault], Response],
        logged: Callable[[str], bool] = _everything,
    ) -> Flask:
        """Put the kit's middleware and admin routes around the fake's Flask app."""
        app.register_blueprint(kit_admin_blueprint(self))
        self.middleware = FakeMiddleware(app.wsgi_app, self, fault_response=fault_response, logged=logged)
        app.wsgi_app = self.middleware  # type: ignore[method-assign]
        self.wsgi_app = app
        return app

    def transport(self) -> httpx.BaseTransport:
        """For httpx.Client(transport=...): the app in-process, with transport-level faults."""
        return FaultyTransport(self.wsgi_app, self.faults, self.middleware.log_dropped)

    @property
    def webhook_sender(self) -> Sender:
        return self.outbox.sender

    @webhook_sender.setter
    def webhook_sender(self, sender: Sender) -> None:
        self.outbox.sender = sender

    def deliver_webhooks(self, now: float | None = None) -> list[Any]:
        """Send every due webhook once; returns the deliveries attempted (the lock is not held
        while sending, so an in-process receiver may call back into the fake)."""
        return self.outbox.deliver(now)
