"""KixieConnector: GHL contacts into a PowerList, their tasks and notes as its digest, calls back.

Kixie has no contact store and no read API (target-apps.md §3), so it declares what that allows:

- contacts: `Operation.UPSERT` only (no read, find or update). The engine hands over the GHL
  contact on every change; it is written with one `updatepowerlist` (`duplicateHandling: merge`,
  never `overwrite`, which nulls what it omits), keyed by its E.164 phone, `crmContactId` = the GHL
  id, into the connection's PowerList or the one its first matching rule picks. A contact without a
  phone is refused (skipped with the reason). When the phone or the list changes, the new entry is
  written first and the old one then removed (`removefrompowerlist`), so a failure in between
  leaves the contact dialable. A write that would change nothing Kixie holds is not sent (quota).
  A bulk sync hands over the contact's tasks and notes too: the same one write carries the digest.
- tasks and notes: a digest of the contact's open tasks and latest notes in `nextCallRefresher`,
  one `updatepowerlist` merge per change (`Capabilities.digests`); from Kixie, calls, dispositions,
  SMS and call summaries become GHL notes and scheduled activities GHL tasks, carried in their
  events (Kixie cannot be re-read).
- tags: none in Kixie; a disposition mapped in `disposition_tags` adds a GHL tag.
- inbound: unsigned webhooks, the connection's token in the URL (`token`) or in the registered
  custom header, compared in constant time (SharedSecretVerifier); the caller-ID lookup (served by
  `functions/caller_lookup`) checks the same token.
- `register_webhooks`: lists the account's registrations, updates ours by name, creates the
  missing ones (run by `connections_cli create`).
"""

import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from ghlsync.apps.base import (
    Capabilities,
    ContactChildren,
    EntitySupport,
    Flow,
    Inbound,
    InboundRequest,
    Lookup,
    Operation,
    TagSupport,
    TagWrites,
)
from ghlsync.apps.kixie.api import KixieApi
from ghlsync.apps.kixie.settings import KixieCredentials, KixieSettings
from ghlsync.apps.kixie.webhooks import EVENT_PARAM, SOURCE, KixieEvents
from ghlsync.apps.spec import InboundRoute
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import RecordRefused, UnexpectedResponse
from ghlsync.core.events import ChangeEvent
from ghlsync.http.budget import DailyQuota
from ghlsync.http.verify import SharedSecretVerifier
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.kixie import (
    digest,
    powerlist_of,
    powerlist_record,
    same_powerlist_contact,
    upsert_body,
)

TOKEN_PARAM = "token"
WEBHOOK_ROUTE = InboundRoute(
    method="POST",
    path="/webhooks/kixie/{connectionId}",
    purpose="Kixie webhooks, one registration per event (&event=endcall|disposition|…)",
    secret_field="webhook_token",
    query_param=TOKEN_PARAM,
)
LOOKUP_ROUTE = InboundRoute(
    method="GET",
    path="/kixie/{connectionId}/lookup",
    purpose="Kixie custom-CRM caller-ID lookup (?number=<E.164>)",
    secret_field="webhook_token",
    query_param=TOKEN_PARAM,
)


def capabilities_for(settings: KixieSettings) -> Capabilities:
    from_kixie = EntitySupport(flow=Flow.BOTH, operations=frozenset(), rereadable=False)
    return Capabilities(
        entities={
            EntityKind.CONTACT: EntitySupport(
                # Kixie contacts reach GHL only as the unknown callers the connection lets in.
                flow=Flow.BOTH if settings.create_contact_on_unknown_number else Flow.TO_APP,
                operations=frozenset({Operation.UPSERT}),
                rereadable=False,
            ),
            EntityKind.TASK: from_kixie,
            EntityKind.NOTE: from_kixie,
        },
        tags=TagSupport(writes=TagWrites.NONE),
        inbound=Inbound(webhooks=True),
        lookups=frozenset({Lookup.CALLER_ID}),
        digests=frozenset({EntityKind.TASK, EntityKind.NOTE}),
    )


