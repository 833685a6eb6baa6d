"""PayacaConnector: the Connector protocol over Payaca API v1 (target-apps.md §4).

Contact = customer (the person is its primary entry of `contacts[]`), found and written by e-mail
as Payaca's own upsert does ("several matches -> the earliest created"). Tags are added with
`tagNames`; removal only with the [PROPOSAL] `tag_removal` setting. Payaca documents no notes or
tasks API: GHL notes/tasks reach Payaca only through the [PROPOSAL] project endpoints when a
setting turns them on; otherwise the engine audits them `skipped: unsupported`.

Inbound: webhooks signed with HMAC-SHA256 hex of the raw body (`x-payaca-signature`), event name
in `x-payaca-event`. Customer events are upserts of the contact (re-read). Project events cannot
be re-read as notes, so their events carry the record (`ChangeEvent.record`): a GHL note ("Project
ABC123 moved to Install"), the customer's tags again (its projects' stage tags, `payaca-stage-…`,
are part of the contact's tags as read here), and with `assignee_tasks` a GHL task for `assignTo`.
"""

import hashlib
import json
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from ghlsync.apps.base import (
    Capabilities,
    ContactPage,
    EntitySupport,
    Flow,
    Inbound,
    InboundRequest,
    Operation,
    TagSupport,
    TagWrites,
)
from ghlsync.apps.payaca.api import PayacaApi, path_for
from ghlsync.apps.payaca.settings import PAGE_LIMIT, PayacaCredentials, PayacaSettings
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook, NotFound, Validation
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.http.verify import HmacVerifier
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.payaca import (
    TAG_MAX_LENGTH,
    PayacaCustomer,
    PayacaMappingError,
    PayacaNote,
    PayacaProject,
    PayacaTask,
    addresses_with,
    customer_to_contact,
    customer_update_body,
    customer_upsert_body,
    note_to_canonical,
    postal_address_differs,
    project_note,
    project_task,
    stage_tags,
    tag_names,
    task_body,
    task_to_canonical,
)

SOURCE = "payaca"
SIGNATURE_HEADER = "x-payaca-signature"
EVENT_HEADER = "x-payaca-event"
# Payaca retries a delivery on 5xx and timeouts, never on 4xx: "cannot queue now" must be a 5xx.
BUSY_STATUS = 503
PROJECT_EVENTS = frozenset({"project.created", "project.pipelineStageChanged"})
_READ_CACHE_SIZE = 32


def capabilities_for(settings: PayacaSettings) -> Capabilities:
    """What a connection with these settings can do (the proposals switch flows on)."""
    entities = {
        EntityKind.CONTACT: EntitySupport(
            operations=frozenset({Operation.READ, Operation.FIND, Operation.CREATE, Operation.UPDATE})
        ),
        # Project events become notes in GHL; the proposal adds notes the other way.
        EntityKind.NOTE: EntitySupport(
            flow=Flow.BOTH if settings.notes_to_payaca else Flow.FROM_APP,
            operations=frozenset({Operation.CREATE}) if settings.notes_to_payaca else frozenset(),
            rereadable=False,
        ),
    }
    if settings.tasks_to_payaca or settings.assignee_tasks:
        entities[EntityKind.TASK] = EntitySupport(
            flow=(
                Flow.BOTH
                if settings.tasks_to_payaca and settings.assignee_tasks
                else Flow.TO_APP
                if settings.tasks_to_payaca
                else Flow.FROM_APP
            ),
            operations=(
                frozenset({Operation.CREATE, Operation.UPDATE, Operation.LIST})
                if settings.tasks_to_payaca
                else frozenset()
            ),
            rereadable=False,
        )
    return Capabilities(
        entities=entities,
        # Whether Payaca compares tag names case-insensitively is not documented: not claimed.
        tags=TagSupport(
            writes=TagWrites.ADD_REMOVE if settings.tag_removal else TagWrites.ADD_ONLY,
            max_length=TAG_MAX_LENGTH,
        ),
        inbound=Inbound(webhooks=True, busy_status=BUSY_STATUS),
        coupled_fields=(frozenset({"first_name", "last_name"}),),
        lists_contacts=settings.list_customers,
        # The same listing finds deletes by a daily diff instead of reading links.
        id_listing=frozenset({EntityKind.CONTACT}) if settings.list_customers else frozenset(),
    )


