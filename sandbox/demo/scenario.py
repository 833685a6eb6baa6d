"""`make demo`: a scripted scenario on the local stack, end to end through the real path.

Every change is made the way a user makes it (in the GHL or an app sandbox's "UI"); it travels as
a real webhook (signed by the GHL sandbox, token-in-URL from Kayako) over HTTP to the local API
gateway, through the ingress handler onto the SQS FIFO queue in moto, through sync_worker and the
engine, and over HTTP to the other sandbox. The demo only watches the far side for the effect.

    python -m sandbox.demo [--verbose]     (exit status 0 only when every flow and check passed)

First the foundation, on a second location: the GHL app is installed through OAuth (a client in
the GHL sandbox, its credentials in GhlAppSecret, a signed state, the consent screen's code sent
to GET /oauth/callback through the gateway → tokens in Secrets Manager, tenant registered, GHL's
INSTALL webhook answered 200), then token_refresh's schedule fires (the sandbox issues 1-hour
tokens, inside the 4-hour refresh window) → tokens rotated, the old refresh token refused by GHL,
and a GHL API call with the token provider succeeds.

Then one part per registered app that has one (`PARTS`; Kayako's is sandbox.demo.kayako): its
flows, then its consistency check against GHL. A part is a class built with the Demo, with
`app`, `title`, `connection_settings` (extra settings of the app's demo connection), `steps()`
and `consistency()`.

The stack runs with nothing in the background (`DevConfig(background=False)`): the demo delivers
webhooks and drains the queue itself, so each step is watched to its end without races, and
retries are made quick (RETRY_BASE_SECONDS=1) so the transient step takes a second, not minutes.
`run_demo(stack)` runs the same scenario on any started DevStack and returns a DemoReport.
"""

import argparse
import io
import json
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from sandbox.apps import registered_apps
from sandbox.apps.generic.stack import GENERIC_B
from sandbox.demo.report import Check, DemoReport, StepFailed, StepResult
from sandbox.fakes.server import PortInUseError
from sandbox.stack.dev import DevConfig, DevStack

if TYPE_CHECKING:
    from ghlsync.store.tokens import OAuthTokens

STEP_TIMEOUT_S = 8.0
# The second location, installed through OAuth (the first uses a private-integration token).
OAUTH_LOCATION_ID = "oauthInstallLocation"
OAUTH_COMPANY_ID = "demoAgencyCompany001"
# Marketplace client ids are `<24-hex app id>-<suffix>`.
OAUTH_CLIENT_ID = "64d0c0ffee5eed0dd0c0ffee-demo"
# The sandbox issues 1-hour access tokens in the demo: inside token_refresh's 4-hour window.
OAUTH_ACCESS_TOKEN_TTL_S = 3600
FAILURE_LOG_LINES = 40
POLL_INTERVAL_S = 0.05
# Mutating calls that are really reads (GHL search) or logins are not "writes".
_READ_PATHS = ("/search", "/session", "/oauth/token")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class DemoPart(Protocol):
    """One app's part of the scenario (see the module docstring)."""

    app: str
    title: str
    connection_settings: dict[str, Any]

    def __init__(self, demo: "Demo") -> None: ...

    def steps(self) -> list[tuple[str, Callable[[], str]]]: ...

    def consistency(self) -> list[Check]: ...


def demo_parts() -> dict[str, type[DemoPart]]:
    """The app parts, by app name (an app without one still runs in the stack)."""
    from sandbox.demo.ekyte import EkyteDemo
    from sandbox.demo.generic import GenericDemo
    from sandbox.demo.kayako import KayakoDemo
    from sandbox.demo.kixie import KixieDemo
    from sandbox.demo.payaca import PayacaDemo

    return {
        "kayako": KayakoDemo,
        "payaca": PayacaDemo,
        "kixie": KixieDemo,
        "ekyte": EkyteDemo,
        "generic": GenericDemo,
    }


