"""GHL API v2 client for one location: contacts, tasks, notes, tags and appointments.

Every request carries `Authorization: Bearer <token>` (from a TokenProvider), `Version: 2021-07-28`
(or `v3` when `GHL_API_VERSION` says so; contact bodies are then spelt the v3 way, versions.py)
and `Accept: application/json`. The send loop is the shared one (`ghlsync.http.client.RestClient`),
configured so that around each request the client:

- paces against the location's budget from the X-RateLimit-* headers (ratelimit.RateLimitPacer);
- on 401 "invalid token" tells the provider and retries once with a fresh token (a missing scope or a
  bad Version header is not retried: a new token would not change the answer);
- retries with full-jitter backoff (random in [0, min(cap, base * 2^attempt)]):
  * 429 for every method (GHL did not process the request), honouring Retry-After;
  * 5xx, timeouts and dropped connections only where repeating cannot duplicate anything: GET, PUT,
    DELETE, and the POSTs that are idempotent by nature (search, upsert, tags). Creating a contact,
    task or note is not retried once the request may have reached GHL;
  * a connection that was never established (connect error/timeout) for every method;
  * within `max_total_wait_s`, when given (one deadline per call, waits included);
- maps failures to typed errors (ghlsync.ghl.errors) and parses bodies into pydantic models.

Tokens never reach logs or exceptions. The client is not thread-safe (one per worker and location).
"""

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ValidationError

from ghlsync.config import GHL_PRODUCTION_API
from ghlsync.ghl.auth import TokenProvider
from ghlsync.ghl.errors import (
    GhlError,
    GhlErrorMap,
    GhlPaginationError,
    GhlUnexpectedResponse,
    is_rejected_token,
)
from ghlsync.ghl.models import (
    Appointment,
    AppointmentListResponse,
    Business,
    BusinessListResponse,
    Contact,
    ContactCreate,
    ContactEnvelope,
    ContactListResponse,
    ContactUpdate,
    ContactUpsert,
    CustomFieldDefinition,
    CustomFieldList,
    DeleteResponse,
    DuplicateResponse,
    Note,
    NoteCreate,
    NoteEnvelope,
    NoteListResponse,
    NoteUpdate,
    SearchFilter,
    SearchSort,
    TagsBody,
    TagsResponse,
    Task,
    TaskCompletedBody,
    TaskCreate,
    TaskEnvelope,
    TaskListResponse,
    TaskSearchResponse,
    TaskUpdate,
    UpsertResult,
)
from ghlsync.ghl.pagination import (
    ContactPage,
    ListCursor,
    SearchCursor,
    SkipCursor,
    contacts_of,
    paginate,
)
from ghlsync.ghl.ratelimit import RateLimitPacer
from ghlsync.ghl.versions import SUPPORTED, V2, contact_body
from ghlsync.http.auth import BearerAuth
from ghlsync.http.client import RestClient, RetryPolicy, segment
from ghlsync.observability import logger
from ghlsync.observability.calls import CallMetrics, Headroom

GHL_API_VERSION = V2
# GET /contacts/ and /contacts/business/{id} document at most 100 per page; search is kept to the same.
MAX_PAGE_SIZE = 100
# page * pageLimit can reach this many search results; beyond it only searchAfter works.
SEARCH_PAGE_REACH = 10_000

Method = Literal["GET", "POST", "PUT", "DELETE"]


