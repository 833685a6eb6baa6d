"""Streaming pagination with loop guards.

A listing is a `fetch(cursor) -> ContactPage` function; `paginate` calls it page after page and
yields each page as it arrives, under the shared loop guard (`ghlsync.http.paging.guarded`): a
server that hands back the cursor it was given, or the same page again, raises GhlPaginationError
instead of spinning forever and burning the location's rate budget.

Each page carries `next_cursor`, the cursor that resumes *after* it, so a sweep can checkpoint
between pages and continue in a later invocation.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ghlsync.ghl.errors import GhlPaginationError
from ghlsync.ghl.models import Contact
from ghlsync.http.paging import StartAfter, guarded

# GET /contacts/ (deprecated list): the `meta.startAfter` (ms epoch) + `meta.startAfterId` pair, the
# kit's own cursor for that style.
ListCursor = StartAfter


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
    return guarded(
        fetch,
        start,
        cursor_of=lambda page: page.next_cursor,
        first_of=lambda page: page.contacts[0].id if page.contacts else None,
        error=GhlPaginationError,
    )


def contacts_of[C](pages: Iterator[ContactPage[C]]) -> Iterator[Contact]:
    for page in pages:
        yield from page.contacts