class Demo:
    def __init__(
        self,
        stack: DevStack,
        *,
        log: Callable[[str], None],
        step_timeout_s: float = STEP_TIMEOUT_S,
    ) -> None:
        self.stack = stack
        self.ghl = stack.ghl
        self.location_id = stack.config.location_id
        self.log = log
        self.step_timeout_s = step_timeout_s
        self.report = DemoReport()
        # Every GHL webhook as sent (url, body, headers): the replay step sends one again.
        self.ghl_sent: list[tuple[str, bytes, dict[str, str]]] = []
        send = self.ghl.webhook_sender

        def recording_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
            self.ghl_sent.append((url, body, dict(headers)))
            status: int = send(url, body, headers)
            return status

        self.ghl.webhook_sender = recording_sender
        # The Marketplace app the OAuth install goes through (the secret exists only in this run).
        self.oauth_client_secret = secrets.token_urlsafe(24)
        self.oauth_tokens: OAuthTokens | None = None
        self._secrets = stack.client("secretsmanager")
        self._sqs = stack.client("sqs")
        self.table = stack.session.resource("dynamodb").Table(stack.env["SYNC_TABLE_NAME"])  # type: ignore[union-attr]
        parts = demo_parts()
        self.parts: dict[str, DemoPart] = {app: parts[app](self) for app in stack.apps if app in parts}

    # -- running --------------------------------------------------------------------------------
    def run(self) -> DemoReport:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("GHL OAuth install → tokens stored", self.oauth_install),
            ("token refresh (scheduled) → rotated", self.scheduled_token_refresh),
        ]
        for part in self.parts.values():
            steps += part.steps()
        for flow, action in steps:
            self._run_step(flow, action)
        self.report.check_sections = [(part.title, part.consistency()) for part in self.parts.values()]
        self.report.operator_views = self.operator_views()
        return self.report

    def operator_views(self) -> list[tuple[str, str]]:
        """What an operator sees afterwards: `ghlsync status` (after one connection check), and
        `ghlsync audit contact` for the last contact the demo synced (the CLI over the stack's moto
        tables and queues)."""
        from ghlsync.operator_cli import Stack, main
        from ghlsync.queue import SyncQueue
        from ghlsync.store.audit import AuditStore

        # The hourly connection check, once now, so the status shows each connection's verdict.
        self.stack.tick("ConnectionCheckFunction")
        queue = SyncQueue(self._sqs, self.stack.env["SYNC_QUEUE_URL"], self.stack.env["SYNC_DLQ_URL"])
        operator = Stack(self.table, queue)
        rows = list(AuditStore(self.table).for_location(self.location_id))
        synced = [
            r for r in rows if r.decision == "applied" and r.entity == "contact" and r.ghl_id and r.writes
        ]
        commands = [["status"]]
        if synced:
            commands.append(["audit", "contact", str(synced[-1].ghl_id), "--limit", "20"])
        views = []
        for argv in commands:
            out = io.StringIO()
            main(argv, stack=operator, out=out)
            views.append((f"ghlsync {' '.join(argv)}", out.getvalue()))
        return views

    def _run_step(self, flow: str, action: Callable[[], str]) -> None:
        self.log(f"▶ {flow}")
        self._latency: float | None = None
        started = time.perf_counter()
        try:
            happened = action()
            # A step that waited for no effect (a synchronous API answer) took its own time.
            latency = self._latency if self._latency is not None else time.perf_counter() - started
            result = StepResult(flow, happened, True, latency)
        except StepFailed as exc:
            result = StepResult(flow, str(exc), False, self._latency)
        except Exception as exc:  # a component blew up: report it as this flow's failure
            result = StepResult(flow, f"error: {type(exc).__name__}: {exc}", False, self._latency)
        self.log(f"{'✔' if result.passed else '✘'} {flow}: {result.happened}")
        self.report.steps.append(result)
        self.settle()  # leave nothing in flight for the next step

    # -- waiting for effects ----------------------------------------------------------------------
    # -- waiting for effects ----------------------------------------------------------------------
    def settle(self) -> int:
        """Deliver queued webhooks and drain the queue until nothing moves; returns the work done."""
        total = 0
        while moved := self.stack.deliver_webhooks() + self.stack.drain():
            total += moved
        return total

    def until(self, what: str, check: Callable[[], bool], *, since: float | None = None) -> float:
        """Settle and re-check until `check()` holds; the latency is measured from `since`."""
        started = time.perf_counter() if since is None else since
        deadline = time.perf_counter() + self.step_timeout_s
        while True:
            self.settle()
            if check():
                self._latency = time.perf_counter() - started
                return self._latency
            if time.perf_counter() > deadline:
                raise StepFailed(f"timed out waiting for {what}{self._in_flight()}")
            if self._quiet():
                raise StepFailed(f"{what} never happened (nothing left in flight){self._last_failure()}")
            time.sleep(POLL_INTERVAL_S)  # a message is waiting out its retry backoff

    def queue_depth(self, url: str) -> int:
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def _quiet(self) -> bool:
        return self.queue_depth(self.stack.env["SYNC_QUEUE_URL"]) == 0 and not any(
            sandbox.fake.outbox.pending for sandbox in self.stack.apps.values()
        )

    def _in_flight(self) -> str:
        depth = self.queue_depth(self.stack.env["SYNC_QUEUE_URL"])
        return f" ({depth} event(s) still queued){self._last_failure()}" if depth else self._last_failure()

    def _last_failure(self) -> str:
        """The newest failed audit row or dead letter, so a FAILED line says why."""
        dlq = self.queue_depth(self.stack.env["SYNC_DLQ_URL"])
        rows = [
            row
            for connection_id in self.stack.connection_ids.values()
            for row in self.audit_rows(connection_id)
        ]
        failed = [r for r in rows if r.get("decision") == "failed"]
        if failed:
            return f"; last failure: {failed[-1].get('reason', '')}"
        return f"; {dlq} dead letter(s)" if dlq else ""

    def audit_rows(self, connection_id: str) -> list[dict[str, Any]]:
        from ghlsync.store.audit import AuditStore

        rows = AuditStore(self.table).for_connection(connection_id)
        return [row.model_dump(mode="json") for row in rows]

    # -- the foundation: installing the app, keeping its tokens fresh -------------------------------
    # -- the foundation: installing the app, keeping its tokens fresh -------------------------------
    def oauth_install(self) -> str:
        """A location installs the Marketplace app: consent screen → GET /oauth/callback → tokens."""
        from ghlsync.ghl.oauth import make_state
        from ghlsync.store.tenants import AuthKind, TenantStatus, TenantStore
        from ghlsync.store.tokens import OAuthTokens, TokenStore

        started = time.perf_counter()
        redirect_uri = f"{self.stack.gateway_url}/oauth/callback"
        self.ghl.add_location(OAUTH_LOCATION_ID, company_id=OAUTH_COMPANY_ID)
        self.ghl.ui_create_contact(OAUTH_LOCATION_ID, firstName="Olivia", email="olivia@oauth.example")
        self.ghl.add_oauth_client(
            OAUTH_CLIENT_ID,
            self.oauth_client_secret,
            redirect_uri=redirect_uri,
            webhook_url=f"{self.stack.gateway_url}/webhooks/ghl",
        )
        # The operator's step after deploy: the app's credentials into GhlAppSecret (its generated
        # state_signing_key stays).
        app_secret = self._secrets.get_secret_value(SecretId=self.stack.env["GHL_APP_SECRET_ID"])
        app = json.loads(app_secret["SecretString"])
        app.update(
            client_id=OAUTH_CLIENT_ID, client_secret=self.oauth_client_secret, redirect_uri=redirect_uri
        )
        self._secrets.put_secret_value(
            SecretId=self.stack.env["GHL_APP_SECRET_ID"], SecretString=json.dumps(app)
        )
        # The install link carries a signed state; GHL's consent screen hands back a one-time code.
        state = make_state(app["state_signing_key"], time.time())
        code = self.ghl.authorize(OAUTH_CLIENT_ID, OAUTH_LOCATION_ID)
        response = httpx.get(redirect_uri, params={"code": code, "state": state}, timeout=10)
        self._latency = time.perf_counter() - started
        if response.status_code != 200:
            raise StepFailed(f"GET /oauth/callback answered {response.status_code}: {response.text[:200]}")
        stored = TokenStore(self._secrets, self.stack.env["TOKEN_SECRET_PREFIX"]).get(
            OAUTH_LOCATION_ID, fresh=True
        )
        tokens = stored.credentials
        if not isinstance(tokens, OAuthTokens):
            raise StepFailed(f"the location's secret holds a {tokens.kind} token, not OAuth tokens")
        if self.ghl.oauth.resolve(tokens.access_token) is None:
            raise StepFailed("the stored access token is not one GHL issued")
        tenant = TenantStore(self.table).get(OAUTH_LOCATION_ID)
        if tenant is None or (tenant.status, tenant.auth_kind) != (TenantStatus.ACTIVE, AuthKind.OAUTH):
            raise StepFailed(f"the tenant is not registered as an active OAuth install: {tenant}")
        if tenant.token_expires_at != tokens.expires_at:
            raise StepFailed("the tenant does not know when its token expires (the refresh would miss it)")
        self.settle()  # GHL's INSTALL webhook for the same install reaches /webhooks/ghl
        install = [d for d in self.ghl.deliveries if d.event_type == "INSTALL"]
        if [d.status for d in install] != [200]:
            raise StepFailed(f"the INSTALL webhook was answered {[d.status for d in install]}, not [200]")
        self.oauth_tokens = tokens
        minutes = (tokens.expires_at - datetime.now(UTC)).total_seconds() / 60
        return f"callback 200, INSTALL 200: tokens in Secrets Manager, tenant active, valid {minutes:.0f} min"

    def scheduled_token_refresh(self) -> str:
        """The token_refresh schedule fires: a token inside its window is rotated, the old one is dead."""
        from ghlsync.ghl.client import GhlClient
        from ghlsync.ghl.oauth import InvalidGrant, OAuthClient
        from ghlsync.store.leases import LeaseStore
        from ghlsync.store.tenants import TenantStore
        from ghlsync.store.tokens import OAuthTokenProvider, OAuthTokens, TokenStore

        before = self.oauth_tokens
        if before is None:
            raise StepFailed("needs the OAuth install, which did not complete")
        window_s = float(self.stack.env["TOKEN_REFRESH_WINDOW_SECONDS"])
        if not before.expires_within(window_s, datetime.now(UTC)):
            raise StepFailed(f"the install's token does not expire within the {window_s:.0f}s refresh window")
        started = time.perf_counter()
        summary = self.stack.tick("TokenRefreshFunction")
        self._latency = time.perf_counter() - started
        if summary is None:
            raise StepFailed("the TokenRefreshFunction tick failed (its error is in the stack's log)")
        if not isinstance(summary, dict) or summary.get("refreshed") != 1:
            raise StepFailed(f"the scheduled refresh did not refresh exactly one token: {summary}")
        tokens = TokenStore(self._secrets, self.stack.env["TOKEN_SECRET_PREFIX"])
        after = tokens.get(OAUTH_LOCATION_ID, fresh=True).credentials
        if not isinstance(after, OAuthTokens) or after.refresh_token == before.refresh_token:
            raise StepFailed("the stored refresh token did not change")
        with httpx.Client(timeout=10) as http:
            oauth = OAuthClient(http, self.stack.ghl_url, OAUTH_CLIENT_ID, self.oauth_client_secret)
            try:
                oauth.refresh(before.refresh_token)
            except InvalidGrant:
                pass  # single-use: GHL rotated it
            else:
                raise StepFailed("GHL still accepts the old refresh token")
            table = self.table
            provider = OAuthTokenProvider(tokens, LeaseStore(table), TenantStore(table), oauth)
            client = GhlClient(http, provider, OAUTH_LOCATION_ID, base_url=self.stack.ghl_url)
            contacts = list(client.list_contacts())
        if provider.access_token(OAUTH_LOCATION_ID) != after.access_token:
            raise StepFailed("the provider does not hand out the rotated access token")
        return f"rotated; old refresh token → invalid_grant; new token reads GHL ({len(contacts)} contact)"

    def ghl_writes(self) -> int:
        return sum(1 for method, path, _ in self.ghl.request_log if is_write(method, path))