def _customer(body: dict[str, Any]) -> PayacaCustomer:
    return PayacaCustomer.model_validate(body.get("customer", body))


def _earliest(customers: list[PayacaCustomer]) -> PayacaCustomer:
    """Payaca's rule when several customers share an e-mail: the earliest created one (listing
    order breaks ties and stands in when `createdAt` is absent)."""
    indexed = list(enumerate(customers))
    far_future = datetime.max.replace(tzinfo=UTC)
    return min(indexed, key=lambda pair: (pair[1].created_at or far_future, pair[0]))[1]


class PayacaConnector:
    name = SOURCE

    def __init__(
        self,
        http: httpx.Client,
        settings: PayacaSettings,
        *,
        secret: PayacaCredentials,
        location_id: str,
        connection_id: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.capabilities = capabilities_for(settings)
        self._api = PayacaApi(http, settings, secret, sleep=sleep, clock=clock, rng=rng)
        self._settings = settings
        self._verifier = HmacVerifier(secret.webhook_secret.get_secret_value(), header=SIGNATURE_HEADER)
        self._location_id = location_id
        self._connection_id = connection_id
        # The engine reads a customer and then updates it: the update keeps the customer's other
        # contacts from that read instead of a second GET. Bounded for a warm container.
        # The stage tags derived at that read come along, so the answer of the update needs no
        # second project listing.
        self._last_read: OrderedDict[str, tuple[PayacaCustomer, frozenset[str]]] = OrderedDict()

    # -- contacts ---------------------------------------------------------------------------
    def _projects(self, customer_id: str) -> list[PayacaProject]:
        path = path_for(self._settings.customer_projects_path, customer_id)
        return [PayacaProject.model_validate(p) for p in self._api.paginate(path, "projects")]

    def _stage_tags(self, customer_id: str) -> frozenset[str]:
        if not self._settings.stage_tag_prefix:
            return frozenset()
        return stage_tags(self._projects(customer_id), self._settings.stage_tag_prefix)

    def _as_contact(self, customer: PayacaCustomer) -> CanonicalContact:
        derived = self._stage_tags(customer.id)
        self._remember(customer, derived)
        return customer_to_contact(customer, self._settings, derived)

    def _remember(self, customer: PayacaCustomer, derived: frozenset[str]) -> None:
        self._last_read[customer.id] = (customer, derived)
        self._last_read.move_to_end(customer.id)
        while len(self._last_read) > _READ_CACHE_SIZE:
            self._last_read.popitem(last=False)

    def _read(self, customer_id: str) -> PayacaCustomer | None:
        try:
            body = self._api.call("GET", path_for(self._settings.customer_path, customer_id))
        except NotFound:
            return None
        return _customer(body)

    def get_contact(self, contact_id: str) -> CanonicalContact | None:
        customer = self._read(contact_id)
        return None if customer is None else self._as_contact(customer)

    def contact_pages(self, *, start: str | None, page_size: int) -> Iterator[ContactPage]:
        """Every customer, `page_size` (at most Payaca's 100) per GET customers; the cursor is the
        next offset. A listed customer's stage tags are not derived (that is a projects listing per
        customer): a backfill links on fields and its own tags, and the stage tags come with the
        customer's next change."""
        size = min(page_size, PAGE_LIMIT)
        first = int(start) if start else 0
        for page in self._api.pages(
            self._settings.customer_search_path, "customers", start=first, limit=size
        ):
            customers = (PayacaCustomer.model_validate(c) for c in page.items if isinstance(c, dict))
            yield ContactPage(
                contacts=[customer_to_contact(customer, self._settings) for customer in customers],
                next_cursor=None if page.next_cursor is None else str(page.next_cursor),
                total=page.total,
            )

    def list_ids(self, entity: EntityKind) -> Iterator[str]:
        """Every customer id (the one kind in `id_listing`), a page per call."""
        assert entity is EntityKind.CONTACT, entity
        for page in self.contact_pages(start=None, page_size=PAGE_LIMIT):
            yield from (contact.id for contact in page.contacts if contact.id)

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        """The customer Payaca's upsert would add to: among those with a contact of this e-mail,
        the earliest created ([PROPOSAL] `GET customers?email=`). Payaca has no phone lookup; with
        `find_by_email` off nothing is found here and the upsert itself joins the existing one."""
        if not email or not email.strip() or not self._settings.find_by_email:
            return []
        wanted = email.strip().lower()
        listed = self._api.paginate(
            self._settings.customer_search_path, "customers", {"email": email.strip()}
        )
        matches = [
            customer
            for customer in (PayacaCustomer.model_validate(c) for c in listed)
            if any((p.email or "").strip().lower() == wanted for p in customer.contacts)
        ]
        if not matches:
            return []
        return [self._as_contact(_earliest(matches))]

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact:
        """ "Customers: Create or update": an upsert by e-mail, so a repeat cannot duplicate."""
        body = self._mapped(customer_upsert_body, contact, self._settings)
        names = self._mapped(tag_names, contact.tags) if contact.tags else []
        answer = self._api.call("POST", self._settings.customer_upsert_path, body=body, retry_safe=True)
        customer = _customer(answer)
        if self._settings.sync_addresses and postal_address_differs(customer, contact):
            path = path_for(self._settings.customer_path, customer.id)
            body = {"addresses": addresses_with(customer, contact)}
            # Sets the list to the same content each time: safe to repeat.
            customer = _customer(
                self._api.call(self._settings.customer_update_method, path, body=body, retry_safe=True)
            )
        if names:
            self.add_tags(customer.id, frozenset(names))
        return customer_to_contact(customer, self._settings).model_copy(update={"tags": contact.tags})

    def update_contact(
        self, contact_id: str, contact: CanonicalContact, changed: frozenset[str]
    ) -> CanonicalContact:
        last_read = self._last_read.pop(contact_id, None)
        if last_read is None:
            customer = self._read(contact_id)
            if customer is None:
                raise NotFound(f"Payaca customer {contact_id} not found", status=404)
            last_read = (customer, self._stage_tags(contact_id))
        current, derived = last_read
        body = self._mapped(customer_update_body, current, contact, changed, self._settings)
        if body:
            path = path_for(self._settings.customer_path, contact_id)
            current = _customer(self._api.call(self._settings.customer_update_method, path, body=body))
        # An update changes no project: the stage tags read with the customer still hold.
        return customer_to_contact(current, self._settings, derived)

    def add_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None:
        names = self._mapped(tag_names, tags)
        path = path_for(self._settings.customer_tags_path, contact_id)
        # Adding a tag the customer has is a no-op: safe to repeat after a timeout.
        answer = self._api.call("POST", path, body={"tagNames": names}, retry_safe=True)
        return self._reported_tags(answer)

    def remove_tags(self, contact_id: str, tags: frozenset[str]) -> list[str] | None:
        names = self._mapped(tag_names, tags)
        path = path_for(self._settings.customer_tags_path, contact_id)
        answer = self._api.call("DELETE", path, body={"tagNames": names})
        return self._reported_tags(answer)

    @staticmethod
    def _reported_tags(answer: dict[str, Any]) -> list[str] | None:
        raw = answer.get("customer")
        if not isinstance(raw, dict) or not isinstance(raw.get("tags"), list):
            return None
        return [str(tag) for tag in raw["tags"]]

    # -- [PROPOSAL] notes and tasks on the customer's newest project ------------------------
    def _newest_project(self, customer_id: str) -> PayacaProject:
        projects = self._projects(customer_id)
        if not projects:
            raise Validation(f"Payaca customer {customer_id} has no project to attach it to")
        return projects[-1]

    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote:
        project = self._newest_project(contact_id)
        path = path_for(self._settings.project_notes_path, project.id)
        answer = self._api.call("POST", path, body={"note": note.body})
        return note_to_canonical(PayacaNote.model_validate(answer.get("note", answer)), contact_id)

    def list_tasks(self, contact_id: str) -> list[CanonicalTask]:
        projects = self._projects(contact_id)
        if not projects:
            return []
        path = path_for(self._settings.project_tasks_path, projects[-1].id)
        return [
            task_to_canonical(PayacaTask.model_validate(t), contact_id)
            for t in self._api.paginate(path, "tasks")
        ]

    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask:
        project = self._newest_project(contact_id)
        path = path_for(self._settings.project_tasks_path, project.id)
        answer = self._api.call("POST", path, body=task_body(task))
        return task_to_canonical(PayacaTask.model_validate(answer.get("task", answer)), contact_id)

    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask:
        path = path_for(self._settings.task_path, task_id)
        answer = self._api.call("PATCH", path, body=task_body(task, changed))
        return task_to_canonical(PayacaTask.model_validate(answer.get("task", answer)), contact_id)

    # -- inbound ----------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest) -> None:
        self._verifier.verify(request.body, request.headers, request.query)

    def parse_webhook(
        self, request: InboundRequest, *, location_id: str, connection_id: str
    ) -> list[ChangeEvent]:
        event_name = (request.headers.get(EVENT_HEADER) or "").strip()
        if not event_name:
            raise MalformedWebhook(f"missing {EVENT_HEADER}")
        customer_events = self._settings.customer_events
        if event_name not in customer_events | PROJECT_EVENTS:
            return []  # invoices, scheduled events, ...: acknowledged, nothing to sync
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            raise MalformedWebhook("not JSON") from exc
        if not isinstance(body, dict):
            raise MalformedWebhook("not a JSON object")
        # Payaca sends no delivery id: the body's hash (per connection) is the key.
        digest = hashlib.sha256(connection_id.encode() + b"\n" + request.body).hexdigest()
        event = _Events(location_id, connection_id, event_name, digest)
        try:
            if event_name in customer_events:
                customer = PayacaCustomer.model_validate(body.get("customer"))
                return [event.customer_upsert(customer)]
            project = PayacaProject.model_validate(body.get("project"))
        except ValidationError as exc:
            raise MalformedWebhook(
                f"not a Payaca {event_name} payload: {exc.error_count()} problem(s)"
            ) from exc
        customer_id = project.owner_id
        if not customer_id:
            raise MalformedWebhook(f"{event_name}: the project names no customer")
        note = project_note(project, event_name, customer_id)
        events = [event.child(EntityKind.NOTE, "note", project.id, customer_id, note, project.updated_at)]
        if self._settings.stage_tag_prefix and project.stage:
            events.append(event.customer_tags(customer_id, project))
        task = project_task(project, customer_id) if self._settings.assignee_tasks else None
        if task is not None:
            # One GHL task per project: a later stage or assignee updates it.
            events.append(
                event.child(
                    EntityKind.TASK, "task", project.id, customer_id, task, project.updated_at, stable=True
                )
            )
        return events

    @staticmethod
    def _mapped(build: Callable[..., Any], *args: Any) -> Any:
        try:
            return build(*args)
        except PayacaMappingError as exc:
            raise Validation(str(exc)) from exc


class _Events:
    """The change events one verified delivery becomes (ids derived from the body's hash)."""

    def __init__(self, location_id: str, connection_id: str, name: str, digest: str) -> None:
        self._location_id = location_id
        self._connection_id = connection_id
        self._name = name
        self._digest = digest
        # Payaca bodies carry no delivery time; a record without `updatedAt` is as of its arrival.
        self._now = datetime.now(UTC)

    def _event(self, suffix: str, **fields: Any) -> ChangeEvent:
        return ChangeEvent(
            event_id=f"payaca-{self._digest}{suffix}",
            location_id=self._location_id,
            source=SOURCE,
            connection_id=self._connection_id,
            event_type=self._name,
            **fields,
        )

    def customer_upsert(self, customer: PayacaCustomer) -> ChangeEvent:
        return self._event(
            "",
            entity=EntityKind.CONTACT,
            action=ChangeAction.UPSERT,
            entity_id=customer.id,
            occurred_at=customer.updated_at or self._now,
        )

    def customer_tags(self, customer_id: str, project: PayacaProject) -> ChangeEvent:
        return self._event(
            "-tags",
            entity=EntityKind.CONTACT,
            action=ChangeAction.TAGS,
            entity_id=customer_id,
            occurred_at=project.updated_at or self._now,
            data={"project": project.id, "stage": project.stage},
        )

    def child(
        self,
        entity: EntityKind,
        kind: str,
        project_id: str,
        customer_id: str,
        record: CanonicalNote | CanonicalTask,
        occurred_at: datetime | None,
        *,
        stable: bool = False,
    ) -> ChangeEvent:
        entity_id = f"{project_id}:{kind}" if stable else f"{project_id}:{kind}:{self._digest[:24]}"
        return self._event(
            f"-{kind}",
            entity=entity,
            action=ChangeAction.UPSERT,
            entity_id=entity_id,
            parent_id=customer_id,
            occurred_at=occurred_at or self._now,
            record=record.model_dump(mode="json", exclude={"id", "parent_id", "updated_at"}),
        )
