"""World: the whole stack in one process, no sockets, through the real Lambda handlers.

    with World(seed=7) as world:
        contact = world.ghl.ui_create_contact(world.location_id, firstName="Ada", email="ada@x.test")
        world.settle()                       # webhooks -> ingress -> SQS -> sync_worker -> sandboxes
        assert world.app_writes("kayako")    # the sync's own API calls, with their JSON bodies

What is real and what stands in:
- AWS: moto (`mock_aws`) with template.yaml's tables, queues and secrets (sandbox.stack.aws); every
  function's environment is the template's (Globals + its own variables), resolved against them.
- GHL and every registered app (sandbox.apps.registered_apps(): Kayako today): the sandboxes,
  in-process, sharing one fake clock (`world.clock`). A PIT location with its token secret and
  tenant row, and one connection per app made as `ghlsync.connections_cli create` makes it: the
  one stack-setup path (sandbox.stack.setup) the dev stack uses too.
- The workflow API: `world.request(...)` sends an API Gateway proxy event for any template route
  (the workflow API's) to its real handler; `world.issue_workflow_key(app)` gives a connection a
  key the way `connections_cli create` does (an app with `dev_workflow_api_key` has that one).
- Webhooks: the GHL sandbox's and every app fake's webhook sender become API Gateway
  proxy events (sandbox.stack.gateway) for the template's routes, handled by `ghl_webhook` /
  `app_webhook` exactly as deployed; the status they answer goes back to the sandbox (so GHL's
  retry-on-429 applies).
- The worker: `sync_worker`'s handler fed by the Lambda-like SQS poller (sandbox.stack.poller): batches
  of the template's size, ReportBatchItemFailures, FIFO group blocking, the worker's own backoff
  and dead-lettering, moto's redrive as the safety net. `dlq_redrive` is invoked for DLQ listing
  and redrive.

Stand-ins (the World patches only these):
- `ghlsync.sync.wiring.default_connectors` (and `default_engine` over it) is replaced by a
  `ConnectorCache` whose HTTP client routes to the sandboxes (no sockets) and whose GHL client and
  Kayako connector sleep on the fake clock (a real sleep would stall the test, and the sandboxes'
  rate limits follow the fake clock).
- `ghlsync.sync.wiring.wall_clock` (what the sweep handler reads as now) is the sandboxes' clock.
- Waiting: a failed record stays invisible for the worker's backoff (a visibility timeout). When
  nothing else can move, `settle()` makes the records still in flight visible at once
  (ChangeMessageVisibility 0): the local stand-in for waiting out the backoff. Receive counts,
  FIFO blocking and dead-lettering are unaffected. A GHL webhook answered 429 is re-sent when its
  retry falls due; `settle()` moves the fake clock there.
- Time: the sandboxes' clock starts CLOCK_LAG_S behind the real clock, so webhook timestamps stay
  inside ingress' freshness window (90 min back, 5 min ahead of the real clock) however far the
  fake clock runs ahead of real time by sleeping (rate-limit pacing, backoff); `settle()` refuses to
  go on if it ran past that window.
- DLQ scans short-poll (DLQ_RECEIVE_WAIT_SECONDS=0): in-process moto answers every receive from
  one consistent state, and a long poll would block for real on the final empty receive.
"""

import base64
import contextlib
import io
import json
import random
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import httpx
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox.apps import AppSandbox, SandboxedApp, registered_apps
from sandbox.fakes.base import FakeApp
from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.ghl.variants import DEFAULT as DEFAULT_GHL
from sandbox.ghl.variants import GhlVariant
from sandbox.stack import moto_scale
from sandbox.stack.aws import ProvisionedStack, provision
from sandbox.stack.calls import Answered, ApiAnswer, ApiCall, RecordingTransport, Source, Unrouted, Webhook
from sandbox.stack.environ import EnvPatch
from sandbox.stack.gateway import build_proxy_event, find_route, routes_from_template
from sandbox.stack.lambda_runtime import LAYER_DIR, REPO_ROOT, LambdaContext, load_handler, load_module
from sandbox.stack.poller import SqsPoller, sqs_sources_from_template
from sandbox.stack.setup import AppConnection, StackSetup
from sandbox.stack.template import DEFAULT_REGION, DEFAULT_STACK_NAME, Template, load_template

