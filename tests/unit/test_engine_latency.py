"""Engine, sync latency: a live change feeds the latency metrics; a record a bulk job listed
(a backfill, its children, a bulk sync, a refresh) does not, its source time being when it last
changed (months ago for a backfilled contact)."""

from datetime import timedelta

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import LISTED_EVENT_TYPES, ChangeAction
from ghlsync.observability.catalog import MetricName
from ghlsync.sync.outcome import Decision
from tests.unit.test_engine_fakes import Harness, aws_env, h, table

__all__ = ["aws_env", "h", "table"]  # fixtures used by name

CONTACT = EntityKind.CONTACT
UPSERT = ChangeAction.UPSERT


def test_a_live_change_applied_feeds_the_latency_from_its_source(h: Harness) -> None:
    # GIVEN a GHL contact changed just now, its webhook's event
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    event = h.ghl_event(CONTACT, UPSERT, contact.id or "")
    # WHEN it is applied (created on the app)
    outcome = h.engine.handle(event)
    # THEN its latency from the source is measured
    assert outcome.decision is Decision.APPLIED and outcome.writes
    assert MetricName.SYNC_LATENCY_FROM_SOURCE in h.metrics.counts


@pytest.mark.parametrize("event_type", sorted(LISTED_EVENT_TYPES))
def test_a_listed_record_applied_feeds_no_latency(h: Harness, event_type: str) -> None:
    # GIVEN a GHL contact last changed 321 days ago, listed by a bulk job (its event type)
    contact = h.ghl.seed_contact(first_name="Old", email="old@example.com")
    last_changed = h.clock() - timedelta(days=321)
    event = h.ghl_event(CONTACT, UPSERT, contact.id or "", occurred_at=last_changed)
    event = event.model_copy(update={"event_type": event_type})
    # WHEN it is applied (created on the app)
    outcome = h.engine.handle(event)
    # THEN it is synced, and neither latency metric counts it
    assert outcome.decision is Decision.APPLIED and outcome.writes
    assert MetricName.SYNC_LATENCY_FROM_SOURCE not in h.metrics.counts
    assert MetricName.SYNC_LATENCY_FROM_RECEIPT not in h.metrics.counts
