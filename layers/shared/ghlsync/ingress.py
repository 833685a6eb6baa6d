"""Webhook ingress: verify, de-duplicate, enqueue, answer fast. Shared by ghl_webhook and app_webhook.

Answers (GHL retries a delivery only when it gets a 429; a 5xx or a timeout loses the event):

| answer | when |
|---|---|
| 202 | queued (or already queued: a duplicate delivery) |
| 200 | understood, nothing to queue: INSTALL/UNINSTALL applied, or an event type we do not sync |
| 400 | signed but unreadable: not JSON, missing required fields |
| 401 | missing/invalid signature, legacy RSA signature after its cutoff, stale or future timestamp |
| 404 | app webhook for an unknown or inactive connection, the wrong app, or an app that declares |
|     | no webhooks (never says which) |
| 413 | body larger than WEBHOOK_MAX_BODY_BYTES |
| 429 | we could not queue or record it right now (queue, idempotency table or tenant table failing, |
|     | or the same delivery still in flight): the idempotency record is released, so a retry works |
|     | (an app webhook answers its app's declared `Inbound.busy_status` instead: Payaca's 503) |

De-duplication: every delivery runs through a Powertools idempotent function keyed on
`ghl:<webhookId>` (or a body hash when GHL sends none) / `<app>:<connectionId>:<event_id>`,
remembered for IDEMPOTENCY_TTL_SECONDS (>= 24 h, far beyond GHL's ~70 min of retries). If the
work raises, Powertools deletes the in-progress record, so the 429'd delivery is accepted when
GHL retries it. The FIFO deduplication id (= event id) covers the same ground for 5 minutes.

ghl_webhook and app_webhook both import this module, so what only one of them needs (the GHL
webhook models and keys, the connection store) is imported where that path uses it; each handler
imports its own at init.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from ghlsync.apps.base import Connector, InboundRequest, as_webhooks
from ghlsync.config import Settings, get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook, WebhookRejected
from ghlsync.observability import logger, metrics
from ghlsync.queue import SyncQueue
from ghlsync.store.dynamo import secrets_client, sync_table
from ghlsync.store.tenants import AuthKind, Tenant, TenantNotFound, TenantStatus, TenantStore

if TYPE_CHECKING:
    from ghlsync.ghl.webhooks import InstallWebhook, UninstallWebhook, WebhookVerifier
    from ghlsync.store.connections import Connection

# Stable across functions and deployments, so ghl_webhook and app_webhook share one key space.
IDEMPOTENCY_KEY_PREFIX = "ghl-sync-ingress"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"))


class BodyTooLarge(Exception):
    """The request body is larger than WEBHOOK_MAX_BODY_BYTES (answered 413)."""


class UnknownConnection(Exception):
    """No such connection, not active, or another app's: all answer the same 404."""


class TenantRegistry(Protocol):
    def register(self, tenant: Tenant) -> None: ...
    def mark_uninstalled(self, location_id: str, retain_days: int) -> None: ...


class AgencyInstalls(Protocol):
    """Agency (Company) installs as webhooks change them (ghlsync.store.agency_tokens.AgencyMembers)."""

    def location_installed(self, company_id: str | None, location_id: str) -> bool: ...
    def company_uninstalled(self, company_id: str) -> int: ...


