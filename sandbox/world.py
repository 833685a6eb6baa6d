"""World: the whole stack in one process, no sockets, through the real Lambda handlers.

    with World(seed=7) as world:
        contact = world.ghl.ui_create_contact(world.location_id, firstName="Ada", email="ada@x.test")
        world.settle()                       # webhooks -> ingress -> SQS -> sync_worker -> sandboxes
        assert world.kayako_writes()         # the sync's own API calls, with their JSON bodies

What is real and what stands in:
- AWS: moto (`mock_aws`) with template.yaml's tables, queues and secrets (sandbox.aws); every
  function's environment is the template's (Globals + its own variables), resolved against them.
- GHL and Kayako: the sandboxes, in-process, sharing one fake clock (`world.clock`). A PIT
  location with its token secret and tenant row (as the dev stack sets it up), and one Kayako
  connection created by the operator CLI (`ghlsync.connections_cli create`).
- Webhooks: the GHL sandbox's `webhook_sender` and Kayako's automation sender become API Gateway
  proxy events (sandbox.gateway) for the template's routes, handled by `ghl_webhook` /
  `app_webhook` exactly as deployed; the status they answer goes back to the sandbox (so GHL's
  retry-on-429 applies).
- The worker: `sync_worker`'s handler fed by the Lambda-like SQS poller (sandbox.poller): batches
  of the template's size, ReportBatchItemFailures, FIFO group blocking, the worker's own backoff
  and dead-lettering, moto's redrive as the safety net. `dlq_redrive` is invoked for DLQ listing
  and redrive.

Stand-ins (the World patches only these):
- `ghlsync.sync.wiring.default_engine` is replaced by `wiring.build_engine` over a
  `ConnectorCache` whose HTTP client routes to the sandboxes (no sockets) and whose GHL client and
  Kayako connector sleep on the fake clock (a real sleep would stall the test, and the sandboxes'
  rate limits follow the fake clock).
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

import contextlib
import io
import json
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

import boto3
import httpx
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox.aws import ProvisionedStack, provision
from sandbox.gateway import build_proxy_event, find_route, routes_from_template
from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.kayako import CUSTOMER_ROLE_ID, KayakoSandbox
from sandbox.lambda_runtime import LAYER_DIR, LambdaContext, load_handler, load_module
from sandbox.poller import SqsPoller, sqs_sources_from_template
from sandbox.template import DEFAULT_REGION, DEFAULT_STACK_NAME, Template, load_template

# The layer is on Lambda's path (/opt/python); a World outside pytest (the bench) puts it on ours.
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from ghlsync import ingress, queue
from ghlsync.apps.ghl_hub import GhlHub
from ghlsync.apps.kayako import KayakoConnector
from ghlsync.apps.registry import connector_for, validate_app_config
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.mapping.ghl import GhlFieldMap
from ghlsync.store import dynamo, tokens
from ghlsync.store.audit import AuditRecord, AuditStore
from ghlsync.store.connections import (
    ConflictPolicy,
    Connection,
    ConnectionSecrets,
    ConnectionSettings,
    ConnectionStore,
    new_connection_id,
)
from ghlsync.store.links import Link, LinkStore, Side
from ghlsync.store.tenants import AuthKind, Tenant, TenantStore
from ghlsync.store.tokens import PrivateIntegrationToken, TokenStore
from ghlsync.sync import wiring
from ghlsync.sync.engine import SyncEngine

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

LOCATION_ID = "worldLocation0000001"
LOCATION_TOKEN = "pit-world-location-token"
GHL_BASE_URL = "https://ghl.sandbox"
KAYAKO_BASE_URL = "https://world.kayako.test/api/v1"
KAYAKO_AGENT_EMAIL = "sync-agent@world.test"
KAYAKO_AGENT_PASSWORD = "world-agent-password"
# The stack's public URL as the sandboxes know it; paths are routed like the local API gateway.
API_URL = "https://api.world.test"
CLOCK_LAG_S = 3600.0
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
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POST calls that only read (GHL's contact search).
_READ_ONLY_POSTS = ("/contacts/search",)
GHL_WEBHOOK_FUNCTION = "GhlWebhookFunction"
APP_WEBHOOK_FUNCTION = "AppWebhookFunction"
WORKER_FUNCTION = "SyncWorkerFunction"
REDRIVE_FUNCTION = "DlqRedriveFunction"

Source = Literal["ghl", "kayako"]


class NotSettled(AssertionError):
    """settle() ran out of rounds with work still moving (an echo loop, a message that never ends)."""


class ClockRanAhead(RuntimeError):
    """The fake clock ran so far ahead that GHL webhooks would be refused as from the future."""


@dataclass(frozen=True)
class ApiCall:
    """One request the sync sent to a sandbox, as it left the client."""

    side: Source
    method: str
    path: str
    status: int  # 0: no answer (an injected timeout or reset)
    body: Any  # the JSON body sent, or None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method in _WRITE_METHODS and not self.path.endswith(_READ_ONLY_POSTS)

    @property
    def is_login(self) -> bool:
        return self.side == "kayako" and self.path.endswith("/session")


class RecordingTransport(httpx.BaseTransport):
    """Records every request (with its JSON body) before the sandbox's own transport handles it."""

    def __init__(self, side: Source, inner: httpx.BaseTransport, calls: list[ApiCall]) -> None:
        self._side = side
        self._inner = inner
        self._calls = calls

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            body = request.content.decode("utf-8", "replace")
        status = 0
        try:
            response = self._inner.handle_request(request)
            status = response.status_code
            return response
        finally:
            self._calls.append(
                ApiCall(self._side, request.method, request.url.path, status, body, dict(request.url.params))
            )


