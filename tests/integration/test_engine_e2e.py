"""The sync engine end to end, in-process: GHL sandbox <-> engine <-> Kayako fake, on moto.

Changes are made the way users make them (the sandboxes' UI helpers), travel as the sandboxes'
real webhook / automation deliveries, are parsed the way ingress parses them, and are handled by
the engine over the real GHL client and Kayako connector. `sync()` pumps deliveries both ways until
none are left, so echoes have to die out for a test to finish.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from ghlsync.apps.base import InboundRequest
from ghlsync.apps.ghl_hub import GhlHub
from ghlsync.apps.kayako import KayakoConnector
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.webhooks import UnhandledWebhook, delivery_id, parse_webhook, to_change_event
from ghlsync.mapping.ghl import GhlFieldMap
from ghlsync.store.audit import AuditStore
from ghlsync.store.connections import Connection, ConnectionStore
from ghlsync.store.links import LinkStore, Side
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.outcome import Decision, Outcome
from sandbox.apps.kayako import KayakoSandbox
from sandbox.ghl import FakeClock as GhlClock
from sandbox.ghl import GhlSandbox
from tests.fixtures.ghl import GHL_BASE_URL, GHL_LOCATION_ID, GHL_PIT
from tests.fixtures.kayako import KAYAKO_CONNECTION_ID, KAYAKO_WEBHOOK_TOKEN, FakeClock, make_kayako_connector

pytestmark = pytest.mark.integration

GHL_HOOK = "https://hooks.test/webhooks/ghl"
KAYAKO_HOOK = f"https://hooks.test/webhooks/kayako/{KAYAKO_CONNECTION_ID}?token={KAYAKO_WEBHOOK_TOKEN}"


class CountingMetrics:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(
        self, name: str, *, app: str, location_id: str, connection_id: str | None, value: int = 1
    ) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def emit(self, values: Any, *, dimensions: Any, location_id: str, connection_id: str | None) -> None:
        for name, value in values.items():
            self.counts[name] = self.counts.get(name, 0) + (sum(value) if isinstance(value, list) else value)


@dataclass
class World:
    ghl: GhlSandbox
    ghl_clock: GhlClock
    kayako: KayakoSandbox
    kayako_clock: FakeClock
    hub: GhlHub
    app: KayakoConnector
    engine: SyncEngine
    links: LinkStore
    metrics: CountingMetrics
    ghl_inbox: list[bytes] = field(default_factory=list)
    kayako_inbox: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def _ghl_events(self) -> Iterator[ChangeEvent]:
        self.ghl.deliver_webhooks()
        bodies, self.ghl_inbox[:] = list(self.ghl_inbox), []
        for body in bodies:
            webhook = parse_webhook(body)
            if not isinstance(webhook, UnhandledWebhook) and webhook.type not in {"INSTALL", "UNINSTALL"}:
                yield to_change_event(webhook, event_id=delivery_id(webhook, body))  # type: ignore[arg-type]

    def _kayako_events(self) -> Iterator[ChangeEvent]:
        self.kayako.deliver_automations()
        deliveries, self.kayako_inbox[:] = list(self.kayako_inbox), []
        for url, body, headers in deliveries:
            request = InboundRequest(
                body=body,
                headers={k.lower(): v for k, v in headers.items()},
                query=dict(parse_qsl(urlsplit(url).query)),
                path_params={"app": "kayako", "connectionId": KAYAKO_CONNECTION_ID},
            )
            self.app.verify_webhook(request)
            yield from self.app.parse_webhook(
                request, location_id=GHL_LOCATION_ID, connection_id=KAYAKO_CONNECTION_ID
            )

    def sync(self, max_rounds: int = 8) -> list[Outcome]:
        """Handle deliveries both ways until there are none (echoes must die out)."""
        handled: list[Outcome] = []
        for _ in range(max_rounds):
            events = [*self._ghl_events(), *self._kayako_events()]
            if not events:
                self.outcomes.extend(handled)
                return handled
            handled.extend(self.engine.handle(event) for event in events)
            self.ghl_clock.advance(1)
            self.kayako_clock.advance(1)
        raise AssertionError(f"deliveries did not die out after {max_rounds} rounds: {handled}")

    def app_id_of(self, entity: EntityKind, ghl_id: str) -> str:
        link = self.links.get(KAYAKO_CONNECTION_ID, entity, Side.GHL, ghl_id)
        assert link is not None, f"{entity} {ghl_id} is not linked"
        return link.app.id

    def ghl_id_of(self, entity: EntityKind, app_id: str) -> str:
        link = self.links.get(KAYAKO_CONNECTION_ID, entity, Side.APP, app_id)
        assert link is not None, f"{entity} {app_id} is not linked"
        return link.ghl.id


@pytest.fixture
def world(
    aws: Any,
    ghl_sandbox: GhlSandbox,
    ghl_clock: GhlClock,
    kayako_sandbox: KayakoSandbox,
    kayako_clock: FakeClock,
    kayako_sleeps: list[float],
) -> Iterator[World]:
    ghl_http = httpx.Client(base_url=GHL_BASE_URL, transport=ghl_sandbox.transport())
    client = GhlClient(
        ghl_http,
        StaticTokenProvider(GHL_PIT),
        GHL_LOCATION_ID,
        base_url=GHL_BASE_URL,
        sleep=ghl_clock.sleep,
        clock=ghl_clock,
    )
    hub = GhlHub(client, GhlFieldMap())
    app = make_kayako_connector(kayako_sandbox, kayako_clock, kayako_sleeps)
    connections = ConnectionStore(aws.table)
    connections.put(Connection(connection_id=KAYAKO_CONNECTION_ID, location_id=GHL_LOCATION_ID, app="kayako"))
    links = LinkStore(aws.table)
    metrics = CountingMetrics()
    engine = SyncEngine(
        connections=connections,
        links=links,
        audit=AuditStore(aws.table),
        hub_for=lambda _c: hub,
        app_for=lambda _c: app,
        metrics=metrics,
    )
    world = World(ghl_sandbox, ghl_clock, kayako_sandbox, kayako_clock, hub, app, engine, links, metrics)
    ghl_sandbox.register_webhook(GHL_HOOK, location_id=GHL_LOCATION_ID)

    def ghl_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
        world.ghl_inbox.append(body)
        return 200

    def kayako_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
        world.kayako_inbox.append((url, body, headers))
        return 200

    ghl_sandbox.webhook_sender = ghl_sender
    kayako_sandbox.register_automation(KAYAKO_HOOK)
    kayako_sandbox.automation_sender = kayako_sender
    yield world
    ghl_http.close()


def test_ghl_contact_reaches_kayako_as_a_user_and_the_echo_dies_out(world: World) -> None:
    # GIVEN a contact created in GHL
    contact = world.ghl.ui_create_contact(
        GHL_LOCATION_ID, firstName="Ada", lastName="Lovelace", email="ada@example.com"
    )
    # WHEN the deliveries are pumped until quiet
    outcomes = world.sync()
    # THEN Kayako has the user, and the only decisions were one apply and echoes
    user = world.app.get_contact(world.app_id_of(EntityKind.CONTACT, contact.id))
    assert user is not None and (user.first_name, user.last_name, user.email) == (
        "Ada",
        "Lovelace",
        "ada@example.com",
    )
    assert [o.decision for o in outcomes].count(Decision.APPLIED) == 1
    assert all(o.writes == 0 for o in outcomes if o.decision is not Decision.APPLIED)


def test_kayako_user_reaches_ghl_as_a_contact(world: World) -> None:
    # GIVEN a user created in Kayako
    user = world.kayako.ui_create_user("Grace Hopper", email="grace@example.com")
    # WHEN synced
    world.sync()
    # THEN GHL has the contact
    contact = world.hub.get_contact(world.ghl_id_of(EntityKind.CONTACT, str(user.id)))
    assert contact is not None and contact.email == "grace@example.com"


def test_kayako_case_becomes_a_task_under_the_linked_contact(world: World) -> None:
    # GIVEN a synced contact, then a case opened for that user in Kayako
    contact = world.ghl.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", email="ada@example.com")
    world.sync()
    user_id = world.app_id_of(EntityKind.CONTACT, contact.id)
    case = world.kayako.ui_create_case(int(user_id), "Printer on fire")
    # WHEN synced
    world.sync()
    # THEN GHL has the task under the contact
    task_id = world.ghl_id_of(EntityKind.TASK, str(case.id))
    task = world.hub.get_task(contact.id, task_id)
    assert task is not None and task.title == "Printer on fire"


def test_notes_travel_both_ways(world: World) -> None:
    # GIVEN a synced contact with a note added in GHL and another in Kayako
    contact = world.ghl.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", email="ada@example.com")
    world.sync()
    user_id = world.app_id_of(EntityKind.CONTACT, contact.id)
    world.ghl.ui_create_note(GHL_LOCATION_ID, contact.id, body="Prefers email")
    world.kayako.ui_add_note(int(user_id), "Called about billing")
    # WHEN synced
    world.sync()
    # THEN each side has both notes
    assert sorted(n.body for n in world.hub.list_notes(contact.id)) == [
        "Called about billing",
        "Prefers email",
    ]
    assert sorted(n.body for n in world.app.list_notes(user_id)) == ["Called about billing", "Prefers email"]


@pytest.mark.parametrize("ghl_lowercases_tags", [False, True], ids=["ghl-keeps-case", "ghl-lower-cases"])
def test_tags_travel_both_ways_as_deltas(world: World, ghl_lowercases_tags: bool) -> None:
    world.ghl.crm.lowercase_tags = ghl_lowercases_tags
    # GIVEN a synced contact tagged in GHL, then tagged and untagged in Kayako
    contact = world.ghl.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", email="ada@example.com")
    world.sync()
    user_id = world.app_id_of(EntityKind.CONTACT, contact.id)
    world.ghl.ui_add_tags(GHL_LOCATION_ID, contact.id, ["vip"])
    world.sync()
    world.kayako.ui_add_tags(int(user_id), "support")
    world.kayako.ui_remove_tags(int(user_id), "vip")
    # WHEN synced
    world.sync()
    # THEN both sides end with the same tags
    ghl_contact = world.hub.get_contact(contact.id)
    user = world.app.get_contact(user_id)
    assert ghl_contact is not None and user is not None
    assert ghl_contact.tags == user.tags == frozenset({"support"})