class ConnectionLookup(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...


@dataclass(frozen=True)
class ProxyRequest:
    """What ingress reads from an API Gateway proxy event."""

    body: str | None
    is_base64_encoded: bool
    headers: Mapping[str, str] | None
    query: Mapping[str, str] | None = None

    @classmethod
    def from_event(cls, event: APIGatewayProxyEvent) -> ProxyRequest:
        return cls(
            body=event.body,
            is_base64_encoded=bool(event.is_base64_encoded),
            headers=event.headers,
            query=event.query_string_parameters,
        )

    def raw_body(self) -> bytes:
        """The exact bytes the sender signed (API Gateway base64-encodes binary-looking bodies)."""
        if self.body is None:
            return b""
        if not self.is_base64_encoded:
            return self.body.encode("utf-8")
        try:
            return base64.b64decode(self.body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedWebhook("isBase64Encoded body is not base64") from exc

    def lower_headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in (self.headers or {}).items()}


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only when it answers from the store: the delivery was a duplicate."""
    return {**(response or {}), "duplicate": True}


class OnceGate:
    """Runs a piece of work at most once per key (Powertools idempotency, DynamoDB persistence).

    A key whose work raised is forgotten, so the next delivery runs it again.
    """

    def __init__(self, persistence: BasePersistenceLayer, *, ttl_seconds: int) -> None:
        self._config = IdempotencyConfig(
            expires_after_seconds=ttl_seconds,
            raise_on_no_idempotency_key=True,
            response_hook=_mark_replay,
        )
        self._once = idempotent_function(
            self._run,
            data_keyword_argument="key",
            persistence_store=persistence,
            config=self._config,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )

    def register_lambda_context(self, context: Any) -> None:
        """An in-progress record then expires with the invocation, so a timed-out delivery can be retried."""
        self._config.register_lambda_context(context)

    @staticmethod
    def _run(*, key: str, work: Callable[[], object]) -> dict[str, Any]:
        work()
        return {"key": key}

    def run(self, key: str, work: Callable[[], object]) -> bool:
        """True if the work ran now, False if it had already run for this key."""
        result: dict[str, Any] = self._once(key=key, work=work)
        return not result.get("duplicate", False)


def answer_for(error: Exception, *, busy_status: int = 429) -> Answer:
    """The one place that turns an ingress failure into an HTTP answer. `busy_status` is the
    sender's "deliver again" status (`Inbound.busy_status`): 429 for GHL."""
    match error:
        case BodyTooLarge():
            return Answer(413, {"message": "body too large"})
        case WebhookRejected():
            return Answer(401, {"message": "unauthorized"})
        case MalformedWebhook():
            return Answer(400, {"message": f"malformed webhook: {error}"})
        case UnknownConnection():
            return Answer(404, {"message": "not found"})
        case _:
            # QueueUnavailable, IdempotencyAlreadyInProgressError (the same delivery still in
            # flight), a failing table, a bug: 429 makes GHL retry instead of losing the event.
            return Answer(busy_status, {"message": "try again later"})


def _answering(what: str, receive: Callable[[], Answer], *, busy_status: int = 429) -> Answer:
    try:
        return receive()
    except (BodyTooLarge, WebhookRejected, MalformedWebhook, UnknownConnection) as exc:
        answer = answer_for(exc)
        logger.warning(f"{what} refused", extra={"status": answer.status, "reason": str(exc)})
    except Exception as exc:
        answer = answer_for(exc, busy_status=busy_status)
        logger.exception(f"{what} not accepted, asking the sender to retry", extra={"status": answer.status})
        metrics.add_metric(name="WebhookRetryLater", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"WebhookAnswer{answer.status}", unit=MetricUnit.Count, value=1)
    return answer


class GhlIngress:
    """POST /webhooks/ghl."""

    def __init__(
        self,
        *,
        verifier: WebhookVerifier,
        queue: SyncQueue,
        tenants: TenantRegistry,
        once: OnceGate,
        max_age: timedelta,
        max_body_bytes: int,
        uninstall_retain_days: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        agencies: AgencyInstalls | None = None,
    ) -> None:
        """`agencies`: INSTALL of a location under an agency install registers it as the
        agency's; a company-level UNINSTALL disables the agency's tenants."""
        self._verifier = verifier
        self._agencies = agencies
        self._queue = queue
        self._tenants = tenants
        self._once = once
        self._max_age = max_age
        self._max_body_bytes = max_body_bytes
        self._retain_days = uninstall_retain_days
        self._clock = clock

    def register_lambda_context(self, context: Any) -> None:
        self._once.register_lambda_context(context)

    def receive(self, request: ProxyRequest) -> Answer:
        return _answering("GHL webhook", lambda: self._receive(request))

    def _receive(self, request: ProxyRequest) -> Answer:
        from ghlsync.ghl import webhooks  # GHL path only (see the module docstring)

        body, headers = request.raw_body(), request.lower_headers()
        if len(body) > self._max_body_bytes:
            raise BodyTooLarge(f"{len(body)} bytes")
        now = self._clock()
        self._verifier.verify(body, headers, now=now)
        webhook = webhooks.parse_webhook(body)
        if isinstance(webhook, webhooks.UnhandledWebhook):
            metrics.add_metric(name="GhlWebhookIgnored", unit=MetricUnit.Count, value=1)
            logger.info("GHL event type not synced", extra={"type": webhook.type})
            return Answer(200, {"status": "ignored", "type": webhook.type})
        webhooks.check_fresh(webhook, now=now, max_age=self._max_age)
        event_id = webhooks.delivery_id(webhook, body)
        work: Callable[[], object]
        match webhook:
            case webhooks.InstallWebhook():
                work, status, done = partial(self._install, webhook), 200, "installed"
            case webhooks.UninstallWebhook():
                work, status, done = partial(self._uninstall, webhook), 200, "uninstalled"
            case _:
                event = webhooks.to_change_event(webhook, event_id=event_id, received_at=now)
                if event.parent_id is None and event.entity in {EntityKind.TASK, EntityKind.NOTE}:
                    # GHL sends some TaskCreate without contactId (its issue #332). Queued anyway:
                    # the engine records what it could do (audit) and the sweep converges.
                    metrics.add_metric(name="GhlWebhookWithoutContact", unit=MetricUnit.Count, value=1)
                work, status, done = partial(self._queue.enqueue, event), 202, "queued"
        first = self._once.run(f"ghl:{event_id}", work)
        if not first:
            metrics.add_metric(name="WebhookDuplicate", unit=MetricUnit.Count, value=1)
        logger.info(
            "GHL webhook accepted", extra={"type": webhook.type, "event_id": event_id, "first": first}
        )
        return Answer(status, {"status": done if first else "duplicate", "id": event_id})

    def _install(self, webhook: InstallWebhook) -> None:
        if webhook.location_id is None:
            # A company-level install names no location: the OAuth callback stores the agency
            # token and registers the approved locations.
            metrics.add_metric(name="GhlInstallWithoutLocation", unit=MetricUnit.Count, value=1)
            logger.warning("INSTALL without locationId", extra={"company_id": webhook.company_id})
            return
        if self._agencies is not None and self._agencies.location_installed(
            webhook.company_id, webhook.location_id
        ):
            metrics.add_metric(name="GhlAgencyLocationInstalled", unit=MetricUnit.Count, value=1)
            return
        self._tenants.register(
            Tenant(
                location_id=webhook.location_id,
                company_id=webhook.company_id,
                status=TenantStatus.ACTIVE,
                installed_at=webhook.timestamp,
                auth_kind=AuthKind.OAUTH,
            )
        )

    def _uninstall(self, webhook: UninstallWebhook) -> None:
        if webhook.location_id is None and webhook.company_id and self._agencies is not None:
            disabled = self._agencies.company_uninstalled(webhook.company_id)
            logger.info("agency uninstalled", extra={"company_id": webhook.company_id, "tenants": disabled})
            return
        if webhook.location_id is None:
            metrics.add_metric(name="GhlUninstallWithoutLocation", unit=MetricUnit.Count, value=1)
            logger.warning("UNINSTALL without locationId", extra={"company_id": webhook.company_id})
            return
        try:
            self._tenants.mark_uninstalled(webhook.location_id, self._retain_days)
        except TenantNotFound:
            logger.info(
                "UNINSTALL for a location we never registered", extra={"location": webhook.location_id}
            )


class AppIngress:
    """POST /webhooks/{app}/{connectionId}."""

    def __init__(
        self,
        *,
        connections: ConnectionLookup,
        connector_for: Callable[[Connection], Connector],
        queue: SyncQueue,
        once: OnceGate,
        max_body_bytes: int,
        busy_status_for: Callable[[str], int] = lambda app: 429,
    ) -> None:
        """`busy_status_for(app)`: the status that makes `app` deliver again (its declared
        `Inbound.busy_status`), answered when a webhook cannot be queued."""
        self._connections = connections
        self._busy_status_for = busy_status_for
        self._connector_for = connector_for
        self._queue = queue
        self._once = once
        self._max_body_bytes = max_body_bytes

    def register_lambda_context(self, context: Any) -> None:
        self._once.register_lambda_context(context)

    def receive(self, app: str, connection_id: str, proxy: ProxyRequest) -> Answer:
        return _answering(
            f"{app} webhook",
            lambda: self._receive(app, connection_id, proxy),
            busy_status=self._busy_status_for(app),
        )

    def _receive(self, app: str, connection_id: str, proxy: ProxyRequest) -> Answer:
        request = InboundRequest(
            body=proxy.raw_body(),
            headers=proxy.lower_headers(),
            query=dict(proxy.query or {}),
            path_params={"app": app, "connectionId": connection_id},
        )
        if len(request.body) > self._max_body_bytes:
            raise BodyTooLarge(f"{len(request.body)} bytes")
        connection = self._connections.get(connection_id)
        if connection is None or connection.app != app or not connection.active:
            raise UnknownConnection(connection_id)
        built = self._connector_for(connection)
        if not built.capabilities.inbound.webhooks:
            raise UnknownConnection(connection_id)
        connector = as_webhooks(built)
        connector.verify_webhook(request)
        events = connector.parse_webhook(
            request, location_id=connection.location_id, connection_id=connection.connection_id
        )
        queued = 0
        for event in events:
            if self._once.run(f"{app}:{connection_id}:{event.event_id}", partial(self._queue.enqueue, event)):
                queued += 1
        duplicates = len(events) - queued
        if duplicates:
            metrics.add_metric(name="WebhookDuplicate", unit=MetricUnit.Count, value=duplicates)
        logger.info("app webhook accepted", extra={"app": app, "queued": queued, "duplicates": duplicates})
        return Answer(202, {"status": "queued", "queued": queued, "duplicates": duplicates})


# ---- wiring: built once per container from the environment ------------------------------------


def _once_gate(settings: Settings) -> OnceGate:
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name)
    return OnceGate(persistence, ttl_seconds=settings.idempotency_ttl_seconds)


