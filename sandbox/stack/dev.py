"""`make dev`: the whole stack on 127.0.0.1, in one process.

    python -m sandbox.stack.dev [--gateway-port 3000] [--moto-port 5000] [--ghl-port 8081]
                          [--kayako-port 8082] [--schedule-speed 1] [--visibility-timeout S]
                          [--ghl-base-url URL --location-id ID] [--kayako-url URL --kayako-email E]
                          [--dry-run]

What runs (each in its own thread, logs in one stream with a prefix per component):
- [moto]      a moto server: template.yaml's tables, queues and secrets (sandbox.stack.aws);
- [ghl]       the GHL sandbox, its webhooks aimed at the gateway's /webhooks/ghl;
- [kayako]    the Kayako fake, its automation endpoint aimed at /webhooks/kayako/<connectionId>;
- [gateway]   the local API Gateway for every Api route of the template (sandbox.stack.gateway);
- [poller]    the SQS event source of sync_worker (sandbox.stack.poller);
- [schedules] every ScheduleV2 function at its rate, or `--schedule-speed` times faster;
- [webhooks]  the sandboxes' delivery loop (they queue webhooks; this posts them every 200 ms);
- [<function>] each handler's own Powertools log lines.

With --ghl-base-url / --kayako-url the real service replaces its sandbox (its secret comes from
$GHL_PRIVATE_INTEGRATION_TOKEN / $KAYAKO_PASSWORD); --dry-run records writes instead of sending
them (sandbox.stack.dryrun).

Dev-only values, so that the events/ files reach real records when `make invoke` runs next to the
stack: the Kayako connection is DEV_CONNECTION_ID with endpoint token DEV_KAYAKO_WEBHOOK_TOKEN (a
random token against a real Kayako), the location is DevConfig.location_id with its PIT, and with
both sandboxes the DEV_FIXTURES are seeded, unsynced, dated DEV_FIXTURE_TIME. The stack's
GhlWebhookFunction trusts the GHL sandbox's signing key (its live webhooks); the GHL events/ files
are signed with the events/ dev key, which `make invoke` trusts through
events/ghl_webhook_dev_env.json.

Handlers run in-process with the environment Lambda would give them (Globals and their own
variables resolved against the moto resources) plus AWS_ENDPOINT_URL and fake credentials.
`DevStack` is the Python API behind it (used by the demo and the tests; port 0 = any free port).
"""

import argparse
import errno
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import boto3
import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.stack.aws import provision
from sandbox.stack.gateway import LocalGateway, routes_from_template
from sandbox.stack.lambda_runtime import LAYER_DIR, LambdaContext, load_handler
from sandbox.stack.logstream import HandlerLogWriter, LogStream, StdoutRouter, running_function
from sandbox.stack.poller import SqsPoller, sqs_sources_from_template
from sandbox.stack.schedules import ScheduleTicker, schedules_from_template
from sandbox.stack.template import DEFAULT_STACK_NAME, DEFAULT_TEMPLATE, Template, load_template

if TYPE_CHECKING:
    from sandbox.stack.dryrun import WriteLog

# The layer is on Lambda's path (/opt/python); `python -m sandbox.stack.dev` puts it on ours.
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

HOST = "127.0.0.1"
REGION = "us-east-1"
# moto accepts any credentials; these make sure nothing falls back to a real profile.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Locally there is no X-Ray daemon to send traces to.
LOCAL_POWERTOOLS = {"AWS_SAM_LOCAL": "true", "POWERTOOLS_TRACE_DISABLED": "true"}
DELIVERY_INTERVAL_S = 0.2
# Where real services' secrets come from (never the command line: it lands in shell history).
GHL_TOKEN_ENV = "GHL_PRIVATE_INTEGRATION_TOKEN"
KAYAKO_PASSWORD_ENV = "KAYAKO_PASSWORD"


