"""The demo's bulk-sync step: records both sides held before the connection, linked by a backfill.

Two GHL contacts are imported without webhooks (the sandbox's seed), and Kayako gains two users
without webhooks either: one with the e-mail of an imported contact, one no GHL contact has. No
live path sees any of them. The operator runs what the README says, `connections_cli backfill
CONN --plan` and then `connections_cli backfill CONN --no-wait`; the job's work items go through
the sync queue and the worker like every other change, and the step checks the result on both
sides: the matching pair linked (not duplicated), the other two created across, all four linked.
"""

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.apps.kayako.store import CUSTOMER_ROLE_ID
from sandbox.demo.report import StepFailed

if TYPE_CHECKING:
    from sandbox.demo.kayako import KayakoDemo

MATCHED_NAME = "Katherine Johnson"  # the Kayako user whose e-mail an imported GHL contact has
KAYAKO_ONLY = ("Annie Easley", "annie.easley@demo.example")


class KayakoBackfill:
    def __init__(self, part: "KayakoDemo") -> None:
        self.part = part
        self.demo = part.demo
        self.ghl = part.ghl
        self.kayako = part.kayako
        self.location_id = part.location_id
        self.connection_id = part.connection_id

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [("records from before the connection → backfill plan → linked", self.backfill_links)]

    def backfill_links(self) -> str:
        imported = self.ghl.seed(self.location_id, 2)  # no webhooks: an import
        emails = [self._ghl_email(ghl_id) for ghl_id in imported]
        matched = self.kayako.store.create_user(
            {"full_name": MATCHED_NAME, "role_id": CUSTOMER_ROLE_ID, "email": emails[0]}
        )
        name, email = KAYAKO_ONLY
        kayako_only = self.kayako.store.create_user(
            {"full_name": name, "role_id": CUSTOMER_ROLE_ID, "email": email}
        )
        plan = self._cli("--plan")
        for line in ("to link: 1 (1 by email)", "to create on the app: 1", "to create on GHL: 1"):
            if line not in plan:
                raise StepFailed(f"the plan does not say {line!r}:\n{plan}")
        self._cli("--no-wait")
        self.demo.until("the backfill job finished", self._finished)
        pairs = [self._app_id_of(ghl_id) for ghl_id in imported]
        if None in pairs:
            unlinked = [ghl_id for ghl_id, app_id in zip(imported, pairs, strict=True) if app_id is None]
            raise StepFailed(f"imported GHL contacts not linked: {unlinked}")
        if pairs[0] != str(matched.id):
            raise StepFailed(f"{emails[0]} was linked to Kayako user {pairs[0]}, not {matched.id}")
        found = [c.id for c in self.ghl.store.contacts(self.location_id) if c.fields.get("email") == email]
        if len(found) != 1 or self._app_id_of(found[0]) != str(kayako_only.id):
            raise StepFailed(f"{email} should be one GHL contact linked to user {kayako_only.id}: {found}")
        return (
            f"plan: link 1 by e-mail, create 1 on each side; run: {emails[0]} linked to Kayako user "
            f"{matched.id}, {emails[1]} → Kayako user {pairs[1]}, {email} → GHL contact {found[0]}"
        )

    def _app_id_of(self, ghl_id: str) -> str | None:
        from ghlsync.core.entities import EntityKind
        from ghlsync.store.links import LinkStore, Side

        link = LinkStore(self.demo.table).get(self.connection_id, EntityKind.CONTACT, Side.GHL, ghl_id)
        return link.app.id if link is not None and link.active else None

    def _ghl_email(self, ghl_id: str) -> str:
        contact = next(c for c in self.ghl.store.contacts(self.location_id) if c.id == ghl_id)
        email: str = contact.fields.get("email") or ""
        if not email:
            raise StepFailed(f"seeded GHL contact {ghl_id} has no e-mail to match by")
        return email

    def _cli(self, *flags: str) -> str:
        """`connections_cli backfill CONN FLAGS`, as the operator runs it against the stack."""
        from ghlsync.connections_cli import main

        out, err = io.StringIO(), io.StringIO()
        if main(["backfill", self.connection_id, *flags], out=out, err=err) != 0:
            raise StepFailed(f"connections_cli backfill {' '.join(flags)} failed: {err.getvalue().strip()}")
        return out.getvalue()

    def _finished(self) -> bool:
        from ghlsync.backfill.jobs import JobStatus, JobStore

        job: Any = JobStore(self.demo.table).get(self.connection_id)
        return job is not None and job.status is JobStatus.FINISHED
