"""GHL sandbox: the deprecated GET /contacts/ cursor and POST /contacts/search."""

import httpx
import pytest

from tests.fixtures.ghl import GHL_HEADERS, GHL_LOCATION_ID


@pytest.fixture
def api(ghl_http: httpx.Client) -> httpx.Client:
    ghl_http.headers.update(GHL_HEADERS)
    return ghl_http


def _search(api: httpx.Client, **body) -> httpx.Response:
    return api.post("/contacts/search", json={"locationId": GHL_LOCATION_ID, **body})


def test_list_walks_every_contact_with_the_meta_cursor(ghl_sandbox, api):
    # GIVEN 45 seeded contacts
    seeded = ghl_sandbox.seed(GHL_LOCATION_ID, contacts=45)
    # WHEN pages of 20 are read by following meta.startAfter / meta.startAfterId
    params: dict[str, object] = {"locationId": GHL_LOCATION_ID, "limit": 20}
    seen, metas = [], []
    while True:
        body = api.get("/contacts/", params=params).json()
        seen += [c["id"] for c in body["contacts"]]
        metas.append(body["meta"])
        if body["meta"]["nextPage"] is None:
            break
        params.update(startAfter=body["meta"]["startAfter"], startAfterId=body["meta"]["startAfterId"])
    # THEN every contact came once, in dateAdded order, with consistent page numbers
    assert seen == seeded
    assert [(m["currentPage"], m["nextPage"], m["prevPage"]) for m in metas] == [
        (1, 2, None),
        (2, 3, 1),
        (3, None, 2),
    ]
    assert metas[0]["total"] == 45
    assert "startAfterId=" in metas[0]["nextPageUrl"]
    assert metas[-1]["nextPageUrl"] is None


def test_list_rejects_a_limit_over_100(api):
    # GIVEN / WHEN a page of 101 is asked for
    response = api.get("/contacts/", params={"locationId": GHL_LOCATION_ID, "limit": 101})
    # THEN it is a 422
    assert response.status_code == 422


def test_list_without_location_is_422(api):
    # GIVEN / WHEN the listing is called without locationId
    response = api.get("/contacts/")
    # THEN it is a 422 naming the field
    assert response.status_code == 422
    assert "locationId should not be empty" in response.json()["message"]


def test_search_pages_and_total(ghl_sandbox, api):
    # GIVEN 25 seeded contacts
    seeded = ghl_sandbox.seed(GHL_LOCATION_ID, contacts=25)
    # WHEN page 2 of size 10 is searched
    body = _search(api, page=2, pageLimit=10).json()
    # THEN it holds contacts 11-20 and the total of all matches
    assert [c["id"] for c in body["contacts"]] == seeded[10:20]
    assert body["total"] == 25


def test_search_without_page_limit_is_422(api):
    # GIVEN / WHEN a search omits pageLimit
    response = api.post("/contacts/search", json={"locationId": GHL_LOCATION_ID})
    # THEN it is 422 (GHL issue #31)
    assert response.status_code == 422
    assert "pageLimit should not be empty" in response.json()["message"]


def test_search_beyond_ten_thousand_records_needs_search_after(api):
    # GIVEN / WHEN page 101 of 100 is asked for
    response = _search(api, page=101, pageLimit=100)
    # THEN it is 422 and says to use searchAfter
    assert response.status_code == 422
    assert "searchAfter" in response.json()["message"][0]


def test_search_after_walks_every_contact(ghl_sandbox, api):
    # GIVEN 23 seeded contacts
    seeded = ghl_sandbox.seed(GHL_LOCATION_ID, contacts=23)
    # WHEN pages of 10 are read, each continuing after the last contact's searchAfter
    seen, body = [], _search(api, pageLimit=10).json()
    while body["contacts"]:
        seen += [c["id"] for c in body["contacts"]]
        body = _search(api, pageLimit=10, searchAfter=body["contacts"][-1]["searchAfter"]).json()
    # THEN every contact came once, in order, and each cursor is [dateAddedMs, id]
    assert seen == seeded
    first = _search(api, pageLimit=1).json()["contacts"][0]
    assert first["searchAfter"][1] == first["id"]
    assert isinstance(first["searchAfter"][0], int)


def test_search_filters_email_phone_and_tags(ghl_sandbox, api):
    # GIVEN three contacts with distinct emails, phones and tags
    a = ghl_sandbox.ui_create_contact(
        GHL_LOCATION_ID, email="a@example.com", phone="+15550000001", tags=["vip"]
    )
    ghl_sandbox.ui_create_contact(
        GHL_LOCATION_ID, email="b@example.com", phone="+15550000002", tags=["vip", "new"]
    )
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, email="c@example.com", tags=["new"])

    def ids(*filters) -> list[str]:
        return [c["id"] for c in _search(api, pageLimit=50, filters=list(filters)).json()["contacts"]]

    # WHEN searching by email (any case), by phone (any format), and by tags
    by_email = ids({"field": "email", "operator": "eq", "value": "A@Example.com"})
    by_phone = ids({"field": "phone", "operator": "eq", "value": "555-000-0001"})
    vip_and_new = ids({"field": "tags", "operator": "contains", "value": ["vip", "new"]})
    # THEN each finds exactly its contacts
    assert by_email == [a.id]
    assert by_phone == [a.id]
    assert len(vip_and_new) == 1 and vip_and_new != [a.id]


def test_search_filters_date_updated_range(ghl_sandbox, ghl_clock, api):
    # GIVEN one contact updated an hour after two others
    old = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Old")
    ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Older")
    ghl_clock.advance(3600)
    ghl_sandbox.ui_update_contact(GHL_LOCATION_ID, old.id, lastName="Changed")
    # WHEN contacts updated since 30 minutes in are searched
    body = _search(
        api,
        pageLimit=10,
        filters=[{"field": "dateUpdated", "operator": "range", "value": {"gte": "2026-01-01T00:30:00.000Z"}}],
    ).json()
    # THEN only the changed one comes back
    assert [c["id"] for c in body["contacts"]] == [old.id]
    assert body["total"] == 1


def test_search_with_an_unknown_filter_field_is_422(api):
    # GIVEN / WHEN a filter names a field search does not support
    response = _search(api, pageLimit=10, filters=[{"field": "shoeSize", "operator": "eq", "value": 9}])
    # THEN it is a 422
    assert response.status_code == 422
