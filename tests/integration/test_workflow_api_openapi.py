"""docs/workflow-api.yaml describes the workflow API as the handler really answers.

Its routes are exactly the template's WorkflowApiFunction routes, and real answers of the handler
(through World, one per documented status) validate against the document's response schemas;
OpenAPI 3.0's `nullable` is translated to JSON Schema as in test_ghl_sandbox_spec.
"""

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from sandbox.stack.calls import ApiAnswer
from sandbox.stack.template import REPO_ROOT, load_template
from tests.fixtures.workflow import APP, WorkflowClient

DOC_PATH = REPO_ROOT / "docs" / "workflow-api.yaml"
BASE_URI = "https://workflow-api.invalid/doc"
CONTACT = "/connections/{connectionId}/contacts/{contactId}"
DUE = "2027-01-15T09:00:00Z"


def _nullable_to_json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _nullable_to_json_schema(value) for key, value in node.items() if key != "nullable"}
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    return node


DOC: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource(BASE_URI, DRAFT202012.create_resource(_nullable_to_json_schema(DOC)))


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _response_pointer(path: str, method: str, status: int) -> str:
    """The JSON pointer of the documented response (following a components $ref)."""
    response = DOC["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in response:
        return str(response["$ref"]).removeprefix("#")
    return f"/paths/{_escape(path)}/{method.lower()}/responses/{status}"


def _resolve(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _check(path: str, method: str, answer: ApiAnswer) -> None:
    pointer = _response_pointer(path, method, answer.status)
    documented = _resolve(pointer)
    for header in documented.get("headers", {}):
        assert answer.header(header) is not None, f"{method} {path} {answer.status}: no {header} header"
    if "content" not in documented:
        assert answer.body == b""
        return
    schema = {"$ref": f"{BASE_URI}#{pointer}/content/application~1json/schema"}
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(answer.json())


def test_the_document_lists_exactly_the_template_routes() -> None:
    # GIVEN the template's workflow function THEN its Api events are the document's operations
    events = load_template().document["Resources"]["WorkflowApiFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Path"], e["Properties"]["Method"].lower()) for e in events.values()}
    documented = {
        (path, method) for path, item in DOC["paths"].items() for method in item if method != "parameters"
    }
    assert routes == documented


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, tuple[str, str, ApiAnswer]]]:
    """One real answer per documented case, from one World."""
    from sandbox.apps import apps_named
    from sandbox.stack.world import World

    with World(seed=21, apps=apps_named(APP)) as world:
        client = WorkflowClient(world, world.issue_workflow_key(APP))
        ghl_id, app_id = client.synced_contact()
        task = world.ghl.ui_create_task(world.location_id, ghl_id, title="Quote", dueDate=DUE)
        world.ghl.ui_create_note(world.location_id, ghl_id, body="Met on site")
        world.ghl.ui_create_appointment(
            world.location_id, ghl_id, title="Survey", start_time=DUE, end_time=DUE
        )
        world.settle()
        bundle = client.call("GET", f"{ghl_id}/bundle")
        unchanged = client.call(
            "GET", f"{ghl_id}/bundle", headers={"If-None-Match": str(bundle.header("ETag"))}
        )
        created_note = client.call("POST", f"{ghl_id}/notes", body={"body": "Gate code", "appId": "n-1"})
        found: dict[str, tuple[str, str, ApiAnswer]] = {
            "bundle 200": (f"{CONTACT}/bundle", "GET", bundle),
            "bundle 304": (f"{CONTACT}/bundle", "GET", unchanged),
            "bundle 400": (
                f"{CONTACT}/bundle",
                "GET",
                client.call("GET", f"{ghl_id}/bundle", query=[("include", "x")]),
            ),
            "bundle 401": (f"{CONTACT}/bundle", "GET", client.call("GET", f"{ghl_id}/bundle", key="wrong")),
            "bundle 404": (f"{CONTACT}/bundle", "GET", client.call("GET", "app:nobody/bundle")),
            "tasks 200": (f"{CONTACT}/tasks", "GET", client.call("GET", f"app:{app_id}/tasks")),
            "task create 201": (
                f"{CONTACT}/tasks",
                "POST",
                client.call(
                    "POST", f"{ghl_id}/tasks", body={"title": "Install", "dueDate": DUE, "appId": "c-1"}
                ),
            ),
            "task create 400": (f"{CONTACT}/tasks", "POST", client.call("POST", f"{ghl_id}/tasks", raw=b"{")),
            "task create 413": (
                f"{CONTACT}/tasks",
                "POST",
                client.call("POST", f"{ghl_id}/tasks", raw=b'{"title": "' + b"x" * 70_000 + b'"}'),
            ),
            "task create 422": (
                f"{CONTACT}/tasks",
                "POST",
                client.call("POST", f"{ghl_id}/tasks", body={"title": ""}),
            ),
            "task update 200": (
                f"{CONTACT}/tasks/{{taskId}}",
                "PUT",
                client.call("PUT", f"{ghl_id}/tasks/{task.id}", body={"title": "Quote sent"}),
            ),
            "task completed 200": (
                f"{CONTACT}/tasks/{{taskId}}/completed",
                "PUT",
                client.call("PUT", f"{ghl_id}/tasks/{task.id}/completed", body={"completed": True}),
            ),
            "notes 200": (f"{CONTACT}/notes", "GET", client.call("GET", f"{ghl_id}/notes")),
            "note create 201": (f"{CONTACT}/notes", "POST", created_note),
            "note update 200": (
                f"{CONTACT}/notes/{{noteId}}",
                "PUT",
                client.call(
                    "PUT", f"{ghl_id}/notes/{created_note.json()['id']}", body={"body": "Gate code 2"}
                ),
            ),
        }
        connection = world.connections.get(world.connection_ids[APP])
        assert connection is not None
        read_only = connection.settings.model_copy(update={"read_only": True})
        world.connections.put(connection.model_copy(update={"settings": read_only}))
        found["note create 403"] = (
            f"{CONTACT}/notes",
            "POST",
            client.call("POST", f"{ghl_id}/notes", body={"body": "x"}),
        )
        world.connections.put(connection)
        world.ghl.faults.configure(rate_429=1.0)
        found["notes 429"] = (f"{CONTACT}/notes", "GET", client.call("GET", f"{ghl_id}/notes"))
        world.ghl.faults.configure()
        yield found


