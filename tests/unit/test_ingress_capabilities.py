"""App ingress reads the app's declaration: an app without webhooks has no webhook endpoint."""

from dataclasses import dataclass, field

from ghlsync.apps.base import Capabilities, Inbound
from ghlsync.core.events import ChangeEvent
from ghlsync.ingress import AppIngress, ProxyRequest
from ghlsync.store.connections import Connection, ConnectionStatus
from tests.unit.test_engine_fakes import T0

CONNECTION = Connection(
    connection_id="conn-poll",
    location_id="loc1",
    app="polled",
    status=ConnectionStatus.ACTIVE,
    created_at=T0,
    updated_at=T0,
)


@dataclass
class PolledOnlyApp:
    """An app that tells us about changes only through its change feed (eKyte-like)."""

    name: str = "polled"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(entities={}, inbound=Inbound()))


@dataclass
class Connections:
    def get(self, connection_id: str) -> Connection | None:
        return CONNECTION if connection_id == CONNECTION.connection_id else None


@dataclass
class RecordingQueue:
    events: list[ChangeEvent] = field(default_factory=list)

    def enqueue(self, event: ChangeEvent) -> str:
        self.events.append(event)
        return "msg"


def test_a_webhook_for_an_app_that_declares_none_is_not_found() -> None:
    # GIVEN an active connection of an app that declares no webhooks
    queue = RecordingQueue()
    ingress = AppIngress(
        connections=Connections(),
        connector_for=lambda connection: PolledOnlyApp(),
        queue=queue,  # type: ignore[arg-type]
        once=None,  # type: ignore[arg-type]
        max_body_bytes=10_000,
    )
    # WHEN something posts to its webhook URL
    answer = ingress.receive(
        "polled", "conn-poll", ProxyRequest(body="{}", is_base64_encoded=False, headers={})
    )
    # THEN it is answered like an unknown connection, and nothing is queued
    assert answer.status == 404
    assert queue.events == []
