"""Engine, deletes: the connection's delete policy, tombstones, stale deletes."""

from typing import Any

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.store.links import LinkState, Side
from ghlsync.sync.outcome import Decision
from tests.unit.test_engine_fakes import Harness, aws_env, build_harness, table

__all__ = ["aws_env", "table"]

CONTACT = EntityKind.CONTACT


def _linked(table: Any, policy: str) -> tuple[Harness, str, str]:
    h = build_harness(table, delete_policy=policy)
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    h.engine.handle(h.ghl_event(CONTACT, ChangeAction.UPSERT, contact.id or ""))
    (app_contact,) = h.app.contacts.values()
    h.clock.advance(60)
    h.reset_calls()
    return h, contact.id or "", app_contact.id or ""


def test_delete_policy_delete_removes_the_app_record(table: Any) -> None:
    # GIVEN a linked contact under policy "delete", deleted in GHL
    h, ghl_id, app_id = _linked(table, "delete")
    del h.ghl.contacts[ghl_id]
    # WHEN ContactDelete is handled
    outcome = h.engine.handle(h.ghl_event(CONTACT, ChangeAction.DELETE, ghl_id))
    # THEN the app record is deleted too
    assert outcome.decision is Decision.APPLIED
    assert h.app.writes() == [("delete_contact", (app_id,))]


def test_delete_policy_tag_marks_the_survivor(table: Any) -> None:
    # GIVEN a linked contact under policy "tag", deleted in the app
    h, ghl_id, app_id = _linked(table, "tag")
    del h.app.contacts[app_id]
    # WHEN the app's delete is handled
    h.engine.handle(h.app_event(CONTACT, ChangeAction.DELETE, app_id))
    # THEN the GHL contact is tagged deleted-in-kayako and kept
    assert h.ghl.writes() == [("add_tags", (ghl_id, frozenset({"deleted-in-kayako"})))]
    assert ghl_id in h.ghl.contacts


def test_delete_policy_ignore_writes_nothing(table: Any) -> None:
    # GIVEN a linked contact under policy "ignore", deleted in GHL
    h, ghl_id, _ = _linked(table, "ignore")
    del h.ghl.contacts[ghl_id]
    # WHEN ContactDelete is handled
    outcome = h.engine.handle(h.ghl_event(CONTACT, ChangeAction.DELETE, ghl_id))
    # THEN the app is untouched
    assert outcome.decision is Decision.APPLIED
    assert h.app.writes() == []


@pytest.mark.parametrize("policy", ["delete", "tag", "ignore"])
def test_a_delete_leaves_a_tombstone_link(table: Any, policy: str) -> None:
    # GIVEN a linked contact deleted in GHL
    h, ghl_id, app_id = _linked(table, policy)
    del h.ghl.contacts[ghl_id]
    # WHEN ContactDelete is handled
    h.engine.handle(h.ghl_event(CONTACT, ChangeAction.DELETE, ghl_id))
    # THEN the link is a tombstone, seen from both sides
    for side, record_id in ((Side.GHL, ghl_id), (Side.APP, app_id)):
        link = h.link_of(CONTACT, side, record_id)
        assert link is not None and link.state is LinkState.DELETED and link.deleted_on is Side.GHL


def test_later_change_of_the_survivor_does_not_resurrect_the_deleted_record(table: Any) -> None:
    # GIVEN a contact deleted in GHL, tagged in the app under policy "tag"
    h, ghl_id, app_id = _linked(table, "tag")
    del h.ghl.contacts[ghl_id]
    h.engine.handle(h.ghl_event(CONTACT, ChangeAction.DELETE, ghl_id))
    h.reset_calls()
    # WHEN the app reports the tagged survivor as updated
    outcome = h.engine.handle(h.app_event(CONTACT, ChangeAction.UPSERT, app_id))
    # THEN it is skipped; nothing is created in GHL
    assert outcome.decision is Decision.SKIPPED
    assert h.ghl.writes() == []


def test_delete_of_a_record_that_still_exists_is_skipped_as_stale(table: Any) -> None:
    # GIVEN a linked contact that still exists in GHL
    h, ghl_id, _ = _linked(table, "delete")
    # WHEN a ContactDelete for it arrives
    outcome = h.engine.handle(h.ghl_event(CONTACT, ChangeAction.DELETE, ghl_id))
    # THEN nothing is deleted
    assert outcome.decision is Decision.SKIPPED and outcome.reason.startswith("stale delete")
    assert h.app.writes() == []


def test_delete_of_an_unlinked_record_is_skipped(table: Any) -> None:
    # GIVEN no link for the record
    h = build_harness(table)
    # WHEN its delete arrives
    outcome = h.engine.handle(h.ghl_event(CONTACT, ChangeAction.DELETE, "never-seen"))
    # THEN it is skipped with a reason
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "not linked")


def test_task_delete_follows_the_delete_policy(table: Any) -> None:
    # GIVEN a task synced from GHL under policy "delete", then deleted in GHL
    h, ghl_id, _ = _linked(table, "delete")
    task = h.ghl.seed_task(ghl_id, title="Call back")
    h.engine.handle(h.ghl_event(EntityKind.TASK, ChangeAction.UPSERT, task.id or "", parent_id=ghl_id))
    (app_task,) = h.app.tasks.values()
    del h.ghl.tasks[task.id or ""]
    h.reset_calls()
    # WHEN TaskDelete is handled
    h.engine.handle(h.ghl_event(EntityKind.TASK, ChangeAction.DELETE, task.id or "", parent_id=ghl_id))
    # THEN the app task is deleted
    assert h.app.writes() == [("delete_task", (app_task.parent_id, app_task.id))]
