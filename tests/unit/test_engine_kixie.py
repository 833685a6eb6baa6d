"""Engine x the real Kixie connector (Kixie's API a recording MockTransport, GHL the in-memory fake):
flow 1 (contacts -> PowerList by upsert), flow 2 (tasks/notes -> digest), and calls, dispositions
and scheduled activities back into GHL."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from ghlsync.apps.base import InboundRequest
from ghlsync.apps.kixie import KixieConnector
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.store.audit import AuditStore
from ghlsync.store.connections import Connection, ConnectionSettings, ConnectionStore
from ghlsync.store.links import LinkStore, Side
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.outcome import Decision
from tests.fixtures.kixie import KIXIE_TOKEN, KixieRecorder, kixie_connector
from tests.unit.test_engine_fakes import (
    FakeClock,
    FakeConnector,
    RecordingMetrics,
    aws_env,
    make_event,
    table,
)
from tests.unit.test_kixie_webhooks import CALL_UUID, end_call

__all__ = ["aws_env", "table"]

CONTACT, TASK, NOTE = EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE
PHONE = "+14248003334"


@dataclass
class KixieWorld:
    clock: FakeClock
    ghl: FakeConnector
    kixie: KixieConnector
    recorder: KixieRecorder
    links: LinkStore
    audit: AuditStore
    engine: SyncEngine

    def ghl_event(self, entity: EntityKind, action: ChangeAction, entity_id: str, **kw: Any) -> ChangeEvent:
        self.clock.advance(1)
        return make_event(
            source="ghl", entity=entity, action=action, entity_id=entity_id, occurred_at=self.clock(), **kw
        )

    def kixie_webhook(self, event: str, data: dict[str, Any]) -> list[ChangeEvent]:
        import json

        request = InboundRequest(
            body=json.dumps({"data": data}).encode(),
            headers={},
            query={"token": KIXIE_TOKEN, "event": event},
            path_params={},
        )
        self.kixie.verify_webhook(request)
        return self.kixie.parse_webhook(request, location_id="loc1", connection_id="conn1")

    def deliver(self, event: str, data: dict[str, Any]) -> list[Decision]:
        return [self.engine.handle(e).decision for e in self.kixie_webhook(event, data)]

    def synced(self, **fields: Any) -> str:
        contact = self.ghl.seed_contact(**fields)
        assert contact.id is not None
        self.engine.handle(self.ghl_event(CONTACT, ChangeAction.UPSERT, contact.id))
        self.recorder.requests.clear()
        self.ghl.calls.clear()
        return contact.id


def build(table: Any, **settings: Any) -> KixieWorld:
    clock = FakeClock()
    ghl = FakeConnector("ghl", clock)
    recorder = KixieRecorder()
    kixie = kixie_connector(recorder, **settings)
    connections = ConnectionStore(table)
    connections.put(
        Connection(connection_id="conn1", location_id="loc1", app="kixie", settings=ConnectionSettings())
    )
    links, audit = LinkStore(table), AuditStore(table, clock=clock)
    engine = SyncEngine(
        connections=connections,
        links=links,
        audit=audit,
        hub_for=lambda _c: ghl,
        app_for=lambda _c: kixie,
        metrics=RecordingMetrics(),
        clock=clock,
    )
    return KixieWorld(clock, ghl, kixie, recorder, links, audit, engine)


@pytest.fixture
def w(table: Any) -> Iterator[KixieWorld]:
    yield build(table)


# -- flow 1: GHL contact -> PowerList ------------------------------------------------------------
def test_a_ghl_contact_is_upserted_into_the_powerlist_by_phone_with_merge(w: KixieWorld) -> None:
    contact = w.ghl.seed_contact(first_name="Ada", last_name="Lovelace", email="ada@x.test", phone=PHONE)
    assert contact.id is not None
    outcome = w.engine.handle(w.ghl_event(CONTACT, ChangeAction.UPSERT, contact.id))
    assert (outcome.decision, outcome.reason) == (Decision.APPLIED, "created on kixie")
    [body] = w.recorder.events("updatepowerlist")
    assert (body["target"], body["powerlistId"], body["duplicateHandling"], body["crmContactId"]) == (
        PHONE,
        "1969",
        "merge",
        contact.id,
    )
    assert (body["firstName"], body["lastName"], body["email"]) == ("Ada", "Lovelace", "ada@x.test")
    link = w.links.get("conn1", CONTACT, Side.APP, PHONE)
    assert link is not None and link.ghl.id == contact.id
    assert [name for name, _ in w.ghl.calls] == ["get_contact"]  # GHL read; Kixie never read


def test_an_unchanged_contact_event_is_an_echo_and_sends_nothing(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    outcome = w.engine.handle(w.ghl_event(CONTACT, ChangeAction.UPSERT, ghl_id))
    assert outcome.decision is Decision.ECHO and w.recorder.requests == []


def test_a_change_kixie_does_not_hold_sends_nothing(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    w.ghl.edit_contact(ghl_id, tags=frozenset({"newsletter"}))
    outcome = w.engine.handle(w.ghl_event(CONTACT, ChangeAction.TAGS, ghl_id))
    assert (outcome.decision, outcome.reason) == (Decision.APPLIED, "already in sync")
    assert w.recorder.requests == []


def test_a_contact_without_a_phone_is_skipped_with_the_reason(w: KixieWorld) -> None:
    contact = w.ghl.seed_contact(first_name="Ada", email="ada@x.test")
    outcome = w.engine.handle(w.ghl_event(CONTACT, ChangeAction.UPSERT, contact.id or ""))
    assert outcome.decision is Decision.SKIPPED and outcome.reason.startswith("no phone")
    assert w.recorder.requests == []
    [row] = [r for r in w.audit.for_connection("conn1")]
    assert (row.decision, row.reason) == ("skipped", outcome.reason)


def test_a_phone_change_upserts_the_new_entry_then_removes_the_old(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    w.ghl.edit_contact(ghl_id, phone="+14248009999")
    w.engine.handle(w.ghl_event(CONTACT, ChangeAction.UPSERT, ghl_id))
    names = [b["eventname"] for b in w.recorder.events()]
    assert names == ["updatepowerlist", "removefrompowerlist"]
    upsert, removal = w.recorder.events()
    assert upsert["target"] == "+14248009999" and upsert["firstName"] == "Ada"
    assert (removal["target"], removal["powerlistId"]) == (PHONE, "1969")
    assert w.links.get("conn1", CONTACT, Side.APP, PHONE) is None
    assert w.links.get("conn1", CONTACT, Side.APP, "+14248009999") is not None


def test_a_rule_moving_the_contact_to_another_list_removes_it_from_the_first(table: Any) -> None:
    w = build(table, powerlist_rules=[{"powerlist_id": "77", "tag": "vip"}])
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    w.ghl.edit_contact(ghl_id, tags=frozenset({"VIP"}))
    w.engine.handle(w.ghl_event(CONTACT, ChangeAction.TAGS, ghl_id))
    upsert, removal = w.recorder.events()
    assert (upsert["powerlistId"], removal["powerlistId"], removal["target"]) == ("77", "1969", PHONE)


def test_two_ghl_contacts_with_one_phone_are_a_conflict_and_nothing_is_written(w: KixieWorld) -> None:
    w.synced(first_name="Ada", phone=PHONE)
    other = w.ghl.seed_contact(first_name="Bob", phone=PHONE)
    outcome = w.engine.handle(w.ghl_event(CONTACT, ChangeAction.UPSERT, other.id or ""))
    assert outcome.decision is Decision.CONFLICT and "already linked" in outcome.reason
    assert w.recorder.requests == []


# -- flow 2: tasks and notes -> nextCallRefresher ------------------------------------------------
def test_a_note_on_a_linked_contact_refreshes_its_digest_with_one_merge(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    w.ghl.seed_task(ghl_id, title="Send quote", due_date=datetime(2026, 3, 9, tzinfo=UTC))
    note = w.ghl.seed_note(ghl_id, body="Prefers mornings")
    outcome = w.engine.handle(w.ghl_event(NOTE, ChangeAction.UPSERT, note.id or "", parent_id=ghl_id))
    assert outcome.decision is Decision.APPLIED
    [body] = w.recorder.events()
    assert (body["eventname"], body["target"], body["powerlistId"], body["duplicateHandling"]) == (
        "updatepowerlist",
        PHONE,
        "1969",
        "merge",
    )
    assert "Send quote" in body["nextCallRefresher"] and "Prefers mornings" in body["nextCallRefresher"]
    assert set(body) == {
        "eventname",
        "target",
        "powerlistId",
        "duplicateHandling",
        "nextCallRefresher",
        "apikey",
        "businessid",
    }


def test_a_task_of_an_unlinked_contact_is_skipped(w: KixieWorld) -> None:
    contact = w.ghl.seed_contact(first_name="Ada", phone=PHONE)
    task = w.ghl.seed_task(contact.id or "", title="Call")
    outcome = w.engine.handle(w.ghl_event(TASK, ChangeAction.UPSERT, task.id or "", parent_id=contact.id))
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "contact not linked to kixie")
    assert w.recorder.requests == []


# -- Kixie -> GHL ---------------------------------------------------------------------------------
def test_an_ended_call_becomes_a_note_on_the_linked_contact_once(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    assert w.deliver("endcall", end_call()) == [Decision.APPLIED]
    [note] = w.ghl.list_notes(ghl_id)
    assert "Kixie call (outgoing): answered" in note.body
    # a replay of the same delivery writes nothing more
    assert w.deliver("endcall", end_call()) == [Decision.ECHO]
    assert len(w.ghl.list_notes(ghl_id)) == 1 and w.recorder.requests == []


def test_a_call_from_an_unlinked_number_finds_the_ghl_contact_by_phone(w: KixieWorld) -> None:
    contact = w.ghl.seed_contact(first_name="Ada", phone=PHONE)
    assert w.deliver("endcall", end_call()) == [Decision.APPLIED]
    assert len(w.ghl.list_notes(contact.id or "")) == 1
    assert ("find_contacts", (None, PHONE)) in w.ghl.calls
    assert w.ghl.writes() == [("create_note", w.ghl.writes()[0][1])]


def test_a_call_from_an_unknown_number_is_skipped_by_default(w: KixieWorld) -> None:
    [decision] = w.deliver("endcall", end_call())
    assert decision is Decision.SKIPPED and w.ghl.writes() == []
    row = list(w.audit.for_connection("conn1"))[-1]
    assert row.decision == "skipped" and "contacts do not flow from kixie to ghl" in row.reason


def test_a_call_from_an_unknown_number_creates_the_contact_when_the_connection_says_so(table: Any) -> None:
    w = build(table, create_contact_on_unknown_number=True)
    assert w.deliver("endcall", end_call()) == [Decision.APPLIED]
    [created] = [c for c in w.ghl.contacts.values()]
    assert created.phone == PHONE and len(w.ghl.list_notes(created.id or "")) == 1


def test_a_mapped_disposition_tags_the_contact_and_ghls_tag_webhook_is_an_echo(table: Any) -> None:
    w = build(table, disposition_tags={"Interested": "hot-lead"})
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    data = {"disposition": "Interested", "callid": "123", "externalid": CALL_UUID, "phone": PHONE}
    assert w.deliver("disposition", data) == [Decision.APPLIED, Decision.APPLIED]
    assert ("add_tags", (ghl_id, frozenset({"hot-lead"}))) in w.ghl.writes()
    assert any("Kixie disposition: Interested" in n.body for n in w.ghl.list_notes(ghl_id))
    outcome = w.engine.handle(w.ghl_event(CONTACT, ChangeAction.TAGS, ghl_id, data={"tags": ["hot-lead"]}))
    assert outcome.decision is Decision.ECHO


def test_a_scheduled_activity_becomes_a_ghl_task_due_at_its_time(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    data = {
        "subject": "Call back",
        "date": "2026-03-05",
        "time": "14:30",
        "timezone": "America/New_York",
        "callid": "98765",
        "phone": PHONE,
    }
    assert w.deliver("scheduledactivity", data) == [Decision.APPLIED]
    [task] = w.ghl.list_tasks(ghl_id)
    assert (task.title, task.due_date) == ("Call back", datetime(2026, 3, 5, 19, 30, tzinfo=UTC))


def test_an_sms_becomes_a_ghl_note(w: KixieWorld) -> None:
    ghl_id = w.synced(first_name="Ada", phone=PHONE)
    data = {"messageid": "m-1", "customernumber": PHONE, "direction": "incoming", "message": "Hi there"}
    assert w.deliver("sms", data) == [Decision.APPLIED]
    assert [n.body for n in w.ghl.list_notes(ghl_id)] == ["Kixie SMS (incoming): Hi there"]
