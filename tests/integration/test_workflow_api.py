"""The workflow API end to end: World's real handler, moto, the GHL and Kayako sandboxes.

Writes leave links and shadows, so the GHL webhook that follows each one is dropped as an echo
and nothing travels back to the app; a bundle costs one GHL call per part.
"""

import json
from datetime import UTC, datetime

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.store.links import Side
from sandbox.stack.template import REPO_ROOT
from tests.fixtures.workflow import APP, WorkflowClient, stored_items

DUE = "2027-01-15T09:00:00Z"


def test_a_bundle_holds_the_contact_its_tasks_notes_appointments_and_app_id(workflow: WorkflowClient) -> None:
    # GIVEN a synced contact with a task, a note and an appointment in GHL
    world = workflow.world
    ghl_id, app_id = workflow.synced_contact()
    world.ghl.ui_create_task(world.location_id, ghl_id, title="Call back", dueDate=DUE)
    world.ghl.ui_create_note(world.location_id, ghl_id, body="Prefers mornings")
    world.ghl.ui_create_appointment(
        world.location_id,
        ghl_id,
        title="Survey",
        start_time="2027-01-20T10:00:00Z",
        end_time="2027-01-20T11:00:00Z",
    )
    world.settle()
    # WHEN the bundle is loaded
    answer = workflow.call("GET", f"{ghl_id}/bundle")
    # THEN one document holds all of it, with the linked app id
    document = answer.json()
    assert answer.status == 200
    assert document["appId"] == app_id and document["contactId"] == ghl_id
    assert document["contact"]["email"] == "ada@example.com" and document["contact"]["firstName"] == "Ada"
    assert [t["title"] for t in document["tasks"]] == ["Call back"]
    assert [n["body"] for n in document["notes"]] == ["Prefers mornings"]
    assert [a["title"] for a in document["appointments"]] == ["Survey"]
    assert document["notes"][0]["createdAt"] is not None


@pytest.mark.parametrize(
    "include", [None, "contact", "tasks", "notes,appointments", "contact,tasks,notes", "tasks,tasks"]
)
def test_a_bundle_costs_one_ghl_call_per_part(workflow: WorkflowClient, include: str | None) -> None:
    # GIVEN a synced contact
    ghl_id, _ = workflow.synced_contact()
    mark = workflow.world.mark()
    # WHEN the bundle is loaded with `include`
    answer = workflow.call("GET", f"{ghl_id}/bundle", query=[("include", include)] if include else None)
    # THEN GHL saw exactly one call per distinct part, and the document has exactly those parts
    parts = set(include.split(",")) if include else {"contact", "tasks", "notes", "appointments"}
    assert answer.status == 200
    assert len(workflow.world.api_calls("ghl", since=mark)) == len(parts)
    assert set(answer.json()) - {"connectionId", "contactId", "appId"} == parts


def test_an_unchanged_bundle_answers_304_to_its_etag(workflow: WorkflowClient) -> None:
    # GIVEN a bundle and its ETag
    ghl_id, _ = workflow.synced_contact()
    first = workflow.call("GET", f"{ghl_id}/bundle")
    etag = first.header("ETag")
    # WHEN it is asked for again with If-None-Match
    again = workflow.call("GET", f"{ghl_id}/bundle", headers={"If-None-Match": str(etag)})
    # THEN 304 without a body, the same ETag
    assert etag and again.status == 304 and again.body == b"" and again.header("ETag") == etag


def test_a_changed_bundle_answers_200_with_a_new_etag(workflow: WorkflowClient) -> None:
    # GIVEN a bundle's ETag, then a note added in GHL
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    etag = str(workflow.call("GET", f"{ghl_id}/bundle").header("ETag"))
    world.ghl.ui_create_note(world.location_id, ghl_id, body="New note")
    # WHEN it is asked for with the old ETag
    again = workflow.call("GET", f"{ghl_id}/bundle", headers={"If-None-Match": etag})
    # THEN the new document, with another ETag
    assert again.status == 200 and again.header("ETag") != etag
    assert [n["body"] for n in again.json()["notes"]] == ["New note"]


def test_the_contact_may_be_named_by_the_apps_own_id(workflow: WorkflowClient) -> None:
    # GIVEN a synced contact WHEN its bundle is asked for as app:<Kayako user id>
    ghl_id, app_id = workflow.synced_contact()
    answer = workflow.call("GET", f"app:{app_id}/bundle", query=[("include", "contact")])
    # THEN it is the GHL contact of the link
    assert answer.status == 200 and answer.json()["contact"]["id"] == ghl_id