class _Unrouted(httpx.BaseTransport):
    """Anything not addressed to a sandbox fails: a World never opens a socket."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"World: no sandbox serves {request.url.host}", request=request)


@dataclass(frozen=True)
class Webhook:
    """One delivery a sandbox made (or was about to make) to the stack."""

    source: Source
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Answered:
    webhook: Webhook
    status: int
    answer: dict[str, Any]


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
    ) -> None:
        """`parameter_overrides`: template parameters (e.g. MaxReceiveCount), as `sam deploy` takes
        them; `env_overrides`: function environment on top of the template's."""
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
        self.ghl = GhlSandbox(clock=self.clock, sleep=self.clock.sleep, seed=seed)
        self.kayako = KayakoSandbox(clock=self.clock, seed=seed, base_url=KAYAKO_BASE_URL)
        self.calls: list[ApiCall] = []
        self.ghl_answers: list[Answered] = []
        self.kayako_answers: list[Answered] = []
        # Every record handed to sync_worker, in order (a retried event appears once per attempt).
        self.worker_records: list[ChangeEvent] = []
        self.connection_id = ""
        self._capture: list[Webhook] | None = None
        self._in_flight: dict[str, str] = {}  # message id -> latest receipt handle
        self._saved_env: dict[str, str | None] = {}
        self._routes = routes_from_template(self.template.document)
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._emf = io.StringIO()
        self._mock: Any = None
        self._original_engine = wiring.default_engine
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
        self._set_env(_FAKE_AWS)
        self._saved_env.setdefault("AWS_ENDPOINT_URL", os.environ.pop("AWS_ENDPOINT_URL", None))
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
        self._set_env(env)
        _clear_containers()
        self._random_state = random.getstate()
        # The clients' and the worker's backoff jitter draw from `random`: seeded, runs repeat.
        random.seed(self.seed)

        self.http = httpx.Client(
            timeout=wiring.HTTP_TIMEOUT,
            transport=_Unrouted(),
            mounts={
                GHL_BASE_URL: RecordingTransport("ghl", self.ghl.transport(), self.calls),
                _origin(KAYAKO_BASE_URL): RecordingTransport("kayako", self.kayako.transport(), self.calls),
            },
        )
        wiring.default_engine = cache(self._build_engine)
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
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        get_settings.cache_clear()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _wire_sandboxes(self) -> None:
        """The PIT location (token secret + tenant row), its webhooks, and the Kayako connection."""
        settings = get_settings()
        self.ghl.add_location(self.location_id, token=LOCATION_TOKEN)
        self.ghl.register_webhook(f"{API_URL}/webhooks/ghl", location_id=self.location_id)
        self.ghl.webhook_sender = self._ghl_sender
        TokenStore(self.secrets, settings.token_secret_prefix).put(
            self.location_id, PrivateIntegrationToken(access_token=LOCATION_TOKEN)
        )
        TenantStore(self.table).register(
            Tenant(location_id=self.location_id, installed_at=self.now(), auth_kind=AuthKind.PIT)
        )
        self.kayako.add_agent(KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD)
        # As `python -m ghlsync.connections_cli create` does: validate, secret first, then the row.
        app_settings = {"base_url": KAYAKO_BASE_URL}
        credentials = {
            "email": KAYAKO_AGENT_EMAIL,
            "password": KAYAKO_AGENT_PASSWORD,
            "webhook_token": secrets.token_urlsafe(24),
        }
        validate_app_config("kayako", app_settings, credentials)
        connection = Connection(
            connection_id=new_connection_id(),
            location_id=self.location_id,
            app="kayako",
            settings=ConnectionSettings(
                conflict_policy=ConflictPolicy(self._conflict_policy),
                skew_seconds=self._skew_seconds,
                app=app_settings,
            ),
        )
        ConnectionSecrets(self.secrets, settings.connection_secret_prefix).put(
            connection.connection_id, credentials
        )
        self.connections.put(connection)
        self.connection_id = connection.connection_id
        self.kayako.register_automation(
            f"{API_URL}{connection.webhook_path}?token={credentials['webhook_token']}"
        )
        self.kayako.automation_sender = self._kayako_sender

    def _build_engine(self) -> SyncEngine:
        """What `wiring.default_engine()` builds, over the World's HTTP client and clock."""
        assert self.http is not None
        return wiring.build_engine(
            wiring.ConnectorCache(self.http, get_settings(), sleep=self.clock.sleep, clock=self.clock)
        )

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

    def metrics(self) -> Counter[str]:
        """The sum of every metric the handlers emitted (EMF), by name."""
        totals: Counter[str] = Counter()
        for line in self._emf.getvalue().splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
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
        (self.ghl_answers if webhook.source == "ghl" else self.kayako_answers).append(answered)
        return answered

    def _send(self, source: Source, url: str, body: bytes, headers: dict[str, str]) -> int:
        webhook = Webhook(source, url, body, dict(headers))
        if self._capture is not None:
            self._capture.append(webhook)
            return 200
        return self.post(webhook).status

    def _ghl_sender(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self._send("ghl", url, body, headers)

    def _kayako_sender(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self._send("kayako", url, body, headers)

    def _invoke_worker(self, event: dict[str, Any]) -> Any:
        for record in event["Records"]:
            self._in_flight[record["messageId"]] = record["receiptHandle"]
            # A body that is not a ChangeEvent is the worker's to dead-letter (as unreadable).
            with contextlib.suppress(ValueError):
                self.worker_records.append(ChangeEvent.model_validate_json(record["body"]))
        return self.invoke(WORKER_FUNCTION, event)

    # ---- moving things along ----------------------------------------------------------------
    def capture_webhooks(self) -> list[Webhook]:
        """Take every queued webhook of both sandboxes without posting it (the sandboxes see 200),
        so a test can post them itself: repeated, reordered."""
        captured: list[Webhook] = []
        self._capture = captured
        try:
            self.ghl.deliver_webhooks()
            self.kayako.deliver_automations()
        finally:
            self._capture = None
        return captured

    def deliver_webhooks(self) -> int:
        """Post every due webhook of both sandboxes through ingress; returns how many."""
        return len(self.ghl.deliver_webhooks()) + len(self.kayako.deliver_automations())

    def drain(self) -> int:
        """Poll the sync queue (sync_worker) until a receive comes back empty; returns records run."""
        assert self._poller is not None, "start() the World first"
        total = 0
        while (result := self._poller.poll_once(wait_seconds=0)).received:
            total += result.received
            failed = set(result.failed_ids)
            for message_id in [m for m in self._in_flight if m not in failed]:
                del self._in_flight[message_id]
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
        pending = [d.next_attempt_at for d in self.ghl.deliveries if d.state == "pending"]
        return min(pending) if pending else None

    def settle(self, max_rounds: int = 60) -> int:
        """Deliver webhooks both ways and run the worker until nothing moves and nothing waits.

        A round that moved something advances the clock one second. Returns the rounds used.

        The rounds run on a fresh thread (joined at once: nothing runs concurrently). CPython 3.13
        grows its frame stack in chunks; under pytest's deep stack, moto's recursive deep copies
        (every DynamoDB transaction copies the table) oscillate across a chunk boundary and each
        call maps and unmaps one, two million times in a 200-change run (~30 s of system time).
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

    def kayako_writes(self, *, since: int = 0) -> list[ApiCall]:
        return [c for c in self.api_calls("kayako", since=since) if c.is_write]

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

    def link(self, entity: EntityKind, side: Side, record_id: str) -> Link | None:
        return LinkStore(self.table).get(self.connection_id, entity, side, record_id)

    def kayako_id_of(self, entity: EntityKind, ghl_id: str) -> int:
        link = self.link(entity, Side.GHL, ghl_id)
        assert link is not None, f"GHL {entity} {ghl_id} is not linked"
        return int(link.app.id)

    def ghl_id_of(self, entity: EntityKind, kayako_id: int | str) -> str:
        link = self.link(entity, Side.APP, str(kayako_id))
        assert link is not None, f"Kayako {entity} {kayako_id} is not linked"
        return link.ghl.id

    # ---- reading both sides (outside the sync's call log) --------------------------------------
    def quiet(self) -> None:
        """Stop injecting faults on both sides."""
        self.ghl.faults.configure()
        self.kayako.faults.configure()

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
    def kayako_reader(self) -> KayakoConnector:
        connection = self.connections.get(self.connection_id)
        assert connection is not None
        http = httpx.Client(transport=self.kayako.transport())
        secrets = ConnectionSecrets(self.secrets, get_settings().connection_secret_prefix)
        reader = connector_for(
            connection, http=http, secrets=secrets, sleep=self.clock.sleep, clock=self.clock
        )
        assert isinstance(reader, KayakoConnector)
        return reader

    def ghl_contact_ids(self) -> list[str]:
        return [c.id for c in self.ghl.store.contacts(self.location_id)]

    def linked_pairs(self) -> list[tuple[str, int]]:
        """(GHL contact id, Kayako user id) of every linked contact."""
        pairs = []
        for contact_id in self.ghl_contact_ids():
            link = self.link(EntityKind.CONTACT, Side.GHL, contact_id)
            if link is not None and link.active:
                pairs.append((contact_id, int(link.app.id)))
        return pairs

    def kayako_customer_ids(self) -> list[int]:
        return [u.id for u in self.kayako.store.users.values() if u.role_id == CUSTOMER_ROLE_ID]

    def differences(self) -> list[str]:
        """Where the two sides disagree, read through the real connectors (faults off).

        Every GHL contact must be linked to a Kayako customer and the reverse; linked pairs must
        agree on full name, email, phone and tags, on their tasks (title, completed) and notes (bodies);
        no two GHL contacts may share an email (a duplicate the sync created)."""
        self.quiet()
        ghl, kayako = self.ghl_reader(), self.kayako_reader()
        found: list[str] = []
        emails: dict[str, str] = {}
        linked_users: set[int] = set()
        for contact_id in self.ghl_contact_ids():
            contact = ghl.get_contact(contact_id)
            assert contact is not None
            if contact.email:
                if contact.email in emails:
                    found.append(f"duplicate GHL contacts {emails[contact.email]} and {contact_id}")
                emails[contact.email] = contact_id
            link = self.link(EntityKind.CONTACT, Side.GHL, contact_id)
            if link is None or not link.active:
                found.append(f"GHL contact {contact_id} is not linked")
                continue
            linked_users.add(int(link.app.id))
            user = kayako.get_contact(link.app.id)
            if user is None:
                found.append(f"GHL contact {contact_id}: Kayako user {link.app.id} is gone")
                continue
            if _person(contact) != _person(user):
                found.append(f"contact {contact_id}: {_person(contact)} vs {_person(user)}")
            ghl_tasks = sorted((t.title, t.completed) for t in ghl.list_tasks(contact_id))
            cases = sorted((t.title, t.completed) for t in kayako.list_tasks(link.app.id))
            if ghl_tasks != cases:
                found.append(f"tasks of {contact_id}: {ghl_tasks} vs {cases}")
            ghl_notes = sorted(n.body for n in ghl.list_notes(contact_id))
            user_notes = sorted(n.body for n in kayako.list_notes(link.app.id))
            if ghl_notes != user_notes:
                found.append(f"notes of {contact_id}: {ghl_notes} vs {user_notes}")
        for user_id in self.kayako_customer_ids():
            if user_id not in linked_users:
                found.append(f"Kayako user {user_id} has no linked GHL contact")
        return found


def _person(contact: CanonicalContact) -> tuple[Any, ...]:
    # Kayako holds one full name; first/last are split from it, so the full name is what compares.
    full_name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return (full_name, contact.email, contact.phone, sorted(contact.tags))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
