"""Sweep delete diff: kinds a side can list are diffed against the links once per period (the
connection's `delete_scan_hours`), with no read per link; kinds it cannot list are still read."""

from datetime import timedelta

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.store.connections import ConnectionSettings
from ghlsync.store.links import Side
from tests.unit.test_sweep_fakes import CONNECTION, CREATED, FeedConnector, Sweep, sweep

__all__ = ["sweep"]
DAY = timedelta(days=1)


def listing_pair(sweep: Sweep) -> tuple[FeedConnector, FeedConnector, str, str]:
    """A connection whose both sides list contact and task ids, with one linked contact."""
    hub, app = sweep.connect()
    hub.lists_ids(EntityKind.CONTACT, EntityKind.TASK)
    app.lists_ids(EntityKind.CONTACT, EntityKind.TASK)
    ghl, other = hub.seed_contact(first_name="Ada"), app.seed_contact(first_name="Ada")
    assert ghl.id and other.id
    sweep.link_contacts(ghl.id, other.id, synced_at=CREATED)
    return hub, app, ghl.id, other.id


def deletes(sweep: Sweep) -> list[tuple[str, str]]:
    return [(e.source, e.entity_id) for e in sweep.queue.events if e.action is ChangeAction.DELETE]


def methods(*connectors: FeedConnector) -> list[str]:
    return [name for connector in connectors for name, _ in connector.calls]


def test_a_record_missing_from_the_listing_is_found_once_the_period_is_due(sweep: Sweep) -> None:
    # GIVEN a linked contact deleted in GHL without a webhook, the connection made an hour ago
    hub, app, ghl_id, _ = listing_pair(sweep)
    del hub.contacts[ghl_id]
    # WHEN a sweep runs before the day is up, and another a day after the connection was made
    early = sweep.run()
    sweep.clock.advance(DAY.total_seconds())
    due = sweep.run()
    # THEN the early run neither listed nor read; the due one listed both sides and found it
    assert (early.deletes_found, early.ids_listed, early.links_checked) == (0, 0, 0)
    assert deletes(sweep) == [("ghl", ghl_id)]
    assert due.ids_listed == 1 and due.links_checked == 0
    assert "get_contact" not in methods(hub, app)


def test_a_record_missing_in_the_app_gives_the_apps_delete(sweep: Sweep) -> None:
    # GIVEN a linked contact deleted in the app WHEN the due diff runs THEN the DELETE is the app's
    _hub, app, _, app_id = listing_pair(sweep)
    del app.contacts[app_id]
    sweep.clock.advance(DAY.total_seconds())
    sweep.run()
    assert deletes(sweep) == [("fakeapp", app_id)]


def test_a_quiet_run_between_two_diffs_makes_no_delete_call(sweep: Sweep) -> None:
    # GIVEN a diff that ran (GHL task lists are not read in rotation here: a hub with task search)
    hub, app, _, _ = listing_pair(sweep)
    sweep.clock.advance(DAY.total_seconds())
    sweep.run(task_lists_per_run=0)
    hub.calls.clear()
    app.calls.clear()
    # WHEN the next run comes five minutes later
    sweep.clock.advance(300)
    summary = sweep.run(task_lists_per_run=0)
    # THEN only the change feeds were called
    assert sorted(set(methods(hub, app))) == ["list_changes"]
    assert summary.ids_listed == 0


def test_the_period_is_the_connections_setting(sweep: Sweep) -> None:
    # GIVEN a connection diffed every hour, a linked contact deleted in GHL
    hub, _app, ghl_id, _ = listing_pair(sweep)
    connection = sweep.connections.get(CONNECTION)
    assert connection is not None
    sweep.connections.put(connection.model_copy(update={"settings": ConnectionSettings(delete_scan_hours=1)}))
    del hub.contacts[ghl_id]
    # WHEN the sweep runs (the connection is an hour old)
    sweep.run()
    # THEN it was due, and found the delete
    assert deletes(sweep) == [("ghl", ghl_id)]


def test_a_link_synced_while_the_listing_ran_is_left_for_the_next_period(sweep: Sweep) -> None:
    # GIVEN a link synced just now whose GHL record the listing does not show (created after it began)
    _hub, app, _, _ = listing_pair(sweep)
    sweep.clock.advance(DAY.total_seconds())
    sweep.link_contacts("ghl-new", "app-new")
    app.contacts["app-new"] = app.seed_contact(first_name="New").model_copy(update={"id": "app-new"})
    # WHEN the due diff runs THEN no DELETE is enqueued for it
    sweep.run()
    assert deletes(sweep) == []


def test_a_diff_cut_short_by_the_time_budget_stays_due(sweep: Sweep) -> None:
    # GIVEN a due diff whose listing outlasts the invocation
    hub, _app, ghl_id, _ = listing_pair(sweep)
    for n in range(150):
        hub.seed_contact(first_name=f"C{n}")
    sweep.clock.advance(DAY.total_seconds())
    hub.on_item = lambda: sweep.remaining.spend(5)
    first = sweep.run()
    # WHEN the next run has time and the record is gone by then
    hub.on_item = None
    sweep.remaining.ms = 600_000
    del hub.contacts[ghl_id]
    second = sweep.run()
    # THEN the first found nothing, and the second listed again and found it
    assert first.deletes_found == 0
    assert second.ids_listed > 0 and deletes(sweep) == [("ghl", ghl_id)]


def test_kinds_a_side_cannot_list_are_still_read_in_rotation(sweep: Sweep) -> None:
    # GIVEN sides that list contacts only, and a linked task gone in the app
    hub, app = sweep.connect()
    hub.lists_ids(EntityKind.CONTACT)
    app.lists_ids(EntityKind.CONTACT)
    ghl_contact, app_contact = hub.seed_contact(first_name="A"), app.seed_contact(first_name="A")
    assert ghl_contact.id and app_contact.id
    sweep.link_contacts(ghl_contact.id, app_contact.id, synced_at=CREATED)
    ghl_task, app_task = hub.seed_task(ghl_contact.id, title="T"), app.seed_task(app_contact.id, title="T")
    assert ghl_task.id and app_task.id
    sweep.link_tasks((ghl_contact.id, ghl_task.id), (app_contact.id, app_task.id))
    del app.tasks[app_task.id]
    # WHEN a sweep runs before any diff is due
    summary = sweep.run()
    # THEN the task link was read (both sides) and its delete found; no contact was read
    assert summary.links_checked == 1 and deletes(sweep) == [("fakeapp", app_task.id)]
    assert "get_contact" not in methods(hub, app)
    link = sweep.links.get(CONNECTION, EntityKind.TASK, Side.GHL, ghl_task.id)
    assert link is not None