# The layer is on Lambda's path (/opt/python); a World outside pytest (the bench) puts it on ours.
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from ghlsync import ingress, queue, scheduled_check, sweep
from ghlsync import refresh as refresh_job
from ghlsync.apps.base import Connector
from ghlsync.apps.ghl_hub import GhlHub
from ghlsync.apps.registry import connector_for
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.mapping.ghl import GhlFieldMap
from ghlsync.scheduled_check import CheckSummary, build_scheduled_check
from ghlsync.store import dynamo, tokens
from ghlsync.store.audit import AuditRecord, AuditStore
from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
from ghlsync.store.links import Link, LinkStore, Side
from ghlsync.sweep import SweepSummary, build_sweeper
from ghlsync.sync import wiring
from ghlsync.sync.engine import SyncEngine
from sandbox.stack.consistency import differences

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

LOCATION_ID = "worldLocation0000001"
LOCATION_TOKEN = "pit-world-location-token"
GHL_BASE_URL = "https://ghl.sandbox"
# The stack's public URL as the sandboxes know it; paths are routed like the local API gateway.
API_URL = "https://api.world.test"
CLOCK_LAG_S = 3600.0
SWEEP_INVOCATION_MS = 10 * 60 * 1000  # the sweep function's timeout
# How far the fake clock may run ahead of its start lag before webhooks would read as "future".
_CLOCK_HEADROOM_S = CLOCK_LAG_S + 4 * 60
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": DEFAULT_REGION,
    "AWS_REGION": DEFAULT_REGION,
    # There is no X-Ray daemon in-process.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
GHL_WEBHOOK_FUNCTION = "GhlWebhookFunction"
APP_WEBHOOK_FUNCTION = "AppWebhookFunction"
WORKER_FUNCTION = "SyncWorkerFunction"
REDRIVE_FUNCTION = "DlqRedriveFunction"


class NotSettled(AssertionError):
    """settle() ran out of rounds with work still moving (an echo loop, a message that never ends)."""


class ClockRanAhead(RuntimeError):
    """The fake clock ran so far ahead that GHL webhooks would be refused as from the future."""


def _clear_containers() -> None:
    """Forget every per-container object the layer built (clients, settings, stores): each World
    is a fresh deployment, and nothing built against another moto may leak in or out."""
    for cached in (
        get_settings,
        ingress.default_ghl_ingress,
        ingress.default_app_ingress,
        queue.sqs_client,
        dynamo.sync_table,
        dynamo.secrets_client,
        tokens.token_http_client,
        tokens.default_token_store,
        tokens.default_tenant_store,
        tokens.default_oauth_client,
        tokens.default_token_provider,
    ):
        cached.cache_clear()
    load_module("functions/sync_worker").worker.cache_clear()
    load_module("functions/workflow_api").workflow_api.cache_clear()
    load_module("functions/caller_lookup").caller_lookup.cache_clear()
    load_module("functions/sweep").sweeper.cache_clear()
    sweep.default_sweeper.cache_clear()
    scheduled_check.default_scheduled_check.cache_clear()
    load_module("functions/refresh").scheduled_jobs.cache_clear()
    refresh_job.default_runner.cache_clear()


