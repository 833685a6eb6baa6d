"""Engine, failures and routing: error mapping, audit of failures, connections and tenants."""

from typing import Any

import httpx
import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.ghl.errors import GhlRateLimited, GhlValidationError
from ghlsync.store.connections import Connection, ConnectionStatus
from ghlsync.sync.engine import SyncEngine
from ghlsync.sync.outcome import Decision, PermanentSyncError, TransientSyncError
from tests.unit.test_engine_fakes import FakeConnector, Harness, aws_env, h, table

__all__ = ["aws_env", "h", "table"]

CONTACT = EntityKind.CONTACT
UPSERT = ChangeAction.UPSERT


def _ghl_contact_event(h: Harness) -> Any:
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    return h.ghl_event(CONTACT, UPSERT, contact.id or "")


def test_rate_limit_becomes_a_transient_error(h: Harness) -> None:
    # GIVEN the app answers 429 on create
    h.app.fail_next["create_contact"] = GhlRateLimited("slow down", retry_after=3)
    # WHEN a new contact is synced
    # THEN the worker is told to retry
    with pytest.raises(TransientSyncError):
        h.engine.handle(_ghl_contact_event(h))


def test_timeout_becomes_a_transient_error(h: Harness) -> None:
    # GIVEN the app times out
    h.app.fail_next["find_contacts"] = httpx.ReadTimeout("timed out")
    # WHEN / THEN
    with pytest.raises(TransientSyncError):
        h.engine.handle(_ghl_contact_event(h))


def test_other_4xx_becomes_a_permanent_error_with_the_reason(h: Harness) -> None:
    # GIVEN the app rejects the body
    h.app.fail_next["create_contact"] = GhlValidationError(["email must be an email"])
    # WHEN / THEN the error is permanent and carries the reason
    with pytest.raises(PermanentSyncError, match="email must be an email"):
        h.engine.handle(_ghl_contact_event(h))


def test_a_failure_is_audited_before_it_propagates(h: Harness) -> None:
    # GIVEN a transient failure
    h.app.fail_next["create_contact"] = GhlRateLimited("slow down")
    # WHEN the event fails
    with pytest.raises(TransientSyncError):
        h.engine.handle(_ghl_contact_event(h))
    # THEN one failed audit row says why
    (row,) = h.audit_rows()
    assert row.decision == "failed" and "slow down" in row.reason
    assert h.metrics.counts["sync_failed"] == 1


def test_retry_after_a_transient_failure_completes_without_duplicates(h: Harness) -> None:
    # GIVEN a sync that failed once on create
    event = _ghl_contact_event(h)
    h.app.fail_next["create_contact"] = GhlRateLimited("slow down")
    with pytest.raises(TransientSyncError):
        h.engine.handle(event)
    # WHEN the same event is retried
    outcome = h.engine.handle(event)
    # THEN exactly one app contact exists
    assert outcome.decision is Decision.APPLIED
    assert len(h.app.contacts) == 1


def test_ghl_event_without_an_active_connection_is_skipped_and_audited(h: Harness) -> None:
    # GIVEN the location's only connection is disabled
    h.connections.set_status("conn1", ConnectionStatus.DISABLED)
    # WHEN a GHL event arrives
    outcome = h.engine.handle(_ghl_contact_event(h))
    # THEN it is skipped, audited under the location
    assert outcome.decision is Decision.SKIPPED
    (row,) = h.audit.for_location("loc1")
    assert row.decision == "skipped" and row.connection_id is None


def test_ghl_event_fans_out_to_every_active_connection(h: Harness) -> None:
    # GIVEN a second active connection on the same location, to another app account
    h.connections.put(Connection(connection_id="conn2", location_id="loc1", app="kayako"))
    other_app = FakeConnector("kayako2", h.clock)
    apps = {"conn1": h.app, "conn2": other_app}
    engine = SyncEngine(
        connections=h.connections,
        links=h.links,
        audit=h.audit,
        hub_for=lambda _c: h.ghl,
        app_for=lambda c: apps[c.connection_id],
        metrics=h.metrics,
        clock=h.clock,
    )
    # WHEN a new GHL contact is synced
    outcome = engine.handle(_ghl_contact_event(h))
    # THEN each app account got the contact
    assert outcome.decision is Decision.APPLIED
    assert len(h.app.contacts) == len(other_app.contacts) == 1
    assert outcome.writes == 2


def test_app_event_for_a_connection_of_another_location_is_skipped(h: Harness) -> None:
    # GIVEN an app event claiming conn1 but another location
    event = h.app_event(CONTACT, UPSERT, "x").model_copy(update={"location_id": "loc2"})
    # WHEN it is handled
    outcome = h.engine.handle(event)
    # THEN it is skipped
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "unknown connection")


def test_event_of_an_inactive_tenant_is_skipped(h: Harness) -> None:
    # GIVEN an engine that knows the tenant is not active
    engine = SyncEngine(
        connections=h.connections,
        links=h.links,
        audit=h.audit,
        hub_for=lambda _c: h.ghl,
        app_for=lambda _c: h.app,
        metrics=h.metrics,
        tenant_active=lambda _location: False,
        clock=h.clock,
    )
    # WHEN an event arrives
    outcome = engine.handle(_ghl_contact_event(h))
    # THEN nothing is called
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "tenant not active")
    assert h.app.calls == []
