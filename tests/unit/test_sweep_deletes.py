"""Sweep delete checks by reads, for the kinds no side can list (these fakes declare no
`id_listing`; GHL and Kayako notes): linked records gone on one side become DELETE events, a
bounded page of links per run, round-robin with a stored cursor. The diff of listings is in
test_sweep_delete_diff."""

from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import Forbidden
from ghlsync.core.events import ChangeAction
from ghlsync.store.links import LinkState, Side
from ghlsync.sweep import DELETES_CURSOR
from tests.unit.test_engine_fakes import T0
from tests.unit.test_sweep_fakes import CONNECTION, FeedConnector, Sweep, sweep

__all__ = ["sweep"]


def linked_pair(sweep: Sweep, hub: FeedConnector, app: FeedConnector, name: str) -> tuple[str, str]:
    """A contact on both sides, linked, changed before the feeds' checkpoints (so only deletes matter)."""
    ghl = hub.seed_contact(first_name=name)
    other = app.seed_contact(first_name=name)
    assert ghl.id and other.id
    sweep.link_contacts(ghl.id, other.id)
    return ghl.id, other.id


def checked_ghl_contacts(hub: FeedConnector) -> list[str]:
    return [args[0] for method, args in hub.calls if method == "get_contact"]


def test_a_contact_deleted_in_ghl_becomes_a_delete_event(sweep: Sweep) -> None:
    # GIVEN a linked contact deleted in GHL without a webhook
    hub, app = sweep.connect()
    sweep.clock.now = T0
    ghl_id, _ = linked_pair(sweep, hub, app, "Ada")
    del hub.contacts[ghl_id]
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN one DELETE event from GHL is enqueued for the engine (which confirms and applies the policy)
    deletes = [e for e in sweep.queue.events if e.action is ChangeAction.DELETE]
    assert [(e.source, e.entity, e.entity_id, e.connection_id) for e in deletes] == [
        ("ghl", EntityKind.CONTACT, ghl_id, None)
    ]
    assert deletes[0].location_id == "loc1" and deletes[0].occurred_at == T0
    assert summary.deletes_found == 1


def test_a_contact_deleted_in_the_app_becomes_a_delete_event_of_its_connection(sweep: Sweep) -> None:
    # GIVEN a linked contact deleted in the app
    hub, app = sweep.connect()
    _, app_id = linked_pair(sweep, hub, app, "Grace")
    del app.contacts[app_id]
    # WHEN the sweep runs THEN the DELETE comes from the app, for this connection
    sweep.run()
    [event] = [e for e in sweep.queue.events if e.action is ChangeAction.DELETE]
    assert (event.source, event.entity_id, event.connection_id) == ("fakeapp", app_id, CONNECTION)


def test_a_task_deleted_in_the_app_is_read_under_its_contact(sweep: Sweep) -> None:
    # GIVEN a linked task whose app side is gone
    hub, app = sweep.connect()
    ghl_contact, app_contact = linked_pair(sweep, hub, app, "Linus")
    ghl_task = hub.seed_task(ghl_contact, title="Call back")
    app_task = app.seed_task(app_contact, title="Call back")
    assert ghl_task.id and app_task.id
    sweep.link_tasks((ghl_contact, ghl_task.id), (app_contact, app_task.id))
    del app.tasks[app_task.id]
    # WHEN the sweep runs
    sweep.run()
    # THEN both sides were read under their contacts and the app's DELETE names its contact
    assert ("get_task", (ghl_contact, ghl_task.id)) in hub.calls
    assert ("get_task", (app_contact, app_task.id)) in app.calls
    [event] = [e for e in sweep.queue.events if e.action is ChangeAction.DELETE]
    assert (event.entity, event.entity_id, event.parent_id) == (EntityKind.TASK, app_task.id, app_contact)


def test_records_present_on_both_sides_give_no_event(sweep: Sweep) -> None:
    # GIVEN a linked contact present on both sides WHEN the sweep runs THEN no DELETE is enqueued
    hub, app = sweep.connect()
    linked_pair(sweep, hub, app, "Ada")
    summary = sweep.run()
    assert summary.deletes_found == 0 and summary.links_checked == 1
    assert all(e.action is not ChangeAction.DELETE for e in sweep.queue.events)


def test_a_repeated_find_carries_the_same_event_id(sweep: Sweep) -> None:
    # GIVEN a GHL deletion found by one run (and not yet applied by the engine)
    hub, app = sweep.connect()
    ghl_id, _ = linked_pair(sweep, hub, app, "Ada")
    del hub.contacts[ghl_id]
    sweep.run()
    # WHEN a later run finds it again
    sweep.clock.advance(900)
    sweep.run()
    # THEN both events have one id (FIFO de-duplication, then the engine's tombstone, drop the repeat)
    deletes = [e for e in sweep.queue.events if e.action is ChangeAction.DELETE]
    assert len(deletes) == 2 and deletes[0].event_id == deletes[1].event_id


def test_checks_are_bounded_per_run_and_go_round_robin(sweep: Sweep) -> None:
    # GIVEN five linked contacts and a bound of two checks per run
    hub, app = sweep.connect()
    ids = sorted(linked_pair(sweep, hub, app, f"C{n}")[0] for n in range(5))
    # WHEN four runs happen
    seen: list[list[str]] = []
    for _ in range(4):
        hub.calls.clear()
        sweep.run(delete_checks_per_connection=2)
        seen.append(checked_ghl_contacts(hub))
    # THEN each run checks the next two, wrapping around after the last link
    assert seen == [ids[0:2], ids[2:4], ids[4:5], ids[0:2]]


