"""`default_engine()`: the SyncEngine built from the environment, once per container, over
`default_connectors()` (which the workflow API uses too).

Everything is constructed lazily on first use and then reused by every invocation the container
serves: one httpx.Client (connection pooling), one GHL client per location (its rate-limit pacer
must see all of that location's calls), one connector per connection (Kayako keeps a login
session), rebuilt when the connection's settings change. GHL tokens come from the OAuth token
provider (`ghlsync.store.tokens`), which serves an OAuth token set or a private-integration token,
whichever the location's secret holds. `GHL_API_BASE_URL` points the client at GHL or a sandbox.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx

from ghlsync.apps.base import Connector
from ghlsync.apps.ghl_hub import GhlHub, TaskSearch
from ghlsync.config import Settings, get_settings
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.models import CustomFieldDefinition
from ghlsync.mapping.ghl import GhlFieldMap
from ghlsync.mapping.ghl_fields import needs_definitions, resolve_field_map
from ghlsync.observability import logger
from ghlsync.store.audit import AuditStore
from ghlsync.store.connections import Connection, ConnectionSecrets, ConnectionStore
from ghlsync.store.dynamo import secrets_client, sync_table
from ghlsync.store.links import LinkStore
from ghlsync.store.tenants import TenantStatus, TenantStore
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.telemetry import PowertoolsSyncMetrics

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFINITIONS_TTL_S = 300.0


class ConnectorCache:
    """Builds each side's connector on first use and keeps it while the connection is unchanged."""

    def __init__(
        self,
        http: httpx.Client,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._clients: dict[str, GhlClient] = {}
        self._saved_headroom: dict[str, tuple[float | None, float | None]] = {}
        self._single_attempt_clients: dict[str, GhlClient] = {}
        self._hubs: dict[tuple[str, str, float | None], Connector] = {}
        self._apps: dict[tuple[str, str], Connector] = {}
        self._definitions: dict[str, tuple[float, list[CustomFieldDefinition]]] = {}

    def hub_for(self, connection: Connection) -> Connector:
        definitions = self._definitions_for(connection)
        fetched_at = definitions[0] if definitions else None
        key = (connection.connection_id, connection.updated_at.isoformat(), fetched_at)
        if key not in self._hubs:
            fields = self.field_map_for(connection)
            task_search = TaskSearch(
                enabled=self._settings.ghl_task_search,
                open_only=self._settings.ghl_task_search_open_only,
                page_size=self._settings.ghl_task_search_page_size,
            )
            client = self._client_for(connection.location_id)
            self._hubs[key] = GhlHub(client, fields, task_search=task_search)
        return self._hubs[key]

    def field_map_for(self, connection: Connection) -> GhlFieldMap:
        """The connection's custom-field map by GHL field id: field keys resolved against the
        location's definitions (ghlsync.mapping.ghl_fields); a field that resolves to nothing
        is left out and logged (`connections_cli check` reports it before go-live)."""
        settings = connection.settings
        definitions = self._definitions_for(connection)
        resolution = resolve_field_map(
            settings.ghl_custom_fields,
            definitions[1] if definitions else None,
            external_id_field=settings.external_id_field,
        )
        for problem in resolution.problems:
            logger.warning(
                "GHL custom field not synced",
                extra={"connection_id": connection.connection_id, "problem": problem},
            )
        return GhlFieldMap(custom_fields=resolution.by_id, users=dict(settings.ghl_users))

    def _definitions_for(self, connection: Connection) -> tuple[float, list[CustomFieldDefinition]] | None:
        """The location's field definitions when the map names a field by key, else None (no
        call). One GET per location, kept DEFINITIONS_TTL_S: a batch asks once, and a field made
        or renamed in GHL is seen within minutes."""
        if not needs_definitions(connection.settings.ghl_custom_fields):
            return None
        location_id = connection.location_id
        cached = self._definitions.get(location_id)
        if cached is None or self._clock() - cached[0] >= DEFINITIONS_TTL_S:
            cached = (self._clock(), self._client_for(location_id).list_custom_fields())
            self._definitions[location_id] = cached
        return cached

    def app_for(self, connection: Connection) -> Connector:
        from ghlsync.apps.registry import connector_for  # connectors load only when an event needs one

        key = (connection.connection_id, connection.updated_at.isoformat())
        if key not in self._apps:
            secrets = ConnectionSecrets(secrets_client(), self._settings.connection_secret_prefix)
            self._apps[key] = connector_for(
                connection, http=self._http, secrets=secrets, sleep=self._sleep, clock=self._clock
            )
        return self._apps[key]

    def ghl_client_for(self, connection: Connection) -> GhlClient:
        """The location's one GHL client (its pacer sees every call made for that location)."""
        return self._client_for(connection.location_id)

    def ghl_single_attempt_client_for(self, connection: Connection) -> GhlClient:
        """A client of the location for a caller that is waiting on the line (the caller-ID
        lookup): each call is one request, never retried or backed off, so a failure answers at
        once. It paces with the location client's pacer: both count against the same budget."""
        location_id = connection.location_id
        if location_id not in self._single_attempt_clients:
            paced_with = self._client_for(location_id).pacer
            self._single_attempt_clients[location_id] = self._new_client(
                location_id, max_retries=0, pacer=paced_with
            )
        return self._single_attempt_clients[location_id]

    def save_ghl_headroom(self, tenants: TenantStore) -> None:
        """Store on each tenant row what GHL's headers last left of its budget, where it moved
        since the last save (one write per location and batch at most), for `ghlsync status`."""
        for location_id, client in self._clients.items():
            reading = client.pacer.headroom()
            if reading == (None, None) or reading == self._saved_headroom.get(location_id):
                continue
            tenants.note_ghl_budget(location_id, *reading)
            self._saved_headroom[location_id] = reading

    def _client_for(self, location_id: str) -> GhlClient:
        if location_id not in self._clients:
            self._clients[location_id] = self._new_client(location_id)
        return self._clients[location_id]

    def _new_client(self, location_id: str, **overrides: Any) -> GhlClient:
        from ghlsync.store.tokens import default_token_provider

        return GhlClient(
            self._http,
            default_token_provider(),
            location_id,
            base_url=self._settings.ghl_api_base_url,
            version=self._settings.ghl_api_version,
            max_total_wait_s=self._settings.ghl_max_wait_seconds,
            sleep=self._sleep,
            clock=self._clock,
            **overrides,
        )


def build_engine(
    connectors: ConnectorCache, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> SyncEngine:
    """The engine over the sync table of the environment and the given connectors; `clock` says
    when a change was applied (sync latency)."""
    table = sync_table()
    tenants = TenantStore(table)

    def tenant_active(location_id: str) -> bool:
        # A location without a tenant row (set up by hand with a private-integration token) is
        # not blocked here; a missing token fails the call itself with a clear error.
        tenant = tenants.get(location_id)
        return tenant is None or tenant.status is TenantStatus.ACTIVE

    return SyncEngine(
        connections=ConnectionStore(table),
        links=LinkStore(table),
        audit=AuditStore(table),
        hub_for=connectors.hub_for,
        app_for=connectors.app_for,
        metrics=PowertoolsSyncMetrics(),
        tenant_active=tenant_active,
        clock=clock,
    )


def wall_clock() -> datetime:
    """Now, as the scheduled sweep reads it (the in-process World points it at its sandboxes'
    clock, so a test can let an hour pass)."""
    return datetime.now(UTC)


@cache
def default_connectors() -> ConnectorCache:
    return ConnectorCache(httpx.Client(timeout=HTTP_TIMEOUT), get_settings())


@cache
def default_engine() -> SyncEngine:
    return build_engine(default_connectors())
