"""The demo's Kayako part: GHL ⇄ Kayako flows through the real path, then a consistency check.

Flows: GHL contact create/update → Kayako user; Kayako user → GHL contact; Kayako case → GHL
task; notes and tags both ways; an echo that produces no write; a replayed webhook with a single
effect; a transient Kayako outage retried to success; a permanent failure (a bad note mapping →
Kayako 400 FIELD_REQUIRED) dead-lettered, fixed, redriven; then the three fixed sync bugs of
sandbox.demo.kayako_fixes (tag case, two-word first names, a changed e-mail). Then GHL against Kayako
(contacts/users, tags, notes, tasks/cases). Every change is made in a sandbox's "UI"; the part only
watches the far side for the effect (Demo.until).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.demo.kayako_backfill import KayakoBackfill
from sandbox.demo.kayako_fixes import KayakoFixes
from sandbox.demo.report import Check, StepFailed
from sandbox.demo.scenario import is_write

if TYPE_CHECKING:
    from sandbox.demo.scenario import Demo

# One in-call retry, so the outage reaches the queue quickly instead of sleeping in the call.
CONNECTION_SETTINGS = {"max_retries": 1, "max_total_wait_s": 2.0}


@dataclass
class Person:
    """One person as both sides know them, filled in as the flows run."""

    email: str
    ghl_id: str | None = None
    kayako_id: int | None = None


class KayakoDemo:
    app = "kayako"
    title = "Kayako"
    connection_settings = CONNECTION_SETTINGS

    def __init__(self, demo: "Demo") -> None:
        self.demo = demo
        self.stack = demo.stack
        self.ghl = demo.ghl
        self.kayako: Any = demo.stack.apps["kayako"].fake  # sandbox.apps.kayako.KayakoSandbox
        self.connection_id = demo.stack.connection_ids["kayako"]
        self.location_id = demo.location_id
        self.ada = Person("ada@demo.example")
        self.grace = Person("grace@demo.example")

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("GHL contact created → Kayako user", self.ghl_contact_created),
            ("GHL contact updated → Kayako user", self.ghl_contact_updated),
            ("echo of our own write → no write", self.echo_is_suppressed),
            ("Kayako user created → GHL contact", self.kayako_user_created),
            ("Kayako case → GHL task", self.kayako_case_to_task),
            ("GHL note → Kayako note", self.ghl_note_to_kayako),
            ("Kayako note → GHL note", self.kayako_note_to_ghl),
            ("GHL tag → Kayako tag", self.ghl_tag_to_kayako),
            ("Kayako tag → GHL tag", self.kayako_tag_to_ghl),
            ("replayed GHL webhook → one effect", self.replay_has_one_effect),
            ("transient Kayako outage → retried", self.transient_failure_retried),
            ("bad mapping → DLQ → fix → redrive", self.permanent_failure_redriven),
            *KayakoFixes(self).steps(),
            *KayakoBackfill(self).steps(),
        ]

    # -- the sides --------------------------------------------------------------------------------
    def ghl_contact(self, person: Person) -> Any:
        contacts = self.ghl.store.contacts(self.location_id)
        if person.ghl_id is not None:
            return next((c for c in contacts if c.id == person.ghl_id), None)
        found = [c for c in contacts if (c.fields.get("email") or "").lower() == person.email]
        if len(found) > 1:
            raise StepFailed(f"{len(found)} GHL contacts have {person.email}: a duplicate was created")
        if found:
            person.ghl_id = found[0].id
        return found[0] if found else None

    def kayako_user(self, person: Person) -> Any:
        if person.kayako_id is None:
            identity = self.kayako.store.find_identity("email", person.email)
            if identity is None:
                return None
            person.kayako_id = identity.user_id
        return self.kayako.store.users.get(person.kayako_id)

    def kayako_phone(self, user_id: int) -> str | None:
        phones = self.kayako.store.identities_of(user_id, "phone")
        return phones[0].value if phones else None

    def kayako_writes(self) -> int:
        return sum(1 for r in self.kayako.request_log if is_write(r.method, r.path))

    def need(self, person: Person, side: str) -> Any:
        record = self.ghl_contact(person) if side == "ghl" else self.kayako_user(person)
        if record is None:
            raise StepFailed(f"needs {person.email} on {side}, which an earlier flow did not create")
        return record

    # -- the flows ----------------------------------------------------------------------------------
    def ghl_contact_created(self) -> str:
        contact = self.ghl.ui_create_contact(
            self.location_id, firstName="Ada", lastName="Lovelace", email=self.ada.email, phone="+14155550101"
        )
        self.ada.ghl_id = contact.id
        self.demo.until("a Kayako user for Ada", lambda: self._full_name(self.ada) == "Ada Lovelace")
        return f"GHL {contact.id} → Kayako user #{self.ada.kayako_id} 'Ada Lovelace'"

    def ghl_contact_updated(self) -> str:
        self.need(self.ada, "ghl")
        self.need(self.ada, "kayako")
        self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, lastName="King")
        self.demo.until("Ada's new last name in Kayako", lambda: self._full_name(self.ada) == "Ada King")
        return f"lastName → Kayako user #{self.ada.kayako_id} full_name 'Ada King'"

    def echo_is_suppressed(self) -> str:
        self.need(self.ada, "kayako")
        started_at = datetime.now(UTC)
        ghl_before, kayako_before = self.demo.ghl_writes(), self.kayako_writes()
        self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, phone="+14155550111")
        self.demo.until(
            "Ada's new phone in Kayako", lambda: self.kayako_phone(self.ada.kayako_id or 0) == "+14155550111"
        )
        self.demo.settle()  # Kayako's automation reports our write back; it must go nowhere
        echoes = [
            r
            for r in self.demo.audit_rows(self.connection_id)
            if r["source"] == "kayako"
            and r["decision"] == "echo"
            and r["recorded_at"] >= started_at.isoformat()
        ]
        ghl_writes = self.demo.ghl_writes() - ghl_before
        if not echoes:
            raise StepFailed("Kayako's report of our write was not recognised as an echo (no echo audit row)")
        if ghl_writes:
            raise StepFailed(f"the echo wrote to GHL {ghl_writes} time(s)")
        return (
            f"{self.kayako_writes() - kayako_before} Kayako write(s), Kayako's echo dropped "
            f"({len(echoes)} echo row(s)), 0 GHL writes"
        )

    def kayako_user_created(self) -> str:
        user = self.kayako.ui_create_user("Grace Hopper", email=self.grace.email, phone="+14155550102")
        self.grace.kayako_id = user.id
        self.demo.until(
            "a GHL contact for Grace",
            lambda: (
                (c := self.ghl_contact(self.grace)) is not None
                and (c.fields.get("firstName"), c.fields.get("lastName")) == ("Grace", "Hopper")
            ),
        )
        return f"Kayako user #{user.id} → GHL contact {self.grace.ghl_id} 'Grace Hopper'"

    def kayako_case_to_task(self) -> str:
        self.need(self.grace, "ghl")
        case = self.kayako.ui_create_case(self.grace.kayako_id, "Printer on fire", "Room 3, please hurry")
        self.demo.until(
            "a GHL task for the case", lambda: "Printer on fire" in self._ghl_task_titles(self.grace)
        )
        return f"case #{case.id} → GHL task 'Printer on fire' on {self.grace.ghl_id}"

    def ghl_note_to_kayako(self) -> str:
        self.need(self.ada, "kayako")
        note = self.ghl.ui_create_note(self.location_id, self.ada.ghl_id, body="Asked for an engine demo")
        self.demo.until(
            "the note on Kayako", lambda: "Asked for an engine demo" in self._kayako_notes(self.ada)
        )
        return f"GHL note {note.id} → Kayako user #{self.ada.kayako_id} note"

    def kayako_note_to_ghl(self) -> str:
        self.need(self.grace, "ghl")
        note = self.kayako.ui_add_note(self.grace.kayako_id, "Prefers email over phone")
        self.demo.until("the note on GHL", lambda: "Prefers email over phone" in self._ghl_notes(self.grace))
        return f"Kayako note #{note.id} → GHL note on {self.grace.ghl_id}"

    def ghl_tag_to_kayako(self) -> str:
        self.need(self.ada, "kayako")
        self.ghl.ui_add_tags(self.location_id, self.ada.ghl_id, ["vip"])
        self.demo.until("tag 'vip' in Kayako", lambda: "vip" in self.kayako.store.tags_of(self.ada.kayako_id))
        return f"'vip' → Kayako user #{self.ada.kayako_id} tags"

    def kayako_tag_to_ghl(self) -> str:
        self.need(self.grace, "ghl")
        self.kayako.ui_add_tags(self.grace.kayako_id, "beta-tester")
        self.demo.until("tag 'beta-tester' in GHL", lambda: "beta-tester" in self._ghl_tags(self.grace))
        return f"'beta-tester' → GHL contact {self.grace.ghl_id} tags"

    def replay_has_one_effect(self) -> str:
        self.need(self.ada, "kayako")
        sent_before = len(self.demo.ghl_sent)
        self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, firstName="Augusta")
        self.demo.until("Ada's new first name in Kayako", lambda: self._full_name(self.ada) == "Augusta King")
        update = next(
            (s for s in self.demo.ghl_sent[sent_before:] if b'"type":"ContactUpdate"' in s[1]),
            None,
        )
        if update is None:
            raise StepFailed("the GHL sandbox sent no ContactUpdate webhook to replay")
        kayako_before, ghl_before = self.kayako_writes(), self.demo.ghl_writes()
        url, body, headers = update
        statuses = [httpx.post(url, content=body, headers=headers, timeout=10).status_code for _ in range(2)]
        self.demo.settle()
        extra = self.kayako_writes() - kayako_before + self.demo.ghl_writes() - ghl_before
        if any(status >= 300 for status in statuses):
            raise StepFailed(f"the gateway answered the replays {statuses} (GHL would retry a 429 only)")
        if extra:
            raise StepFailed(f"the replayed webhook caused {extra} more write(s)")
        return f"same webhook posted twice more: answered {statuses}, 0 extra writes"

    def transient_failure_retried(self) -> str:
        self.need(self.ada, "kayako")
        errors_before = sum(1 for r in self.kayako.request_log if r.status >= 500)
        self.kayako.faults.configure(rate_5xx=1.0)
        changed = time.perf_counter()
        try:
            self.ghl.ui_update_contact(self.location_id, self.ada.ghl_id, lastName="Lovelace")
            self.demo.settle()  # the worker meets the outage and puts the event back with a backoff
            errors = sum(1 for r in self.kayako.request_log if r.status >= 500) - errors_before
            waiting = self.demo.queue_depth(self.stack.env["SYNC_QUEUE_URL"])
            if self._full_name(self.ada) == "Augusta Lovelace":
                raise StepFailed("the change went through although Kayako answered 5xx")
            if not errors:
                raise StepFailed("Kayako was never called during the outage")
            if not waiting:
                raise StepFailed(f"after {errors} Kayako 5xx the event did not stay on the queue for a retry")
        finally:
            self.kayako.faults.configure()
        self.demo.until(
            "the retry to reach Kayako",
            lambda: self._full_name(self.ada) == "Augusta Lovelace",
            since=changed,
        )
        return f"Kayako answered 5xx {errors} times, the event waited on the queue, its retry applied it"

    def permanent_failure_redriven(self) -> str:
        self.need(self.ada, "kayako")
        dlq_url = self.stack.env["SYNC_DLQ_URL"]
        self._set_kayako_setting("note_body_field", "body")  # Kayako wants `contents`
        changed = time.perf_counter()
        note_text = "Call back on Monday"
        self.ghl.ui_create_note(self.location_id, self.ada.ghl_id, body=note_text)
        self.demo.settle()
        listed = self.stack.functions.invoke("DlqRedriveFunction", {"action": "list"})
        letters = listed.get("dead_letters", []) if isinstance(listed, dict) else []
        if not letters:
            raise StepFailed(
                f"no dead letter after Kayako refused the note (DLQ depth {self.demo.queue_depth(dlq_url)})"
            )
        reason = str(letters[-1].get("failure_reason", ""))
        if note_text in self._kayako_notes(self.ada):
            raise StepFailed("the note reached Kayako through the bad mapping")
        self.demo.log(f"  dead letter: {reason}")
        if "FIELD_REQUIRED" not in reason:
            raise StepFailed(f"dead-lettered for another reason than the bad mapping: {reason}")
        self._set_kayako_setting("note_body_field", "contents")
        redriven = self.stack.functions.invoke("DlqRedriveFunction", {"action": "redrive"})
        count = redriven.get("redriven") if isinstance(redriven, dict) else None
        if not count:
            raise StepFailed(f"the redrive moved nothing back: {redriven}")
        self.demo.until(
            "the redriven note in Kayako", lambda: note_text in self._kayako_notes(self.ada), since=changed
        )
        return f"Kayako 400 → DLQ; mapping fixed, {count} event redriven, note applied"

    # -- consistency ----------------------------------------------------------------------------------
    def consistency(self) -> list[Check]:
        pairs: list[tuple[str, Any, Any]] = []
        unmatched: list[str] = []
        for contact in self.ghl.store.contacts(self.location_id):
            email = (contact.fields.get("email") or "").lower()
            identity = self.kayako.store.find_identity("email", email) if email else None
            user = self.kayako.store.users.get(identity.user_id) if identity else None
            if user is None:
                unmatched.append(f"GHL {contact.id} ({email or 'no email'}) has no Kayako user")
            else:
                pairs.append((email, contact, user))
        for user in self.kayako.store.users.values():
            if user.role_id != 4:  # agents (the sync's own login) are not contacts
                continue
            emails = [i.value.lower() for i in self.kayako.store.identities_of(user.id, "email")]
            if not any(email == e for email, _, paired in pairs if paired.id == user.id for e in emails):
                unmatched.append(
                    f"Kayako user #{user.id} ({', '.join(emails) or 'no email'}) has no GHL contact"
                )
        checks = [
            Check("contacts ⇄ users", not unmatched, "; ".join(unmatched) or f"{len(pairs)} pair(s) matched"),
            self._compare(
                "names",
                pairs,
                lambda c, u: _ghl_full_name(c) == u.full_name,
                lambda c, u: f"{_ghl_full_name(c)!r} vs {u.full_name!r}",
            ),
            self._compare(
                "tags",
                pairs,
                lambda c, u: set(c.tags) == set(self.kayako.store.tags_of(u.id)),
                lambda c, u: f"{sorted(c.tags)} vs {sorted(self.kayako.store.tags_of(u.id))}",
            ),
            self._compare(
                "notes",
                pairs,
                lambda c, u: self._ghl_notes_of(c.id) == self._kayako_notes_of(u.id),
                lambda c, u: f"{sorted(self._ghl_notes_of(c.id))} vs {sorted(self._kayako_notes_of(u.id))}",
            ),
            self._compare(
                "tasks ⇄ cases",
                pairs,
                lambda c, u: self._ghl_tasks_of(c.id) == self._kayako_cases_of(u.id),
                lambda c, u: f"{sorted(self._ghl_tasks_of(c.id))} vs {sorted(self._kayako_cases_of(u.id))}",
            ),
        ]
        return checks

    def _compare(
        self,
        what: str,
        pairs: list[tuple[str, Any, Any]],
        same: Callable[[Any, Any], bool],
        show: Callable[[Any, Any], str],
    ) -> Check:
        differing = [f"{email}: {show(c, u)}" for email, c, u in pairs if not same(c, u)]
        return Check(what, not differing, "; ".join(differing) or f"equal on {len(pairs)} pair(s)")

    # -- small readers ------------------------------------------------------------------------------
    def _full_name(self, person: Person) -> str | None:
        user = self.kayako_user(person)
        return None if user is None else str(user.full_name)

    def _ghl_children(self, kind: str, contact_id: str) -> list[Any]:
        location = self.ghl.store.location(self.location_id)
        return list(getattr(location, kind).get(contact_id, {}).values())

    def _ghl_notes_of(self, contact_id: str) -> set[str]:
        return {n.body for n in self._ghl_children("notes", contact_id)}

    def _ghl_tasks_of(self, contact_id: str) -> set[str]:
        return {t.title for t in self._ghl_children("tasks", contact_id)}

    def _kayako_notes_of(self, user_id: int) -> set[str]:
        return {n.body_text for n in self.kayako.store.notes_of(user_id)}

    def _kayako_cases_of(self, user_id: int) -> set[str]:
        return {c.subject for c in self.kayako.store.list_cases(requester_id=user_id, since=None)}

    def _ghl_task_titles(self, person: Person) -> set[str]:
        contact = self.ghl_contact(person)
        return self._ghl_tasks_of(contact.id) if contact is not None else set()

    def _ghl_notes(self, person: Person) -> set[str]:
        contact = self.ghl_contact(person)
        return self._ghl_notes_of(contact.id) if contact is not None else set()

    def _ghl_tags(self, person: Person) -> set[str]:
        contact = self.ghl_contact(person)
        return set(contact.tags) if contact is not None else set()

    def _kayako_notes(self, person: Person) -> set[str]:
        user = self.kayako_user(person)
        return self._kayako_notes_of(user.id) if user is not None else set()

    def _set_kayako_setting(self, name: str, value: Any) -> None:
        """Change one connector setting of the connection, as an operator editing its mapping would."""
        from ghlsync.store.connections import ConnectionStore

        store = ConnectionStore(self.demo.table)
        connection = store.get(self.connection_id)
        if connection is None:
            raise StepFailed(f"connection {self.connection_id} is gone")
        settings = connection.settings.model_copy(update={"app": {**connection.settings.app, name: value}})
        store.put(connection.model_copy(update={"settings": settings, "updated_at": datetime.now(UTC)}))


def _ghl_full_name(contact: Any) -> str:
    return " ".join(p for p in (contact.fields.get("firstName"), contact.fields.get("lastName")) if p)