# ---- dev fixtures ------------------------------------------------------------------------------
# Dev-only values, known so that the events/ files can name them: `make invoke` against a running
# `make dev` then reaches real records. They live only in the local sandboxes and moto.
DEV_CONNECTION_ID = "conn-dev-kayako"
# The Kayako sandbox's automation endpoint token. Against a real Kayako (--kayako-url), which posts
# to a URL the developer exposes, the token is random instead.
DEV_KAYAKO_WEBHOOK_TOKEN = "dev-kayako-webhook-token"
# The fixtures' creation time; the events/ files are dated after it (2026-01-15T12:00:00Z), so the
# engine never takes them for events older than what it already synced.
DEV_FIXTURE_TIME = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DevFixtures:
    """The records `make dev` seeds with the sandboxes, none of them synced yet.

    GHL (location DevConfig.location_id): contact Grace Hopper <grace.hopper@dev.example>, tag
    `lead`, a completed task "Send the quote" and a note "Met at the conference".
    Kayako: customer Alan Turing <alan.turing@dev.example>, tag `vip`, a case "Cannot log in" and
    a note "Asked about the enterprise plan". (Kayako user 1 is the sync's agent login.)
    """

    ghl_contact_id: str
    ghl_task_id: str
    ghl_note_id: str
    kayako_user_id: int
    kayako_case_id: int
    kayako_note_id: int


# The sandboxes' ids are deterministic (seed 0, fixed order of creation): these are what they give.
DEV_FIXTURES = DevFixtures(
    ghl_contact_id="V4RiTMlO4GUwh2CYbuau",
    ghl_task_id="pVEO0tP9ChMkHHYWiLwZ",
    ghl_note_id="NxeQnrj4eaZCpZp0sI7s",
    kayako_user_id=2,
    kayako_case_id=1,
    kayako_note_id=1,
)


class SandboxClock:
    """The sandboxes' clock: real time, except while fixtures are made (they get a fixed date)."""

    def __init__(self) -> None:
        self._frozen: float | None = None

    def __call__(self) -> float:
        frozen = self._frozen
        return time.time() if frozen is None else frozen

    @contextmanager
    def frozen_at(self, instant: float) -> Iterator[None]:
        self._frozen = instant
        try:
            yield
        finally:
            self._frozen = None


class PortBusy(Exception):
    """A port the stack needs is taken by another program."""


class StackError(Exception):
    """The stack cannot start (the message says why and what to do)."""


# ---- servers ----------------------------------------------------------------------------------


