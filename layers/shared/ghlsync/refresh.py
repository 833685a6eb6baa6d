"""The scheduled (and on-demand) business-enriched refresh: every GHL contact of a connection's
location, with its business, to the app (eKyte flow 2, issue 10).

It is the bulk-sync job (`ghlsync.bulk_sync`: GHL pages of 100, one checkpoint per connection,
resumable, GHL's budget shared with live traffic) with three differences:

- the listing is enriched: the location's businesses are listed once per run (GET /businesses/,
  100 per call) and a contact of a business takes the business's name as its company, which is
  what groups contacts under one eKyte Person (one Person per business, a person-contact per
  contact). Listing contacts by search (100 per call, whatever their business) and businesses
  once costs ceil(contacts/100) + ceil(businesses/100) GHL calls; paging GET
  /contacts/business/{id} instead would cost at least one call per business;
- the app needs only to create contacts (eKyte cannot update a person: a changed contact is
  audited `skipped: unsupported by eKyte` by the engine, as on the live path), and its identity
  lookups are shared across the run (`BatchedLookups`: one persons index, one look per business);
- its checkpoint is `refresh` and its runs are scheduled: `RefreshRunner` (the refresh function,
  hourly) starts a connection's refresh when its last one finished longer ago than the
  connection's cadence (`ConnectorSpec.refresh_every`; eKyte: `refresh_every_hours`, default 24),
  and resumes an unfinished one at once. A contact whose shadow already holds it costs no app call.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghlsync.apps.base import Connector, Operation
from ghlsync.apps.ghl_hub import CanonicalContactPage
from ghlsync.bulk_sync import BulkProgress, BulkSync, BulkSyncRefused, Stop
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import REFRESH_EVENT_TYPE
from ghlsync.observability import logger
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection, ConnectionStore
from ghlsync.store.dynamo import sync_table
from ghlsync.sync.engine import SyncEngine

if TYPE_CHECKING:
    from ghlsync.sync import wiring

CHECKPOINT_NAME = "refresh"
EVENT_TYPE = REFRESH_EVENT_TYPE


class BusinessRefresh(BulkSync):
    """One connection's refresh: every contact of the location, enriched with its business."""

    checkpoint_name = CHECKPOINT_NAME
    event_type = EVENT_TYPE
    event_prefix = "refresh"
    job = "refresh"

    @staticmethod
    def _refuse_unless(connection: Connection, app: Connector) -> None:
        contacts = app.capabilities.entities.get(EntityKind.CONTACT)
        if contacts is None or Operation.CREATE not in contacts.operations:
            raise BulkSyncRefused(f"refresh writes contacts to the app; {connection.app} takes none")

    def _listing(self, tag: str | None, progress: BulkProgress) -> Iterator[CanonicalContactPage]:
        names = self._hub.business_names()
        return self._hub.search_pages(
            tag=tag, start=progress.cursor, page_size=self._page_size, business_names=names
        )

    def due(self, now: datetime, every_s: float) -> bool:
        """Unfinished (resume it), never run, or last finished `every_s` ago or longer."""
        last = self.load()
        if last is None or not last.finished or last.finished_at is None:
            return True
        return (now - last.finished_at).total_seconds() >= every_s


class RefreshRun(BaseModel):
    connection_id: str
    status: str
    message: str
    done: int
    total: int | None


class RefreshSummary(BaseModel):
    considered: int = 0  # active connections of apps that refresh on a schedule
    not_due: int = 0
    runs: list[RefreshRun] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)  # connections that could not start


class Connections(Protocol):
    def all(self) -> Iterator[Connection]: ...