class KixieConnector:
    name = SOURCE

    def __init__(
        self,
        http: httpx.Client,
        settings: KixieSettings,
        *,
        secret: KixieCredentials,
        location_id: str,
        connection_id: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.capabilities = capabilities_for(settings)
        self.api = KixieApi(http, settings, secret, sleep=sleep, clock=clock, wall_clock=wall_clock, rng=rng)
        self._settings = settings
        self._token = secret.webhook_token.get_secret_value()
        self._verifier = SharedSecretVerifier(
            self._token, query=TOKEN_PARAM, header=settings.webhook_token_header
        )
        self._connection_id = connection_id
        self._events = KixieEvents(settings, location_id=location_id, connection_id=connection_id)

    # -- contacts: PowerList upserts ---------------------------------------------------------
    def contact_key(self, contact: CanonicalContact) -> str:
        record = powerlist_record(contact, self._settings)
        if record is None or record.id is None:
            raise RecordRefused("no phone: Kixie keys PowerList contacts by phone number")
        return record.id

    @property
    def daily_quota(self) -> DailyQuota:
        return self.api.quota

    def upsert_contact(
        self,
        key: str,
        contact: CanonicalContact,
        previous: CanonicalContact | None,
        children: ContactChildren | None = None,
    ) -> CanonicalContact:
        record = powerlist_record(contact, self._settings)
        if record is None or record.id != key:
            raise RecordRefused("no phone: Kixie keys PowerList contacts by phone number")
        if children is None and same_powerlist_contact(record, previous):
            return record
        moved = previous is not None and (
            previous.id != record.id or powerlist_of(previous) != powerlist_of(record)
        )
        body = upsert_body(
            record, None if moved else previous, crm_contact_id=contact.id, config=self._settings
        )
        if children is not None:
            body["nextCallRefresher"] = digest(children.tasks, children.notes, self._settings)
        self.api.event("updatepowerlist", body)
        if moved and previous is not None:
            self._remove(previous)
        return record

    def _remove(self, previous: CanonicalContact) -> None:
        """Take the entry written before out of its PowerList (a number or list that changed). An
        entry of unknown list (never written by us) is left alone."""
        powerlist = powerlist_of(previous)
        if previous.id is None or powerlist is None:
            return
        self.api.event(
            "removefrompowerlist",
            {"action": "removefrompowerlist", "target": previous.id, "powerlistId": powerlist},
        )

    def refresh_digest(
        self, contact: CanonicalContact, tasks: list[CanonicalTask], notes: list[CanonicalNote]
    ) -> None:
        powerlist = powerlist_of(contact)
        if contact.id is None or powerlist is None:
            raise RecordRefused("not on a Kixie PowerList yet: the digest follows the contact's first sync")
        self.api.event(
            "updatepowerlist",
            {
                "powerlistId": powerlist,
                "target": contact.id,
                "nextCallRefresher": digest(tasks, notes, self._settings),
                "duplicateHandling": "merge",
            },
        )

    # -- inbound --------------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest) -> None:
        self._verifier.verify(request.body, request.headers, request.query)

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        return self._events.parse(request)

    # -- webhook registration (connections_cli create) ----------------------------------------
    def register_webhooks(self, api_url: str) -> list[str]:
        """Our registrations, one per event kind: updated by name when Kixie lists them already,
        created otherwise. Returns one line per registration for the operator."""
        settings = self._settings
        listed = self.api.manage(settings.webhook_list_path, settings.webhook_list_call, {}, retry_safe=True)
        existing = _registrations_by_name(listed)
        base = WEBHOOK_ROUTE.url_for(api_url, self._connection_id, self._token)
        headers = json.dumps([{"name": settings.webhook_token_header, "value": self._token}])
        lines: list[str] = []
        for kind, eventname in settings.event_names.items():
            name = f"{settings.webhook_name_prefix}-{kind}"
            fields: dict[str, Any] = {
                "eventname": eventname,
                "name": name,
                "location": f"{base}&{EVENT_PARAM}={kind}",
                "headers": headers,
                "direction": "all",
                "callresult": "all",
                "disposition": "all",
                "runtime": "realtime",
            }
            webhook_id = existing.get(name)
            if webhook_id is not None:
                self.api.manage(
                    settings.webhook_update_path,
                    settings.webhook_update_call,
                    {**fields, "webhookid": webhook_id},
                    retry_safe=True,
                )
                lines.append(f"kixie webhook {name} ({eventname}): updated")
            else:
                self.api.manage(
                    settings.webhook_create_path, settings.webhook_create_call, fields, retry_safe=False
                )
                lines.append(f"kixie webhook {name} ({eventname}): created")
        return lines


def _registrations_by_name(answer: dict[str, Any]) -> dict[str, str]:
    """name -> webhookid of the listed registrations (`data`, or `webhooks`, a list)."""
    listed = answer.get("data", answer.get("webhooks", []))
    if not isinstance(listed, list):
        raise UnexpectedResponse("Kixie listed webhooks in an unexpected shape")
    found: dict[str, str] = {}
    for item in listed:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item.get("webhookid") is not None:
            found.setdefault(item["name"], str(item["webhookid"]))
    return found


def register_webhooks(connector: Any, api_url: str) -> Sequence[str]:
    """The spec's `after_create`: register the new connection's webhooks with Kixie."""
    assert isinstance(connector, KixieConnector)
    return connector.register_webhooks(api_url)
