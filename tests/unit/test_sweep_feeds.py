"""Sweep change feeds: what is enqueued, and how checkpoints move (only forward, only after success)."""

from datetime import UTC, datetime, timedelta

from ghlsync.queue import SyncQueue
from ghlsync.store.connections import ConnectionStatus
from ghlsync.store.links import LinkState
from ghlsync.store.tenants import Tenant, TenantStatus, TenantStore
from ghlsync.sweep import APP_FEED, GHL_FEED
from tests.unit.test_engine_fakes import T0
from tests.unit.test_sweep_fakes import CONNECTION, CREATED, Sweep, sweep

__all__ = ["sweep"]

OVERLAP = timedelta(seconds=120)


def at(sweep: Sweep, when: datetime) -> None:
    sweep.clock.now = when


def test_only_changes_since_the_checkpoint_are_enqueued(sweep: Sweep) -> None:
    # GIVEN a GHL feed checkpoint at T0, one contact changed before it and one after
    hub, _ = sweep.connect()
    sweep.checkpoints.advance(CONNECTION, GHL_FEED, T0)
    at(sweep, T0 - timedelta(minutes=10))
    hub.seed_contact(first_name="Old")
    at(sweep, T0 + timedelta(minutes=1))
    recent = hub.seed_contact(first_name="Recent")
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN only the recent change is enqueued, as a GHL upsert for the location
    assert sweep.queue.ids() == [recent.id]
    [event] = sweep.queue.events
    assert (event.source, event.location_id, event.action.value) == ("ghl", "loc1", "upsert")
    assert summary.enqueued == 1 and summary.connections == 1 and summary.failed == []


def test_a_new_connection_is_swept_from_its_creation(sweep: Sweep) -> None:
    # GIVEN a connection without checkpoints; app users changed before and just after it was created
    _, app = sweep.connect()
    at(sweep, CREATED - timedelta(days=1))
    app.seed_contact(first_name="Before")
    at(sweep, CREATED + timedelta(seconds=5))
    after = app.seed_contact(first_name="After")
    # WHEN the sweep runs THEN the feed was read from the creation (minus the overlap)
    sweep.run()
    assert app.calls[0] == ("list_changes", (CREATED - OVERLAP,))
    assert sweep.queue.ids() == [after.id]


def test_checkpoint_moves_to_the_newest_change_minus_the_overlap(sweep: Sweep) -> None:
    # GIVEN app changes at T0 and T0+3min (listed out of order: the app feed is unordered)
    _, app = sweep.connect()
    at(sweep, T0 + timedelta(minutes=3))
    newest = app.seed_contact(first_name="Newest")
    at(sweep, T0)
    app.seed_task(newest.id or "", title="Older task")
    # WHEN the sweep has enqueued both
    sweep.run()
    # THEN the app checkpoint is the newest change's time minus the overlap
    assert len(sweep.queue.events) == 2
    assert sweep.checkpoints.get(CONNECTION, APP_FEED) == T0 + timedelta(minutes=3) - OVERLAP


def test_checkpoint_stays_when_an_enqueue_fails(sweep: Sweep) -> None:
    # GIVEN a checkpoint at T0, two GHL changes after it, and a queue that refuses the second send
    hub, _ = sweep.connect()
    sweep.checkpoints.advance(CONNECTION, GHL_FEED, T0)
    for minute in (1, 2):
        at(sweep, T0 + timedelta(minutes=minute))
        hub.seed_contact(first_name=f"C{minute}")
    sweep.queue.refuse_from = 2
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN the checkpoint did not move (the next run reads both again) and the failure is reported
    assert sweep.checkpoints.get(CONNECTION, GHL_FEED) == T0
    [failure] = summary.failed
    assert (failure.connection_id, failure.stage) == (CONNECTION, "ghl_changes")
    assert failure.error.startswith("QueueUnavailable")


def test_checkpoint_never_moves_backwards(sweep: Sweep) -> None:
    # GIVEN a checkpoint at T0 and only a change 30 s after it (inside the overlap)
    hub, _ = sweep.connect()
    sweep.checkpoints.advance(CONNECTION, GHL_FEED, T0)
    at(sweep, T0 + timedelta(seconds=30))
    hub.seed_contact(first_name="Inside the overlap")
    # WHEN the sweep runs (newest change minus the overlap is before the checkpoint)
    sweep.run()
    # THEN the checkpoint stays where it was
    assert sweep.checkpoints.get(CONNECTION, GHL_FEED) == T0


