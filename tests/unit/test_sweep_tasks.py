"""Sweep, GHL tasks (no modification time, no TaskUpdate webhook): listed tasks against their
shadows, through the hub's snapshot feed or, without one, a rotation of linked contacts' task lists."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from ghlsync.apps.ghl_hub import listed_task_event
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeEvent
from ghlsync.mapping.canonical import CanonicalTask
from ghlsync.store.links import Link, Shadow
from ghlsync.sync.shadows import normalize
from tests.unit.test_sweep_fakes import CONNECTION, CREATED, LOCATION, FeedConnector, Sweep, sweep

__all__ = ["sweep"]


class SearchingHub(FeedConnector):
    """A hub whose tasks are listed location-wide (GHL's task search)."""

    def list_current(self, entity: EntityKind) -> Iterator[ChangeEvent]:
        self._record("list_current", entity)
        for task in self.tasks.values():
            yield listed_task_event(LOCATION, task, self.clock())


def linked_task(sweep: Sweep, hub: FeedConnector, app: FeedConnector, title: str) -> CanonicalTask:
    """A contact and its task on both sides, linked, the GHL shadow as the task is now."""
    ghl, other = hub.seed_contact(first_name=title), app.seed_contact(first_name=title)
    assert ghl.id and other.id
    sweep.link_contacts(ghl.id, other.id, synced_at=CREATED)
    task, copy = hub.seed_task(ghl.id, title=title), app.seed_task(other.id, title=title)
    assert task.id and copy.id
    now = normalize(task)
    sweep.links.save(
        Link(
            connection_id=CONNECTION,
            entity=EntityKind.TASK,
            ghl=Shadow(id=task.id, parent_id=ghl.id, content_hash=now.content_hash(), fields=now.fields()),
            app=Shadow(id=copy.id, parent_id=other.id),
        ),
        previous=None,
    )
    return task


def searching_connection(sweep: Sweep) -> tuple[FeedConnector, FeedConnector]:
    _, app = sweep.connect()
    hub = SearchingHub("ghl", sweep.clock, connection_id=None)
    hub.capabilities = replace(hub.capabilities, snapshot_feed=frozenset({EntityKind.TASK}))
    sweep.hubs[CONNECTION] = hub
    return hub, app


def listed(sweep: Sweep) -> list[ChangeEvent]:
    """The task events the listings queued (the fakes' timestamped feeds list tasks too)."""
    return [e for e in sweep.queue.events if e.event_type == "SweepTaskListed"]


def retitle(hub: FeedConnector, task: CanonicalTask, title: str) -> None:
    assert task.id
    hub.tasks[task.id] = task.model_copy(update={"title": title})


def test_a_retitled_task_is_enqueued_once_by_the_snapshot_feed(sweep: Sweep) -> None:
    # GIVEN two linked GHL tasks, one retitled since it was synced
    hub, app = searching_connection(sweep)
    changed = linked_task(sweep, hub, app, "Call")
    linked_task(sweep, hub, app, "Mail")
    retitle(hub, changed, "Call Ada")
    # WHEN the sweep runs
    summary = sweep.run()
    # THEN only the retitled one is queued, carrying the task; no task list was read per contact
    tasks = listed(sweep)
    assert [(e.entity_id, (e.record or {}).get("title")) for e in tasks] == [(changed.id, "Call Ada")]
    assert summary.already_synced >= 1
    assert "list_tasks" not in [name for name, _ in hub.calls]


def test_an_unlinked_task_of_a_linked_contact_is_enqueued_and_others_are_not(sweep: Sweep) -> None:
    # GIVEN a new GHL task under a linked contact (its TaskCreate webhook lost), and one under no link
    hub, app = searching_connection(sweep)
    ghl, other = hub.seed_contact(first_name="A"), app.seed_contact(first_name="A")
    assert ghl.id and other.id
    sweep.link_contacts(ghl.id, other.id)
    lost = hub.seed_task(ghl.id, title="New")
    hub.seed_task("ghl-unlinked-contact", title="Elsewhere")
    # WHEN the sweep runs THEN only the linked contact's task is queued
    sweep.run()
    assert [e.entity_id for e in listed(sweep)] == [lost.id]


def test_without_a_task_search_linked_contacts_task_lists_are_read_in_rotation(sweep: Sweep) -> None:
    # GIVEN a hub without the task search, three linked contacts with a task each, one retitled
    hub, app = sweep.connect()
    tasks = [linked_task(sweep, hub, app, f"T{n}") for n in range(3)]
    retitle(hub, tasks[2], "T2 again")
    # WHEN sweeps run with two task lists per run
    read: list[list[str]] = []
    for _ in range(2):
        hub.calls.clear()
        sweep.run(task_lists_per_run=2)
        read.append([args[0] for name, args in hub.calls if name == "list_tasks"])
    # THEN the lists were read two then one (wrapping), and the retitled task was queued
    contacts = sorted(t.parent_id or "" for t in tasks)
    assert read == [contacts[0:2], contacts[2:3]]
    assert [e.entity_id for e in listed(sweep)] == [tasks[2].id]


def test_a_listed_task_event_id_is_stable_for_the_same_content() -> None:
    # GIVEN one task listed twice at different times, then retitled
    task = CanonicalTask(id="t1", parent_id="c1", title="Call")
    first = listed_task_event(LOCATION, task, datetime(2026, 1, 1))
    again = listed_task_event(LOCATION, task, datetime(2026, 1, 2))
    changed = listed_task_event(LOCATION, task.model_copy(update={"title": "Call Ada"}), datetime(2026, 1, 2))
    # THEN the same content has one id (FIFO de-duplication), changed content another
    assert first.event_id == again.event_id != changed.event_id
