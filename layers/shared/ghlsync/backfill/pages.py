"""What one page of a backfill does, the same for `--plan` (which only counts) and for the job.

A hub page: each contact already linked is left to the live path (counted `already_linked`, its
app record claimed so it is never created on GHL); the others are matched against the app index
(`matching.match`); a pair is claimed in the index, so a second hub contact matching the same app
record is ambiguous; what stays unmatched is created on the app where the direction says so. The
`Apply` given decides whether anything is written: `PlanOnly` writes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ghlsync.backfill import matching
from ghlsync.backfill.index import KeyIndex
from ghlsync.core.entities import EntityKind
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.connections import BackfillDirection, Connection
from ghlsync.store.links import LinkStore, Side

CONTACT = EntityKind.CONTACT
TO_APP = frozenset({BackfillDirection.BOTH, BackfillDirection.HUB_TO_APP})
TO_HUB = frozenset({BackfillDirection.BOTH, BackfillDirection.APP_TO_HUB})


@dataclass
class Tallies:
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class Apply(Protocol):
    """The writes a page asks for; each answers the count name it ends in."""

    def link(self, hub: CanonicalContact, app: CanonicalContact, via: str) -> str: ...
    def ambiguous(self, hub: CanonicalContact, reason: str) -> str: ...
    def create_on_app(self, hub: CanonicalContact) -> str: ...
    def create_on_hub(self, app: CanonicalContact) -> str: ...


class PlanOnly:
    def link(self, hub: CanonicalContact, app: CanonicalContact, via: str) -> str:
        return f"to_link_by_{via}"

    def ambiguous(self, hub: CanonicalContact, reason: str) -> str:
        return "ambiguous"

    def create_on_app(self, hub: CanonicalContact) -> str:
        return "to_create_on_app"

    def create_on_hub(self, app: CanonicalContact) -> str:
        return "to_create_on_hub"


@dataclass
class PageWork:
    connection: Connection
    index: KeyIndex
    links: LinkStore
    apply: Apply
    tallies: Tallies
    before_each: Callable[[], None] = lambda: None  # the budget gate
    # Queues a pair's tasks and notes (ghl id, app id) -> how many; None: not brought along.
    children: Callable[[str, str], int] | None = None

    @property
    def _direction(self) -> BackfillDirection:
        return self.connection.settings.backfill.direction

    def _link(self, side: Side, record_id: str) -> str | None:
        """The counterpart's id when `record_id` is linked (active)."""
        link = self.links.get(self.connection.connection_id, CONTACT, side, record_id)
        return link.side(side.other).id if link is not None and link.active else None

    def index_app_page(self, records: list[CanonicalContact]) -> None:
        country = self.connection.settings.default_country
        self.index.add((r, matching.keys_of(r, country)) for r in records if r.id)
        for _ in records:
            self.tallies.add("indexed")

    def hub_page(self, contacts: list[CanonicalContact]) -> None:
        settings = self.connection.settings
        wanted = {
            c.id: matching.wanted_keys(
                c, external_id_field=settings.external_id_field, default_country=settings.default_country
            )
            for c in contacts
            if c.id
        }
        found = self.index.lookup(key for keys in wanted.values() for key in keys)
        for contact in contacts:
            if contact.id is None:
                continue
            self.tallies.add("listed_hub")
            self.before_each()
            self._one_hub(contact, wanted[contact.id], found)

    def _one_hub(self, contact: CanonicalContact, keys: list[str], found: dict[str, frozenset[str]]) -> None:
        assert contact.id is not None
        linked_app = self._link(Side.GHL, contact.id)
        if linked_app is not None:
            self.index.claim(linked_app, contact.id)
            self.tallies.skip("already linked: the live path keeps it in step")
            return

        def taken_by_other(app_id: str) -> bool:
            held = self.index.record(app_id)
            claimed = held[1] if held is not None else None
            return (claimed is not None and claimed != contact.id) or self._link(Side.APP, app_id) is not None

        verdict = matching.match(keys, found, taken_by_other=taken_by_other)
        if isinstance(verdict, matching.Pair):
            held = self.index.record(verdict.app_id)
            if held is None or not self.index.claim(verdict.app_id, contact.id):
                verdict = matching.Ambiguous(f"{verdict.app_id} is matched by another contact")
            else:
                self._done(self.apply.link(contact, held[0], verdict.via), Side.GHL, contact.id)
                return
        if isinstance(verdict, matching.Ambiguous):
            # The app records in question stay as they are: creating them on GHL would make the
            # duplicates the ambiguity is about.
            for app_id in verdict.candidates:
                self.index.claim(app_id, f"ambiguous:{contact.id}")
            self.tallies.add(self.apply.ambiguous(contact, verdict.reason))
            return
        if self._direction in TO_APP:
            self._done(self.apply.create_on_app(contact), Side.GHL, contact.id)
        else:
            self.tallies.skip(f"only on GHL: direction {self._direction.value} creates nothing on the app")

    def app_rest_page(self, records: list[CanonicalContact]) -> None:
        for record in records:
            assert record.id is not None
            if self._link(Side.APP, record.id) is not None:
                self.tallies.skip("already linked: the live path keeps it in step")
                continue
            if self._direction not in TO_HUB:
                self.tallies.skip(
                    f"only on the app: direction {self._direction.value} creates nothing on GHL"
                )
                continue
            self.before_each()
            self._done(self.apply.create_on_hub(record), Side.APP, record.id)
            self.index.claim(record.id, "created")

    def _done(self, outcome: str, side: Side, record_id: str) -> None:
        """Count what a write ended in; a pair it left linked brings its children along."""
        self.tallies.add(outcome)
        if self.children is None or not outcome.startswith(("linked_by_", "created_on_")):
            return
        link = self.links.get(self.connection.connection_id, CONTACT, side, record_id)
        if link is not None and link.active:
            queued = self.children(link.ghl.id, link.app.id)
            self.tallies.counts["children_queued"] = self.tallies.counts.get("children_queued", 0) + queued