def test_the_overlap_catches_a_change_the_search_index_did_not_show_yet(sweep: Sweep) -> None:
    # GIVEN a GHL change at T0, and one at T0-30s still missing from the search index
    hub, _ = sweep.connect()
    at(sweep, T0 - timedelta(seconds=30))
    lagging = hub.seed_contact(first_name="Lagging")
    at(sweep, T0)
    shown = hub.seed_contact(first_name="Shown")
    hub.hidden.add(lagging.id or "")
    first = sweep.run()
    assert sweep.queue.ids() == [shown.id] and first.enqueued == 1
    # WHEN the index catches up and the next sweep runs
    hub.hidden.clear()
    sweep.run()
    # THEN the lagging change is enqueued; the one read before comes again with the same event id
    assert sweep.queue.ids() == [shown.id, lagging.id, shown.id]
    assert sweep.queue.events[0].event_id == sweep.queue.events[2].event_id


def test_a_repeated_change_is_queued_once_by_the_fifo_queue(sweep: Sweep) -> None:
    # GIVEN one GHL change, swept twice within FIFO deduplication's 5 minutes into the real queue
    hub, _ = sweep.connect()
    at(sweep, T0)
    hub.seed_contact(first_name="Ada")
    queue = SyncQueue(sweep.aws.sqs, sweep.aws.queue_url, sweep.aws.dlq_url)
    first, second = sweep.run(queue=queue), sweep.run(queue=queue)
    # THEN both runs sent it, and the queue holds it once
    assert first.enqueued == second.enqueued == 1
    attributes = sweep.aws.sqs.get_queue_attributes(
        QueueUrl=sweep.aws.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_changes_the_shadows_already_reflect_are_not_enqueued(sweep: Sweep) -> None:
    # GIVEN two linked contacts, one unchanged since its sync and one edited after it
    hub, _ = sweep.connect()
    at(sweep, T0)
    synced = hub.seed_contact(first_name="Synced")
    edited = hub.seed_contact(first_name="Edited")
    sweep.link_contacts(synced.id or "", "app-1")
    sweep.link_contacts(edited.id or "", "app-2")
    at(sweep, T0 + timedelta(minutes=1))
    hub.edit_contact(edited.id or "", first_name="Edited again")
    # WHEN the sweep runs (delete checks off: the app records are not there)
    summary = sweep.run(delete_checks_per_connection=0)
    # THEN only the edit is enqueued
    assert sweep.queue.ids() == [edited.id]
    assert (summary.enqueued, summary.already_synced) == (1, 1)


def test_changes_of_a_deleted_link_are_not_enqueued(sweep: Sweep) -> None:
    # GIVEN a contact whose link is a tombstone (deleted on the app), edited in GHL afterwards
    hub, _ = sweep.connect()
    at(sweep, T0)
    contact = hub.seed_contact(first_name="Gone elsewhere")
    link = sweep.link_contacts(contact.id or "", "app-1")
    sweep.links.save(link.model_copy(update={"state": LinkState.DELETED}), previous=link)
    at(sweep, T0 + timedelta(minutes=1))
    hub.edit_contact(contact.id or "", first_name="Still here")
    # WHEN the sweep runs THEN nothing is enqueued (the engine would skip it anyway)
    sweep.run(delete_checks_per_connection=0)
    assert sweep.queue.events == []


def test_an_ordered_feed_over_its_bound_resumes_at_the_first_change_left(sweep: Sweep) -> None:
    # GIVEN five GHL changes, a minute apart, and a bound of three enqueued changes per feed and run
    hub, _ = sweep.connect()
    contacts = []
    for minute in range(1, 6):
        at(sweep, T0 + timedelta(minutes=minute))
        contacts.append(hub.seed_contact(first_name=f"C{minute}"))
    # WHEN the sweep runs twice
    first = sweep.run(max_events_per_feed=3)
    checkpoint = sweep.checkpoints.get(CONNECTION, GHL_FEED)
    read_by_first = hub.handed_out
    sweep.run(max_events_per_feed=3)
    # THEN the first run stopped reading at the fourth (its time is the checkpoint, no overlap),
    # and the second enqueued the last two (newest - overlap is behind the checkpoint: it stays)
    assert (first.enqueued, first.deferred, first.truncated_feeds) == (3, 1, 1)
    assert read_by_first == 4 and checkpoint == T0 + timedelta(minutes=4)
    assert sweep.queue.ids() == [c.id for c in contacts]
    assert sweep.checkpoints.get(CONNECTION, GHL_FEED) == T0 + timedelta(minutes=4)


def test_an_unordered_feed_over_its_bound_resumes_at_its_oldest_change_left(sweep: Sweep) -> None:
    # GIVEN app users changed at +1, +20 and +30 min and a case at +10 min (listed after every user)
    _, app = sweep.connect()
    sweep.checkpoints.advance(CONNECTION, APP_FEED, T0)
    at(sweep, T0 + timedelta(minutes=1))
    owner = app.seed_contact(first_name="Owner")
    at(sweep, T0 + timedelta(minutes=10))
    case = app.seed_task(owner.id or "", title="Case")
    for minute in (20, 30):
        at(sweep, T0 + timedelta(minutes=minute))
        app.seed_contact(first_name=f"U{minute}")
    # WHEN a run may enqueue three changes
    summary = sweep.run(max_events_per_feed=3)
    # THEN the case is left over, and the next run starts at its time (older than newest - overlap)
    assert (summary.enqueued, summary.deferred, summary.truncated_feeds) == (3, 1, 1)
    assert case.id not in sweep.queue.ids()
    assert sweep.checkpoints.get(CONNECTION, APP_FEED) == T0 + timedelta(minutes=10)
    sweep.run(max_events_per_feed=3)
    assert sweep.queue.ids()[-1] == case.id


def test_a_failing_connection_does_not_stop_the_others(sweep: Sweep) -> None:
    # GIVEN two connections with app changes; the first app is down
    _, broken = sweep.connect("conn-a")
    _, healthy = sweep.connect("conn-b")
    at(sweep, T0)
    broken.seed_contact(first_name="A")
    b = healthy.seed_contact(first_name="B")
    broken.fail_next["list_changes"] = ConnectionError("app unreachable")
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN the other connection's change is enqueued and the failure is reported with its stage
    assert sweep.queue.ids() == [b.id]
    assert [(f.connection_id, f.stage, f.error) for f in summary.failed] == [
        ("conn-a", "app_changes", "ConnectionError: app unreachable")
    ]
    assert summary.connections == 2
    assert sweep.checkpoints.get("conn-a", APP_FEED) is None
    assert sweep.checkpoints.get("conn-b", APP_FEED) == T0 - OVERLAP


def test_a_connection_whose_connector_cannot_be_built_is_reported(sweep: Sweep) -> None:
    # GIVEN two connections; the first one's app credentials cannot be read
    sweep.connect("conn-a")
    _, healthy = sweep.connect("conn-b")
    at(sweep, T0)
    b = healthy.seed_contact(first_name="B")
    del sweep.apps["conn-a"]
    # WHEN the sweep runs THEN conn-a is reported at the connect stage and conn-b is swept
    summary = sweep.run()
    assert [(f.connection_id, f.stage) for f in summary.failed] == [("conn-a", "connect")]
    assert sweep.queue.ids() == [b.id]


def test_disabled_connections_and_inactive_tenants_are_skipped(sweep: Sweep) -> None:
    # GIVEN a disabled connection, a connection whose tenant must reconnect, and an active one
    _, disabled = sweep.connect("conn-off", status=ConnectionStatus.DISABLED)
    _, reconnect = sweep.connect("conn-reconnect", location_id="loc-reconnect")
    _, active = sweep.connect("conn-on")
    TenantStore(sweep.aws.table).register(
        Tenant(
            location_id="loc-reconnect",
            status=TenantStatus.RECONNECT_NEEDED,
            installed_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    at(sweep, T0)
    for app in (disabled, reconnect, active):
        app.seed_contact(first_name="X")
    # WHEN the sweep runs THEN only the active one is read
    summary = sweep.run()
    assert (summary.connections, summary.skipped) == (1, 2)
    assert [e.connection_id for e in sweep.queue.events] == ["conn-on"]
    assert disabled.calls == [] and reconnect.calls == []