def _bind(name: str, host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy(
                f"{name}: port {port} on {host} is already in use; stop what uses it or pick another "
                f"port (--{name}-port)"
            ) from exc
        raise
    sock.listen(128)
    return sock


def _quiet_handler(log: Callable[[str], None] | None) -> type[WSGIRequestHandler]:
    """A request handler that logs `METHOD path status` to the stream (or nothing)."""

    class Handler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if log is not None:
                log(f"{self.command} {self.path.split('?')[0]} {code}")

        def log_error(self, format: str, *args: Any) -> None:
            if log is not None:
                log(format % args)

    return Handler


class ServerThread:
    """A threaded werkzeug server on a socket bound up front.

    Binding first makes a busy port fail fast with a clear message (werkzeug itself would print
    and `sys.exit`), and tells a sandbox its own URL (port 0 = any free port) before it is built.
    """

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        self._host = host
        self._socket = _bind(name, host, port)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

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
            request_handler=request_handler or _quiet_handler(log),
            fd=self._socket.fileno(),
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._socket.close()


def moto_app() -> tuple[Any, type[WSGIRequestHandler]]:
    """moto's server app (all services, one shared state) and a request handler that keeps quiet."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    class Handler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """moto would log every AWS call; the handlers' own logs say what matters."""

    return DomainDispatcherApplication(create_backend_app), Handler


# ---- functions --------------------------------------------------------------------------------


class FunctionHost:
    """Runs the template's functions in this process.

    One warm "container" per function: invocations of one function are serialised (handlers
    build their clients lazily once per container and need not be thread-safe), different
    functions run in parallel, as they would in Lambda. Handlers load on first use, so a
    function whose code is missing fails its own invocations only.
    """

    def __init__(
        self, template: Template, stream: LogStream, *, stack_name: str = DEFAULT_STACK_NAME
    ) -> None:
        self._template = template
        self._stream = stream
        self._stack_name = stack_name
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._locks = {logical_id: threading.Lock() for logical_id in template.function_ids()}
        self._log_writer = HandlerLogWriter(stream)

    def short_name(self, logical_id: str) -> str:
        """The function's folder name (ghl_webhook, sync_worker...): what the log prefix shows."""
        return self._template.function(logical_id).code_dir.name

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        spec = self._template.function(logical_id)
        context = LambdaContext(
            function_name=f"{self._stack_name}-{logical_id}",
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=spec.timeout,
            log_group_name=f"/aws/lambda/{self._stack_name}-{logical_id}",
        )
        with self._locks[logical_id], running_function(spec.code_dir.name):
            handler = self._handlers.get(logical_id)
            if handler is None:
                handler = load_handler(spec.code_dir, spec.handler)
                self._handlers[logical_id] = handler
                self._capture_powertools_logs()
            self._forget_previous_correlation_id()
            return handler(event, context)

    @staticmethod
    def _forget_previous_correlation_id() -> None:
        """In Lambda each function has its own process and Logger; here they share one, so the
        correlation id one function set would otherwise label the next function's lines."""
        observability = sys.modules.get("ghlsync.observability")
        if observability is not None:
            observability.logger.remove_keys(["correlation_id"])

    def _capture_powertools_logs(self) -> None:
        service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
        for handler in logging.getLogger(service).handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not self._log_writer:
                handler.setStream(self._log_writer)


# ---- the stack --------------------------------------------------------------------------------


@dataclass
class DevConfig:
    gateway_port: int = 3000
    moto_port: int = 5000
    ghl_port: int = 8081
    kayako_port: int = 8082
    schedule_speed: float = 1.0
    # Seconds a failed sync event stays invisible before its retry (None: the template's value).
    visibility_timeout: int | None = None
    stage: str = "dev"
    stack_name: str = DEFAULT_STACK_NAME
    template_path: Path = DEFAULT_TEMPLATE
    location_id: str = "devLocation000000001"
    location_token: str = "pit-dev-location-token"
    kayako_email: str = "sync-agent@dev.example"
    kayako_password: str = "dev-agent-password"
    connection_id: str = DEV_CONNECTION_ID
    # Seed DEV_FIXTURES (when both sandboxes run): the records the events/ files name.
    fixtures: bool = True
    # Lifetime of the GHL sandbox's OAuth access tokens (None: GHL's ~24 h), e.g. to show a refresh.
    ghl_access_token_ttl_s: int | None = None
    # False: nothing runs periodically; the caller drives poll/tick/delivery (drain(), tick(), ...).
    background: bool = True
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # Function environment on top of the template's (like `sam local --env-vars`), e.g. the
    # demo's shorter RETRY_BASE_SECONDS.
    env_overrides: dict[str, str] = field(default_factory=dict)
    # Extra non-secret Kayako connector settings for the dev connection (merged into `app`).
    kayako_settings: dict[str, Any] = field(default_factory=dict)
    # Route what handlers print (EMF metrics) into the log stream; for processes the stack owns.
    capture_stdout: bool = False
    # Real services instead of a sandbox (see "Real services" in the docs): None = the sandbox.
    ghl_base_url: str | None = None
    kayako_base_url: str | None = None
    # Read both sides, plan, and record every write instead of sending it (sandbox.stack.dryrun).
    dry_run: bool = False


class DevStack:
    """moto + sandboxes + gateway + poller + schedules, on 127.0.0.1. Use as a context manager.

    Handlers start cold in every stack: their modules and the layer's per-container caches are
    dropped at start, so nothing built against another environment (a test's moto mock, an
    earlier stack) leaks in.
    """

    def __init__(self, config: DevConfig | None = None, *, out: TextIO | None = None) -> None:
        self.config = config or DevConfig()
        self.stream = LogStream(out)
        self.template = load_template(self.config.template_path)
        self.functions = FunctionHost(self.template, self.stream, stack_name=self.config.stack_name)
        self._servers: list[ServerThread] = []
        self._stoppers: list[Callable[[], None]] = []
        self._saved_env: dict[str, str | None] = {}
        self._stop = threading.Event()
        self.pollers: list[SqsPoller] = []
        self.ticker: ScheduleTicker | None = None
        self.env: dict[str, str] = {}
        self.physical_ids: dict[str, str] = {}
        self.session: boto3.session.Session | None = None
        self.ghl: Any = None  # sandbox.ghl.GhlSandbox
        self.kayako: Any = None  # sandbox.apps.kayako.KayakoSandbox
        self.connection_id = ""
        self.fixtures: DevFixtures | None = None
        self.sandbox_clock = SandboxClock()
        self.gateway_url = self.moto_url = self.ghl_url = self.kayako_url = ""
        self.planned_writes: WriteLog | None = None
        self._restore_modules: Callable[[], None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> "DevStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "DevStack":
        self._stop.clear()
        # A fresh host: a restarted stack must not call handlers loaded in its previous run.
        self.functions = FunctionHost(self.template, self.stream, stack_name=self.config.stack_name)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        cfg = self.config
        log = self.stream.component
        if cfg.capture_stdout:
            real_stdout = sys.stdout
            sys.stdout = StdoutRouter(self.stream, real_stdout)

            def restore_stdout() -> None:
                sys.stdout = real_stdout

            self._stoppers.insert(0, restore_stdout)
        # Bind every port first: a busy one fails before anything starts.
        moto = ServerThread("moto", HOST, cfg.moto_port)
        self._servers.append(moto)
        gateway = ServerThread("gateway", HOST, cfg.gateway_port)
        self._servers.append(gateway)
        ghl = None if cfg.ghl_base_url else ServerThread("ghl", HOST, cfg.ghl_port)
        kayako = None if cfg.kayako_base_url else ServerThread("kayako", HOST, cfg.kayako_port)
        self._servers += [server for server in (ghl, kayako) if server is not None]
        self.moto_url, self.gateway_url = moto.url, gateway.url
        self.ghl_url = (cfg.ghl_base_url or (ghl.url if ghl else "")).rstrip("/")
        self.kayako_url = (cfg.kayako_base_url or (f"{kayako.url}/api/v1" if kayako else "")).rstrip("/")

        app, handler = moto_app()
        moto.serve(app, request_handler=handler)
        # moto keeps its state in module globals: an earlier stack in this process must not leak in.
        httpx.post(f"{self.moto_url}/moto-api/reset", timeout=10).raise_for_status()
        self._set_env({"AWS_ENDPOINT_URL": self.moto_url, **FAKE_CREDENTIALS, **LOCAL_POWERTOOLS})
        self.session = boto3.session.Session(region_name=REGION)

        overrides = {"Stage": cfg.stage, "GhlApiBaseUrl": self.ghl_url}
        if ghl is not None:
            self.ghl = new_ghl_sandbox(self.sandbox_clock, cfg.ghl_access_token_ttl_s)
            ghl.serve(self.ghl.wsgi_app, log=log("ghl"))
            overrides.update(ghl_key_parameters(self.ghl))
        if kayako is not None:
            self.kayako = new_kayako_sandbox(self.kayako_url, self.sandbox_clock)
            kayako.serve(self.kayako.wsgi_app, log=log("kayako"))
        overrides.update(cfg.parameter_overrides)
        stack = provision(
            self.template, session=self.session, stack_name=cfg.stack_name, parameter_overrides=overrides
        )
        self.physical_ids = stack.physical_ids()
        env = stack.global_environment()
        for spec in self.template.functions():
            env.update(stack.function_environment(spec.logical_id))
        env.update(cfg.env_overrides)
        self._set_env(env)
        self.env = {**env, "AWS_ENDPOINT_URL": self.moto_url}
        self._restore_modules = cold_start()
        if cfg.dry_run:
            from sandbox.stack.dryrun import WriteLog
            from sandbox.stack.dryrun import install as install_dry_run

            self.planned_writes = WriteLog(log=log("dry-run"))
            self._stoppers.insert(0, install_dry_run(self.planned_writes))
        log("moto")(f"AWS on {self.moto_url}: " + ", ".join(sorted(self.physical_ids)))

        gateway.serve(
            LocalGateway(
                routes_from_template(self.template.document),
                lambda route, event: self.functions.invoke(route.function, event),
                stage=cfg.stage,
                log=log("gateway"),
            )
        )
        self.connection_id = self._wire_sandboxes(log("dev"))

        for source in sqs_sources_from_template(self.template.document, stack.intrinsics.resolve):
            queue_url = next(
                r.ref for r in stack.resources.values() if r.attributes.get("Arn") == source.queue_arn
            )
            sqs = self.client("sqs")
            if cfg.visibility_timeout is not None:
                sqs.set_queue_attributes(
                    QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(cfg.visibility_timeout)}
                )
            self.pollers.append(
                SqsPoller(
                    sqs,
                    queue_url,
                    partial(self.functions.invoke, source.function),
                    batch_size=source.batch_size,
                    report_batch_item_failures=source.report_batch_item_failures,
                    region=REGION,
                    log=log("poller"),
                )
            )
        self.ticker = ScheduleTicker(
            schedules_from_template(self.template.document, stack.intrinsics.resolve),
            self.functions.invoke,
            speed=cfg.schedule_speed,
            log=log("schedules"),
        )
        if cfg.background:
            for poller in self.pollers:
                poller.start()
                self._stoppers.append(poller.stop)
            self.ticker.start()
            self._stoppers.append(self.ticker.stop)
            pump = threading.Thread(target=self._deliver_webhooks_forever, name="webhooks", daemon=True)
            pump.start()
            self._stoppers.append(lambda: pump.join(10))
        log("dev")(
            f"gateway {self.gateway_url} | GHL {self.ghl_url} | Kayako {self.kayako_url} "
            f"| AWS {self.moto_url}" + (" | DRY RUN: writes are recorded, not sent" if cfg.dry_run else "")
        )

    def _wire_sandboxes(self, log: Callable[[str], None]) -> str:
        """The demo location (PIT in its token secret), its webhooks, and one Kayako connection."""
        from ghlsync.store.connections import (
            Connection,
            ConnectionSecrets,
            ConnectionSettings,
            ConnectionStore,
        )
        from ghlsync.store.tenants import AuthKind, Tenant, TenantStore
        from ghlsync.store.tokens import PrivateIntegrationToken, TokenStore

        cfg = self.config
        table = self.session.resource("dynamodb").Table(self.env["SYNC_TABLE_NAME"])  # type: ignore[union-attr]
        secrets_client = self.client("secretsmanager")

        if self.ghl is not None:
            self.ghl.add_location(cfg.location_id, token=cfg.location_token)
        if self.kayako is not None:
            self.kayako.add_agent(cfg.kayako_email, cfg.kayako_password)
        if cfg.fixtures and self.ghl is not None and self.kayako is not None:
            # Before any webhook target exists: the fixtures stay unsynced until an event names them.
            self.fixtures = self._seed_fixtures()
        if self.ghl is not None:
            self.ghl.register_webhook(f"{self.gateway_url}/webhooks/ghl", location_id=cfg.location_id)
        token_store = TokenStore(secrets_client, self.env["TOKEN_SECRET_PREFIX"])
        token_store.put(cfg.location_id, PrivateIntegrationToken(access_token=cfg.location_token))
        TenantStore(table).register(
            Tenant(location_id=cfg.location_id, installed_at=datetime.now(UTC), auth_kind=AuthKind.PIT)
        )

        connection = Connection(
            connection_id=cfg.connection_id,
            location_id=cfg.location_id,
            app="kayako",
            settings=ConnectionSettings(app={"base_url": self.kayako_url, **cfg.kayako_settings}),
        )
        # A real Kayako posts from the internet to a URL the developer exposes: never a known token.
        webhook_token = DEV_KAYAKO_WEBHOOK_TOKEN if self.kayako is not None else secrets.token_urlsafe(24)
        connection_secrets = ConnectionSecrets(secrets_client, self.env["CONNECTION_SECRET_PREFIX"])
        connection_secrets.put(
            connection.connection_id,
            {"email": cfg.kayako_email, "password": cfg.kayako_password, "webhook_token": webhook_token},
        )
        ConnectionStore(table).put(connection)
        if self.kayako is not None:
            self.kayako.register_automation(
                f"{self.gateway_url}{connection.webhook_path}?token={webhook_token}"
            )
        else:
            log(
                f"Kayako automation endpoint: <public URL of {self.gateway_url}>{connection.webhook_path}"
                f"?token=<webhook_token of secret {connection_secrets.secret_id(connection.connection_id)}>"
            )
        if self.ghl is None:
            log(
                f"GHL webhooks: <public URL of {self.gateway_url}>/webhooks/ghl "
                "(your Marketplace app's webhook URL)"
            )
        log(
            f"location {cfg.location_id} (token in secret {token_store.secret_name(cfg.location_id)}) "
            f"⇄ Kayako connection {connection.connection_id}"
        )
        if self.fixtures is not None:
            log(
                f"dev fixtures (not synced yet): GHL contact {self.fixtures.ghl_contact_id} Grace Hopper, "
                f"Kayako user #{self.fixtures.kayako_user_id} Alan Turing; the events/ files name them "
                "(make invoke FN=... EVENT=events/...)"
            )
        return connection.connection_id

    def _seed_fixtures(self) -> "DevFixtures":
        """The documented dev records (DEV_FIXTURES), dated DEV_FIXTURE_TIME, without webhooks."""
        cfg = self.config
        with self.sandbox_clock.frozen_at(DEV_FIXTURE_TIME.timestamp()):
            contact = self.ghl.ui_create_contact(
                cfg.location_id,
                firstName="Grace",
                lastName="Hopper",
                email="grace.hopper@dev.example",
                phone="+14155550123",
                tags=["lead"],
            )
            task = self.ghl.ui_create_task(
                cfg.location_id, contact.id, title="Send the quote", dueDate="2026-01-20T09:00:00.000Z"
            )
            self.ghl.ui_complete_task(cfg.location_id, contact.id, task.id)
            note = self.ghl.ui_create_note(cfg.location_id, contact.id, body="Met at the conference")
            user = self.kayako.ui_create_user(
                "Alan Turing", email="alan.turing@dev.example", phone="+14155550145"
            )
            self.kayako.ui_add_tags(user.id, "vip")
            case = self.kayako.ui_create_case(user.id, "Cannot log in", "The password reset mail never came")
            kayako_note = self.kayako.ui_add_note(user.id, "Asked about the enterprise plan")
        seeded = DevFixtures(contact.id, task.id, note.id, user.id, case.id, kayako_note.id)
        if seeded != DEV_FIXTURES:
            # The events/ files name DEV_FIXTURES: with other ids they would reach nothing.
            raise StackError(
                f"the sandboxes seeded {seeded}, not the documented {DEV_FIXTURES}; "
                "update DEV_FIXTURES and the events/ files that name them"
            )
        return seeded

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice."""
        self._stop.set()
        while self._stoppers:
            self._stoppers.pop()()
        while self._servers:
            server = self._servers.pop()
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                self.stream.emit("dev", f"{server.name} did not stop cleanly: {exc}")
        self._restore_env()

    # -- helpers for the demo, the tests and a developer's REPL ------------------------------
    def deliver_webhooks(self) -> int:
        """Post every webhook the sandboxes have queued (to the gateway); returns how many."""
        sent = len(self.ghl.deliver_webhooks()) if self.ghl is not None else 0
        return sent + (len(self.kayako.deliver_automations()) if self.kayako is not None else 0)

    def drain(self) -> int:
        """Poll every queue until it returns nothing; returns the records processed."""
        total = 0
        for poller in self.pollers:
            while (result := poller.poll_once(wait_seconds=0)).received:
                total += result.received
        return total

    def tick(self, function: str) -> Any:
        """Fire one schedule of `function` now (logical id, or `LogicalId.EventName`)."""
        if self.ticker is None:
            raise StackError("start() the stack first")
        return self.ticker.tick(self.ticker.find(function))

    def client(self, service: str) -> Any:
        if self.session is None:
            raise StackError("start() the stack first")
        return self.session.client(service)  # type: ignore[call-overload]

    def _deliver_webhooks_forever(self) -> None:
        log = self.stream.component("webhooks")
        while not self._stop.wait(DELIVERY_INTERVAL_S):
            try:
                self.deliver_webhooks()
            except Exception as exc:  # a sandbox bug must not stop later deliveries
                log(f"delivery failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._restore_modules is not None:
            self._restore_modules()
            self._restore_modules = None


# Modules that make up "the container": the layer, the loaded functions, and the dry-run wrapper
# (it subclasses nothing but checks the layer's classes with isinstance).
_CONTAINER_MODULES = ("ghlsync", "_lambda_", "sandbox.stack.dryrun")


def _is_container_module(name: str) -> bool:
    return name.startswith(_CONTAINER_MODULES)


def cold_start() -> Callable[[], None]:
    """Make the next handler import the layer afresh, under the current environment: a new container.

    The layer builds per-container objects at import and on first use (Logger and Metrics read
    POWERTOOLS_* when created, clients are `functools.cache`d); in a process that imported it
    earlier under another environment (a test run, or a stack running next to a hand invocation)
    those would be wrong. The modules present before are set aside and put back by the returned
    function, so code outside keeps the objects it already holds.
    """
    saved = {name: module for name, module in sys.modules.items() if _is_container_module(name)}
    for name in saved:
        del sys.modules[name]

    def restore() -> None:
        for name in [name for name in sys.modules if _is_container_module(name)]:
            del sys.modules[name]
        sys.modules.update(saved)

    return restore


def new_ghl_sandbox(clock: Callable[[], float] = time.time, access_token_ttl_s: int | None = None) -> Any:
    from sandbox.ghl import GhlSandbox
    from sandbox.ghl.oauth import ACCESS_TOKEN_TTL_S

    return GhlSandbox(seed=0, clock=clock, access_token_ttl_s=access_token_ttl_s or ACCESS_TOKEN_TTL_S)


def ghl_key_parameters(ghl: Any) -> dict[str, str]:
    """The sandbox's webhook signing keys, in place of GHL's published ones."""
    keys = ghl.public_keys
    return {"GhlWebhookEd25519PublicKeys": keys["ed25519"], "GhlWebhookRsaPublicKeys": keys["rsa"]}


def new_kayako_sandbox(base_url: str, clock: Callable[[], float] = time.time) -> Any:
    from sandbox.apps.kayako import KayakoSandbox

    return KayakoSandbox(seed=0, base_url=base_url, clock=clock)


# ---- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.stack.dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway-port", type=int, default=3000)
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--ghl-port", type=int, default=8081)
    parser.add_argument("--kayako-port", type=int, default=8082)
    parser.add_argument(
        "--host", default=HOST, choices=[HOST], help="always 127.0.0.1: the stack is never exposed"
    )
    parser.add_argument(
        "--schedule-speed",
        type=float,
        default=1.0,
        help="run rate() schedules N times faster (60: minutes → seconds)",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=None,
        help="seconds before a failed sync event is retried (default: the template's VisibilityTimeout)",
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    real = parser.add_argument_group(
        "real services",
        f"point the stack at a real GHL location and/or Kayako instance (tokens from ${GHL_TOKEN_ENV}"
        f" and ${KAYAKO_PASSWORD_ENV}, never from the command line)",
    )
    real.add_argument(
        "--ghl-base-url", help="e.g. https://services.leadconnectorhq.com (default: the GHL sandbox)"
    )
    real.add_argument(
        "--location-id", default=DevConfig.location_id, help="the GHL location (sub-account) id"
    )
    real.add_argument(
        "--kayako-url", help="e.g. https://acme.kayako.com/api/v1 (default: the Kayako sandbox)"
    )
    real.add_argument(
        "--kayako-email", default=DevConfig.kayako_email, help="the Kayako agent the sync logs in as"
    )
    real.add_argument(
        "--dry-run", action="store_true", help="read and plan, but record writes instead of sending them"
    )
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> DevConfig:
    """DevConfig from the command line; secrets of real services come from the environment."""
    config = DevConfig(
        gateway_port=args.gateway_port,
        moto_port=args.moto_port,
        ghl_port=args.ghl_port,
        kayako_port=args.kayako_port,
        schedule_speed=args.schedule_speed,
        visibility_timeout=args.visibility_timeout,
        template_path=args.template,
        capture_stdout=True,
        location_id=args.location_id,
        kayako_email=args.kayako_email,
        ghl_base_url=args.ghl_base_url,
        kayako_base_url=args.kayako_url,
        dry_run=args.dry_run,
    )
    if args.ghl_base_url:
        token = environ.get(GHL_TOKEN_ENV)
        if not token:
            raise StackError(
                f"--ghl-base-url needs the location's private-integration token in ${GHL_TOKEN_ENV}"
            )
        config.location_token = token
    if args.kayako_url:
        password = environ.get(KAYAKO_PASSWORD_ENV)
        if not password:
            raise StackError(f"--kayako-url needs the agent's password in ${KAYAKO_PASSWORD_ENV}")
        config.kayako_password = password
    return config


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    try:
        config = config_from_args(parse_args(argv), os.environ)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop = threading.Event()
    with _stop_on_signals(stop):
        stack = DevStack(config, out=sys.stdout)
        try:
            stack.start()
        except PortBusy as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except StackError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            stack.stream.emit("dev", "ready; Ctrl-C stops everything")
            while not stop.wait(0.5):
                pass
            stack.stream.emit("dev", "stopping")
        finally:
            started = time.perf_counter()
            stack.stop()
            print(f"[dev] stopped in {time.perf_counter() - started:.1f}s", file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
