"""The demo's eKyte part: GHL ⇄ eKyte through the real path, then a consistency check.

Flows: a business with two GHL contacts becoming one eKyte Person with two person-contacts; a GHL
task and note reaching the workspace and the client's notes board; a task made in eKyte for that
client reaching the GHL contact by polling (a sweep tick: eKyte has no webhooks); a GHL business
whose contacts were imported without webhooks reaching eKyte on the scheduled refresh (a
RefreshFunction tick); a GHL contact update eKyte has no route for, audited unsupported. The part
only watches the far side.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.demo.report import Check, StepFailed

if TYPE_CHECKING:
    from sandbox.demo.scenario import Demo

BUSINESS = "Harbour Analytics"
IMPORTED_BUSINESS = "Northwind Trading"  # its contacts arrive by import: no webhook, only the refresh
PEOPLE = (("Mary", "Jackson", "mary@harbour.example"), ("Dorothy", "Vaughan", "dorothy@harbour.example"))


class EkyteDemo:
    app = "ekyte"
    title = "eKyte"
    connection_settings: dict[str, Any] = {"max_retries": 1, "max_total_wait_s": 2.0}

    def __init__(self, demo: "Demo") -> None:
        self.demo = demo
        self.ghl = demo.ghl
        self.ekyte: Any = demo.stack.apps["ekyte"].fake  # sandbox.apps.ekyte.EkyteSandbox
        self.location_id = demo.location_id
        self.ghl_ids: list[str] = []

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("GHL business, two contacts → one eKyte Person", self.business_to_person),
            ("GHL task + note → eKyte task + board note", self.children_to_ekyte),
            ("eKyte task → GHL task (polled)", self.task_to_ghl),
            ("GHL business imported, no webhooks → eKyte Person (scheduled refresh)", self.refresh_to_ekyte),
        ]

    def person(self) -> Any:
        return self._person_named(BUSINESS)

    def need_person(self) -> Any:
        person = self.person()
        if person is None or not self.ghl_ids:
            raise StepFailed(f"needs {BUSINESS} on both sides, which an earlier flow did not put there")
        return person

    def business_to_person(self) -> str:
        for first, last, email in PEOPLE:
            contact = self.ghl.ui_create_contact(
                self.location_id, firstName=first, lastName=last, email=email, companyName=BUSINESS
            )
            self.ghl_ids.append(contact.id)
        self.demo.until(
            f"{BUSINESS} with two person-contacts",
            lambda: (p := self.person()) is not None and len(p.contacts) == 2,
        )
        person = self.person()
        names = ", ".join(c.name for c in person.contacts)
        return f"Person {person.id} '{BUSINESS}' (customer) with person-contacts {names}"

    def children_to_ekyte(self) -> str:
        self.need_person()
        contact_id = self.ghl_ids[0]
        self.ghl.ui_create_task(
            self.location_id, contact_id, title="Kick-off workshop", dueDate="2027-03-01T10:00:00Z"
        )
        self.ghl.ui_create_note(self.location_id, contact_id, body="Wants weekly reports")
        self.demo.until(
            "the task and the board note in eKyte",
            lambda: (
                any(t.title == "Kick-off workshop" for t in self.ekyte.store.tasks.values())
                and any(n.content == "Wants weekly reports" for n in self.ekyte.store.notes.values())
            ),
        )
        task = next(t for t in self.ekyte.store.tasks.values() if t.title == "Kick-off workshop")
        note = next(n for n in self.ekyte.store.notes.values() if n.content == "Wants weekly reports")
        board = self.ekyte.store.boards[note.plan_id]
        return f"eKyte task {task.id} in workspace {task.workspace.id}; note on board '{board.title}'"

    def task_to_ghl(self) -> str:
        person = self.need_person()
        client = f"p{person.id}.c{person.contacts[1].id}"
        self.ekyte.ui_create_task(
            "Quarterly review", due="2027-03-15T09:00:00Z", description=f"Agenda\n\nghlsync: contact={client}"
        )
        self.demo.stack.tick("SweepFunction")
        contact_id = self.ghl_ids[1]
        self.demo.until("the eKyte task in GHL", lambda: "Quarterly review" in self._task_titles(contact_id))
        return f"GHL task 'Quarterly review' on {contact_id} (from eKyte, by polling)"

    def refresh_to_ekyte(self) -> str:
        business_id = self.ghl.add_business(self.location_id, IMPORTED_BUSINESS)
        self.ghl.seed(self.location_id, 2, business_id=business_id)
        self.demo.stack.tick("RefreshFunction")
        self.demo.until(
            f"{IMPORTED_BUSINESS} with its two imported contacts in eKyte",
            lambda: (p := self._person_named(IMPORTED_BUSINESS)) is not None and len(p.contacts) == 2,
        )
        person = self._person_named(IMPORTED_BUSINESS)
        held = len(person.contacts)
        return f"Person {person.id} '{IMPORTED_BUSINESS}' with {held} person-contacts (refresh)"

    def _person_named(self, name: str) -> Any:
        return next((p for p in self.ekyte.store.persons.values() if p.name == name), None)

    def consistency(self) -> list[Check]:
        person = self.person()
        held = sorted(c.email for c in person.contacts) if person is not None else []
        wanted = sorted(email for _, _, email in PEOPLE)
        return [Check("business ⇄ Person with its contacts", held == wanted, f"{held} vs {wanted}")]

    def _task_titles(self, contact_id: str) -> set[str]:
        tasks = self.ghl.store.location(self.location_id).tasks.get(contact_id, {}).values()
        return {t.title for t in tasks}
