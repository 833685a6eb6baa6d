"""Hostile input at every workflow-API route: the documented answer, nothing written, never a 5xx.

"Nothing written" means no GHL write and no new item in the sync table (links, shadows, audit).
Since nothing is written, the module shares one World (each test still compares before/after).
A write that names a contact, task or note GHL does not have in the location is sent (GHL's answer
is the proof) and refused: nothing takes effect, and its audit row says it failed.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.stack.calls import ApiAnswer
from tests.fixtures.workflow import APP, WorkflowClient, stored_items

OTHER_LOCATION = "otherLocation0000001"
DUE = "2027-01-15T09:00:00Z"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {contact}, {task}, {note}
    body: dict[str, Any] | None = None  # a valid body, for writes

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "{contact}/bundle"),
    Route("GET", "{contact}/tasks"),
    Route("POST", "{contact}/tasks", {"title": "Call", "appId": "c-1"}),
    Route("PUT", "{contact}/tasks/{task}", {"title": "Call again"}),
    Route("PUT", "{contact}/tasks/{task}/completed", {"completed": True}),
    Route("GET", "{contact}/notes"),
    Route("POST", "{contact}/notes", {"body": "Hello", "appId": "n-1"}),
    Route("PUT", "{contact}/notes/{note}", {"body": "Hello again"}),
]
WRITES = [route for route in ROUTES if route.writes]


@dataclass
class Target:
    """A synced contact of the connection's location with one task and one note, and a contact,
    task and note of another location."""

    contact: str
    task: str
    note: str
    other_contact: str
    other_task: str
    other_note: str


@pytest.fixture(scope="module")
def workflow() -> Iterator[WorkflowClient]:
    """GIVEN one World for the module, its Kayako connection given a workflow-API key."""
    from sandbox.apps import apps_named
    from sandbox.stack.world import World

    with World(seed=13, apps=apps_named(APP)) as world:
        yield WorkflowClient(world, world.issue_workflow_key(APP))


@pytest.fixture(scope="module")
def target(workflow: WorkflowClient) -> Iterator[Target]:
    world = workflow.world
    ghl_id, _ = workflow.synced_contact()
    task = world.ghl.ui_create_task(world.location_id, ghl_id, title="Quote", dueDate=DUE)
    note = world.ghl.ui_create_note(world.location_id, ghl_id, body="Note")
    world.ghl.add_location(OTHER_LOCATION, token="pit-other-location")
    other = world.ghl.ui_create_contact(OTHER_LOCATION, firstName="Eve", email="eve@other.test")
    other_task = world.ghl.ui_create_task(OTHER_LOCATION, other.id, title="Secret", dueDate=DUE)
    other_note = world.ghl.ui_create_note(OTHER_LOCATION, other.id, body="Secret")
    world.settle()
    yield Target(ghl_id, task.id, note.id, other.id, other_task.id, other_note.id)


def _path(route: Route, contact: str, task: str = "t0", note: str = "n0") -> str:
    return route.path.format(contact=contact, task=task, note=note)


@dataclass(frozen=True)
class Before:
    """The World before a request: its call log position and its stored items."""

    mark: int
    items: int
    items_but_failed_audits: int

    @classmethod
    def of(cls, workflow: WorkflowClient) -> "Before":
        world = workflow.world
        return cls(world.mark(), stored_items(world), stored_items(world, failed_audit_rows=False))


def _unharmed(workflow: WorkflowClient, answer: ApiAnswer, before: Before) -> None:
    assert answer.status < 500, answer.body
    assert workflow.world.ghl_writes(since=before.mark) == []
    assert stored_items(workflow.world) == before.items


def _refused_by_ghl(workflow: WorkflowClient, answer: ApiAnswer, before: Before) -> None:
    """Nothing took effect: every GHL write sent was refused, and only a failed audit row was added."""
    assert answer.status < 500, answer.body
    assert all(call.status >= 400 for call in workflow.world.ghl_writes(since=before.mark))
    assert stored_items(workflow.world, failed_audit_rows=False) == before.items_but_failed_audits


def _send(workflow: WorkflowClient, route: Route, path: str, **options: Any) -> tuple[ApiAnswer, Before]:
    before = Before.of(workflow)
    if route.writes and "raw" not in options and "body" not in options:
        options["body"] = route.body
    return workflow.call(route.method, path, **options), before


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize(
    "key", [None, "", "wfk_wrong-key", "x" * 5000], ids=["none", "empty", "wrong", "huge"]
)
def test_no_key_or_a_wrong_key_answers_401(
    workflow: WorkflowClient, target: Target, route: Route, key: str | None
) -> None:
    # GIVEN a real contact WHEN a route is called without the connection's key
    answer, before = _send(workflow, route, _path(route, target.contact, target.task, target.note), key=key)
    # THEN 401, nothing written
    assert answer.status == 401 and answer.json() == {
        "message": "missing or invalid X-Api-Key for this connection"
    }
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_the_key_of_another_connection_id_answers_401(
    workflow: WorkflowClient, target: Target, route: Route
) -> None:
    # GIVEN the right key WHEN another connection id is named in the path
    world = workflow.world
    before = Before.of(workflow)
    path = f"/connections/conn-someone-else/contacts/{_path(route, target.contact, target.task, target.note)}"
    raw = json.dumps(route.body).encode() if route.body else b""
    answer = world.request(route.method, path, headers={"X-Api-Key": workflow.key}, body=raw)
    # THEN 401, as for a wrong key
    assert answer.status == 401
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.writes], ids=str)
def test_the_key_header_is_case_insensitive(workflow: WorkflowClient, target: Target, route: Route) -> None:
    # GIVEN the key in a lower-case header WHEN a read route is called THEN it is accepted
    answer = workflow.call(
        route.method, _path(route, target.contact), key=None, headers={"x-api-key": workflow.key}
    )
    assert answer.status == 200


def _unlinked_body(route: Route) -> dict[str, Any] | None:
    """The route's body naming an app id, as a write to a record not linked yet needs (Kayako
    syncs tasks and notes both ways); None for reads."""
    return {**route.body, "appId": "app-record-1"} if route.body is not None else None


def _send_unlinked(workflow: WorkflowClient, route: Route, path: str) -> tuple[ApiAnswer, Before]:
    if route.writes:
        return _send(workflow, route, path, body=_unlinked_body(route))
    return _send(workflow, route, path)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_contact_of_another_location_answers_404(
    workflow: WorkflowClient, target: Target, route: Route
) -> None:
    # GIVEN a contact (and its task and note) of another location WHEN the route names them
    answer, before = _send_unlinked(
        workflow, route, _path(route, target.other_contact, target.other_task, target.other_note)
    )
    # THEN 404 as for a missing contact, nothing took effect, the other location's data untouched
    assert answer.status == 404 and "Eve" not in answer.body.decode()
    _refused_by_ghl(workflow, answer, before)
    other_notes = workflow.world.ghl.store.location(OTHER_LOCATION).notes[target.other_contact]
    assert [n.body for n in other_notes.values()] == ["Secret"]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_missing_contact_answers_404(workflow: WorkflowClient, target: Target, route: Route) -> None:
    # GIVEN a GHL id that names no contact THEN 404, nothing took effect
    answer, before = _send_unlinked(workflow, route, _path(route, "NoSuchContact0000001", "t0", "n0"))
    assert answer.status == 404
    _refused_by_ghl(workflow, answer, before)


@pytest.mark.parametrize("route", [r for r in WRITES if "{task}" in r.path or "{note}" in r.path], ids=str)
def test_a_task_or_note_of_another_location_answers_404(
    workflow: WorkflowClient, target: Target, route: Route
) -> None:
    # GIVEN our contact but the other location's task / note id THEN 404, nothing took effect
    answer, before = _send_unlinked(
        workflow, route, _path(route, target.contact, target.other_task, target.other_note)
    )
    assert answer.status == 404
    _refused_by_ghl(workflow, answer, before)


@pytest.mark.parametrize("route", [r for r in WRITES if "{task}" in r.path or "{note}" in r.path], ids=str)
def test_an_unlinked_record_written_without_an_app_id_answers_422_before_any_call(
    workflow: WorkflowClient, target: Target, route: Route
) -> None:
    # GIVEN a task / note id we hold no link for, on a connection that copies them to Kayako
    answer, before = _send(
        workflow, route, _path(route, target.contact, target.other_task, target.other_note)
    )
    # THEN 422 naming appId, decided from our links alone (GHL is not asked), nothing written
    assert answer.status == 422 and answer.json()["field"] == "appId"
    assert workflow.world.api_calls("ghl", since=before.mark) == []
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("bad_id", ["..", "..%2Fx", "app:..%2Fx", "app:", "%00", "a%20b", "x" * 300])
def test_an_id_that_names_nothing_answers_404(
    workflow: WorkflowClient, target: Target, route: Route, bad_id: str
) -> None:
    # GIVEN a path id with traversal, encoded separators, controls or overlong WHEN it names the contact
    answer, before = _send(workflow, route, _path(route, bad_id, target.task, target.note))
    # THEN 404 (it can name no record), nothing written
    assert answer.status == 404
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", [r for r in WRITES if "{task}" in r.path or "{note}" in r.path], ids=str)
@pytest.mark.parametrize("bad_id", ["..", "..%2Fx", "%00", "x" * 300])
def test_a_bad_task_or_note_id_answers_404(
    workflow: WorkflowClient, target: Target, route: Route, bad_id: str
) -> None:
    # GIVEN a bad task / note id under a real contact THEN 404, nothing written
    answer, before = _send(workflow, route, _path(route, target.contact, bad_id, bad_id))
    assert answer.status == 404
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", WRITES, ids=str)
@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b'"x"', b"\xff\xfe\x00", b""], ids=repr)
def test_a_body_that_is_not_a_json_object_answers_400(
    workflow: WorkflowClient, target: Target, route: Route, raw: bytes
) -> None:
    # GIVEN malformed or non-object JSON WHEN it is written THEN 400, nothing written
    answer, before = _send(workflow, route, _path(route, target.contact, target.task, target.note), raw=raw)
    assert answer.status == 400
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_a_huge_body_answers_413(workflow: WorkflowClient, target: Target, route: Route) -> None:
    # GIVEN a body over the limit (64 KiB) THEN 413 before anything is parsed, nothing written
    huge = json.dumps({"body": "x" * 70_000, "title": "x"}).encode()
    answer, before = _send(workflow, route, _path(route, target.contact, target.task, target.note), raw=huge)
    assert answer.status == 413
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_an_unknown_field_answers_422_naming_it(
    workflow: WorkflowClient, target: Target, route: Route
) -> None:
    # GIVEN a valid body plus an unknown field THEN 422 naming it, nothing written
    body = {**(route.body or {}), "ownerPassword": "x"}
    answer, before = _send(workflow, route, _path(route, target.contact, target.task, target.note), body=body)
    assert answer.status == 422 and answer.json()["field"] == "ownerPassword"
    _unharmed(workflow, answer, before)


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        (WRITES[0], {"title": "x", "dueDate": "next tuesday", "appId": "c-1"}, "dueDate"),
        (WRITES[0], {"title": 7, "appId": "c-1"}, "title"),
        (WRITES[1], {"completed": "yes please"}, "completed"),
        (WRITES[1], {}, "body"),
        (WRITES[2], {"completed": None}, "completed"),
        (WRITES[3], {"body": ""}, "body"),
        (WRITES[4], {"body": ["x"]}, "body"),
    ],
    ids=lambda value: str(value) if isinstance(value, Route) else None,
)
def test_a_wrong_field_value_answers_422_naming_it(
    workflow: WorkflowClient, target: Target, route: Route, body: dict[str, Any], field: str
) -> None:
    # GIVEN a body with a wrong value THEN 422 naming the field, nothing written
    answer, before = _send(workflow, route, _path(route, target.contact, target.task, target.note), body=body)
    assert answer.status == 422 and answer.json()["field"] == field
    _unharmed(workflow, answer, before)


def test_an_unknown_include_part_answers_400(workflow: WorkflowClient, target: Target) -> None:
    # GIVEN include=contact,passwords THEN 400 naming include, no GHL call at all
    before = Before.of(workflow)
    answer = workflow.call("GET", f"{target.contact}/bundle", query=[("include", "contact,passwords")])
    assert answer.status == 400 and answer.json()["field"] == "include"
    assert workflow.world.api_calls("ghl", since=before.mark) == []
