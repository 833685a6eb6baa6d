"""The workflow-API round trip as demo steps: bundle, 304, task create/complete, note create/update.

Self-contained, so a demo part (or a test) lists it for any connection that has a key:

    trip = WorkflowRoundTrip(send=http_sender(stack.gateway_url, http), connection_id="conn-dev-payaca",
                             key="dev-payaca-api-key", contact_id=ghl_contact_id,
                             settle=demo_settle, app_writes=lambda: len(app_write_log))
    for flow, step in trip.steps(): ...   # each step returns what happened or raises StepFailed

`send(method, path, headers, body) -> (status, headers, json or None)` reaches the stack: over
HTTP to the local API gateway (`http_sender`), or through World's in-process gateway
(`world_sender`). `settle` delivers the webhooks our writes caused and runs the worker; the
round trip then checks that the app saw no write (each write's GHL webhook was an echo).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.demo.report import StepFailed

if TYPE_CHECKING:
    from sandbox.stack.world import World

Send = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], Any]]


def http_sender(base_url: str, http: httpx.Client) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        response = http.request(method, base_url.rstrip("/") + path, headers=headers, content=body)
        return response.status_code, dict(response.headers), response.json() if response.content else None

    return send


def world_sender(world: "World") -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        route, _, query = path.partition("?")
        pairs = [
            (name, value) for name, _, value in (item.partition("=") for item in query.split("&")) if name
        ]
        answer = world.request(method, route, headers=headers, body=body, query=pairs)
        return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.json()

    return send


@dataclass
class WorkflowRoundTrip:
    send: Send
    connection_id: str
    key: str
    contact_id: str  # a GHL contact id, or app:<id>
    settle: Callable[[], object]
    app_writes: Callable[[], int]
    # The app's own ids for the task and note it creates (linked, so nothing is copied back).
    app_task_id: str = "demo-task-1"
    app_note_id: str = "demo-note-1"
    _seen: dict[str, Any] = field(default_factory=dict)

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("workflow API: bundle of a contact", self.bundle),
            ("workflow API: unchanged bundle → 304", self.unchanged_bundle),
            ("workflow API: wrong key → 401", self.wrong_key),
            ("workflow API: task created → GHL, no echo", self.task_created),
            ("workflow API: task completed → GHL, no echo", self.task_completed),
            ("workflow API: note created, updated → GHL, no echo", self.note_created_and_updated),
            ("workflow API: bundle shows the writes", self.bundle_shows_the_writes),
        ]

    # -- requests ---------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        tail: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        sent = {"X-Api-Key": self.key if key is None else key, **(headers or {})}
        raw = b""
        if body is not None:
            raw = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        path = f"/connections/{self.connection_id}/contacts/{self.contact_id}/{tail}"
        return self.send(method, path, sent, raw)

    def _expect(self, what: str, answer: tuple[int, dict[str, str], Any], status: int) -> Any:
        if answer[0] != status:
            raise StepFailed(f"{what} answered {answer[0]}, not {status}: {answer[2]}")
        return answer[2]

    def _without_app_writes(self, what: str, write: Callable[[], Any]) -> Any:
        before = self.app_writes()
        result = write()
        self.settle()
        written = self.app_writes() - before
        if written:
            raise StepFailed(f"{what}: {written} write(s) reached the app (the GHL webhook was not an echo)")
        return result

    # -- steps ------------------------------------------------------------------------------------
    def bundle(self) -> str:
        answer = self._call("GET", "bundle")
        document = self._expect("GET bundle", answer, 200)
        self._seen["etag"] = answer[1].get("etag")
        if not self._seen["etag"] or "contact" not in document:
            raise StepFailed(f"the bundle has no ETag or no contact: {answer[1]}")
        contact = document["contact"]
        return (
            f"{contact.get('firstName')} {contact.get('lastName')}: {len(document['tasks'])} task(s), "
            f"{len(document['notes'])} note(s), {len(document['appointments'])} appointment(s); "
            f"app id {document['appId']}"
        )

    def unchanged_bundle(self) -> str:
        answer = self._call("GET", "bundle", headers={"If-None-Match": str(self._seen.get("etag"))})
        self._expect("GET bundle with If-None-Match", answer, 304)
        return "304 Not Modified for the same ETag"

    def wrong_key(self) -> str:
        self._expect("GET bundle with a wrong key", self._call("GET", "bundle", key="wrong-key"), 401)
        return "401, nothing read"

    def task_created(self) -> str:
        body = {"title": "Book the survey", "dueDate": "2027-01-15T09:00:00Z", "appId": self.app_task_id}
        task = self._without_app_writes(
            "task create", lambda: self._expect("POST tasks", self._call("POST", "tasks", body), 201)
        )
        self._seen["task"] = task["id"]
        return f"GHL task {task['id']} linked to {task['appId']}; its webhook dropped as an echo"

    def task_completed(self) -> str:
        task_id = self._seen.get("task")
        task = self._without_app_writes(
            "task completed",
            lambda: self._expect(
                "PUT completed", self._call("PUT", f"tasks/{task_id}/completed", {"completed": True}), 200
            ),
        )
        if task["completed"] is not True:
            raise StepFailed(f"the task is not completed: {task}")
        return f"GHL task {task_id} completed; no write reached the app"

    def note_created_and_updated(self) -> str:
        def write() -> Any:
            created = self._expect(
                "POST notes",
                self._call("POST", "notes", {"body": "Gate code 1234", "appId": self.app_note_id}),
                201,
            )
            return self._expect(
                "PUT note", self._call("PUT", f"notes/{created['id']}", {"body": "Gate code 4321"}), 200
            )

        note = self._without_app_writes("note create and update", write)
        self._seen["note"] = note["id"]
        return f"GHL note {note['id']} reads {note['body']!r}; no write reached the app"

    def bundle_shows_the_writes(self) -> str:
        answer = self._call("GET", "bundle", headers={"If-None-Match": str(self._seen.get("etag"))})
        document = self._expect("GET bundle after the writes", answer, 200)
        tasks = {t["id"]: t for t in document["tasks"]}
        notes = {n["id"]: n for n in document["notes"]}
        task, note = tasks.get(self._seen.get("task", "")), notes.get(self._seen.get("note", ""))
        if task is None or not task["completed"] or note is None or note["body"] != "Gate code 4321":
            raise StepFailed(f"the bundle does not show the writes: {document}")
        return "new ETag; the completed task and the edited note are in it"
