"""Canonical entities: the common shape every side is mapped to and from.

The engine compares, merges and hashes only these. Field names are neutral (neither GHL's nor an
app's); `fields()` gives the comparable content used for shadows, hashes and per-field merges.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Canonical(BaseModel):
    """Base of every canonical entity.

    `id` is the id on the side the record was read from; `updated_at` is that side's own
    modification time (GHL `dateUpdated`, an app's `updated_at`), used for last-writer-wins.
    Neither takes part in the content hash.
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    updated_at: datetime | None = None

    # Fields that identify or timestamp a record rather than describe it.
    _NON_CONTENT: frozenset[str] = frozenset({"id", "updated_at", "parent_id"})

    def fields(self) -> dict[str, Any]:
        """The comparable content: JSON-ready, without ids and timestamps."""
        data = self.model_dump(mode="json", exclude=set(self._NON_CONTENT))
        return data

    def content_hash(self) -> str:
        body = json.dumps(self._hashed_content(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(body.encode()).hexdigest()

    def _hashed_content(self) -> dict[str, Any]:
        return self.fields()


class CanonicalContact(Canonical):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    # The postal address (GHL address1/city/state/postalCode). No country: GHL keeps an ISO alpha-2
    # code, the apps a country name, and a wrong guess would overwrite a right one.
    address_line1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    # Canonical custom-field key -> value; each connection maps its own field ids onto these keys.
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    # Tags travel as deltas (DESIGN §4 rule 4) but the shadow keeps the full set.
    tags: frozenset[str] = frozenset()

    def fields(self) -> dict[str, Any]:
        data = super().fields()
        data["tags"] = sorted(self.tags)
        return data

    def _hashed_content(self) -> dict[str, Any]:
        # Tag identity is case-insensitive (DESIGN §4 rule 4): a side that stores `Probe-Mixed` as
        # `probe-mixed` holds the same content, so its echo is still recognised.
        data = self.fields()
        data["tags"] = sorted({tag.strip().lower() for tag in self.tags})
        return data


ADDRESS_FIELDS = frozenset({"address_line1", "city", "state", "postal_code"})


class CanonicalTask(Canonical):
    parent_id: str | None = Field(default=None, description="contact id on the same side")
    title: str
    body: str | None = None
    due_date: datetime | None = None
    completed: bool = False
    # Canonical assignee key (an email, usually); each side maps its user ids onto it.
    assignee: str | None = None


class CanonicalNote(Canonical):
    parent_id: str | None = Field(default=None, description="contact id on the same side")
    body: str
