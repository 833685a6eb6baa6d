"""GHL, the hub, behind the same Connector protocol as every app.

A thin adapter over `ghlsync.ghl.client.GhlClient` (one per location) and `ghlsync.mapping.ghl`.
The engine then treats both sides alike. GHL specifics handled here:
- a missing record (404, or GHL's 400 "not found") reads as None, and deleting it again is done;
- identity lookups use GET /contacts/search/duplicate (immediately consistent, unlike search);
- updates never carry tags; tags change through add/remove;
- a task without a due date gets one (`default_due_days` from now): GHL requires it;
- tasks carry no modification time and fire no TaskUpdate webhook, so with `task_search` the
  location-wide task search (POST /locations/{locationId}/tasks/search, scope
  `locations/tasks.readonly`, UNCONFIRMED in use) is the sweep's snapshot feed of tasks and lists
  task ids for its delete diff; without it the sweep reads linked contacts' task lists in rotation.
Errors other than "not found" propagate as GhlError (with `.transient`) for the engine to classify.
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ghlsync.apps.base import (
    Capabilities,
    ChangeFeed,
    ContactPage,
    Inbound,
    InboundRequest,
    TagSupport,
    every_operation,
)
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import WebhookRejected
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.ghl.client import MAX_PAGE_SIZE, GhlClient
from ghlsync.ghl.errors import GhlNotFound
from ghlsync.ghl.models import SearchFilter, SearchSort, ghl_datetime
from ghlsync.ghl.pagination import SearchCursor
from ghlsync.ghl.webhooks import (
    AppointmentWebhook,
    ContactWebhook,
    NoteWebhook,
    TaskWebhook,
    WebhookVerifier,
    delivery_id,
    parse_webhook,
    to_change_event,
)
from ghlsync.mapping import ghl as mapping
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask

GHL_NAME = "ghl"


@dataclass(frozen=True)
class TaskSearch:
    """How the sweep uses the location-wide task search (settings `GHL_TASK_SEARCH*`).

    `open_only`: the snapshot feed lists open tasks only (a completion fires TaskComplete; a done
    task is rarely retitled), so a run costs pages of open tasks, not of every task ever made.
    The delete diff always lists every task."""

    enabled: bool = True
    open_only: bool = True
    page_size: int = MAX_PAGE_SIZE


@dataclass(frozen=True)
class CanonicalContactPage:
    contacts: list[CanonicalContact]
    next_cursor: SearchCursor | None
    total: int | None


class GhlHub:
    name = GHL_NAME
    capabilities = Capabilities(
        entities=every_operation(EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE),
        # Whether GHL compares (or lower-cases) tag names is unconfirmed (ghl-api.md): not claimed.
        tags=TagSupport(case_insensitive=False),
        # Webhooks arrive at /webhooks/ghl (GhlIngress), not through this connector's routes; the
        # contact search by dateUpdated is the sweep's ordered feed, with no window.
        inbound=Inbound(webhooks=True, feed=ChangeFeed(ordered=True)),
        lists_contacts=True,
        id_listing=frozenset({EntityKind.CONTACT, EntityKind.TASK}),
        snapshot_feed=frozenset({EntityKind.TASK}),
    )

    def __init__(
        self,
        client: GhlClient,
        fields: mapping.GhlFieldMap,
        *,
        verifier: WebhookVerifier | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_due_days: int = 1,
        task_search: TaskSearch = TaskSearch(),
    ) -> None:
        if not task_search.enabled:
            # Without the task search no listing shows GHL tasks: contacts only.
            self.capabilities = replace(
                self.capabilities, id_listing=frozenset({EntityKind.CONTACT}), snapshot_feed=frozenset()
            )
        self._task_search = task_search
        self._client = client
        self._fields = fields
        self._verifier = verifier
        self._clock = clock
        self._default_due = timedelta(days=default_due_days)

    # -- contacts -------------------------------------------------------------------------
    def get_contact(self, contact_id: str) -> CanonicalContact | None:
        try:
            return mapping.contact_to_canonical(self._client.get_contact(contact_id), self._fields)
        except GhlNotFound:
            return None

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        if not email and not phone:
            return []
        try:
            found = self._client.find_duplicate(email=email, phone=phone)
        except GhlNotFound:
            return []
        return [mapping.contact_to_canonical(found, self._fields)] if found is not None else []

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact:
        created = self._client.create_contact(mapping.contact_create(contact, self._fields))
        return mapping.contact_to_canonical(created, self._fields)

    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact:
        update = mapping.contact_update(contact, changed, self._fields)
        if not update.to_body():
            current = self.get_contact(contact_id)
            if current is None:
                raise GhlNotFound(f"contact {contact_id} not found", status=404)
            return current
        return mapping.contact_to_canonical(self._client.update_contact(contact_id, update), self._fields)

    def delete_contact(self, contact_id: str) -> None:
        try:
            self._client.delete_contact(contact_id)
        except GhlNotFound:
            return

    def add_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None:
        """GHL's `tags` answer: every tag added is in it, whether it lists all or only those."""
        return self._client.add_tags(contact_id, sorted(tags)) if tags else None

    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None:
        """GHL's `tags` answer: the tags the contact keeps."""
        return self._client.remove_tags(contact_id, sorted(tags)) if tags else None

    # -- tasks ----------------------------------------------------------------------------
    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None:
        try:
            return mapping.task_to_canonical(
                self._client.get_task(contact_id, task_id), self._fields, contact_id
            )
        except GhlNotFound:
            return None

    def list_tasks(self, contact_id: str) -> list[CanonicalTask]:
        return [
            mapping.task_to_canonical(t, self._fields, contact_id)
            for t in self._client.list_tasks(contact_id)
        ]

    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask:
        body = mapping.task_create(task, self._fields, default_due=self._clock() + self._default_due)
        return mapping.task_to_canonical(self._client.create_task(contact_id, body), self._fields, contact_id)

    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask:
        update = mapping.task_update(task, changed, self._fields)
        if not update.to_body():
            current = self.get_task(contact_id, task_id)
            if current is None:
                raise GhlNotFound(f"task {task_id} not found", status=404)
            return current
        return mapping.task_to_canonical(
            self._client.update_task(contact_id, task_id, update), self._fields, contact_id
        )

    def delete_task(self, contact_id: str, task_id: str) -> None:
        try:
            self._client.delete_task(contact_id, task_id)
        except GhlNotFound:
            return

    # -- notes ----------------------------------------------------------------------------
    def get_note(self, contact_id: str, note_id: str) -> CanonicalNote | None:
        try:
            return mapping.note_to_canonical(self._client.get_note(contact_id, note_id), contact_id)
        except GhlNotFound:
            return None

    def list_notes(self, contact_id: str) -> list[CanonicalNote]:
        return [mapping.note_to_canonical(n, contact_id) for n in self._client.list_notes(contact_id)]

    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote:
        return mapping.note_to_canonical(
            self._client.create_note(contact_id, mapping.note_create(note)), contact_id
        )

    def update_note(self, contact_id: str, note_id: str, note: CanonicalNote) -> CanonicalNote:
        updated = self._client.update_note(contact_id, note_id, mapping.note_update(note))
        return mapping.note_to_canonical(updated, contact_id)

    def delete_note(self, contact_id: str, note_id: str) -> None:
        try:
            self._client.delete_note(contact_id, note_id)
        except GhlNotFound:
            return

    # -- inbound --------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest) -> None:
        if self._verifier is None:
            raise WebhookRejected("no GHL webhook public keys configured")
        self._verifier.verify(request.body, request.headers, now=self._clock())

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        """Contact/task/note/appointment webhooks as change events; lifecycle and other types: none."""
        webhook = parse_webhook(request.body)
        if not isinstance(webhook, ContactWebhook | TaskWebhook | NoteWebhook | AppointmentWebhook):
            return []
        if webhook.location_id != location_id:
            raise WebhookRejected("webhook for another location")
        return [to_change_event(webhook, event_id=delivery_id(webhook, request.body))]

    def budget_headroom(self) -> tuple[float | None, float | None]:
        """(window, daily): percent of the location's GHL budget its last answer left; None unknown.
        One client per location serves every caller in this container, so this counts live traffic."""
        return self._client.pacer.headroom()

    def business_names(self) -> dict[str, str]:
        """Every business of the location, id -> name (GET /businesses/, 100 per call)."""
        return {business.id: business.name for business in self._client.list_businesses() if business.name}

    def search_pages(
        self,
        *,
        tag: str | None = None,
        start: SearchCursor | None = None,
        page_size: int = MAX_PAGE_SIZE,
        business_names: Mapping[str, str] | None = None,
    ) -> Iterator[CanonicalContactPage]:
        """Every contact of the location (with `tag`, when given), oldest added first, a page of
        `page_size` per search call, as canonical records; each page carries the cursor that
        resumes after it (a bulk job checkpoints it) and the search's total. With
        `business_names`, a contact of a business takes its business's name as its company (the
        business-enriched refresh): the business is what groups contacts under one eKyte Person."""
        filters = [SearchFilter(field="tags", operator="eq", value=tag)] if tag else []
        sort = [SearchSort(field="dateAdded", direction="asc")]
        pages = self._client.search_contact_pages
        for page in pages(filters=filters, sort=sort, start=start, page_limit=page_size):
            contacts = [mapping.contact_to_canonical(c, self._fields) for c in page.contacts]
            if business_names:
                contacts = [
                    _with_business(canonical, business_names.get(raw.business_id or ""))
                    for canonical, raw in zip(contacts, page.contacts, strict=True)
                ]
            yield CanonicalContactPage(
                contacts=contacts,
                next_cursor=page.next_cursor,
                total=page.total,
            )

    def contact_pages(self, *, start: str | None, page_size: int) -> Iterator[ContactPage]:
        """`search_pages` behind the connector-neutral listing (`ContactListingConnector`): the
        search cursor travels as JSON."""
        cursor = None
        if start:
            raw = json.loads(start)
            after = raw.get("search_after")
            cursor = SearchCursor(page=raw.get("page"), search_after=tuple(after) if after else None)
        for page in self.search_pages(start=cursor, page_size=page_size):
            after_page = page.next_cursor
            yield ContactPage(
                contacts=page.contacts,
                next_cursor=None
                if after_page is None
                else json.dumps(
                    {
                        "page": after_page.page,
                        "search_after": list(after_page.search_after) if after_page.search_after else None,
                    }
                ),
                total=page.total,
            )

    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Contacts updated since `since` (search, oldest first), as upsert events for sweeps."""
        filters = [SearchFilter(field="dateUpdated", operator="range", value={"gte": ghl_datetime(since)})]
        sort = [SearchSort(field="dateUpdated", direction="asc")]
        for contact in self._client.search_contacts(filters=filters, sort=sort):
            occurred = contact.date_updated or contact.date_added or since
            yield ChangeEvent(
                event_id=f"sweep-ghl-{contact.id}-{int(occurred.timestamp() * 1000)}",
                location_id=self._client.location_id,
                source=GHL_NAME,
                entity=EntityKind.CONTACT,
                action=ChangeAction.UPSERT,
                entity_id=contact.id,
                occurred_at=occurred,
                event_type="SweepContactChanged",
            )

    def list_ids(self, entity: EntityKind) -> Iterator[str]:
        """Contact ids by search (100 per call, oldest added first), task ids by the task search."""
        if entity is EntityKind.TASK:
            yield from (t.id for t in self._client.search_tasks(limit=self._task_search.page_size))
            return
        for page in self.search_pages():
            yield from (c.id for c in page.contacts if c.id)

    def list_current(self, entity: EntityKind) -> Iterator[ChangeEvent]:
        """The location's tasks (open ones with `open_only`) as upsert events carrying the task."""
        completed = False if self._task_search.open_only else None
        now = self._clock()
        for task in self._client.search_tasks(completed=completed, limit=self._task_search.page_size):
            if not task.contact_id:
                continue  # a task under no contact is nothing the sync links
            record = mapping.task_to_canonical(task, self._fields, task.contact_id)
            yield listed_task_event(self._client.location_id, record, now)


def listed_task_event(location_id: str, task: CanonicalTask, now: datetime) -> ChangeEvent:
    """A GHL task read by a listing, as an upsert event carrying it; the id is stable per content."""
    digest = hashlib.sha256(task.model_dump_json().encode()).hexdigest()[:24]
    return ChangeEvent(
        event_id=f"sweep-ghl-task-{task.id}-{digest}",
        location_id=location_id,
        source=GHL_NAME,
        entity=EntityKind.TASK,
        action=ChangeAction.UPSERT,
        entity_id=task.id or "",
        parent_id=task.parent_id,
        occurred_at=now,  # GHL keeps no modification time for tasks: when the listing saw it
        event_type="SweepTaskListed",
        record=task.model_dump(mode="json"),
    )


def _with_business(contact: CanonicalContact, business_name: str | None) -> CanonicalContact:
    return contact if not business_name else contact.model_copy(update={"company_name": business_name})