class RefreshRunner:
    """Every due refresh, one connection after another, until the invocation's time runs low."""

    def __init__(
        self,
        *,
        connections: Connections,
        checkpoints: CheckpointStore,
        engine: SyncEngine,
        hub_for: Callable[[Connection], Connector],
        app_for: Callable[[Connection], Connector],
        every_for: Callable[[Connection], float | None],
        reserve_seconds: int = 30,
        ghl_reserve_percent: float = 20.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`every_for`: a connection's refresh cadence in seconds (None: its app has none, or the
        connection turned it off)."""
        self._connections = connections
        self._checkpoints = checkpoints
        self._engine = engine
        self._hub_for = hub_for
        self._app_for = app_for
        self._every_for = every_for
        self._reserve_ms = reserve_seconds * 1000
        self._ghl_reserve = ghl_reserve_percent
        self._now = now

    def run(self, remaining_ms: Callable[[], int]) -> RefreshSummary:
        summary = RefreshSummary()

        def out_of_time() -> bool:
            return remaining_ms() <= self._reserve_ms

        for connection in self._connections.all():
            try:
                every = self._every_for(connection) if connection.active else None
            except ValueError as error:  # settings its app's model refuses: reported, never fatal
                summary.failed.append(f"{connection.connection_id}: invalid settings: {error}"[:300])
                continue
            if every is None:
                continue
            summary.considered += 1
            if out_of_time():
                break
            try:
                job = BusinessRefresh(
                    connection,
                    engine=self._engine,
                    hub=self._hub_for(connection),
                    app=self._app_for(connection),
                    checkpoints=self._checkpoints,
                    now=self._now,
                    deadline=out_of_time,
                    ghl_reserve_percent=self._ghl_reserve,
                )
                if not job.due(self._now(), every):
                    summary.not_due += 1
                    continue
                stop, progress, message = job.run()
            except Exception as error:  # one connection's trouble never stops the others
                logger.exception("refresh could not run", extra={"connection_id": connection.connection_id})
                summary.failed.append(f"{connection.connection_id}: {type(error).__name__}: {error}"[:300])
                continue
            summary.runs.append(
                RefreshRun(
                    connection_id=connection.connection_id,
                    status=stop.value,
                    message=message,
                    done=progress.done,
                    total=progress.total,
                )
            )
            if stop is Stop.OUT_OF_TIME:
                break
        logger.info("refresh done", extra={"runs": len(summary.runs), "failed": len(summary.failed)})
        return summary


# ---- wiring: built once per container from the environment ------------------------------------


class RefreshSettings(BaseSettings):
    """The refresh function's knobs (env vars REFRESH_<NAME>)."""

    model_config = SettingsConfigDict(env_prefix="REFRESH_", extra="ignore", frozen=True)

    # Stop (checkpointed) when the invocation has less than this left; the next run resumes.
    reserve_seconds: int = Field(default=30, ge=1, le=600)
    # The share of a location's daily GHL budget a refresh leaves to live traffic.
    ghl_reserve_percent: float = Field(default=20.0, ge=0, le=100)


def refresh_every(connection: Connection) -> float | None:
    """The connection's refresh cadence (seconds) as its app's spec reads its settings."""
    from ghlsync.apps.registry import UnknownApp, spec_for

    try:
        spec = spec_for(connection.app)
    except UnknownApp:
        return None
    return spec.refresh_every(connection.settings.app) if spec.refresh_every is not None else None


def build_runner(
    connections_cache: "wiring.ConnectorCache",
    engine: SyncEngine,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RefreshRunner:
    table = sync_table()
    settings = RefreshSettings()
    return RefreshRunner(
        connections=ConnectionStore(table),
        checkpoints=CheckpointStore(table),
        engine=engine,
        hub_for=connections_cache.hub_for,
        app_for=connections_cache.app_for,
        every_for=refresh_every,
        reserve_seconds=settings.reserve_seconds,
        ghl_reserve_percent=settings.ghl_reserve_percent,
        now=now,
    )


@cache
def default_runner() -> RefreshRunner:
    """Over the container's one connector cache and engine (which the in-process stacks route to
    their sandboxes), so the refresh paces with every other GHL call of the container."""
    from ghlsync.sync import wiring as default_wiring

    return build_runner(default_wiring.default_connectors(), default_wiring.default_engine())
