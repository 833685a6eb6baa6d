"""The sweep's settings, report and small shared parts (what every stage of a run uses)."""

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import GHL_SOURCE, ChangeEvent
from ghlsync.store.connections import Connection
from ghlsync.store.links import Side
from ghlsync.store.tenants import Tenant

MAX_ERROR_CHARS = 300


class SweepSettings(BaseSettings):
    """The sweep's knobs (env vars SWEEP_<NAME>)."""

    model_config = SettingsConfigDict(env_prefix="SWEEP_", extra="ignore", frozen=True)

    # How far before the newest change seen the next read starts (clock skew, search index lag).
    overlap_seconds: int = Field(default=120, ge=0, le=3600)
    # Changes enqueued per feed and connection in one run; the rest wait for the next run.
    max_events_per_feed: int = Field(default=2000, ge=1, le=100_000)
    # Links read for deletes per connection and run, only for the kinds a side cannot list
    # (`id_listing`: GHL and Kayako notes, apps without listings); listed kinds are diffed once
    # per `delete_scan_hours` instead. 0 turns the reads off.
    delete_checks_per_connection: int = Field(default=25, ge=0, le=10_000)
    # Linked contacts whose GHL task lists are read per connection and run when the location-wide
    # task search is off (`GHL_TASK_SEARCH=false`): the fallback for GHL's missing TaskUpdate.
    task_lists_per_run: int = Field(default=25, ge=0, le=10_000)
    # Stop starting new work when the invocation has less than this left.
    reserve_seconds: int = Field(default=30, ge=1, le=600)


class Queue(Protocol):
    def enqueue(self, event: ChangeEvent) -> str: ...


class Connections(Protocol):
    def all(self) -> Iterator[Connection]: ...


class Tenants(Protocol):
    def get(self, location_id: str) -> Tenant | None: ...


class Deadline:
    """The invocation's time budget: `remaining_ms` is the Lambda context's clock."""

    def __init__(self, remaining_ms: Callable[[], int], reserve_seconds: int) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_seconds * 1000

    def expired(self) -> bool:
        return self._remaining_ms() <= self._reserve_ms


class ConnectionFailure(BaseModel):
    connection_id: str
    location_id: str
    stage: str  # connect | ghl_changes | app_changes | ghl_tasks | deletes
    error: str


class FeedGap(BaseModel):
    """A checkpoint older than what the feed can still show: changes in between may be missed."""

    connection_id: str
    feed: str
    checkpoint: datetime
    window_start: datetime  # the oldest instant the feed still shows
    recovered: bool  # read by a full listing instead


class SweepSummary(BaseModel):
    connections: int = 0  # connections swept (active, of an active tenant)
    skipped: int = 0  # connections disabled, or their tenant not active
    not_reached: int = 0  # left for the next run: the time budget ran out first
    enqueued: int = 0  # feed changes put on the sync queue (DELETE events: deletes_found)
    already_synced: int = 0  # changes the links' shadows already reflect
    deletes_found: int = 0  # linked records gone on one side (DELETE events enqueued)
    links_checked: int = 0  # links whose records were read for deletes (kinds not listed)
    ids_listed: int = 0  # record ids listed for the delete diff (kinds listed, once a period)
    deferred: int = 0  # changes over SWEEP_MAX_EVENTS_PER_FEED, left for the next run
    truncated_feeds: int = 0  # feeds cut short by a bound or the time budget (they resume next run)
    feed_gaps: list[FeedGap] = Field(default_factory=list)
    failed: list[ConnectionFailure] = Field(default_factory=list)


def delete_event_id(connection: Connection, side: Side, entity: EntityKind, record_id: str) -> str:
    """Stable per missing record. A GHL record's id leaves out the connection: its event fans out
    to every connection of the location anyway, so the sweeps of sibling connections de-duplicate."""
    scope = GHL_SOURCE if side is Side.GHL else f"{connection.app}:{connection.connection_id}"
    key = f"{scope}:{entity.value}:{record_id}"
    return "sweep-delete-" + hashlib.sha256(key.encode()).hexdigest()


def aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


# Reports a connection's failure at a stage (the runner's, which logs it and adds it to the summary).
Report = Callable[[Connection, str, Exception], None]
