"""Paginators: streaming iterators over a listing, with loop guards.

Every paginator yields one `Page` at a time (constant memory: the current page, the previous
cursor and the previous page's first item are all that is held), and each page carries the cursor
that resumes *after* it, so a sweep can checkpoint between pages. The caller supplies `fetch`,
which sends one page's request (through a RestClient, so retries and errors are the client's) and
returns its decoded body and headers as `PageData`.

A server that hands back the cursor it was given, or the same page again, would make a naive loop
spin forever and burn the rate budget; `guarded` (under every paginator, and under GHL's own
listings) raises PaginationError instead.
"""

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghlsync.core.errors import PaginationError
from ghlsync.http.errors import value_at


@dataclass(frozen=True)
class PageData:
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page[C]:
    items: list[Any]
    next_cursor: C | None
    total: int | None = None


@dataclass(frozen=True)
class StartAfter:
    """GHL's list cursor: `startAfter` (ms epoch) with `startAfterId`."""

    start_after: int | None
    start_after_id: str


ItemsOf = Callable[[Any], Sequence[Any]] | str


def guarded[P, C](
    fetch: Callable[[C | None], P],
    start: C | None,
    *,
    cursor_of: Callable[[P], C | None],
    first_of: Callable[[P], object | None],
    error: Callable[[str], PaginationError] = PaginationError,
) -> Iterator[P]:
    """Yield pages from `start` until one has no next cursor; raise `error` when a cursor does not
    advance or a page begins with the same item as the one before it."""
    cursor = start
    previous_first: object | None = None
    while True:
        page = fetch(cursor)
        first = first_of(page)
        if first is not None and first == previous_first:
            raise error(f"the page after cursor {cursor!r} repeats the previous page")
        yield page
        next_cursor = cursor_of(page)
        if next_cursor is None:
            return
        if next_cursor == cursor:
            raise error(f"cursor {cursor!r} did not advance")
        cursor, previous_first = next_cursor, first


def _guard(fetch: Callable[[Any], Page[Any]], start: Any) -> Iterator[Page[Any]]:
    return guarded(
        fetch,
        start,
        cursor_of=lambda page: page.next_cursor,
        first_of=lambda page: page.items[0] if page.items else None,
    )


def _items(data: PageData, items: ItemsOf) -> list[Any]:
    found = value_at(data.body, items) if isinstance(items, str) else items(data.body)
    return list(found) if isinstance(found, list | tuple) else []


def _int_at(body: Any, path: str | None) -> int | None:
    found = value_at(body, path) if path else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def items_of(pages: Iterator[Page[Any]]) -> Iterator[Any]:
    for page in pages:
        yield from page.items


def offset_pages(
    fetch: Callable[[int, int], PageData],
    *,
    limit: int,
    items: ItemsOf = "data",
    total_path: str | None = "total_count",
    start: int = 0,
) -> Iterator[Page[int]]:
    """`fetch(offset, limit)`. Stops at an empty page, at `total` when the body reports one, and at a
    short page when it does not."""

    def page_at(offset: int | None) -> Page[int]:
        at = offset or 0
        data = fetch(at, limit)
        found = _items(data, items)
        total = _int_at(data.body, total_path)
        done = not found or (at + len(found) >= total if total is not None else len(found) < limit)
        return Page(found, None if done else at + len(found), total)

    return _guard(page_at, start)


def page_number_pages(
    fetch: Callable[[int], PageData],
    *,
    page_size: int,
    items: ItemsOf = "data",
    total_pages_path: str | None = None,
    first_page: int = 1,
    start: int | None = None,
) -> Iterator[Page[int]]:
    """`fetch(page)` from page `start` (None: `first_page`). Stops at the last page the body
    reports, or at a short or empty page."""

    def page_at(number: int | None) -> Page[int]:
        at = first_page if number is None else number
        data = fetch(at)
        found = _items(data, items)
        last = _int_at(data.body, total_pages_path)
        done = not found or len(found) < page_size or (last is not None and at >= last)
        return Page(found, None if done else at + 1)

    return _guard(page_at, first_page if start is None else start)


def body_cursor_pages(
    fetch: Callable[[str | None], PageData],
    *,
    items: ItemsOf = "data",
    cursor_path: str = "next_cursor",
    start: str | None = None,
) -> Iterator[Page[str]]:
    """`fetch(cursor)` from cursor `start` (None: the first page). Stops when the body has no (or
    an empty) cursor."""

    def page_at(cursor: str | None) -> Page[str]:
        data = fetch(cursor)
        found = _items(data, items)
        following = value_at(data.body, cursor_path)
        if isinstance(following, int) and not isinstance(following, bool):
            following = str(following)
        next_cursor = following if isinstance(following, str) and following and found else None
        return Page(found, next_cursor)

    return _guard(page_at, start)


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_NEXT = re.compile(r'rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def next_link(header: str | None) -> str | None:
    """The URL of `rel="next"` in a Link header (RFC 8288), or None."""
    for match in _LINK.finditer(header or ""):
        rel = _NEXT.search(match.group(2))
        if rel is not None and "next" in rel.group(1).lower().split():
            return match.group(1) or None
    return None


def link_header_pages(
    fetch: Callable[[str | None], PageData], *, items: ItemsOf = "data", start: str | None = None
) -> Iterator[Page[str]]:
    """`fetch(url)` from `start` (None: the first page), then the `Link: <url>; rel="next"` of
    each page."""

    def page_at(url: str | None) -> Page[str]:
        data = fetch(url)
        headers = {k.lower(): v for k, v in data.headers.items()}
        return Page(_items(data, items), next_link(headers.get("link")))

    return _guard(page_at, start)


def start_after_pages(
    fetch: Callable[[StartAfter | None], PageData],
    *,
    limit: int,
    items: ItemsOf = "contacts",
    start_after_path: str = "meta.startAfter",
    start_after_id_path: str = "meta.startAfterId",
    total_path: str | None = "meta.total",
    start: StartAfter | None = None,
) -> Iterator[Page[StartAfter]]:
    """GHL's `startAfter` + `startAfterId` listing. A short page ends it; a full page without a
    `startAfterId` cannot be continued and raises PaginationError."""

    def page_at(cursor: StartAfter | None) -> Page[StartAfter]:
        data = fetch(cursor)
        found = _items(data, items)
        total = _int_at(data.body, total_path)
        if len(found) < limit:
            return Page(found, None, total)
        after_id = value_at(data.body, start_after_id_path)
        if not isinstance(after_id, str) or not after_id:
            raise PaginationError("a full page came without a startAfterId cursor")
        return Page(found, StartAfter(_int_at(data.body, start_after_path), after_id), total)

    return _guard(page_at, start)
