"""`make dev`: the whole stack on 127.0.0.1, in one process.

    python -m sandbox.stack.dev [--gateway-port 3000] [--moto-port 5000] [--ghl-port 8081]
                          [--<app>-port N, e.g. --kayako-port 8082] [--schedule-speed 1]
                          [--visibility-timeout S] [--ghl-base-url URL --location-id ID]
                          [--<app>-url URL and its login options, e.g. --kayako-email E] [--dry-run]

What runs (each in its own thread, logs in one stream with a prefix per component):
- [moto]      a moto server: template.yaml's tables, queues and secrets (sandbox.stack.aws);
- [ghl]       the GHL sandbox, its webhooks aimed at the gateway's /webhooks/ghl;
- [<app>]     every registered app's fake (sandbox.apps: Kayako on 8082), its webhooks aimed at
              /webhooks/<app>/<connectionId> with the connection's secret;
- [gateway]   the local API Gateway for every Api route of the template (sandbox.stack.gateway);
- [poller]    the SQS event source of sync_worker (sandbox.stack.poller);
- [schedules] every ScheduleV2 function at its rate, or `--schedule-speed` times faster;
- [webhooks]  the sandboxes' delivery loop (they queue webhooks; this posts them every 200 ms);
- [<function>] each handler's own Powertools log lines.

With --ghl-base-url / --<app>-url the real service replaces its sandbox (its secret comes from
$GHL_PRIVATE_INTEGRATION_TOKEN / the app's variable, e.g. $KAYAKO_PASSWORD); --dry-run records
writes instead of sending them (sandbox.stack.dryrun).

Dev-only values, so that the events/ files reach real records when `make invoke` runs next to the
stack: each app's connection id and webhook secret are its registered dev ones (Kayako:
conn-dev-kayako, dev-kayako-webhook-token; a random secret against a real service), the location
is DevConfig.location_id with its PIT, and with every sandbox running the DEV_FIXTURES are
seeded, unsynced, dated DEV_FIXTURE_TIME. The stack's
GhlWebhookFunction trusts the GHL sandbox's signing key (its live webhooks); the GHL events/ files
are signed with the events/ dev key, which `make invoke` trusts through
events/ghl_webhook_dev_env.json.

Handlers run in-process with the environment Lambda would give them (Globals and their own
variables resolved against the moto resources) plus AWS_ENDPOINT_URL and fake credentials.
`DevStack` is the Python API behind it (used by the demo and the tests; port 0 = any free port).
"""

import logging
import os
import secrets
import shlex
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import boto3
import httpx
from werkzeug.serving import WSGIRequestHandler

from sandbox.apps import AppSandbox, SandboxedApp, registered_apps
from sandbox.fakes.server import PortInUseError, ServerThread
from sandbox.ghl.custom_fields import define_field
from sandbox.stack import moto_scale
from sandbox.stack.aws import provision
from sandbox.stack.devconfig import HOST, DevConfig, StackError, config_from_args, parse_args
from sandbox.stack.environ import EnvPatch
from sandbox.stack.functions import FunctionHost, cold_start
from sandbox.stack.gateway import LocalGateway, routes_from_template
from sandbox.stack.lambda_runtime import LAYER_DIR
from sandbox.stack.logstream import LogStream, StdoutRouter
from sandbox.stack.poller import SqsPoller, sqs_sources_from_template
from sandbox.stack.schedules import ScheduleTicker, schedules_from_template
from sandbox.stack.setup import AppConnection, StackSetup
from sandbox.stack.template import load_template

if TYPE_CHECKING:
    from sandbox.stack.dryrun import WriteLog

# The layer is on Lambda's path (/opt/python); `python -m sandbox.stack.dev` puts it on ours.
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

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


