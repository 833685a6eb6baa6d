"""The demo's generic part: an app known only by its spec file, in style B
(examples/generic-style-b.yaml: API key in the query, bare arrays, page numbers, PascalCase fields,
tags as a replace-the-list field, no webhooks; `make dev` runs style A), GHL ⇄ app through the
real path, then a consistency check.

Flows: a tagged GHL contact created in the app (FirstName/LastName, the tag in its `Tags` list); a
GHL task and note under it; a change in the app's UI (surname and a tag) back to GHL, found by the
sweep polling `ModifiedSince` (one tick); the task completed in the app, completed in GHL the same
way. No Python of the connector knows this app: the spec does.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.demo.report import Check, StepFailed

if TYPE_CHECKING:
    from sandbox.demo.scenario import Demo

EMAIL = "barbara@demo.example"


class GenericDemo:
    app = "generic"
    title = "Generic app (spec file, style B)"
    # One in-call retry, as for the other apps (the settings are the spec: its rate_limits whole).
    connection_settings: dict[str, Any] = {
        "rate_limits": {
            "retry_after_header": "Retry-After",
            "remaining_header": "X-RateLimit-Remaining",
            "reset_header": "X-RateLimit-Reset",
            "max_retries": 1,
            "max_total_wait_s": 2.0,
        }
    }

    def __init__(self, demo: "Demo") -> None:
        self.demo = demo
        self.ghl = demo.ghl
        self.fake: Any = demo.stack.apps["generic"].fake  # sandbox.apps.generic.GenericSandbox
        self.location_id = demo.location_id
        self.ghl_id: str | None = None
        self.task_id: str | None = None

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("GHL contact + tag → app (spec file, style B)", self.contact_to_app),
            ("GHL task + note → app", self.children_to_app),
            ("app surname + tag → GHL (polled)", self.app_change_to_ghl),
            ("app task done → GHL task completed (polled)", self.task_done_to_ghl),
        ]

    # -- the sides ----------------------------------------------------------------------------------
    def record(self) -> Any:
        """Barbara in the app (sandbox.apps.generic.Contact), if she is there."""
        return next((c for c in self.fake.store.records["contact"].values() if c.email == EMAIL), None)

    def contact(self) -> Any:
        location = self.ghl.store.location(self.location_id)
        return location.contacts.get(self.ghl_id) if self.ghl_id else None

    def need_both(self) -> tuple[str, Any]:
        record = self.record()
        if self.ghl_id is None or record is None:
            raise StepFailed(f"needs {EMAIL} on GHL and in the app, which an earlier flow did not put there")
        return self.ghl_id, record

    # -- the flows ----------------------------------------------------------------------------------
    def contact_to_app(self) -> str:
        contact = self.ghl.ui_create_contact(
            self.location_id, firstName="Barbara", lastName="Liskov", email=EMAIL, tags=["substitutable"]
        )
        self.ghl_id = contact.id
        self.demo.until(
            "Barbara in the app, tagged",
            lambda: (r := self.record()) is not None and "substitutable" in r.tags,
        )
        record = self.record()
        name = f"{record.first_name} {record.last_name}"
        return f"GHL {contact.id} → app {record.id} FirstName/LastName '{name}', Tags {record.tags}"

    def children_to_app(self) -> str:
        contact_id, record = self.need_both()
        task = self.ghl.ui_create_task(
            self.location_id, contact_id, title="Review the CLU manual", dueDate="2027-03-01T10:00:00Z"
        )
        self.task_id = task.id
        self.ghl.ui_create_note(self.location_id, contact_id, body="Prefers abstract data types")
        store = self.fake.store
        self.demo.until(
            "the task and the note in the app",
            lambda: (
                any(t.contact_id == record.id for t in store.records["task"].values())
                and any(n.contact_id == record.id for n in store.records["note"].values())
            ),
        )
        return f"app {record.id}: task 'Review the CLU manual', note 'Prefers abstract data types'"

    def app_change_to_ghl(self) -> str:
        contact_id, record = self.need_both()
        self.fake.ui_update_contact(record.id, last_name="Liskov-Wing")
        self.fake.ui_change_tags(record.id, add=["turing-award"])
        self.demo.stack.tick("SweepFunction")  # style B has no webhooks: the sweep polls
        self.demo.until(
            "the surname and the tag in GHL",
            lambda: (
                (c := self.contact()) is not None
                and c.fields.get("lastName") == "Liskov-Wing"
                and "turing-award" in c.tags
            ),
        )
        return f"GHL {contact_id}: lastName 'Liskov-Wing', tags {sorted(self.contact().tags)}"

    def task_done_to_ghl(self) -> str:
        contact_id, record = self.need_both()
        app_task = next(t for t in self.fake.store.records["task"].values() if t.contact_id == record.id)
        self.fake.ui_update("task", app_task.id, done=True)
        self.demo.stack.tick("SweepFunction")
        tasks = self.ghl.store.location(self.location_id).tasks.get(contact_id, {})
        self.demo.until(
            "the GHL task completed", lambda: bool(self.task_id) and tasks[self.task_id].completed
        )
        return f"app task {app_task.id} done → GHL task {self.task_id} completed"

    # -- the check ----------------------------------------------------------------------------------
    def consistency(self) -> list[Check]:
        contact, record = self.contact(), self.record()
        if contact is None or record is None:
            return [Check("contact ⇄ app contact", False, f"{EMAIL} is missing on one side")]
        ghl_side = (contact.fields.get("firstName"), contact.fields.get("lastName"), sorted(contact.tags))
        app_side = (record.first_name, record.last_name, sorted(record.tags))
        return [Check("contact ⇄ app contact", ghl_side == app_side, f"{ghl_side} vs {app_side}")]