CASES = [
    "bundle 200",
    "bundle 304",
    "bundle 400",
    "bundle 401",
    "bundle 404",
    "tasks 200",
    "task create 201",
    "task create 400",
    "task create 413",
    "task create 422",
    "task update 200",
    "task completed 200",
    "notes 200",
    "note create 201",
    "note update 200",
    "note create 403",
    "notes 429",
]


@pytest.mark.parametrize("case", CASES)
def test_a_real_answer_matches_the_document(
    answers: dict[str, tuple[str, str, ApiAnswer]], case: str
) -> None:
    # GIVEN the handler's real answer for the case THEN its status is the case's, and its body
    # and headers are as documented for that route and status
    path, method, answer = answers[case]
    assert answer.status == int(case.rsplit(" ", 1)[1]), answer.body
    _check(path, method, answer)


def test_every_documented_request_example_of_a_write_validates() -> None:
    # GIVEN the bodies the README shows THEN the document's request schemas accept them
    bodies = {
        ("/tasks", "post"): {"title": "Call back", "dueDate": DUE, "appId": "job-77"},
        ("/tasks/{taskId}", "put"): {"title": "Call back today"},
        ("/tasks/{taskId}/completed", "put"): {"completed": True},
        ("/notes", "post"): {"body": "Gate code 1234", "appId": "note-5"},
        ("/notes/{noteId}", "put"): {"body": "Gate code 4321"},
    }
    for (tail, method), body in bodies.items():
        pointer = f"/paths/{_escape(CONTACT + tail)}/{method}/requestBody/content/application~1json/schema"
        schema = {"$ref": f"{BASE_URI}#{pointer}"}
        jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(json.loads(json.dumps(body)))