class GhlClient:
    def __init__(
        self,
        http: httpx.Client,
        tokens: TokenProvider,
        location_id: str,
        *,
        base_url: str = GHL_PRODUCTION_API,
        version: str = GHL_API_VERSION,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = 5,
        rng: Callable[[], float] = random.random,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        pacer: RateLimitPacer | None = None,
        wall_clock: Callable[[], float] = time.time,
        max_total_wait_s: float | None = None,
    ) -> None:
        """`clock` is monotonic (pacing, the deadline); `wall_clock` reads Retry-After dates. A
        Retry-After above `backoff_cap_s` is raised rather than slept on."""
        if not location_id.strip():
            raise ValueError("location_id must not be empty")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if version not in SUPPORTED:
            raise ValueError(f"GHL API version must be one of {sorted(SUPPORTED)}, not {version!r}")
        self.location_id = location_id
        self.version = version
        self.pacer = pacer if pacer is not None else RateLimitPacer(clock=clock, sleep=sleep)
        self._rest = RestClient(
            http,
            base_url=base_url,
            errors=GhlErrorMap(),
            # A rejected token is refreshed once; a missing scope or a bad Version header is not.
            authenticator=BearerAuth(tokens, location_id, refresh_on=is_rejected_token),
            headers={"Version": version, "Accept": "application/json"},
            retry=RetryPolicy(
                max_retries=max_retries,
                backoff_base_s=backoff_base_s,
                backoff_cap_s=backoff_cap_s,
                max_retry_after_s=backoff_cap_s,
                deadline_s=max_total_wait_s,
            ),
            budgets=(self.pacer,),
            observers=(
                CallMetrics(
                    "ghl",
                    context={"location_id": location_id},
                    headroom=lambda: Headroom(*self.pacer.headroom()),
                ),
            ),
            sleep=sleep,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
            name="GHL",
            log_context={"location_id": location_id},
            log=logger,
        )

    # ------------------------------------------------------------------ custom fields

    def list_custom_fields(self) -> list[CustomFieldDefinition]:
        """The location's contact custom fields (scope `locations/customFields.readonly`)."""
        path = f"/locations/{segment(self.location_id, 'location_id')}/customFields"
        return self._call("GET", path, CustomFieldList, params={"model": "contact"}).custom_fields

    # ------------------------------------------------------------------ contacts

    def get_contact(self, contact_id: str) -> Contact:
        path = f"/contacts/{segment(contact_id, 'contact_id')}"
        return self._call("GET", path, ContactEnvelope).contact

    def create_contact(self, contact: ContactCreate) -> Contact:
        body = contact_body({**contact.to_body(), "locationId": self.location_id}, self.version)
        return self._call("POST", "/contacts/", ContactEnvelope, body=body, retry_safe=False).contact

    def update_contact(self, contact_id: str, changes: ContactUpdate) -> Contact:
        path = f"/contacts/{segment(contact_id, 'contact_id')}"
        body = contact_body(changes.to_body(), self.version)
        return self._call("PUT", path, ContactEnvelope, body=body).contact

    def upsert_contact(self, contact: ContactUpsert) -> UpsertResult:
        # Upsert matches on the location's duplicate rule, so sending it twice updates the same contact.
        body = contact_body({**contact.to_body(), "locationId": self.location_id}, self.version)
        return self._call("POST", "/contacts/upsert", UpsertResult, body=body, retry_safe=True)

    def delete_contact(self, contact_id: str) -> None:
        path = f"/contacts/{segment(contact_id, 'contact_id')}"
        self._check_deleted(self._call("DELETE", path, DeleteResponse), path)

    def add_tags(self, contact_id: str, tags: Iterable[str]) -> list[str]:
        """Add tags (a set union, so safe to repeat). Returns GHL's `tags` answer; whether that is the
        contact's full tag list or only the ones added is unconfirmed. No tags: no request, []."""
        return self._tags("POST", contact_id, tags)

    def remove_tags(self, contact_id: str, tags: Iterable[str]) -> list[str]:
        """Remove tags (a set difference, safe to repeat). No tags: no request, []."""
        return self._tags("DELETE", contact_id, tags)

    def _tags(self, method: Method, contact_id: str, tags: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(tags))
        if not wanted:
            return []
        path = f"/contacts/{segment(contact_id, 'contact_id')}/tags"
        body = TagsBody(tags=wanted).to_body()
        return self._call(method, path, TagsResponse, body=body, retry_safe=True).tags

    def find_duplicate(self, *, email: str | None = None, phone: str | None = None) -> Contact | None:
        """The contact GHL's duplicate rule would match for this email and/or phone, if any."""
        if not email and not phone:
            raise ValueError("find_duplicate needs an email or a phone")
        params: dict[str, str] = {"locationId": self.location_id}
        if email:
            params["email"] = email
        if phone:
            params["number"] = phone
        return self._call("GET", "/contacts/search/duplicate", DuplicateResponse, params=params).contact

    # ------------------------------------------------------------------ listings

    def list_contact_pages(
        self, *, query: str | None = None, limit: int = MAX_PAGE_SIZE, start: ListCursor | None = None
    ) -> Iterator[ContactPage[ListCursor]]:
        """GET /contacts/ (deprecated, but the only cursor listing of a whole location), page by page."""
        _check_page_size(limit)

        def fetch(cursor: ListCursor | None) -> ContactPage[ListCursor]:
            params: dict[str, str | int] = {"locationId": self.location_id, "limit": limit}
            if query:
                params["query"] = query
            if cursor is not None:
                params["startAfterId"] = cursor.start_after_id
                if cursor.start_after is not None:
                    params["startAfter"] = cursor.start_after
            page = self._call("GET", "/contacts/", ContactListResponse, params=params)
            total = page.meta.total if page.meta and page.meta.total is not None else page.count
            if len(page.contacts) < limit:
                return ContactPage(page.contacts, None, total)
            if page.meta is None or not page.meta.start_after_id:
                raise GhlPaginationError(
                    "GET /contacts/ returned a full page without a meta.startAfterId cursor"
                )
            return ContactPage(
                page.contacts, ListCursor(page.meta.start_after, page.meta.start_after_id), total
            )

        return paginate(fetch, start)

    def list_contacts(self, *, query: str | None = None, limit: int = MAX_PAGE_SIZE) -> Iterator[Contact]:
        return contacts_of(self.list_contact_pages(query=query, limit=limit))

    def search_contact_pages(
        self,
        *,
        query: str | None = None,
        filters: Iterable[SearchFilter] = (),
        sort: Iterable[SearchSort] = (),
        page_limit: int = MAX_PAGE_SIZE,
        start: SearchCursor | None = None,
    ) -> Iterator[ContactPage[SearchCursor]]:
        """POST /contacts/search: numbered pages while they reach, then `searchAfter`. Search is
        eventually consistent (a change can take seconds to show), which suits sweeps, not lookups."""
        _check_page_size(page_limit)
        base: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
        if query:
            base["query"] = query
        filter_list = [f.to_body() for f in filters]
        if filter_list:
            base["filters"] = filter_list
        sort_list = [s.to_body() for s in sort]
        if sort_list:
            base["sort"] = sort_list

        def fetch(cursor: SearchCursor | None) -> ContactPage[SearchCursor]:
            cursor = cursor or SearchCursor(page=1)
            body = dict(base)
            if cursor.search_after is not None:
                body["searchAfter"] = list(cursor.search_after)
            else:
                body["page"] = cursor.page or 1
            page = self._call("POST", "/contacts/search", ContactListResponse, body=body, retry_safe=True)
            total = page.total if page.total is not None else page.count
            return ContactPage(page.contacts, _next_search_cursor(cursor, page.contacts, page_limit), total)

        return paginate(fetch, start)

    def search_contacts(
        self,
        *,
        query: str | None = None,
        filters: Iterable[SearchFilter] = (),
        sort: Iterable[SearchSort] = (),
        page_limit: int = MAX_PAGE_SIZE,
    ) -> Iterator[Contact]:
        return contacts_of(
            self.search_contact_pages(query=query, filters=filters, sort=sort, page_limit=page_limit)
        )

    def list_business_contact_pages(
        self,
        business_id: str,
        *,
        query: str | None = None,
        limit: int = MAX_PAGE_SIZE,
        start: SkipCursor | None = None,
    ) -> Iterator[ContactPage[SkipCursor]]:
        _check_page_size(limit)
        path = f"/contacts/business/{segment(business_id, 'business_id')}"

        def fetch(cursor: SkipCursor | None) -> ContactPage[SkipCursor]:
            skip = cursor.skip if cursor else 0
            params: dict[str, str | int] = {"locationId": self.location_id, "limit": limit, "skip": skip}
            if query:
                params["query"] = query
            page = self._call("GET", path, ContactListResponse, params=params)
            full = len(page.contacts) >= limit
            return ContactPage(
                page.contacts, SkipCursor(skip + len(page.contacts)) if full else None, page.count
            )

        return paginate(fetch, start)

    def list_business_contacts(
        self, business_id: str, *, query: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> Iterator[Contact]:
        return contacts_of(self.list_business_contact_pages(business_id, query=query, limit=limit))

    def list_businesses(self, *, limit: int = MAX_PAGE_SIZE) -> Iterator[Business]:
        """GET /businesses/?locationId: every business of the location, `limit` per call (skip
        paging; the answer carries no count, so a short page is the last)."""
        _check_page_size(limit)
        skip = 0
        while True:
            params: dict[str, str | int] = {"locationId": self.location_id, "limit": limit, "skip": skip}
            page = self._call("GET", "/businesses/", BusinessListResponse, params=params).businesses
            yield from page
            if len(page) < limit:
                return
            skip += len(page)

    # ------------------------------------------------------------------ tasks

    def list_tasks(self, contact_id: str) -> list[Task]:
        return self._call("GET", self._tasks_path(contact_id), TaskListResponse).tasks

    def search_tasks(self, *, completed: bool | None = None, limit: int = MAX_PAGE_SIZE) -> Iterator[Task]:
        """Every task of the location (POST /locations/{locationId}/tasks/search, scope
        `locations/tasks.readonly`), `limit` per call by `skip`, one page in memory at a time;
        `completed` filters open (False) or done (True) tasks. The search takes no date filter or
        sort, so it is read to its end: a page shorter than `limit` is the last."""
        _check_page_size(limit)
        path = f"/locations/{segment(self.location_id, 'location_id')}/tasks/search"
        skip = 0
        while True:
            body: dict[str, Any] = {"limit": limit, "skip": skip}
            if completed is not None:
                body["completed"] = completed
            page = self._call("POST", path, TaskSearchResponse, body=body, retry_safe=True).tasks
            yield from page
            if len(page) < limit:
                return
            skip += len(page)

    def get_task(self, contact_id: str, task_id: str) -> Task:
        return self._call("GET", self._tasks_path(contact_id, task_id), TaskEnvelope).task

    def create_task(self, contact_id: str, task: TaskCreate) -> Task:
        path = self._tasks_path(contact_id)
        return self._call("POST", path, TaskEnvelope, body=task.to_body(), retry_safe=False).task

    def update_task(self, contact_id: str, task_id: str, changes: TaskUpdate) -> Task:
        path = self._tasks_path(contact_id, task_id)
        return self._call("PUT", path, TaskEnvelope, body=changes.to_body()).task

    def set_task_completed(self, contact_id: str, task_id: str, completed: bool) -> Task:
        path = f"{self._tasks_path(contact_id, task_id)}/completed"
        body = TaskCompletedBody(completed=completed).to_body()
        return self._call("PUT", path, TaskEnvelope, body=body).task

    def delete_task(self, contact_id: str, task_id: str) -> None:
        path = self._tasks_path(contact_id, task_id)
        self._check_deleted(self._call("DELETE", path, DeleteResponse), path)

    @staticmethod
    def _tasks_path(contact_id: str, task_id: str | None = None) -> str:
        path = f"/contacts/{segment(contact_id, 'contact_id')}/tasks"
        return path if task_id is None else f"{path}/{segment(task_id, 'task_id')}"

    # ------------------------------------------------------------------ notes

    def list_notes(self, contact_id: str) -> list[Note]:
        return self._call("GET", self._notes_path(contact_id), NoteListResponse).notes

    def get_note(self, contact_id: str, note_id: str) -> Note:
        return self._call("GET", self._notes_path(contact_id, note_id), NoteEnvelope).note

    def create_note(self, contact_id: str, note: NoteCreate) -> Note:
        path = self._notes_path(contact_id)
        return self._call("POST", path, NoteEnvelope, body=note.to_body(), retry_safe=False).note

    def update_note(self, contact_id: str, note_id: str, changes: NoteUpdate) -> Note:
        path = self._notes_path(contact_id, note_id)
        return self._call("PUT", path, NoteEnvelope, body=changes.to_body()).note

    def delete_note(self, contact_id: str, note_id: str) -> None:
        path = self._notes_path(contact_id, note_id)
        self._check_deleted(self._call("DELETE", path, DeleteResponse), path)

    @staticmethod
    def _notes_path(contact_id: str, note_id: str | None = None) -> str:
        path = f"/contacts/{segment(contact_id, 'contact_id')}/notes"
        return path if note_id is None else f"{path}/{segment(note_id, 'note_id')}"

    # ------------------------------------------------------------------ appointments

    def list_appointments(self, contact_id: str) -> list[Appointment]:
        path = f"/contacts/{segment(contact_id, 'contact_id')}/appointments"
        return self._call("GET", path, AppointmentListResponse).events

    # ------------------------------------------------------------------ transport

    @staticmethod
    def _check_deleted(result: DeleteResponse, path: str) -> None:
        if result.succeded is False:
            raise GhlError(f"DELETE {path} answered succeded=false", status=200)

    def _call[M: BaseModel](
        self,
        method: Method,
        path: str,
        response_model: type[M],
        *,
        params: Mapping[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
        retry_safe: bool | None = None,
    ) -> M:
        """Send one operation and parse its body. `retry_safe` defaults to True for GET, PUT, DELETE."""
        response = self._rest.request(method, path, params=params, json=body, retry_safe=retry_safe)
        try:
            data = response.json() if response.content else {}
        except ValueError:
            raise GhlUnexpectedResponse(
                f"{method} {path} answered a body that is not JSON", status=response.status_code
            ) from None
        try:
            return response_model.model_validate(data)
        except ValidationError as exc:
            # The validation summary names fields and types, never the values (which may be PII).
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise GhlUnexpectedResponse(
                f"{method} {path} answered an unexpected shape: {problems}", status=response.status_code
            ) from None


def _check_page_size(size: int) -> None:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}")


def _next_search_cursor(
    cursor: SearchCursor, contacts: list[Contact], page_limit: int
) -> SearchCursor | None:
    if len(contacts) < page_limit:
        return None
    next_page = (cursor.page or 0) + 1
    if cursor.search_after is None and next_page * page_limit <= SEARCH_PAGE_REACH:
        return SearchCursor(page=next_page)
    search_after = contacts[-1].search_after
    if not search_after:
        raise GhlPaginationError(
            "POST /contacts/search: the last contact of a full page carries no searchAfter"
        )
    return SearchCursor(search_after=tuple(search_after))
