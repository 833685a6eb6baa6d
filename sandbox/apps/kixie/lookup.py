"""Kixie's custom-CRM contact lookup, from Kixie's side (target-apps.md §3.3): on a call Kixie asks
the customer's endpoint `GET <url>?number=<E.164>` and expects `{"found": true, "contact": {…}}`
or `{"found": false}` (snake_case keys). The number is sent as given, so tests can send garbage."""

import json
from dataclasses import dataclass
from typing import Any

import httpx

LOOKUP_TIMEOUT_S = 5.0  # Kixie's own timeout is undocumented


@dataclass(frozen=True)
class LookupAnswer:
    status: int
    body: dict[str, Any] | None  # None: the answer was not a JSON object

    @property
    def found(self) -> bool:
        return self.status == 200 and self.body is not None and self.body.get("found") is True

    @property
    def contact(self) -> dict[str, Any] | None:
        contact = self.body.get("contact") if self.found and self.body is not None else None
        return contact if isinstance(contact, dict) else None


def call_lookup(client: httpx.Client, url: str, number: str) -> LookupAnswer:
    """One lookup, as Kixie makes it: `number` joins the URL's own query (its `?token=`)."""
    response = client.get(httpx.URL(url).copy_merge_params({"number": number}))
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return LookupAnswer(response.status_code, body if isinstance(body, dict) else None)
