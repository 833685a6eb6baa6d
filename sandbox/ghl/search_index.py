"""GHL's search index: what `POST /contacts/search` and `GET /contacts/` see, `lag_s` behind writes.

GHL documents its search as eventually consistent (ghl-api.md §2.4: "updates may take a few seconds
to appear in search"); `GET /contacts/search/duplicate` reads the primary store and stays immediate.
How long the lag is, and whether it varies, is unconfirmed, so it is a switch
(`GhlSandbox(search_lag_s=…)`, default 0 = the live store). Driven by the sandbox clock, so
tests stay fast and deterministic.

With a lag, every contact write is kept as a snapshot stamped with its time; a search at `now`
reads, per contact, the newest snapshot written at or before `now - lag`: a new contact is missing,
an edited one shows its old values, a deleted one is still found, until the lag has passed.
"""

import copy
from collections.abc import Callable

from sandbox.ghl.state import Contact, Store

# (written at, snapshot), oldest first; a None snapshot is a delete.
_History = list[tuple[int, Contact | None]]


class SearchIndex:
    def __init__(self, store: Store, now_ms: Callable[[], int], lag_s: float = 0.0) -> None:
        self._store = store
        self._now_ms = now_ms
        self._lag_ms = 0
        self._histories: dict[str, dict[str, _History]] = {}  # location id -> contact id -> history
        self.set_lag(lag_s)

    @property
    def lag_s(self) -> float:
        return self._lag_ms / 1000

    def set_lag(self, seconds: float) -> None:
        """Switch the lag; turning it on indexes every existing contact as already visible."""
        if seconds < 0:
            raise ValueError("search lag cannot be negative")
        was_lagging = self._lag_ms > 0
        self._lag_ms = round(seconds * 1000)
        if not self._lag_ms:
            self._histories.clear()
        elif not was_lagging:
            self._histories = {
                location_id: {c.id: [(0, copy.deepcopy(c))] for c in location.contacts.values()}
                for location_id, location in self._store.locations.items()
            }

    def written(self, contact: Contact) -> None:
        """A create or update of `contact` (as it is now): searchable `lag` from now."""
        if self._lag_ms:
            self._history(contact).append((self._now_ms(), copy.deepcopy(contact)))

    def deleted(self, contact: Contact) -> None:
        if self._lag_ms:
            self._history(contact).append((self._now_ms(), None))

    def backdated(self, contact: Contact) -> None:
        """A seeded contact, indexed as if written at its `dateUpdated` (its history starts there)."""
        if self._lag_ms:
            self._history(contact)[:] = [(contact.date_updated_ms, copy.deepcopy(contact))]

    def contacts(self, location_id: str) -> list[Contact]:
        """The location's contacts as search sees them now (snapshots: never mutate them)."""
        if not self._lag_ms:
            return self._store.contacts(location_id)
        horizon = self._now_ms() - self._lag_ms
        visible = []
        histories = self._histories.get(location_id, {})
        for contact_id, history in list(histories.items()):
            seen = [i for i, (written_at, _) in enumerate(history) if written_at <= horizon]
            if not seen:
                continue  # created less than `lag` ago
            del history[: seen[-1]]  # older snapshots can never be read again
            snapshot = history[0][1]
            if snapshot is not None:
                visible.append(snapshot)
            elif len(history) == 1:
                del histories[contact_id]  # deleted long enough ago to be gone for good
        return visible

    def _history(self, contact: Contact) -> _History:
        return self._histories.setdefault(contact.location_id, {}).setdefault(contact.id, [])
