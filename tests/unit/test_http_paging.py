"""Paginators: what each requests page after page, where it stops, and its loop guard."""

from collections.abc import Callable
from typing import Any

import pytest

from ghlsync.core.errors import PaginationError
from ghlsync.http.paging import (
    Page,
    PageData,
    StartAfter,
    body_cursor_pages,
    guarded,
    items_of,
    link_header_pages,
    next_link,
    offset_pages,
    page_number_pages,
    start_after_pages,
)


class Pages:
    """A fetch answering the scripted PageData in order and recording what it was asked for."""

    def __init__(self, *answers: PageData) -> None:
        self.answers = list(answers)
        self.asked: list[Any] = []

    def __call__(self, *request: Any) -> PageData:
        self.asked.append(request[0] if len(request) == 1 else request)
        return self.answers.pop(0)


def data(items: list[Any], **body: Any) -> PageData:
    return PageData({"data": items, **body})


# -- offset ---------------------------------------------------------------------------------------
def test_offset_pages_advance_by_the_items_seen_until_total() -> None:
    # GIVEN 5 items reported in all, pages of 2
    fetch = Pages(data([1, 2], total_count=5), data([3, 4], total_count=5), data([5], total_count=5))
    # WHEN listed / THEN every item once, asked at offsets 0, 2, 4
    assert list(items_of(offset_pages(fetch, limit=2))) == [1, 2, 3, 4, 5]
    assert fetch.asked == [(0, 2), (2, 2), (4, 2)]


def test_offset_pages_stop_at_total_even_on_a_full_page() -> None:
    # GIVEN a total of 4 reached by a full page / WHEN listed / THEN no third request
    fetch = Pages(data([1, 2], total_count=4), data([3, 4], total_count=4))
    assert list(items_of(offset_pages(fetch, limit=2))) == [1, 2, 3, 4] and len(fetch.asked) == 2


def test_offset_pages_without_total_stop_at_a_short_page() -> None:
    # GIVEN no total in the body / WHEN listed / THEN the short page is the last
    fetch = Pages(data([1, 2]), data([3]))
    assert list(items_of(offset_pages(fetch, limit=2, total_path=None))) == [1, 2, 3]


def test_offset_pages_stop_at_an_empty_page() -> None:
    # GIVEN a total that overstates the items / WHEN an empty page comes / THEN the listing ends
    fetch = Pages(data([1, 2], total_count=10), data([], total_count=10))
    assert list(items_of(offset_pages(fetch, limit=2))) == [1, 2]


def test_offset_pages_raise_when_a_page_repeats() -> None:
    # GIVEN a server that ignores the offset and answers the first page again
    fetch = Pages(data([1, 2], total_count=9), data([1, 2], total_count=9))
    # WHEN listed / THEN PaginationError after the first page
    pages = offset_pages(fetch, limit=2)
    assert next(pages).items == [1, 2]
    with pytest.raises(PaginationError, match="repeats"):
        next(pages)


def test_offset_pages_carry_the_resume_cursor() -> None:
    # GIVEN a first page of 2 of 3 / WHEN read / THEN its cursor resumes at offset 2
    page = next(offset_pages(Pages(data([1, 2], total_count=3)), limit=2))
    assert (page.next_cursor, page.total) == (2, 3)


# -- page number ----------------------------------------------------------------------------------
def test_page_numbers_count_up_until_a_short_page() -> None:
    # GIVEN pages of 2 / WHEN listed / THEN pages 1, 2, 3 asked; the short third ends it
    fetch = Pages(data([1, 2]), data([3, 4]), data([5]))
    assert list(items_of(page_number_pages(fetch, page_size=2))) == [1, 2, 3, 4, 5]
    assert fetch.asked == [1, 2, 3]


def test_page_numbers_stop_at_the_reported_last_page() -> None:
    # GIVEN a body saying there are 2 pages / WHEN listed / THEN no third request
    fetch = Pages(data([1, 2], pages=2), data([3, 4], pages=2))
    assert list(items_of(page_number_pages(fetch, page_size=2, total_pages_path="pages"))) == [1, 2, 3, 4]


def test_page_numbers_raise_when_a_page_repeats() -> None:
    # GIVEN a server answering page 1 for every number / WHEN listed / THEN PaginationError
    fetch = Pages(data([1, 2]), data([1, 2]))
    with pytest.raises(PaginationError):
        list(page_number_pages(fetch, page_size=2))


# -- cursor in the body ---------------------------------------------------------------------------
def test_body_cursor_is_followed_until_it_is_missing() -> None:
    # GIVEN cursors "c2" then none
    fetch = Pages(data([1], next_cursor="c2"), data([2], next_cursor=None))
    # WHEN listed / THEN the first request had no cursor and the second the body's
    assert list(items_of(body_cursor_pages(fetch))) == [1, 2] and fetch.asked == [None, "c2"]