# ---- dev fixtures ------------------------------------------------------------------------------
# Dev-only values, known so that the events/ files can name them: `make invoke` against a running
# `make dev` then reaches real records. They live only in the local sandboxes and moto.
# Each app's connection id and webhook secret are its registered dev values (sandbox.apps); against
# a real service, which posts to a URL the developer exposes, the secret is random instead.
# The fixtures' creation time; the events/ files are dated after it (2026-01-15T12:00:00Z), so the
# engine never takes them for events older than what it already synced.
DEV_FIXTURE_TIME = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DevFixtures:
    """The records `make dev` seeds with the sandboxes, none of them synced yet.

    GHL (location DevConfig.location_id): contact Grace Hopper <grace.hopper@dev.example>, tag
    `lead`, a completed task "Send the quote" and a note "Met at the conference"; a TEXT custom
    field `contact.membership_status` (README "GHL custom fields").
    Each app: its `AppSandbox.seed_dev_fixtures` (Kayako: customer Alan Turing, see
    sandbox.apps.kayako.stack), by app name.
    """

    ghl_contact_id: str
    ghl_task_id: str
    ghl_note_id: str
    apps: Mapping[str, Mapping[str, int | str]]


# The sandboxes' ids are deterministic (seed 0, fixed order of creation): these are what they give.
DEV_FIXTURES = DevFixtures(
    ghl_contact_id="V4RiTMlO4GUwh2CYbuau",
    ghl_task_id="pVEO0tP9ChMkHHYWiLwZ",
    ghl_note_id="NxeQnrj4eaZCpZp0sI7s",
    apps={app.app: dict(app.dev_fixture_ids) for app in registered_apps()},
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


# ---- servers ----------------------------------------------------------------------------------


def moto_app() -> tuple[Any, type[WSGIRequestHandler]]:
    """moto's server app (all services, one shared state) and a request handler that keeps quiet."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    moto_scale.install()

    class Handler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """moto would log every AWS call; the handlers' own logs say what matters."""

    return DomainDispatcherApplication(create_backend_app), Handler


# ---- the stack --------------------------------------------------------------------------------


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
        self._env = EnvPatch()
        self._stop = threading.Event()
        self.pollers: list[SqsPoller] = []
        self.ticker: ScheduleTicker | None = None
        self.env: dict[str, str] = {}
        self.physical_ids: dict[str, str] = {}
        self.session: boto3.session.Session | None = None
        self.ghl: Any = None  # sandbox.ghl.GhlSandbox
        # The running app fakes, and every app's base URL (its fake's, or a real service's).
        self.apps: dict[str, AppSandbox] = {}
        self.app_urls: dict[str, str] = {}
        self.connection_ids: dict[str, str] = {}
        self.fixtures: DevFixtures | None = None
        self.sandbox_clock = SandboxClock()
        self.gateway_url = self.moto_url = self.ghl_url = ""
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
        app_servers: dict[str, ServerThread] = {}
        for app in cfg.registered():
            if app.app in cfg.app_base_urls:
                self.app_urls[app.app] = cfg.app_base_urls[app.app].rstrip("/")
            else:
                server = app_servers[app.app] = ServerThread(
                    app.app, HOST, cfg.app_ports.get(app.app, app.dev_port)
                )
                self.app_urls[app.app] = f"{server.url}{app.api_path}"
        self._servers += [server for server in (ghl, *app_servers.values()) if server is not None]
        self.moto_url, self.gateway_url = moto.url, gateway.url
        self.ghl_url = (cfg.ghl_base_url or (ghl.url if ghl else "")).rstrip("/")

        app, handler = moto_app()
        moto.serve(app, request_handler=handler)
        # moto keeps its state in module globals: an earlier stack in this process must not leak in.
        httpx.post(f"{self.moto_url}/moto-api/reset", timeout=10).raise_for_status()
        self._env.set({"AWS_ENDPOINT_URL": self.moto_url, **FAKE_CREDENTIALS, **LOCAL_POWERTOOLS})
        self.session = boto3.session.Session(region_name=REGION)

        overrides = {"Stage": cfg.stage, "GhlApiBaseUrl": self.ghl_url}
        if ghl is not None:
            self.ghl = new_ghl_sandbox(self.sandbox_clock, cfg.ghl_access_token_ttl_s)
            ghl.serve(self.ghl.wsgi_app, log=log("ghl"))
            overrides.update(ghl_key_parameters(self.ghl))
        for app in cfg.registered():
            if app.app in app_servers:
                sandbox = self.apps[app.app] = app.build(self.app_urls[app.app], self.sandbox_clock, 0)
                app_servers[app.app].serve(sandbox.fake.wsgi_app, log=log(app.app))
        overrides.update(cfg.parameter_overrides)
        stack = provision(
            self.template, session=self.session, stack_name=cfg.stack_name, parameter_overrides=overrides
        )
        self.physical_ids = stack.physical_ids()
        env = stack.global_environment()
        for spec in self.template.functions():
            env.update(stack.function_environment(spec.logical_id))
        env.update(cfg.env_overrides)
        self._env.set(env)
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
        self._wire_sandboxes(log("dev"))

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
            f"gateway {self.gateway_url} | GHL {self.ghl_url} | "
            + "".join(f"{app} {url} | " for app, url in self.app_urls.items())
            + f"AWS {self.moto_url}"
            + (" | DRY RUN: writes are recorded, not sent" if cfg.dry_run else "")
        )
        log("dev")("for connections_cli and ghlsync in another shell: " + self.cli_exports())

    # What the operator CLIs need to find this stack (the README's make dev section points here).
    CLI_VARIABLES = (
        "SYNC_TABLE_NAME",
        "SYNC_QUEUE_URL",
        "SYNC_DLQ_URL",
        "GHL_API_BASE_URL",
        "TOKEN_SECRET_PREFIX",
        "CONNECTION_SECRET_PREFIX",
    )

    def cli_exports(self) -> str:
        """One `export` line: moto's endpoint, moto's dummy credentials and the stack's names."""
        names = {
            "AWS_ENDPOINT_URL": self.moto_url,
            **FAKE_CREDENTIALS,
            **{name: self.env[name] for name in self.CLI_VARIABLES if name in self.env},
        }
        return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in names.items())

    def _wire_sandboxes(self, log: Callable[[str], None]) -> None:
        """The dev location (PIT in its token secret), its GHL webhooks, and one connection per
        app (sandbox.stack.setup) with the app's webhooks aimed at it."""
        cfg = self.config
        table = self.session.resource("dynamodb").Table(self.env["SYNC_TABLE_NAME"])  # type: ignore[union-attr]
        setup = StackSetup(
            table,
            self.client("secretsmanager"),
            token_secret_prefix=self.env["TOKEN_SECRET_PREFIX"],
            connection_secret_prefix=self.env["CONNECTION_SECRET_PREFIX"],
        )
        if self.ghl is not None:
            self.ghl.add_location(cfg.location_id, token=cfg.location_token)
        if cfg.fixtures and self.ghl is not None and len(self.apps) == len(cfg.registered()):
            # Before any webhook target exists: the fixtures stay unsynced until an event names them.
            self.fixtures = self._seed_fixtures()
        if self.ghl is not None:
            self.ghl.register_webhook(f"{self.gateway_url}/webhooks/ghl", location_id=cfg.location_id)
        else:
            log(
                f"GHL webhooks: <public URL of {self.gateway_url}>/webhooks/ghl "
                "(your Marketplace app's webhook URL)"
            )
        setup.add_location(cfg.location_id, cfg.location_token, installed_at=datetime.now(UTC))
        for app in cfg.registered():
            wanted = self._dev_connection(app)
            connection = setup.add_connection(cfg.location_id, wanted)
            self.connection_ids[app.app] = connection.connection_id
            if wanted.workflow_api_key is not None:
                log(
                    f"{app.app} workflow API: {self.gateway_url}/connections/{connection.connection_id}"
                    f"/contacts/<contactId>/bundle with header X-Api-Key: {wanted.workflow_api_key}"
                )
            url = f"{self.gateway_url}{connection.webhook_path}"
            sandbox = self.apps.get(app.app)
            if sandbox is not None:
                sandbox.register_webhooks(url, wanted.credentials)
            else:
                secret = setup.connection_secrets.secret_id(connection.connection_id)
                log(f"{app.app} webhooks: <public URL of {url}> with the webhook secret in secret {secret}")
        token_secret = setup.tokens.secret_name(cfg.location_id)
        connections = ", ".join(f"{app} connection {conn}" for app, conn in self.connection_ids.items())
        log(f"location {cfg.location_id} (token in secret {token_secret}) ⇄ {connections}")
        if self.fixtures is not None:
            people = "; ".join(f"{app} {ids}" for app, ids in self.fixtures.apps.items())
            log(
                f"dev fixtures (not synced yet): GHL contact {self.fixtures.ghl_contact_id} Grace Hopper; "
                f"{people}; the events/ files name them (make invoke FN=... EVENT=events/...)"
            )

    def _dev_connection(self, app: SandboxedApp) -> AppConnection:
        """The app's dev connection: to its fake with the dev secret, or to the real service."""
        extra = self.config.app_settings.get(app.app, {})
        sandbox = self.apps.get(app.app)
        if sandbox is not None:
            settings = {**sandbox.connection_settings(), **extra}
            credentials = sandbox.credentials(app.dev_webhook_secret)
        else:
            login = self.config.app_logins.get(app.app, {})
            settings, credentials = app.real_connection(
                self.app_urls[app.app], login, secrets.token_urlsafe(24)
            )
            settings = {**settings, **extra}
        return AppConnection(
            app.app,
            settings,
            credentials,
            connection_id=app.dev_connection_id,
            workflow_api_key=app.dev_workflow_api_key,
        )

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
            # After the records above, so their documented ids stay what they were.
            define_field(self.ghl, cfg.location_id, "Membership Status", "TEXT")
            apps = {app: sandbox.seed_dev_fixtures() for app, sandbox in self.apps.items()}
        seeded = DevFixtures(contact.id, task.id, note.id, apps)
        if seeded != DEV_FIXTURES:
            # The events/ files name DEV_FIXTURES: with other ids they would reach nothing.
            raise StackError(
                f"the sandboxes seeded {seeded}, not the documented {DEV_FIXTURES}; "
                "update DEV_FIXTURES (or the app's dev_fixture_ids) and the events/ files that name them"
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
        return sent + sum(len(sandbox.fake.deliver_webhooks()) for sandbox in self.apps.values())

    @property
    def kayako(self) -> Any:
        """The Kayako fake (sandbox.apps.kayako.KayakoSandbox), None against a real Kayako."""
        sandbox = self.apps.get("kayako")
        return None if sandbox is None else sandbox.fake

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

    def _restore_env(self) -> None:
        self._env.restore()
        if self._restore_modules is not None:
            self._restore_modules()
            self._restore_modules = None


def new_ghl_sandbox(clock: Callable[[], float] = time.time, access_token_ttl_s: int | None = None) -> Any:
    from sandbox.ghl import GhlSandbox
    from sandbox.ghl.oauth import ACCESS_TOKEN_TTL_S

    return GhlSandbox(seed=0, clock=clock, access_token_ttl_s=access_token_ttl_s or ACCESS_TOKEN_TTL_S)


def ghl_key_parameters(ghl: Any) -> dict[str, str]:
    """The sandbox's webhook signing keys, in place of GHL's published ones."""
    keys = ghl.public_keys
    return {"GhlWebhookEd25519PublicKeys": keys["ed25519"], "GhlWebhookRsaPublicKeys": keys["rsa"]}


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
        except PortInUseError as exc:
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