def test_the_walk_moves_on_to_tasks_after_contacts(sweep: Sweep) -> None:
    # GIVEN one linked contact with one linked task, and a bound of two checks
    hub, app = sweep.connect()
    ghl_contact, app_contact = linked_pair(sweep, hub, app, "Ada")
    ghl_task, app_task = hub.seed_task(ghl_contact, title="T"), app.seed_task(app_contact, title="T")
    assert ghl_task.id and app_task.id
    sweep.link_tasks((ghl_contact, ghl_task.id), (app_contact, app_task.id))
    # WHEN the sweep runs THEN the contact and then the task are checked, and the cursor is after the task
    summary = sweep.run(delete_checks_per_connection=2)
    assert summary.links_checked == 2
    assert ("get_task", (ghl_contact, ghl_task.id)) in hub.calls
    assert sweep.checkpoints.get_cursor(CONNECTION, DELETES_CURSOR) == f"task#{ghl_task.id}"


def test_tombstones_count_towards_the_bound_but_are_not_read(sweep: Sweep) -> None:
    # GIVEN a tombstoned link before a live one, and a bound of one check
    hub, app = sweep.connect()
    first, _ = linked_pair(sweep, hub, app, "A")
    second, _ = linked_pair(sweep, hub, app, "B")
    tomb = min(first, second)
    link = sweep.links.get(CONNECTION, EntityKind.CONTACT, Side.GHL, tomb)
    assert link is not None
    sweep.links.save(link.model_copy(update={"state": LinkState.DELETED}), previous=link)
    # WHEN the sweep runs THEN the tombstone used the one check and nothing was read
    summary = sweep.run(delete_checks_per_connection=1)
    assert summary.links_checked == 1 and checked_ghl_contacts(hub) == []


def test_a_failed_check_is_retried_by_the_next_run(sweep: Sweep) -> None:
    # GIVEN two linked contacts; GHL fails on the first read
    hub, app = sweep.connect()
    ids = sorted(linked_pair(sweep, hub, app, f"C{n}")[0] for n in range(2))
    hub.fail_next["get_contact"] = TimeoutError("GHL timed out")
    summary = sweep.run(delete_checks_per_connection=2)
    assert [(f.stage, f.error) for f in summary.failed] == [("deletes", "TimeoutError: GHL timed out")]
    # WHEN the next run happens THEN it starts again at the link whose check failed
    hub.calls.clear()
    sweep.run(delete_checks_per_connection=2)
    assert checked_ghl_contacts(hub) == ids


def test_a_link_that_cannot_be_read_is_reported_and_passed(sweep: Sweep) -> None:
    # GIVEN two linked contacts; reading the first one in GHL is refused for good
    hub, app = sweep.connect()
    ids = sorted(linked_pair(sweep, hub, app, f"C{n}")[0] for n in range(2))
    hub.fail_next["get_contact"] = Forbidden("403 location mismatch")
    # WHEN the sweep runs
    summary = sweep.run(delete_checks_per_connection=2)
    # THEN the failure is reported and the walk went on to the second link
    assert [(f.stage, f.error) for f in summary.failed] == [("deletes", "Forbidden: 403 location mismatch")]
    assert checked_ghl_contacts(hub) == ids and summary.links_checked == 2


def test_no_checks_when_turned_off(sweep: Sweep) -> None:
    # GIVEN a linked contact gone in GHL and delete checks turned off WHEN the sweep runs THEN nothing is read
    hub, app = sweep.connect()
    ghl_id, _ = linked_pair(sweep, hub, app, "Ada")
    del hub.contacts[ghl_id]
    summary = sweep.run(delete_checks_per_connection=0)
    assert summary.deletes_found == 0 and checked_ghl_contacts(hub) == []


def test_link_listing_resumes_after_an_id_that_no_longer_exists(sweep: Sweep) -> None:
    # GIVEN linked contacts ghl-c1, ghl-c3 (their ids sort in that order)
    sweep.connect()
    for ghl_id, app_id in (("ghl-c1", "a1"), ("ghl-c3", "a3")):
        sweep.link_contacts(ghl_id, app_id)
    # WHEN the listing resumes after ghl-c2 (a link since removed) THEN it continues at ghl-c3
    links = sweep.links.iter_links(CONNECTION, EntityKind.CONTACT, Side.GHL, after="ghl-c2", page_size=1)
    assert [link.ghl.id for link in links] == ["ghl-c3"]


def test_a_record_the_apps_feed_just_listed_is_not_read_again_for_existence(sweep: Sweep) -> None:
    # GIVEN a linked contact the app's feed lists in this run (changed since its checkpoint)
    hub, app = sweep.connect()
    ghl_id, _ = linked_pair(sweep, hub, app, "Ada")
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN the link is checked, read on GHL (whose search index lags) but not again on the app
    assert summary.links_checked == 1 and summary.deletes_found == 0
    assert ghl_id in checked_ghl_contacts(hub)
    assert [args for method, args in app.calls if method == "get_contact"] == []
