"""The demo's Kixie part: GHL ⇄ Kixie through the real path, then a consistency check.

Flows: a GHL contact with a phone reaching the PowerList (keyed by its E.164 number, `crmContactId`
the GHL id); a GHL task and note refreshing that entry's `nextCallRefresher` digest; a call ended
in Kixie becoming a GHL note on the contact; a scheduled activity becoming a GHL follow-up task;
contacts that predate the connection reaching the PowerList by `connections_cli bulk-sync`.
Changes are made in the GHL sandbox's "UI" or emitted by the Kixie fake as its real (unsigned,
token-in-URL) webhooks; the part only watches the far side.
"""

import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.apps.kixie.stack import BUSINESS_ID, KIXIE, POWERLIST_ID
from sandbox.demo.report import Check, StepFailed

if TYPE_CHECKING:
    from sandbox.demo.scenario import Demo

PHONE = "+14155550142"
EMAIL = "katherine@demo.example"
NO_PHONE_EMAIL = "nophone@demo.example"
BULK_TAG = "seeded"  # what the GHL sandbox's seed gives every contact


class KixieDemo:
    app = "kixie"
    title = "Kixie"
    connection_settings: dict[str, Any] = {"max_retries": 1, "max_total_wait_s": 2.0}

    def __init__(self, demo: "Demo") -> None:
        self.demo = demo
        self.ghl = demo.ghl
        self.kixie: Any = demo.stack.apps["kixie"].fake  # sandbox.apps.kixie.KixieSandbox
        self.location_id = demo.location_id
        self.ghl_id: str | None = None

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("GHL contact → Kixie PowerList", self.contact_to_powerlist),
            ("GHL task + note → PowerList digest", self.children_to_digest),
            ("Kixie call ended → GHL note", self.call_to_note),
            ("Kixie scheduled activity → GHL task", self.activity_to_task),
            ("Kixie caller-ID lookup → GHL contact", self.caller_lookup),
            ("GHL contacts → PowerList by bulk-sync", self.bulk_sync),
        ]

    # -- the sides --------------------------------------------------------------------------------
    def entry(self) -> Any:
        """Katherine's PowerList entry (sandbox.apps.kixie.powerlists.PowerListContact), if any."""
        return self.kixie.account(BUSINESS_ID).powerlists.contacts.get((POWERLIST_ID, PHONE))

    def contact(self) -> Any:
        if self.ghl_id is None:
            return None
        return next((c for c in self.ghl.store.contacts(self.location_id) if c.id == self.ghl_id), None)

    def need_contact(self) -> str:
        if self.ghl_id is None or self.entry() is None:
            raise StepFailed(
                f"needs {PHONE} on GHL and the PowerList, which an earlier flow did not put there"
            )
        return self.ghl_id

    def _location(self) -> Any:
        return self.ghl.store.location(self.location_id)

    # -- the flows ----------------------------------------------------------------------------------
    def contact_to_powerlist(self) -> str:
        contact = self.ghl.ui_create_contact(
            self.location_id, firstName="Katherine", lastName="Johnson", email=EMAIL, phone=PHONE
        )
        self.ghl_id = contact.id
        self.demo.until(
            "Katherine on PowerList 1969",
            lambda: (e := self.entry()) is not None and e.fields.get("crmContactId") == contact.id,
        )
        entry = self.entry()
        name = f"{entry.fields.get('firstName')} {entry.fields.get('lastName')}"
        return f"GHL {contact.id} → PowerList {POWERLIST_ID} entry {PHONE} '{name}', crmContactId = GHL id"

    def children_to_digest(self) -> str:
        contact_id = self.need_contact()
        self.ghl.ui_create_task(
            self.location_id, contact_id, title="Send the launch window", dueDate="2027-02-20T15:00:00Z"
        )
        self.ghl.ui_create_note(self.location_id, contact_id, body="Prefers calls after 2pm")
        self.demo.until(
            "the task and the note in the PowerList digest",
            lambda: all(
                text in (self.entry().fields.get("nextCallRefresher") or "")
                for text in ("Send the launch window", "Prefers calls after 2pm")
            ),
        )
        digest = (self.entry().fields.get("nextCallRefresher") or "").replace("\n", " | ")
        return f"nextCallRefresher: {digest}"

    def call_to_note(self) -> str:
        contact_id = self.need_contact()
        self.kixie.emit_endcall(PHONE, duration=185, disposition="Connected Call")
        self.demo.until("the call's note in GHL", lambda: any("Kixie call" in b for b in self._notes()))
        note = next(b for b in self._notes() if "Kixie call" in b)
        return f"GHL note on {contact_id}: {note.replace(chr(10), ' | ')}"

    def activity_to_task(self) -> str:
        contact_id = self.need_contact()
        self.kixie.emit_scheduledactivity(subject="Call back about the launch", customer_number=PHONE)
        self.demo.until(
            "the follow-up task in GHL", lambda: "Call back about the launch" in self._task_titles()
        )
        task = next(t for t in self._tasks() if t.title == "Call back about the launch")
        return f"GHL task on {contact_id}: '{task.title}' due {task.due_date}"

    def caller_lookup(self) -> str:
        contact_id = self.need_contact()
        stack = self.demo.stack
        answer = httpx.get(
            f"{stack.gateway_url}/kixie/{stack.connection_ids[self.app]}/lookup",
            params={"number": PHONE, "token": KIXIE.dev_webhook_secret},
            timeout=10,
        )
        body = answer.json()
        found = body.get("contact") or {}
        if answer.status_code != 200 or not body.get("found") or found.get("contact_id") != contact_id:
            raise StepFailed(f"lookup of {PHONE} answered {answer.status_code} {body}")
        notes, tasks = len(found.get("notes") or []), len(found.get("tasks") or [])
        return (
            f"GET /kixie/…/lookup?number={PHONE} → found {found.get('first_name')} {found.get('last_name')} "
            f"({contact_id}), {notes} note(s), {tasks} open task(s)"
        )

    def bulk_sync(self) -> str:
        """Contacts that predate the connection (seeded: no webhook announced them) and one without
        a phone, all tagged `seeded`, reach the PowerList by `connections_cli bulk-sync --tag`."""
        from ghlsync import connections_cli  # the layer: on the path once the stack runs

        # Without tasks or notes: the other apps meet these contacts only by the live edit below.
        seeded = self.ghl.seed(self.location_id, 2)
        self.ghl.ui_create_contact(
            self.location_id, firstName="NoPhone", email=NO_PHONE_EMAIL, tags=[BULK_TAG]
        )
        self.demo.settle()
        out, err = io.StringIO(), io.StringIO()
        connection_id = self.demo.stack.connection_ids[self.app]
        status = connections_cli.main(
            ["bulk-sync", connection_id, "--tag", BULK_TAG, "--json"], out=out, err=err
        )
        if status != 0:
            raise StepFailed(f"bulk-sync exited {status}: {out.getvalue()}{err.getvalue()}")
        summary = json.loads(out.getvalue())
        held = {
            entry.fields.get("crmContactId")
            for entry in self.kixie.account(BUSINESS_ID).powerlists.contacts.values()
        }
        missing = [contact_id for contact_id in seeded if contact_id not in held]
        if missing or sum(summary["skipped"].values()) < 1:
            raise StepFailed(f"bulk-sync left {missing} off the PowerList; summary {summary}")
        # A live edit afterwards syncs as usual (the other apps meet the seeded contacts here).
        for contact_id in seeded:
            self.ghl.ui_update_contact(self.location_id, contact_id, lastName="Bulk")
        self.demo.settle()
        return (
            f"bulk-sync --tag {BULK_TAG}: {summary['synced']} on PowerList {POWERLIST_ID}, "
            f"{sum(summary['skipped'].values())} skipped ({', '.join(summary['skipped'])})"
        )

    # -- the check ----------------------------------------------------------------------------------
    def consistency(self) -> list[Check]:
        contact, entry = self.contact(), self.entry()
        if contact is None or entry is None:
            return [Check("contact ⇄ PowerList entry", False, f"{PHONE} is missing on one side")]
        ghl_person = (
            contact.fields.get("firstName"),
            contact.fields.get("lastName"),
            contact.fields.get("email"),
        )
        kixie_person = (
            entry.fields.get("firstName"),
            entry.fields.get("lastName"),
            entry.fields.get("email"),
        )
        calls = self.kixie.outgoing()
        return [
            Check("contact ⇄ PowerList entry", ghl_person == kixie_person, f"{ghl_person} vs {kixie_person}"),
            Check(
                "nothing dialled or texted", calls == [], f"{len(calls)} call/sms request(s) sent to Kixie"
            ),
        ]

    def _notes(self) -> list[str]:
        return [n.body for n in self._location().notes.get(self.ghl_id, {}).values()]

    def _tasks(self) -> list[Any]:
        return list(self._location().tasks.get(self.ghl_id, {}).values())

    def _task_titles(self) -> set[str]:
        return {t.title for t in self._tasks()}