class World:
    """See the module docstring. Use as a context manager (or start() / close())."""

    def __init__(
        self,
        *,
        seed: int = 0,
        conflict_policy: str = "lww",
        skew_seconds: float = 5.0,
        parameter_overrides: dict[str, str] | None = None,
        env_overrides: dict[str, str] | None = None,
        template: Template | None = None,
        apps: Sequence[SandboxedApp] | None = None,
        ghl_variant: GhlVariant = DEFAULT_GHL,
    ) -> None:
        """`parameter_overrides`: template parameters (e.g. MaxReceiveCount), as `sam deploy` takes
        them; `env_overrides`: function environment on top of the template's; `apps`: the apps to
        run instead of every registered one (another configuration, such as generic style B);
        `ghl_variant`: the GHL sandbox's unconfirmed switches (sandbox.ghl.variants)."""
        self.seed = seed
        self.location_id = LOCATION_ID
        self._conflict_policy = conflict_policy
        self._skew_seconds = skew_seconds
        self._parameter_overrides = parameter_overrides or {}
        self._env_overrides = env_overrides or {}
        self.template = template or load_template()
        self.clock = FakeClock(start=float(int(time.time() - CLOCK_LAG_S)))
        self._clock_start = self.clock()
        self._real_start = time.time()
        self.ghl = GhlSandbox(
            clock=self.clock, sleep=self.clock.sleep, seed=seed, **ghl_variant.sandbox_options()
        )
        self._registered = list(registered_apps() if apps is None else apps)
        self.apps: dict[str, AppSandbox] = {
            app.app: app.build(f"https://world.{app.app}.test{app.api_path}", self.clock, seed)
            for app in self._registered
        }
        self.calls: list[ApiCall] = []
        self.answers: dict[Source, list[Answered]] = {side: [] for side in ("ghl", *self.apps)}
        self.connection_ids: dict[str, str] = {}
        # Every record handed to sync_worker, in order (a retried event appears once per attempt).
        self.worker_records: list[ChangeEvent] = []
        self._capture: list[Webhook] | None = None
        self._in_flight: dict[str, str] = {}  # message id -> latest receipt handle
        self._last_batch: list[str] = []  # message ids of the worker's latest batch
        self._env = EnvPatch()
        self._routes = routes_from_template(self.template.document)
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._emf = io.StringIO()
        self._mock: Any = None
        self._original_engine = wiring.default_engine
        self._original_connectors = wiring.default_connectors
        self._original_wall_clock = wiring.wall_clock
        self._setup: StackSetup | None = None
        self._random_state: Any = None
        self.stack: ProvisionedStack | None = None
        self._session: boto3.session.Session | None = None
        self.http: httpx.Client | None = None
        self._poller: SqsPoller | None = None

    # ---- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> "World":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> "World":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self._env.set(_FAKE_AWS)
        self._env.unset("AWS_ENDPOINT_URL")
        moto_scale.install()
        self._mock = mock_aws()
        self._mock.start()
        self._session = boto3.session.Session(region_name=DEFAULT_REGION)
        self.stack = provision(
            self.template,
            session=self._session,
            stack_name=DEFAULT_STACK_NAME,
            parameter_overrides={
                "GhlApiBaseUrl": GHL_BASE_URL,
                "GhlWebhookEd25519PublicKeys": self.ghl.public_keys["ed25519"],
                **self._parameter_overrides,
            },
        )
        env = self.stack.global_environment()
        for spec in self.template.functions():
            env.update(self.stack.function_environment(spec.logical_id))
        env["DLQ_RECEIVE_WAIT_SECONDS"] = "0"
        env.update(self._env_overrides)
        self._env.set(env)
        _clear_containers()
        self._random_state = random.getstate()
        # The clients' and the worker's backoff jitter draw from `random`: seeded, runs repeat.
        random.seed(self.seed)

        self.http = httpx.Client(
            timeout=wiring.HTTP_TIMEOUT,
            transport=Unrouted(),
            mounts={
                GHL_BASE_URL: RecordingTransport("ghl", self.ghl.transport(), self.calls),
                **{
                    _origin(sandbox.base_url): RecordingTransport(app, sandbox.transport(), self.calls)
                    for app, sandbox in self.apps.items()
                },
            },
        )
        wiring.default_connectors = cache(self._build_connectors)
        wiring.default_engine = cache(self._build_engine)
        wiring.wall_clock = self.now
        self._wire_sandboxes()
        [source] = [
            s
            for s in sqs_sources_from_template(self.template.document, self.stack.intrinsics.resolve)
            if s.function == WORKER_FUNCTION
        ]
        self._poller = SqsPoller(
            self.sqs,
            self.queue_url,
            self._invoke_worker,
            batch_size=source.batch_size,
            report_batch_item_failures=source.report_batch_item_failures,
            wait_seconds=0,
            region=DEFAULT_REGION,
        )

    def close(self) -> None:
        """Undo everything start() did; safe to call twice."""
        wiring.default_engine = self._original_engine
        wiring.default_connectors = self._original_connectors
        wiring.wall_clock = self._original_wall_clock
        if self._mock is not None:
            _clear_containers()
            self._mock.stop()
            self._mock = None
        if self.http is not None:
            self.http.close()
            self.http = None
        if self._random_state is not None:
            random.setstate(self._random_state)
            self._random_state = None
        self._env.restore()
        get_settings.cache_clear()

    def _wire_sandboxes(self) -> None:
        """The PIT location (token secret + tenant row) and its GHL webhooks; per app, one
        connection (sandbox.stack.setup) and the fake's webhooks aimed at it."""
        settings = get_settings()
        setup = StackSetup(
            self.table,
            self.secrets,
            token_secret_prefix=settings.token_secret_prefix,
            connection_secret_prefix=settings.connection_secret_prefix,
        )
        self._setup = setup
        self.ghl.add_location(self.location_id, token=LOCATION_TOKEN)
        self.ghl.register_webhook(f"{API_URL}/webhooks/ghl", location_id=self.location_id)
        self.ghl.webhook_sender = partial(self._send, "ghl")
        setup.add_location(self.location_id, LOCATION_TOKEN, installed_at=self.now())
        sync_settings = {"conflict_policy": self._conflict_policy, "skew_seconds": self._skew_seconds}
        dev_keys = {app.app: app.dev_workflow_api_key for app in self._registered}
        for app, sandbox in self.apps.items():
            credentials = sandbox.credentials(webhook_secret=secrets.token_urlsafe(24))
            wanted = AppConnection(
                app,
                sandbox.connection_settings(),
                credentials,
                sync_settings=sync_settings,
                workflow_api_key=dev_keys.get(app),
            )
            connection = setup.add_connection(self.location_id, wanted, created_at=self.now())
            self.connection_ids[app] = connection.connection_id
            sandbox.register_webhooks(f"{API_URL}{connection.webhook_path}", credentials)
            sandbox.fake.webhook_sender = partial(self._send, app)

    def _build_connectors(self) -> wiring.ConnectorCache:
        """What `wiring.default_connectors()` builds, over the World's HTTP client and clock."""
        assert self.http is not None
        return wiring.ConnectorCache(self.http, get_settings(), sleep=self.clock.sleep, clock=self.clock)

    def _build_engine(self) -> SyncEngine:
        """What `wiring.default_engine()` builds: the engine over the World's connectors."""
        # The sandboxes' clock says when a change was applied, as it says when it was made.
        return wiring.build_engine(wiring.default_connectors(), clock=self.now)

    def sweep(self) -> SweepSummary:
        """One scheduled sweep over the World's connectors and clock (what polls apps without
        webhooks, eKyte's feeds); what it queues is handled by the next `settle()`."""
        connectors = wiring.default_connectors()
        sweeper = build_sweeper(connectors.hub_for, connectors.app_for, clock=self.now)
        return sweeper.run(lambda: SWEEP_INVOCATION_MS)

    def check_connections(self) -> CheckSummary:
        """One scheduled connection check over the World's connectors and clock; its metrics are
        kept for `emf_records()` as a handler's are."""
        checker = build_scheduled_check(wiring.default_connectors().app_for, clock=self.now)
        with contextlib.redirect_stdout(self._emf):
            return checker.run(lambda: SWEEP_INVOCATION_MS)

    def refresh(self) -> dict[str, Any]:
        """One tick of the refresh schedule through the real handler (RefreshFunction): the paused
        backfills due resumed, every due business-enriched refresh run within the function's
        timeout; returns its summary."""
        event = json.loads((REPO_ROOT / "events" / "refresh_scheduled.json").read_text())
        answer: dict[str, Any] = self.invoke("RefreshFunction", event)
        return answer

    def issue_workflow_key(self, app: str | None = None) -> str:
        """A new workflow-API key for the app's connection (as `connections_cli create` makes it)."""
        assert self._setup is not None, "start() the World first"
        return self._setup.issue_workflow_key(self.connection_ids[self._app(app)])

    # ---- AWS handles ------------------------------------------------------------------------
    def _ids(self) -> dict[str, str]:
        assert self.stack is not None, "start() the World first"
        return self.stack.physical_ids()

    @cached_property
    def sqs(self) -> "SQSClient":
        assert self._session is not None, "start() the World first"
        return self._session.client("sqs")

    @property
    def queue_url(self) -> str:
        return self._ids()["SyncQueue"]

    @property
    def dlq_url(self) -> str:
        return self._ids()["SyncDeadLetterQueue"]

    @cached_property
    def table(self) -> "Table":
        assert self._session is not None, "start() the World first"
        return self._session.resource("dynamodb").Table(self._ids()["SyncTable"])

    @cached_property
    def secrets(self) -> Any:
        assert self._session is not None, "start() the World first"
        return self._session.client("secretsmanager")

    @property
    def connections(self) -> ConnectionStore:
        return ConnectionStore(self.table)

    # ---- functions --------------------------------------------------------------------------
    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run one function's real handler with a Lambda-like context."""
        spec = self.template.function(logical_id)
        handler = self._handlers.get(logical_id)
        if handler is None:
            handler = self._handlers[logical_id] = load_handler(spec.code_dir, spec.handler)
        context = LambdaContext(
            function_name=f"{DEFAULT_STACK_NAME}-{logical_id}",
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=spec.timeout,
        )
        # What a handler prints is its EMF metrics (CloudWatch would parse them): kept for metrics().
        with contextlib.redirect_stdout(self._emf):
            return handler(event, context)

    def emf_records(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every EMF document the handlers printed (one per line), or those that carry `name`."""
        documents = []
        for line in self._emf.getvalue().splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict) and "_aws" in document and (name is None or name in document):
                documents.append(document)
        return documents

    def metrics(self) -> Counter[str]:
        """The sum of every metric the handlers emitted (EMF), by name."""
        totals: Counter[str] = Counter()
        for document in self.emf_records():
            for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                for metric in directive.get("Metrics", []):
                    values = document.get(metric["Name"], [])
                    totals[metric["Name"]] += sum(values) if isinstance(values, list) else values
        return totals

    def post(self, webhook: Webhook) -> Answered:
        """POST a webhook to the stack: route, proxy event, handler, as API Gateway would."""
        parts = urlsplit(webhook.url)
        found = find_route(self._routes, "POST", parts.path)
        if found is None:
            answered = Answered(webhook, 403, {"message": "Missing Authentication Token"})
        else:
            route, params = found
            event = build_proxy_event(
                "POST",
                parts.path,
                webhook.headers,
                parse_qsl(parts.query),
                webhook.body,
                route,
                path_params=params,
            )
            result = self.invoke(route.function, event)
            answered = Answered(webhook, int(result["statusCode"]), json.loads(result.get("body") or "{}"))
        self.answers[webhook.source].append(answered)
        return answered

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        query: list[tuple[str, str]] | None = None,
    ) -> ApiAnswer:
        """One request to the stack's API: routed as API Gateway routes it, to the real handler.
        A path no route matches answers 403 "Missing Authentication Token", as API Gateway does."""
        found = find_route(self._routes, method, path)
        if found is None:
            return ApiAnswer(403, {}, b'{"message":"Missing Authentication Token"}')
        route, params = found
        event = build_proxy_event(method, path, headers or {}, query or [], body, route, path_params=params)
        result = self.invoke(route.function, event)
        text = result.get("body") or ""
        raw = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
        headers = dict(result.get("headers") or {})
        # Powertools answers REST API events with multi-value headers.
        headers.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items() if v})
        return ApiAnswer(int(result["statusCode"]), headers, raw)

    def _send(self, source: Source, url: str, body: bytes, headers: dict[str, str]) -> int:
        webhook = Webhook(source, url, body, dict(headers))
        if self._capture is not None:
            self._capture.append(webhook)
            return 200
        return self.post(webhook).status

    def _invoke_worker(self, event: dict[str, Any]) -> Any:
        self._last_batch = [record["messageId"] for record in event["Records"]]
        for record in event["Records"]:
            self._in_flight[record["messageId"]] = record["receiptHandle"]
            # A body that is not a ChangeEvent is the worker's to dead-letter (as unreadable).
            with contextlib.suppress(ValueError):
                self.worker_records.append(ChangeEvent.model_validate_json(record["body"]))
        return self.invoke(WORKER_FUNCTION, event)

    # ---- moving things along ----------------------------------------------------------------
    def capture_webhooks(self) -> list[Webhook]:
        """Take every queued webhook of every sandbox without posting it (the sandboxes see 200),
        so a test can post them itself: repeated, reordered."""
        captured: list[Webhook] = []
        self._capture = captured
        try:
            self.deliver_webhooks()
        finally:
            self._capture = None
        return captured

    def deliver_webhooks(self) -> int:
        """Post every due webhook of every sandbox through ingress; returns how many."""
        return sum(len(fake.deliver_webhooks()) for fake in self._fakes())

    def _fakes(self) -> list[FakeApp]:
        return [self.ghl, *(sandbox.fake for sandbox in self.apps.values())]

    def drain(self) -> int:
        """Poll the sync queue (sync_worker) until a receive comes back empty; returns records run."""
        assert self._poller is not None, "start() the World first"
        total = 0
        while (result := self._poller.poll_once(wait_seconds=0)).received:
            total += result.received
            failed = set(result.failed_ids)
            # Only this batch's records are done: a record an earlier batch failed still waits.
            for message_id in [m for m in self._last_batch if m not in failed]:
                self._in_flight.pop(message_id, None)
        return total

    def release_in_flight(self) -> int:
        """Make the records that failed (waiting out their backoff) visible now; returns how many.

        The local stand-in for waiting: what time would do, minus the wait."""
        released = 0
        for message_id, handle in list(self._in_flight.items()):
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
                released += 1
            except ClientError:
                pass  # gone meanwhile (moved to the DLQ by the queue's redrive policy)
            del self._in_flight[message_id]
        return released

    def _next_webhook_retry(self) -> float | None:
        pending = [d.next_attempt_at for fake in self._fakes() for d in fake.outbox.pending]
        return min(pending) if pending else None

    def settle(self, max_rounds: int = 60) -> int:
        """Deliver webhooks both ways and run the worker until nothing moves and nothing waits.

        A round that moved something advances the clock one second. Returns the rounds used.

        The rounds run on a fresh thread (joined at once: nothing runs concurrently). CPython 3.13
        grows its frame stack in chunks; under pytest's deep stack, moto's recursive deep copies
        (every DynamoDB transaction copied the table, before sandbox.stack.moto_scale) oscillate
        across a chunk boundary and each call maps and unmaps one, two million times in a
        200-change run (~30 s of system time).
        A new thread starts with an empty stack, as a Lambda invocation would."""
        outcome: list[int | BaseException] = []

        def run() -> None:
            try:
                outcome.append(self._settle(max_rounds))
            except BaseException as exc:  # re-raised on the caller's thread
                outcome.append(exc)

        thread = threading.Thread(target=run, name="world-settle")
        thread.start()
        thread.join()
        [result] = outcome
        if isinstance(result, BaseException):
            raise result
        return result

    def _settle(self, max_rounds: int) -> int:
        for rounds in range(1, max_rounds + 1):
            self._check_clock()
            if self.deliver_webhooks() + self.drain():
                self.clock.advance(1)
                continue
            if self.release_in_flight():
                continue
            retry_at = self._next_webhook_retry()
            if retry_at is not None:
                self.clock.advance(max(retry_at - self.clock(), 0))
                continue
            return rounds
        raise NotSettled(f"still moving after {max_rounds} rounds; queue: {self.queue_depth()}")

    def _check_clock(self) -> None:
        ahead = (self.clock() - self._clock_start) - (time.time() - self._real_start)
        if ahead > _CLOCK_HEADROOM_S:
            raise ClockRanAhead(
                f"the sandboxes' clock ran {ahead:.0f}s ahead of real time; GHL webhooks would be "
                "refused as from the future (raise CLOCK_LAG_S)"
            )

    def now(self) -> datetime:
        """The sandboxes' clock as an aware datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def queue_depth(self) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])[
            "Attributes"
        ]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        }

    # ---- what happened ------------------------------------------------------------------------
    def api_calls(self, side: Source | None = None, *, since: int = 0) -> list[ApiCall]:
        return [c for c in self.calls[since:] if side is None or c.side == side]

    def ghl_writes(self, *, since: int = 0) -> list[ApiCall]:
        return [c for c in self.api_calls("ghl", since=since) if c.is_write]

    def app_writes(self, app: str | None = None, *, since: int = 0) -> list[ApiCall]:
        return [c for c in self.api_calls(self._app(app), since=since) if c.is_write]

    def mark(self) -> int:
        """A position in the call log: pass it as `since=` to see only what came after."""
        return len(self.calls)

    def audit(self) -> list[AuditRecord]:
        """Every audit row of the location, oldest first."""
        return list(AuditStore(self.table).for_location(self.location_id))

    def dead_letters(self) -> list[dict[str, Any]]:
        """The DLQ as the dlq_redrive function lists it (event, failure_kind, failure_reason, ...)."""
        listed = self.invoke(REDRIVE_FUNCTION, {"action": "list", "max": 10_000})
        return list(listed["dead_letters"])

    def redrive(self) -> dict[str, Any]:
        """Send every dead letter back to the sync queue through the dlq_redrive function."""
        return dict(self.invoke(REDRIVE_FUNCTION, {"action": "redrive", "max": 10_000}))

    def _app(self, app: str | None) -> str:
        """The app named, or the only one registered."""
        if app is not None:
            return app
        if len(self.apps) != 1:
            raise ValueError(f"name the app: the World runs {sorted(self.apps)}")
        return next(iter(self.apps))

    @property
    def connection_id(self) -> str:
        """The connection of the only registered app."""
        return self.connection_ids[self._app(None)]

    def fake(self, app: str | None = None) -> FakeApp:
        return self.apps[self._app(app)].fake

    @property
    def kayako(self) -> Any:
        """The Kayako fake (sandbox.apps.kayako.KayakoSandbox): what the Kayako flow tests edit."""
        return self.fake("kayako")

    def link(self, entity: EntityKind, side: Side, record_id: str, *, app: str | None = None) -> Link | None:
        return LinkStore(self.table).get(self.connection_ids[self._app(app)], entity, side, record_id)

    def app_id_of(self, entity: EntityKind, ghl_id: str, *, app: str | None = None) -> str:
        link = self.link(entity, Side.GHL, ghl_id, app=app)
        assert link is not None, f"GHL {entity} {ghl_id} is not linked"
        return link.app.id

    def ghl_id_of(self, entity: EntityKind, app_id: int | str, *, app: str | None = None) -> str:
        link = self.link(entity, Side.APP, str(app_id), app=app)
        assert link is not None, f"{self._app(app)} {entity} {app_id} is not linked"
        return link.ghl.id

    # ---- reading both sides (outside the sync's call log) --------------------------------------
    def quiet(self) -> None:
        """Stop injecting faults on every side."""
        self.ghl.faults.configure()
        for sandbox in self.apps.values():
            sandbox.reset()

    @cache  # noqa: B019 - one client per World, which lives as long as it
    def ghl_api(self) -> GhlClient:
        """A GHL API client with the location's token, as a user's own integration would edit with;
        its calls are not in the sync's call log."""
        http = httpx.Client(base_url=GHL_BASE_URL, transport=self.ghl.transport())
        return GhlClient(
            http,
            StaticTokenProvider(LOCATION_TOKEN),
            self.location_id,
            base_url=GHL_BASE_URL,
            sleep=self.clock.sleep,
            clock=self.clock,
        )

    @cache  # noqa: B019
    def ghl_reader(self) -> GhlHub:
        """The GHL side through its real connector (canonical records), outside the call log."""
        return GhlHub(self.ghl_api(), GhlFieldMap())

    @cache  # noqa: B019
    def app_reader(self, app: str | None = None) -> Connector:
        """The app's side through its real connector, outside the call log."""
        app = self._app(app)
        connection = self.connections.get(self.connection_ids[app])
        assert connection is not None
        http = httpx.Client(transport=self.apps[app].transport())
        secrets = ConnectionSecrets(self.secrets, get_settings().connection_secret_prefix)
        reader = connector_for(
            connection, http=http, secrets=secrets, sleep=self.clock.sleep, clock=self.clock
        )
        return reader

    def ghl_contact_ids(self) -> list[str]:
        return [c.id for c in self.ghl.store.contacts(self.location_id)]

    def linked_pairs(self, app: str | None = None) -> list[tuple[str, str]]:
        """(GHL contact id, app record id) of every linked contact."""
        pairs = []
        for contact_id in self.ghl_contact_ids():
            link = self.link(EntityKind.CONTACT, Side.GHL, contact_id, app=app)
            if link is not None and link.active:
                pairs.append((contact_id, link.app.id))
        return pairs

    def app_person_ids(self, app: str | None = None) -> list[str]:
        """The app's records a GHL contact should be linked to (Kayako: its customers)."""
        return self.apps[self._app(app)].person_ids()

    def differences(self) -> list[str]:
        """Where GHL and each app disagree (sandbox.stack.consistency), faults off."""
        self.quiet()
        return differences(self)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
