"""Streaming pagination of GET /contacts/, POST /contacts/search and GET /contacts/business/{id},
and the loop guards that stop a listing which no longer advances."""

import json

import httpx
import pytest

from ghlsync.ghl.errors import GhlPaginationError
from ghlsync.ghl.models import SearchFilter, SearchSort
from ghlsync.ghl.pagination import ListCursor, SearchCursor, SkipCursor
from tests.unit.test_ghl_client import LOCATION, make_client


def contacts(ids: range, *, search_after: bool = False) -> list[dict[str, object]]:
    return [{"id": f"c{i}", **({"searchAfter": [i * 10, f"c{i}"]} if search_after else {})} for i in ids]


# ---------------------------------------------------------------- GET /contacts/


def list_page(ids: range, *, after: tuple[int, str] | None) -> httpx.Response:
    meta: dict[str, object] = {"total": 5}
    if after is not None:
        meta.update(startAfter=after[0], startAfterId=after[1], nextPage=2)
    return httpx.Response(200, json={"contacts": contacts(ids), "meta": meta})


def test_list_follows_the_meta_cursor_until_a_short_page() -> None:
    # GIVEN 5 contacts served 2 per page with a startAfter/startAfterId cursor in meta
    harness = make_client(
        [
            list_page(range(0, 2), after=(111, "c1")),
            list_page(range(2, 4), after=(222, "c3")),
            list_page(range(4, 5), after=None),
        ]
    )

    # WHEN the location's contacts are listed
    ids = [c.id for c in harness.client.list_contacts(limit=2)]

    # THEN each contact is seen once, and each page asked for the cursor the previous one gave
    assert ids == ["c0", "c1", "c2", "c3", "c4"]
    params = [dict(r.url.params) for r in harness.requests]
    assert params[0] == {"locationId": LOCATION, "limit": "2"}
    assert params[1] == {"locationId": LOCATION, "limit": "2", "startAfterId": "c1", "startAfter": "111"}
    assert params[2] == {"locationId": LOCATION, "limit": "2", "startAfterId": "c3", "startAfter": "222"}


def test_list_streams_one_page_at_a_time() -> None:
    # GIVEN a listing of several pages
    harness = make_client([list_page(range(0, 2), after=(1, "c1")), list_page(range(2, 3), after=None)])

    # WHEN only the first contact is taken
    first = next(harness.client.list_contacts(limit=2))

    # THEN only the first page was fetched
    assert first.id == "c0" and len(harness.requests) == 1


def test_list_pages_carry_the_cursor_to_resume_from() -> None:
    # GIVEN a listing whose first page hands out a cursor
    harness = make_client([list_page(range(0, 2), after=(111, "c1")), list_page(range(2, 3), after=None)])

    # WHEN the first page is read
    page = next(harness.client.list_contact_pages(limit=2))

    # THEN it carries the cursor and the total, so a sweep can checkpoint between pages
    assert page.next_cursor == ListCursor(start_after=111, start_after_id="c1") and page.total == 5


def test_list_resumes_from_a_checkpointed_cursor() -> None:
    # GIVEN a cursor saved by an earlier sweep
    harness = make_client([list_page(range(2, 3), after=None)])

    # WHEN the listing resumes from it
    ids = [
        c.id
        for p in harness.client.list_contact_pages(limit=2, start=ListCursor(111, "c1"))
        for c in p.contacts
    ]

    # THEN the first request already carries the cursor
    assert ids == ["c2"]
    assert dict(harness.requests[0].url.params)["startAfterId"] == "c1"


def test_list_raises_when_the_cursor_does_not_advance() -> None:
    # GIVEN a GHL that keeps handing back the same cursor (with different contacts)
    harness = make_client([list_page(range(0, 2), after=(1, "c1")), list_page(range(2, 4), after=(1, "c1"))])

    # WHEN the listing is consumed
    # THEN it stops with an error instead of looping for ever
    with pytest.raises(GhlPaginationError, match="did not advance"):
        list(harness.client.list_contacts(limit=2))


def test_list_raises_when_a_full_page_has_no_cursor() -> None:
    # GIVEN a full page without meta.startAfterId
    harness = make_client([httpx.Response(200, json={"contacts": contacts(range(2)), "meta": {}})])

    # WHEN the listing is consumed
    # THEN it fails loudly rather than silently stopping early
    with pytest.raises(GhlPaginationError, match="startAfterId"):
        list(harness.client.list_contacts(limit=2))


@pytest.mark.parametrize("limit", [0, 101])
def test_list_page_size_is_bounded_by_the_api_maximum(limit: int) -> None:
    # GIVEN a client
    harness = make_client([])

    # WHEN a page size outside 1..100 is asked for
    # THEN it is refused locally
    with pytest.raises(ValueError):
        list(harness.client.list_contacts(limit=limit))


# ---------------------------------------------------------------- POST /contacts/search


def search_page(ids: range, total: int = 10_400) -> httpx.Response:
    return httpx.Response(200, json={"contacts": contacts(ids, search_after=True), "total": total})


