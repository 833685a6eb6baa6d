"""Test doubles for the sweep tests (no tests here): connectors with a change feed, a recording
queue, the Lambda's remaining time, and a harness wiring a Sweeper over the template's table (moto).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from ghlsync.apps.base import ChangeFeed, Inbound
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.queue import QueueUnavailable
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection, ConnectionStatus, ConnectionStore
from ghlsync.store.links import Link, LinkStore, Shadow
from ghlsync.store.tenants import TenantStore
from ghlsync.sweep import Queue, Sweeper, SweepSettings, SweepSummary
from tests.fixtures.aws import AwsResources
from tests.unit.test_engine_fakes import T0, FakeClock, FakeConnector

APP = "fakeapp"
LOCATION = "loc1"
CONNECTION = "conn1"
# Connections are created an hour before the tests' clock starts.
CREATED = T0 - timedelta(hours=1)


class FeedConnector(FakeConnector):
    """A FakeConnector whose `list_changes` lists contacts and tasks updated since `since`.

    `ordered` lists oldest first (like GHL's search); otherwise tasks come after every contact
    (like Kayako: users, then cases). `hidden` ids are not listed yet (GHL's search index lag).
    `on_item` runs before each change is handed out, `on_call` on every connector call (tests
    spend the time budget there).
    """

    def __init__(
        self,
        name: str,
        clock: FakeClock,
        *,
        connection_id: str | None,
        location_id: str = LOCATION,
        ordered: bool = True,
    ) -> None:
        super().__init__(name, clock)
        self.capabilities = replace(
            self.capabilities, inbound=Inbound(webhooks=True, feed=ChangeFeed(ordered=ordered))
        )
        self.connection_id = connection_id
        self.location_id = location_id
        self.ordered = ordered
        self.hidden: set[str] = set()
        self.on_item: Callable[[], None] | None = None
        self.on_call: Callable[[str], None] | None = None
        self.handed_out = 0

    def _record(self, method: str, *args: Any) -> None:
        if self.on_call is not None:
            self.on_call(method)
        super()._record(method, *args)

    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        self._record("list_changes", since)
        return self._changes(since)

    def lists_ids(self, *kinds: EntityKind) -> None:
        """Declare `id_listing` for `kinds` (by default a FeedConnector lists none)."""
        self.capabilities = replace(self.capabilities, id_listing=frozenset(kinds))

    def list_ids(self, entity: EntityKind) -> Iterator[str]:
        self._record("list_ids", entity)
        records = self.contacts if entity is EntityKind.CONTACT else self.tasks
        for record_id in sorted(records):
            if self.on_item is not None:
                self.on_item()
            yield record_id

    def _changes(self, since: datetime) -> Iterator[ChangeEvent]:
        rows: list[tuple[datetime, EntityKind, str, str | None]] = [
            (c.updated_at, EntityKind.CONTACT, c.id, None)
            for c in self.contacts.values()
            if c.id and c.updated_at
        ]
        rows += [
            (t.updated_at, EntityKind.TASK, t.id, t.parent_id)
            for t in self.tasks.values()
            if t.id and t.updated_at
        ]
        rows = [row for row in rows if row[0] >= since and row[2] not in self.hidden]
        if self.ordered:
            rows.sort(key=lambda row: (row[0], row[2]))
        else:
            rows.sort(key=lambda row: (row[1] is EntityKind.TASK, row[0], row[2]))
        for updated_at, entity, record_id, parent_id in rows:
            if self.on_item is not None:
                self.on_item()
            self.handed_out += 1
            yield ChangeEvent(
                event_id=f"{self.name}-{entity.value}-{record_id}-{int(updated_at.timestamp() * 1000)}",
                location_id=self.location_id,
                source=self.name,
                connection_id=self.connection_id,
                entity=entity,
                action=ChangeAction.UPSERT,
                entity_id=record_id,
                parent_id=parent_id,
                occurred_at=updated_at,
                event_type="swept",
            )


@dataclass
class RecordingQueue:
    """SyncQueue.enqueue's contract; refuses (QueueUnavailable) from the `refuse_from`-th send on."""

    events: list[ChangeEvent] = field(default_factory=list)
    refuse_from: int | None = None

    def enqueue(self, event: ChangeEvent) -> str:
        if self.refuse_from is not None and len(self.events) + 1 >= self.refuse_from:
            raise QueueUnavailable(f"sync queue refused event {event.event_id}")
        self.events.append(event)
        return f"msg-{len(self.events)}"

    def ids(self) -> list[str]:
        return [event.entity_id for event in self.events]


@dataclass
class RemainingTime:
    """The Lambda context's get_remaining_time_in_millis, driven by the test."""

    ms: int = 600_000

    def __call__(self) -> int:
        return self.ms

    def spend(self, seconds: float) -> None:
        self.ms -= int(seconds * 1000)


@dataclass
class Sweep:
    aws: AwsResources
    clock: FakeClock
    queue: RecordingQueue
    remaining: RemainingTime
    connections: ConnectionStore
    links: LinkStore
    checkpoints: CheckpointStore
    hubs: dict[str, FeedConnector] = field(default_factory=dict)
    apps: dict[str, FeedConnector] = field(default_factory=dict)

    def connect(
        self,
        connection_id: str = CONNECTION,
        *,
        location_id: str = LOCATION,
        status: ConnectionStatus | None = None,
    ) -> tuple[FeedConnector, FeedConnector]:
        """A connection with its GHL side (an ordered feed) and app side (unordered)."""
        self.connections.put(
            Connection(
                connection_id=connection_id,
                location_id=location_id,
                app=APP,
                status=status or ConnectionStatus.ACTIVE,
                created_at=CREATED,
                updated_at=CREATED,
            )
        )
        hub = FeedConnector(GHL_SOURCE, self.clock, connection_id=None, location_id=location_id)
        app = FeedConnector(
            APP, self.clock, connection_id=connection_id, location_id=location_id, ordered=False
        )
        self.hubs[connection_id], self.apps[connection_id] = hub, app
        return hub, app

    def run(self, *, queue: Queue | None = None, **settings: Any) -> SweepSummary:
        return self.sweeper(queue=queue, **settings).run(self.remaining)

    def sweeper(self, *, queue: Queue | None = None, **settings: Any) -> Sweeper:
        return Sweeper(
            connections=self.connections,
            tenants=TenantStore(self.aws.table),
            checkpoints=self.checkpoints,
            links=self.links,
            queue=queue or self.queue,
            hub_for=lambda connection: self.hubs[connection.connection_id],
            app_for=lambda connection: self.apps[connection.connection_id],
            settings=SweepSettings(**settings),
            clock=self.clock,
        )

    def link_contacts(self, ghl_id: str, app_id: str, *, synced_at: datetime | None = None) -> Link:
        """A stored link whose shadows reflect both records as of `synced_at` (default: now)."""
        when = synced_at or self.clock()
        link = Link(
            connection_id=CONNECTION,
            entity=EntityKind.CONTACT,
            ghl=Shadow(id=ghl_id, content_hash="h", fields={}, source_time=when),
            app=Shadow(id=app_id, content_hash="h", fields={}, source_time=when),
            synced_at=when,
        )
        return self.links.save(link, previous=None)

    def link_tasks(self, ghl: tuple[str, str], app: tuple[str, str]) -> Link:
        """(contact id, task id) on each side."""
        link = Link(
            connection_id=CONNECTION,
            entity=EntityKind.TASK,
            ghl=Shadow(id=ghl[1], parent_id=ghl[0], source_time=self.clock()),
            app=Shadow(id=app[1], parent_id=app[0], source_time=self.clock()),
        )
        return self.links.save(link, previous=None)


@pytest.fixture
def sweep(aws: AwsResources) -> Sweep:
    """GIVEN the template's table in moto, a recording queue, 10 minutes of invocation time."""
    return Sweep(
        aws=aws,
        clock=FakeClock(),
        queue=RecordingQueue(),
        remaining=RemainingTime(),
        connections=ConnectionStore(aws.table),
        links=LinkStore(aws.table),
        checkpoints=CheckpointStore(aws.table),
    )