def test_tasks_and_notes_are_listed(workflow: WorkflowClient) -> None:
    # GIVEN a contact with a task and a note
    world = workflow.world
    ghl_id, app_id = workflow.synced_contact()
    world.ghl.ui_create_task(world.location_id, ghl_id, title="Quote", dueDate=DUE)
    world.ghl.ui_create_note(world.location_id, ghl_id, body="Met on site")
    # WHEN they are listed (by the app's id)
    tasks = workflow.call("GET", f"app:{app_id}/tasks")
    notes = workflow.call("GET", f"{ghl_id}/notes")
    # THEN each list holds its record
    assert tasks.status == 200 and [t["title"] for t in tasks.json()["tasks"]] == ["Quote"]
    assert notes.status == 200 and [n["body"] for n in notes.json()["notes"]] == ["Met on site"]


def test_a_task_created_with_its_app_id_is_linked_and_its_webhook_is_an_echo(
    workflow: WorkflowClient,
) -> None:
    # GIVEN a synced contact
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    mark = world.mark()
    # WHEN the app creates a task for it, naming its own id for the task
    body = {"title": "Install boiler", "dueDate": DUE, "appId": "case-77"}
    answer = workflow.call("POST", f"{ghl_id}/tasks", body=body)
    world.settle()
    # THEN the task is in GHL, linked to the app id, and nothing went back to Kayako
    created = answer.json()
    assert answer.status == 201 and created["title"] == "Install boiler" and created["appId"] == "case-77"
    assert created["dueDate"] == "2027-01-15T09:00:00Z"
    link = world.link(EntityKind.TASK, Side.GHL, created["id"], app=APP)
    assert link is not None and link.app.id == "case-77"
    assert world.app_writes(APP, since=mark) == []
    kayako = world.connection_ids[APP]  # other apps' connections see the webhook too
    webhook_rows = [r for r in world.audit() if r.ghl_id == created["id"] and r.source == "ghl"]
    assert [r.decision for r in webhook_rows if r.connection_id == kayako] == ["echo"]


def test_a_task_without_an_app_id_is_refused_where_tasks_reach_the_app(workflow: WorkflowClient) -> None:
    # GIVEN a connection that copies GHL tasks to Kayako
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    mark, before = world.mark(), stored_items(world)
    # WHEN a task is created without appId
    answer = workflow.call("POST", f"{ghl_id}/tasks", body={"title": "Call"})
    # THEN 422 naming appId, and nothing was written anywhere
    assert answer.status == 422 and answer.json()["field"] == "appId"
    assert world.ghl_writes(since=mark) == [] and stored_items(world) == before


def test_a_task_update_reaches_ghl_and_does_not_come_back_to_the_app(workflow: WorkflowClient) -> None:
    # GIVEN a GHL task already synced to a Kayako case
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    task = world.ghl.ui_create_task(world.location_id, ghl_id, title="Quote", dueDate=DUE)
    world.settle()
    mark = world.mark()
    # WHEN the app retitles it through the workflow API
    answer = workflow.call("PUT", f"{ghl_id}/tasks/{task.id}", body={"title": "Quote sent"})
    world.settle()
    # THEN GHL holds the new title, the link's GHL shadow too, and Kayako got no write
    assert answer.status == 200 and answer.json()["title"] == "Quote sent"
    assert world.ghl_reader().get_task(ghl_id, task.id).title == "Quote sent"  # type: ignore[union-attr]
    link = world.link(EntityKind.TASK, Side.GHL, task.id, app=APP)
    assert link is not None and link.ghl.fields is not None and link.ghl.fields["title"] == "Quote sent"
    assert answer.json()["appId"] == link.app.id
    assert world.app_writes(APP, since=mark) == []


def test_a_task_is_completed_through_its_completed_route(workflow: WorkflowClient) -> None:
    # GIVEN a synced GHL task
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    task = world.ghl.ui_create_task(world.location_id, ghl_id, title="Visit", dueDate=DUE)
    world.settle()
    mark = world.mark()
    # WHEN the app marks it completed
    answer = workflow.call("PUT", f"{ghl_id}/tasks/{task.id}/completed", body={"completed": True})
    world.settle()
    # THEN it is completed in GHL, and nothing went back to Kayako
    assert answer.status == 200 and answer.json()["completed"] is True
    assert world.ghl_reader().get_task(ghl_id, task.id).completed is True  # type: ignore[union-attr]
    assert world.app_writes(APP, since=mark) == []


def test_a_note_created_then_updated_never_comes_back_to_the_app(workflow: WorkflowClient) -> None:
    # GIVEN a synced contact
    world = workflow.world
    ghl_id, app_id = workflow.synced_contact()
    mark = world.mark()
    # WHEN the app appends a note (with its own note id), then edits it
    created = workflow.call("POST", f"app:{app_id}/notes", body={"body": "Gate code 1234", "appId": "note-5"})
    note_id = created.json()["id"]
    updated = workflow.call("PUT", f"app:{app_id}/notes/{note_id}", body={"body": "Gate code 4321"})
    world.settle()
    # THEN GHL holds the edited note, linked to note-5, and Kayako got no write
    assert created.status == 201 and updated.status == 200 and updated.json()["body"] == "Gate code 4321"
    assert world.ghl_reader().get_note(ghl_id, note_id).body == "Gate code 4321"  # type: ignore[union-attr]
    assert updated.json()["appId"] == "note-5"
    assert world.app_writes(APP, since=mark) == []