def test_search_sends_the_filters_sort_and_page() -> None:
    # GIVEN a search with a filter, a sort and a query
    harness = make_client([search_page(range(0, 1), total=1)])
    filters = [SearchFilter(field="tags", operator="contains", value="vip")]

    # WHEN the search runs
    list(harness.client.search_contacts(query="ada", filters=filters, sort=[SearchSort(field="dateAdded")]))

    # THEN the body follows the search API
    request = harness.requests[0]
    assert (request.method, request.url.path) == ("POST", "/contacts/search")
    assert json.loads(request.content) == {
        "locationId": LOCATION,
        "pageLimit": 100,
        "page": 1,
        "query": "ada",
        "filters": [{"field": "tags", "operator": "contains", "value": "vip"}],
        "sort": [{"field": "dateAdded", "direction": "asc"}],
    }


def test_search_pages_by_number_then_switches_to_search_after_beyond_10000() -> None:
    # GIVEN a search with more than 10,000 results, 100 per page
    pages = [search_page(range(p * 100, p * 100 + 100)) for p in range(101)] + [
        search_page(range(10_100, 10_150))
    ]
    harness = make_client(pages)

    # WHEN every result is read
    ids = [c.id for c in harness.client.search_contacts(page_limit=100)]

    # THEN pages 1..100 were asked by number, the next by the last contact's searchAfter, without `page`
    bodies = [json.loads(r.content) for r in harness.requests]
    assert [b["page"] for b in bodies[:100]] == list(range(1, 101))
    assert "page" not in bodies[100] and bodies[100]["searchAfter"] == [99_990, "c9999"]
    assert bodies[101]["searchAfter"] == [100_990, "c10099"]
    # AND every result came exactly once
    assert len(ids) == len(set(ids)) == 10_150


def test_search_raises_when_search_after_does_not_advance() -> None:
    # GIVEN a search resumed beyond 10,000 whose next page ends on the same searchAfter
    same_end = httpx.Response(
        200,
        json={"contacts": [{"id": "x", "searchAfter": [5, "c0"]}, {"id": "c0", "searchAfter": [5, "c0"]}]},
    )
    harness = make_client([same_end])

    # WHEN the search continues from searchAfter [5, "c0"]
    pages = harness.client.search_contact_pages(page_limit=2, start=SearchCursor(search_after=(5, "c0")))

    # THEN it stops with an error instead of asking for the same page again
    with pytest.raises(GhlPaginationError):
        list(pages)


def test_search_raises_when_a_page_repeats() -> None:
    # GIVEN a search backend that ignores `page` and serves page 1 again
    harness = make_client([search_page(range(0, 2)), search_page(range(0, 2))])

    # WHEN the search is consumed
    # THEN the repeat is detected
    with pytest.raises(GhlPaginationError, match="repeats"):
        list(harness.client.search_contacts(page_limit=2))


def test_search_raises_when_a_full_page_beyond_the_reach_has_no_search_after() -> None:
    # GIVEN page 100 of 100-per-page results, whose contacts lack searchAfter
    harness = make_client([httpx.Response(200, json={"contacts": contacts(range(100))})])

    # WHEN the search continues past 10,000
    pages = harness.client.search_contact_pages(page_limit=100, start=SearchCursor(page=100))

    # THEN it cannot go on and says why
    with pytest.raises(GhlPaginationError, match="searchAfter"):
        list(pages)


# ---------------------------------------------------------------- GET /contacts/business/{id}


def business_page(ids: range) -> httpx.Response:
    return httpx.Response(200, json={"contacts": contacts(ids), "count": 5})


def test_business_listing_pages_by_skip() -> None:
    # GIVEN a business with 5 contacts served 2 at a time
    harness = make_client(
        [business_page(range(0, 2)), business_page(range(2, 4)), business_page(range(4, 5))]
    )

    # WHEN its contacts are listed
    ids = [c.id for c in harness.client.list_business_contacts("biz1", limit=2)]

    # THEN skip advanced by each page's size and every contact came once
    assert ids == ["c0", "c1", "c2", "c3", "c4"]
    assert [r.url.path for r in harness.requests] == ["/contacts/business/biz1"] * 3
    assert [dict(r.url.params)["skip"] for r in harness.requests] == ["0", "2", "4"]
    assert dict(harness.requests[0].url.params) == {"locationId": LOCATION, "limit": "2", "skip": "0"}


def test_business_listing_raises_when_skip_is_ignored() -> None:
    # GIVEN a backend that ignores skip and repeats the first page
    harness = make_client([business_page(range(0, 2)), business_page(range(0, 2))])

    # WHEN the listing is consumed
    # THEN the repeat is detected
    with pytest.raises(GhlPaginationError):
        list(harness.client.list_business_contacts("biz1", limit=2))


def test_business_listing_resumes_from_a_skip_cursor() -> None:
    # GIVEN a checkpointed offset
    harness = make_client([business_page(range(4, 5))])

    # WHEN the listing resumes
    pages = list(harness.client.list_business_contact_pages("biz1", limit=2, start=SkipCursor(4)))

    # THEN it starts there and ends on the short page
    assert dict(harness.requests[0].url.params)["skip"] == "4"
    assert pages[-1].next_cursor is None


def test_an_empty_listing_makes_one_request() -> None:
    # GIVEN a location without contacts
    harness = make_client([httpx.Response(200, json={"contacts": [], "meta": {"total": 0}})])

    # WHEN it is listed
    found = list(harness.client.list_contacts())

    # THEN nothing is yielded after one request
    assert found == [] and len(harness.requests) == 1