def is_write(method: str, path: str) -> bool:
    return method.upper() in _WRITE_METHODS and not any(marker in path for marker in _READ_PATHS)


def run_demo(stack: DevStack, *, log: Callable[[str], None] | None = None) -> DemoReport:
    """Run the scenario on a started stack (best with `background=False`) and return its report."""
    return Demo(stack, log=log or stack.stream.component("demo")).run()


def demo_config() -> DevConfig:
    """Free ports, nothing in the background, quick retries: the demo's own stack."""
    parts = demo_parts()
    return DevConfig(
        gateway_port=0,
        moto_port=0,
        ghl_port=0,
        app_ports={app.app: 0 for app in registered_apps()},
        # The generic app in style B (no webhooks, polled): `make dev` runs style A.
        apps=tuple(GENERIC_B if app.app == "generic" else app for app in registered_apps()),
        background=False,
        # The demo makes its own people; the dev fixtures would be unsynced extras in its checks.
        fixtures=False,
        ghl_access_token_ttl_s=OAUTH_ACCESS_TOKEN_TTL_S,
        env_overrides={"RETRY_BASE_SECONDS": "1", "RETRY_MAX_SECONDS": "1"},
        app_settings={app: dict(part.connection_settings) for app, part in parts.items()},
        capture_stdout=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="also show every component's log lines")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stack_logs = sys.stdout if args.verbose else io.StringIO()
    progress = sys.stdout

    def log(line: str) -> None:
        progress.write(f"[demo] {line}\n")
        progress.flush()

    titles = {app: part.title for app, part in demo_parts().items()}
    try:
        with DevStack(demo_config(), out=stack_logs) as stack:
            apps = "".join(f", {titles.get(app, app)} {url}" for app, url in stack.app_urls.items())
            log(f"stack up: gateway {stack.gateway_url}, GHL {stack.ghl_url}{apps}")
            report = run_demo(stack, log=log)
    except PortInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not report.ok and isinstance(stack_logs, io.StringIO):
        tail = stack_logs.getvalue().splitlines()[-FAILURE_LOG_LINES:]
        print(f"\nlast {len(tail)} log lines of the stack (--verbose shows them all):\n" + "\n".join(tail))
    print()
    print(report.render())
    print(f"\n(demo took {time.perf_counter() - started:.1f}s)")
    return 0 if report.ok else 1
