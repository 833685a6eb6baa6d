"""The generic fake in style B (sandbox/apps/generic, style_b): `?api_key=`, bare JSON, page numbers,
PascalCase fields, `Tags` replaced as a list, polling by `ModifiedSince` (no webhooks), and
`X-RateLimit-*` headers. Driven through raw HTTP in-process."""

import httpx
import pytest

from sandbox.apps.generic import GenericSandbox
from sandbox.fakes.clock import FakeClock
from tests.fixtures.generic_fake import WEBHOOK_SECRET, WEBHOOK_URL, generic_api, generic_fake

pytestmark = pytest.mark.integration

ADA = {"FirstName": "Ada", "LastName": "Lovelace", "Email": "Ada@Example.com", "Phone": "+447700900001"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> GenericSandbox:
    return generic_fake("b", clock)[0]


@pytest.fixture
def http(sb: GenericSandbox) -> httpx.Client:
    return generic_api(sb)


def create(http: httpx.Client, **fields: object) -> dict[str, object]:
    response = http.post("/Contacts", json=fields or ADA)
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- auth and errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("credential", ["", "wrong-key"])
def test_a_request_without_the_api_key_is_a_401(sb: GenericSandbox, credential: str) -> None:
    # GIVEN a client with no or a wrong api_key WHEN it lists contacts THEN 401 in style B's shape
    response = generic_api(sb, credential=credential).get("/Contacts")
    assert response.status_code == 401
    assert response.json()["ErrorCode"] == "unauthorized"


def test_an_unknown_id_is_a_404_with_a_message(http: httpx.Client) -> None:
    # GIVEN no contact con_99999 WHEN it is read THEN 404 {"Message", ...}
    response = http.get("/Contacts/con_99999")
    assert response.status_code == 404
    assert response.json() == {"Message": "no contact con_99999", "ErrorCode": "not_found", "Field": None}


def test_a_snake_case_field_is_a_422_naming_it(http: httpx.Client) -> None:
    # GIVEN style A's field name WHEN posted to style B THEN 422 naming it
    response = http.post("/Contacts", json={"first_name": "Ada"})
    assert response.status_code == 422 and response.json()["Field"] == "first_name"


def test_a_body_that_is_not_json_is_a_400(http: httpx.Client) -> None:
    # GIVEN text where JSON belongs WHEN posted THEN 400
    response = http.post("/Contacts", content=b"FirstName=Ada", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400


# -- contacts ------------------------------------------------------------------------------------
def test_a_created_contact_is_the_bare_record_in_pascal_case_with_zoneless_times(http: httpx.Client) -> None:
    # GIVEN a contact created with tags
    created = create(http, **ADA, Tags=["vip"])
    # WHEN it is read by id
    read = http.get(f"/Contacts/{created['Id']}").json()
    # THEN the record itself, not an envelope, with the documented fields
    assert read == created
    assert (read["FirstName"], read["LastName"], read["Tags"]) == ("Ada", "Lovelace", ["vip"])
    assert read["ModifiedOn"] == read["CreatedOn"] == "2026-01-01 00:00:00"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_tags_in_an_update_replace_the_whole_list(http: httpx.Client, method: str) -> None:
    # GIVEN a contact tagged vip and lead
    contact_id = create(http, **ADA, Tags=["vip", "lead"])["Id"]
    # WHEN it is updated with Tags [lead, new]
    updated = http.request(method, f"/Contacts/{contact_id}", json={"Tags": ["lead", "new"]}).json()
    # THEN the list is exactly the new one; other fields are kept
    assert updated["Tags"] == ["lead", "new"] and updated["FirstName"] == "Ada"


def test_a_deleted_contact_answers_an_empty_object_and_is_missing_from_the_listing(
    http: httpx.Client,
) -> None:
    # GIVEN two contacts
    gone = create(http)["Id"]
    kept = create(http, FirstName="Charles")["Id"]
    # WHEN one is deleted
    response = http.delete(f"/Contacts/{gone}")
    # THEN 200 {}, and only the other is listed
    assert (response.status_code, response.json()) == (200, {})
    assert [c["Id"] for c in http.get("/Contacts").json()] == [kept]


def test_the_email_and_phone_filters_find_the_matching_contacts(http: httpx.Client) -> None:
    # GIVEN two contacts
    ada = create(http)["Id"]
    create(http, FirstName="Charles", Email="charles@example.com", Phone="+447700900002")
    # WHEN filtered by e-mail (other case) and by phone
    by_email = http.get("/Contacts", params={"Email": "ada@example.com"}).json()
    by_phone = http.get("/Contacts", params={"Phone": "+447700900001"}).json()
    # THEN each finds Ada only
    assert [c["Id"] for c in by_email] == [ada] == [c["Id"] for c in by_phone]


def test_page_numbers_reach_the_end_with_a_short_page(http: httpx.Client) -> None:
    # GIVEN seven contacts
    ids = [create(http, FirstName=f"Person {n}")["Id"] for n in range(7)]
    # WHEN pages of three are read until one is short
    pages: list[list[str]] = []
    while not pages or len(pages[-1]) == 3:
        page = http.get("/Contacts", params={"page": len(pages) + 1, "pageSize": 3}).json()
        pages.append([c["Id"] for c in page])
    # THEN pages 1-3 hold all seven in order, the last one short
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [contact_id for page in pages for contact_id in page] == ids


def test_modified_since_is_inclusive_and_ascending(http: httpx.Client, clock: FakeClock) -> None:
    # GIVEN contacts changed at 00:00, 00:01 and 00:02
    old = create(http)["Id"]
    clock.advance(60)
    at_one = create(http, FirstName="At One")["Id"]
    clock.advance(60)
    http.patch(f"/Contacts/{old}", json={"Company": "Later"})
    # WHEN listed since 00:01
    listed = http.get("/Contacts", params={"ModifiedSince": "2026-01-01 00:01:00"}).json()
    # THEN the one changed at 00:01 and the one changed after, oldest change first
    assert [c["Id"] for c in listed] == [at_one, old]


@pytest.mark.parametrize(
    "params", [{"ModifiedSince": "2026-01-01T00:01:00Z"}, {"page": 0}, {"pageSize": 500}]
)
def test_a_bad_listing_parameter_is_a_400(http: httpx.Client, params: dict[str, object]) -> None:
    # GIVEN an ISO time where B's format belongs, page 0, or a page past 100 WHEN listing THEN 400
    assert http.get("/Contacts", params=params).status_code == 400


# -- tasks and notes ------------------------------------------------------------------------------
def test_a_task_names_its_contact_in_the_body_and_is_listed_under_it_and_by_modified_since(
    http: httpx.Client,
) -> None:
    # GIVEN a contact
    contact_id = create(http)["Id"]
    # WHEN a task is posted for it, due on a date, then completed
    body = {"ContactId": contact_id, "Subject": "Call", "Details": "About engines", "DueDate": "2026-01-02"}
    task = http.post("/Tasks", json=body).json()
    done = http.patch(f"/Tasks/{task['Id']}", json={"Status": "Completed"}).json()
    # THEN it was open, is now completed, and both listings show it
    assert (task["ContactId"], task["Status"], task["DueDate"]) == (contact_id, "Open", "2026-01-02")
    assert done["Status"] == "Completed"
    assert [t["Id"] for t in http.get(f"/Contacts/{contact_id}/Tasks").json()] == [task["Id"]]
    assert [t["Id"] for t in http.get("/Tasks", params={"ModifiedSince": "2026-01-01 00:00:00"}).json()] == [
        task["Id"]
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Subject": "Call"}, "ContactId"),
        ({"ContactId": "con_99999", "Subject": "Call"}, "ContactId"),
        ({"ContactId": "{id}", "Subject": "Call", "Status": "open"}, "Status"),
        ({"ContactId": "{id}", "Subject": "Call", "DueDate": "02/01/2026"}, "DueDate"),
    ],
)
def test_a_task_without_a_known_contact_or_with_a_bad_field_is_a_422(
    http: httpx.Client, body: dict[str, str], field: str
) -> None:
    # GIVEN a contact WHEN a bad task is posted THEN 422 naming the field
    contact_id = str(create(http)["Id"])
    body = {k: v.replace("{id}", contact_id) for k, v in body.items()}
    response = http.post("/Tasks", json=body)
    assert response.status_code == 422 and response.json()["Field"] == field


def test_a_tasks_contact_cannot_change(http: httpx.Client) -> None:
    # GIVEN a task WHEN an update names another ContactId THEN 422
    contact_id = create(http)["Id"]
    task_id = http.post("/Tasks", json={"ContactId": contact_id, "Subject": "Call"}).json()["Id"]
    response = http.patch(f"/Tasks/{task_id}", json={"ContactId": "con_00009"})
    assert response.status_code == 422 and response.json()["Field"] == "ContactId"


def test_a_note_is_created_edited_and_deleted(http: httpx.Client) -> None:
    # GIVEN a contact with a note
    contact_id = create(http)["Id"]
    note = http.post("/Notes", json={"ContactId": contact_id, "Text": "Likes engines"}).json()
    # WHEN the note is edited, then deleted
    edited = http.patch(f"/Notes/{note['Id']}", json={"Text": "Loves engines"}).json()
    deleted = http.delete(f"/Notes/{note['Id']}")
    # THEN the edit held, and the note is missing from every listing
    assert edited["Text"] == "Loves engines" and deleted.json() == {}
    assert http.get(f"/Contacts/{contact_id}/Notes").json() == [] == http.get("/Notes").json()


# -- no webhooks --------------------------------------------------------------------------------
def test_style_b_refuses_a_webhook_and_queues_nothing_on_changes(
    sb: GenericSandbox, http: httpx.Client
) -> None:
    # GIVEN style B WHEN a webhook is registered THEN it is refused, and a change queues nothing
    with pytest.raises(ValueError, match="no webhooks"):
        sb.register_webhook(WEBHOOK_URL, secret=WEBHOOK_SECRET)
    create(http)
    assert sb.outbox.deliveries == []


# -- rate limits and faults ----------------------------------------------------------------------
def test_every_answer_says_how_many_requests_remain_and_when_the_budget_resets(
    sb: GenericSandbox, http: httpx.Client, clock: FakeClock
) -> None:
    # GIVEN two requests a minute, 15 s into the minute
    sb.limiter.configure(2)
    clock.advance(15)
    # WHEN three requests are made
    answers = [http.get("/Contacts") for _ in range(3)]
    # THEN the headers count down to 0 and name the minute's end; the third is a 429
    reset = str(int(clock()) + 45)
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["X-RateLimit-Reset"] for a in answers} == {reset}
    assert answers[2].status_code == 429 and answers[2].headers["Retry-After"] == "45"
    assert answers[2].json()["ErrorCode"] == "rate_limited"


def test_the_garbage_fault_answers_html_where_a_json_array_belongs(
    sb: GenericSandbox, http: httpx.Client
) -> None:
    # GIVEN every request answered garbage WHEN contacts are listed THEN a 200 that is not JSON
    sb.faults.configure(rate_garbage=1.0)
    response = http.get("/Contacts")
    assert response.status_code == 200 and response.text.startswith("<html>")