def test_every_write_is_audited(workflow: WorkflowClient) -> None:
    # GIVEN a synced contact
    ghl_id, _ = workflow.synced_contact()
    # WHEN a task is created and completed, and a note created
    task = workflow.call("POST", f"{ghl_id}/tasks", body={"title": "Call", "appId": "c-1"}).json()
    workflow.call("PUT", f"{ghl_id}/tasks/{task['id']}/completed", body={"completed": True})
    note = workflow.call("POST", f"{ghl_id}/notes", body={"body": "Hi", "appId": "n-1"}).json()
    # THEN one applied audit row each, from the workflow API, with the GHL ids
    rows = [r for r in workflow.world.audit() if r.source == "workflow_api"]
    assert [(r.event_type, r.decision, r.ghl_id) for r in rows] == [
        ("WorkflowTaskCreate", "applied", task["id"]),
        ("WorkflowTaskComplete", "applied", task["id"]),
        ("WorkflowNoteCreate", "applied", note["id"]),
    ]


def test_a_read_only_connection_reads_but_refuses_every_write(workflow: WorkflowClient) -> None:
    # GIVEN a synced contact with a task, on a connection then made read-only
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    task = world.ghl.ui_create_task(world.location_id, ghl_id, title="Quote", dueDate=DUE)
    world.settle()
    connection = world.connections.get(world.connection_ids[APP])
    assert connection is not None
    read_only = connection.settings.model_copy(update={"read_only": True})
    world.connections.put(
        connection.model_copy(update={"settings": read_only, "updated_at": datetime.now(UTC)})
    )
    mark, before = world.mark(), stored_items(world)
    # WHEN it reads and tries every write
    bundle = workflow.call("GET", f"{ghl_id}/bundle")
    writes = [
        workflow.call("POST", f"{ghl_id}/tasks", body={"title": "x", "appId": "c-9"}),
        workflow.call("PUT", f"{ghl_id}/tasks/{task.id}", body={"title": "x"}),
        workflow.call("PUT", f"{ghl_id}/tasks/{task.id}/completed", body={"completed": True}),
        workflow.call("POST", f"{ghl_id}/notes", body={"body": "x", "appId": "n-9"}),
        workflow.call("PUT", f"{ghl_id}/notes/n1", body={"body": "x"}),
    ]
    # THEN reads work, every write is 403 saying why, and nothing was written
    assert bundle.status == 200
    assert {w.status for w in writes} == {403}
    assert all("read-only" in w.json()["message"] for w in writes)
    assert world.ghl_writes(since=mark) == [] and stored_items(world) == before


def test_a_rotated_key_retires_the_old_one(workflow: WorkflowClient) -> None:
    # GIVEN a contact and the connection's key, then a rotation
    ghl_id, _ = workflow.synced_contact()
    old = workflow.key
    new = workflow.world.issue_workflow_key(APP)
    # THEN the old key is refused and the new one reads
    assert workflow.call("GET", f"{ghl_id}/bundle", key=old).status == 401
    assert workflow.call("GET", f"{ghl_id}/bundle", key=new).status == 200


def test_ghl_rate_limited_answers_429_with_retry_after(workflow: WorkflowClient) -> None:
    # GIVEN a synced contact, then GHL answering every call 429
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    world.ghl.faults.configure(rate_429=1.0)
    # WHEN the bundle is asked for, and a task created
    read = workflow.call("GET", f"{ghl_id}/bundle", query=[("include", "contact")])
    write = workflow.call("POST", f"{ghl_id}/tasks", body={"title": "x", "appId": "c-2"})
    # THEN both answer 429 with a Retry-After in seconds, and the failed write is audited
    for answer in (read, write):
        assert answer.status == 429 and int(str(answer.header("Retry-After"))) >= 1
    failed = [r for r in world.audit() if r.source == "workflow_api"]
    assert [(r.decision, r.reason.split(":")[0]) for r in failed] == [("failed", "429")]
    assert world.link(EntityKind.TASK, Side.APP, "c-2", app=APP) is None


def test_every_events_file_reaches_a_workflow_api_route(workflow: WorkflowClient) -> None:
    # GIVEN the events/ files of the workflow API (they name make dev's conn-dev-payaca, which
    # this World does not have) WHEN each is invoked THEN each reaches its route and answers the
    # documented 401 (an unrouted event would answer the resolver's 404)
    files = sorted((REPO_ROOT / "events").glob("workflow_api_*.json"))
    statuses = {
        f.name: workflow.world.invoke("WorkflowApiFunction", json.loads(f.read_text()))["statusCode"]
        for f in files
    }
    assert len(files) >= 6 and set(statuses.values()) == {401}, statuses