@cache
def default_ghl_ingress() -> GhlIngress:
    from ghlsync.ghl.webhooks import WebhookVerifier  # GHL path only (see the module docstring)
    from ghlsync.store.tokens import default_agency_members  # GHL path only

    settings = get_settings()
    return GhlIngress(
        verifier=WebhookVerifier.from_config(
            ed25519_keys=settings.ghl_webhook_ed25519_public_keys,
            rsa_keys=settings.ghl_webhook_rsa_public_keys,
            rsa_cutoff=settings.ghl_rsa_signature_cutoff,
        ),
        queue=SyncQueue.from_settings(settings),
        tenants=TenantStore(sync_table()),
        once=_once_gate(settings),
        max_age=timedelta(seconds=settings.webhook_max_age_seconds),
        max_body_bytes=settings.webhook_max_body_bytes,
        uninstall_retain_days=settings.uninstall_retain_days,
        agencies=default_agency_members(),
    )


@cache
def default_app_ingress() -> AppIngress:
    from ghlsync.apps.registry import connector_for  # the connectors are only needed here
    from ghlsync.store.connections import ConnectionSecrets, ConnectionStore  # app path only

    settings = get_settings()
    http = httpx.Client(timeout=httpx.Timeout(10.0))
    secrets = ConnectionSecrets(secrets_client(), settings.connection_secret_prefix)
    # One connector per connection version: its secret is read once, not on every webhook.
    connectors: dict[tuple[str, str], Connector] = {}

    def connector(connection: Connection) -> Connector:
        key = (connection.connection_id, connection.updated_at.isoformat())
        if key not in connectors:
            connectors[key] = connector_for(connection, http=http, secrets=secrets)
        return connectors[key]

    return AppIngress(
        connections=ConnectionStore(sync_table()),
        connector_for=connector,
        queue=SyncQueue.from_settings(settings),
        once=_once_gate(settings),
        max_body_bytes=settings.webhook_max_body_bytes,
        busy_status_for=declared_busy_status,
    )


def declared_busy_status(app: str) -> int:
    """The app's declared "deliver again" status (its spec's `Inbound.busy_status`); 429 for a
    name no spec answers to (the request is refused with 404 before anything is queued anyway)."""
    from ghlsync.apps.registry import UnknownApp, spec_for  # app path only

    try:
        return spec_for(app).capabilities.inbound.busy_status
    except UnknownApp:
        return 429