def test_body_cursor_that_does_not_advance_raises() -> None:
    # GIVEN a server handing back the same cursor with fresh items
    fetch = Pages(data([1], next_cursor="c2"), data([2], next_cursor="c2"))
    # WHEN listed / THEN PaginationError instead of an endless loop
    with pytest.raises(PaginationError, match="did not advance"):
        list(body_cursor_pages(fetch))


# -- Link header ----------------------------------------------------------------------------------
def test_link_header_next_is_followed() -> None:
    # GIVEN a first page whose Link names the next, and a last page without one
    first = PageData(
        {"data": [1]},
        {"Link": '<https://a.test/x?page=2>; rel="next", <https://a.test/x?page=9>; rel="last"'},
    )
    fetch = Pages(first, PageData({"data": [2]}, {}))
    # WHEN listed / THEN the next URL was fetched, then it stopped
    assert list(items_of(link_header_pages(fetch))) == [1, 2]
    assert fetch.asked == [None, "https://a.test/x?page=2"]


def test_link_header_pointing_back_at_the_same_url_raises() -> None:
    # GIVEN a server whose next link is the page just fetched
    link = {"link": '<https://a.test/x?page=2>; rel="next"'}
    fetch = Pages(PageData({"data": [1]}, link), PageData({"data": [2]}, link))
    # WHEN listed / THEN PaginationError
    with pytest.raises(PaginationError):
        list(link_header_pages(fetch))


@pytest.mark.parametrize(
    ("header", "url"),
    [
        ('<https://a/2>; rel="next"', "https://a/2"),
        ('<https://a/1>; rel="prev", <https://a/3>; rel=next', "https://a/3"),
        ('<https://a/9>; rel="last"', None),
        (None, None),
    ],
)
def test_next_link_reads_rel_next(header: str | None, url: str | None) -> None:
    # GIVEN a Link header / WHEN read / THEN the rel="next" URL or None
    assert next_link(header) == url


# -- GHL startAfter + startAfterId ----------------------------------------------------------------
def contacts(ids: list[str], after: int | None = None, after_id: str | None = None) -> PageData:
    meta = {"startAfter": after, "startAfterId": after_id, "total": 3}
    return PageData({"contacts": [{"id": i} for i in ids], "meta": meta})


def test_start_after_cursor_comes_from_meta() -> None:
    # GIVEN a full first page with meta.startAfter/startAfterId and a short second page
    fetch = Pages(contacts(["a", "b"], 1700, "b"), contacts(["c"]))
    # WHEN listed / THEN the second request resumed after (1700, "b")
    pages = list(start_after_pages(fetch, limit=2))
    assert [item["id"] for page in pages for item in page.items] == ["a", "b", "c"]
    assert fetch.asked == [None, StartAfter(1700, "b")] and pages[0].total == 3


def test_start_after_full_page_without_a_cursor_raises() -> None:
    # GIVEN a full page without startAfterId / WHEN listed / THEN it cannot be continued
    with pytest.raises(PaginationError, match="startAfterId"):
        list(start_after_pages(Pages(contacts(["a", "b"])), limit=2))


def test_start_after_cursor_that_does_not_advance_raises() -> None:
    # GIVEN a server answering the same cursor again with other contacts
    fetch = Pages(contacts(["a", "b"], 1, "b"), contacts(["c", "d"], 1, "b"))
    # WHEN listed / THEN PaginationError
    with pytest.raises(PaginationError):
        list(start_after_pages(fetch, limit=2))


# -- the guard ------------------------------------------------------------------------------------
def test_guard_raises_the_callers_error_class() -> None:
    # GIVEN a guard told to raise a side's own PaginationError subclass
    class SidePaginationError(PaginationError):
        """A side's own listing error."""

    fetch: Callable[[int | None], Page[int]] = lambda cursor: Page([cursor], 5)  # noqa: E731
    # WHEN a cursor repeats / THEN that class is raised
    with pytest.raises(SidePaginationError):
        list(
            guarded(
                fetch,
                5,
                cursor_of=lambda p: p.next_cursor,
                first_of=lambda p: None,
                error=SidePaginationError,
            )
        )


def test_pages_stream_one_at_a_time() -> None:
    # GIVEN a listing of three pages / WHEN the first page is taken / THEN only one fetch was made
    fetch = Pages(data([1], next_cursor="2"), data([2], next_cursor="3"), data([3]))
    next(body_cursor_pages(fetch))
    assert len(fetch.asked) == 1
