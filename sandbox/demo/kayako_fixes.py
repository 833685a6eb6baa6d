"""The demo's steps for three sync bugs a new user hit (issue 7 §7), fixed and shown here end to end.

Each is one step of the Kayako part, through the real path like its other flows (a change in a
sandbox's "UI" → webhook → gateway → ingress → queue → worker → the other sandbox), and each fails
if the bug comes back:

1. Tag case: a Kayako tag `Probe-Mixed` reaches GHL; removed in GHL's UI it is removed in Kayako
   (Kayako's tags are case-sensitive, so only a DELETE in Kayako's spelling removes it), and the
   user's next change in Kayako does not bring it back to GHL.
2. Two-word first names: GHL `Mary Ann` / `Smith` is Kayako `Mary Ann Smith`; the agent's fix to
   `Mary Ann Smyth` reaches GHL as `Mary Ann` / `Smyth`, and the sides stay converged: one GHL
   write and no Kayako write, once every report of those writes has come back.
3. A changed e-mail: a GHL contact's new address becomes the Kayako user's only one (the Kayako
   connection's `replace_changed_email`, on by default), and a GHL contact created later with the
   old address gets a Kayako user of its own, with no identity conflict.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.demo.report import StepFailed

if TYPE_CHECKING:
    from sandbox.demo.kayako import KayakoDemo, Person

MIXED_TAG = "Probe-Mixed"


class KayakoFixes:
    """The three steps, on the people and readers of the Kayako part they belong to."""

    def __init__(self, part: "KayakoDemo") -> None:
        from sandbox.demo.kayako import Person  # here: sandbox.demo.kayako imports this module

        self.part = part
        self.demo = part.demo
        self.ghl = part.ghl
        self.kayako = part.kayako
        self.location_id = part.location_id
        self.mary = Person("mary.ann@demo.example")
        self.emmy = Person("emmy@demo.example")
        self.emmy_new_email = "emmy.noether@demo.example"

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("mixed-case tag removed in GHL → gone", self.tag_removal_in_ghl_sticks),
            ("two-word first name → converged", self.two_word_first_name_converges),
            ("GHL e-mail changed → old one freed", self.changed_email_frees_the_old_address),
        ]

    # -- 1. tag case --------------------------------------------------------------------------------
    def tag_removal_in_ghl_sticks(self) -> str:
        grace = self.part.grace
        self.part.need(grace, "ghl")
        user_id = grace.kayako_id or 0
        self.kayako.ui_add_tags(user_id, MIXED_TAG)
        self.demo.until(f"tag {MIXED_TAG!r} in GHL", lambda: bool(self._ghl_spellings(grace)))
        shown = self._ghl_spellings(grace)
        deletes_before = self._tag_deletes(user_id)
        self.ghl.ui_remove_tags(self.location_id, grace.ghl_id, shown)
        self.demo.until(
            f"{MIXED_TAG!r} removed from Kayako user #{user_id}",
            lambda: MIXED_TAG not in self.kayako.store.tags_of(user_id),
        )
        if not self._tag_deletes(user_id) - deletes_before:
            raise StepFailed(f"Kayako lost {MIXED_TAG!r} without a DELETE users/{user_id}/tags")
        self.kayako.ui_update_user(user_id, full_name="Grace Brewster Hopper")
        self.demo.until(
            "Grace's new name in GHL", lambda: self._ghl_name(grace) == ("Grace", "Brewster Hopper")
        )
        if again := self._ghl_spellings(grace):
            raise StepFailed(f"the next Kayako change of the user added {again} back in GHL")
        if MIXED_TAG in self.kayako.store.tags_of(user_id):
            raise StepFailed(f"{MIXED_TAG!r} came back in Kayako")
        return f"Kayako {MIXED_TAG!r} → GHL; removed in GHL → Kayako DELETE {MIXED_TAG!r}; not re-added"

    # -- 2. two-word first names ----------------------------------------------------------------------
    def two_word_first_name_converges(self) -> str:
        mary = self.mary
        contact = self.ghl.ui_create_contact(
            self.location_id, firstName="Mary Ann", lastName="Smith", email=mary.email
        )
        mary.ghl_id = contact.id
        self.demo.until("Kayako 'Mary Ann Smith'", lambda: self.part._full_name(mary) == "Mary Ann Smith")
        ghl_before, kayako_before = self.demo.ghl_writes(), self.part.kayako_writes()
        self.kayako.ui_update_user(mary.kayako_id, full_name="Mary Ann Smyth")
        self.demo.until("GHL 'Mary Ann' / 'Smyth'", lambda: self._ghl_name(mary) == ("Mary Ann", "Smyth"))
        self.demo.settle()  # GHL reports our write back; it must go nowhere
        ghl_writes = self.demo.ghl_writes() - ghl_before
        kayako_writes = self.part.kayako_writes() - kayako_before
        if (name := self.part._full_name(mary)) != "Mary Ann Smyth":
            raise StepFailed(f"Kayako's name became {name!r} after the fix synced")
        if (ghl_writes, kayako_writes) != (1, 0):
            raise StepFailed(
                f"not converged: the fix caused {ghl_writes} GHL and {kayako_writes} Kayako write(s), "
                "not 1 and 0"
            )
        return (
            "'Mary Ann Smith' fixed to 'Mary Ann Smyth' in Kayako → GHL 'Mary Ann' 'Smyth', "
            f"{ghl_writes} write, converged"
        )

    # -- 3. a changed e-mail ----------------------------------------------------------------------------
    def changed_email_frees_the_old_address(self) -> str:
        from sandbox.demo.kayako import Person  # here: sandbox.demo.kayako imports this module

        emmy, old, new = self.emmy, self.emmy.email, self.emmy_new_email
        started_at = datetime.now(UTC).isoformat()
        contact = self.ghl.ui_create_contact(
            self.location_id, firstName="Emmy", lastName="Noether", email=old
        )
        emmy.ghl_id = contact.id
        self.demo.until("a Kayako user for Emmy", lambda: self.part._full_name(emmy) == "Emmy Noether")
        user_id = emmy.kayako_id or 0
        self.ghl.ui_update_contact(self.location_id, contact.id, email=new)
        self.demo.until(
            f"{new} as the only address of Kayako user #{user_id}",
            lambda: self._emails(user_id) == [(new, True)],
        )
        newcomer = Person(old)
        newcomer.ghl_id = self.ghl.ui_create_contact(
            self.location_id, firstName="Max", lastName="Noether", email=old
        ).id
        self.demo.until(
            f"a Kayako user for the new GHL contact with {old}",
            lambda: self.part._full_name(newcomer) == "Max Noether",
        )
        conflicts = [
            row
            for row in self.demo.audit_rows(self.part.connection_id)
            if row["decision"] == "conflict" and row["recorded_at"] >= started_at
        ]
        if newcomer.kayako_id == user_id:
            raise StepFailed(f"the new contact was linked to Emmy's Kayako user #{user_id}")
        if conflicts:
            raise StepFailed(f"identity conflict recorded: {conflicts[-1].get('reason', '')}")
        return f"user #{user_id} keeps only {new}; new {old} → user #{newcomer.kayako_id}, no conflict"

    # -- small readers ------------------------------------------------------------------------------
    def _ghl_spellings(self, person: "Person") -> list[str]:
        """The contact's GHL tags that are MIXED_TAG in any case."""
        return sorted(t for t in self.part._ghl_tags(person) if t.casefold() == MIXED_TAG.casefold())

    def _ghl_name(self, person: "Person") -> tuple[Any, Any]:
        contact = self.part.ghl_contact(person)
        fields = {} if contact is None else contact.fields
        return fields.get("firstName"), fields.get("lastName")

    def _emails(self, user_id: int) -> list[tuple[str, bool]]:
        return [(i.value, i.is_primary) for i in self.kayako.store.identities_of(user_id, "email")]

    def _tag_deletes(self, user_id: int) -> int:
        path = f"/users/{user_id}/tags"
        return sum(1 for r in self.kayako.request_log if r.method == "DELETE" and r.path.endswith(path))
