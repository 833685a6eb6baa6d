"""Streaming pagination with loop guards.

A listing is a `fetch(cursor) -> Page` function; `paginate` calls it page after page and yields each
page as it arrives (constant memory: nothing but the current page and the previous cursor and first
id are held). A server that hands back the cursor it was given, or the same page again, would make a
naive loop spin forever and burn the location's rate budget; here it raises GhlPaginationError.

Each page carries `next_cursor`, the cursor that resumes *after* it, so a sweep can checkpoint
between pages and continue in a later invocation.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ghlsync.ghl.errors import GhlPaginationError
from ghlsync.ghl.models import Contact


@dataclass(frozen=True)
class ListCursor:
    """GET /contacts/ (deprecated list): the `meta.startAfter` (ms epoch) + `meta.startAfterId` pair."""

    start_after: int | None
    start_after_id: str


@dataclass(frozen=True)
class SearchCursor:
    """POST /contacts/search: a page number while page * pageLimit stays within GHL's 10,000-record
    reach, then the `searchAfter` value of the last contact seen."""

    page: int | None = None
    search_after: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class SkipCursor:
    """GET /contacts/business/{businessId}: an offset."""

    skip: int


@dataclass(frozen=True)
class ContactPage[C]:
    contacts: list[Contact]
    next_cursor: C | None
    total: int | None = None


def paginate[C](
    fetch: Callable[[C | None], ContactPage[C]], start: C | None = None
) -> Iterator[ContactPage[C]]:
    """Yield pages from `start` until one has no `next_cursor`; raise if the listing stops advancing."""
    cursor = start
    previous_first_id: str | None = None
    while True:
        page = fetch(cursor)
        first_id = page.contacts[0].id if page.contacts else None
        if first_id is not None and first_id == previous_first_id:
            raise GhlPaginationError(f"the page after cursor {cursor!r} repeats the previous page")
        yield page
        if page.next_cursor is None:
            return
        if page.next_cursor == cursor:
            raise GhlPaginationError(f"cursor {cursor!r} did not advance")
        cursor = page.next_cursor
        previous_first_id = first_id


def contacts_of[C](pages: Iterator[ContactPage[C]]) -> Iterator[Contact]:
    for page in pages:
        yield from page.contacts
