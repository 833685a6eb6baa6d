"""The generic fake in style A (sandbox/apps/generic, style_a): bearer token, `{"data"}` envelopes,
cursor paging, snake_case fields, tags by endpoint, timestamped HMAC webhooks, 429 + Retry-After.
Driven through raw HTTP in-process."""

import hashlib
import hmac
import json

import httpx
import pytest

from sandbox.apps.generic import GenericSandbox
from sandbox.fakes.clock import FakeClock
from tests.fixtures.generic_fake import WEBHOOK_SECRET, WEBHOOK_URL, Sent, generic_api, generic_fake

pytestmark = pytest.mark.integration

ADA = {"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+447700900001", "company": "Engines"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> tuple[GenericSandbox, Sent]:
    return generic_fake("a", clock)


@pytest.fixture
def sb(fake: tuple[GenericSandbox, Sent]) -> GenericSandbox:
    return fake[0]


@pytest.fixture
def http(sb: GenericSandbox) -> httpx.Client:
    return generic_api(sb)


def create(http: httpx.Client, **fields: object) -> dict[str, object]:
    response = http.post("/contacts", json=fields or ADA)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


# -- auth and errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}])
def test_a_request_without_the_bearer_token_is_a_401_in_the_error_envelope(
    sb: GenericSandbox, headers: dict[str, str]
) -> None:
    # GIVEN a client without the right token
    http = httpx.Client(transport=sb.transport(), base_url=sb.base_url, headers=headers)
    # WHEN it lists contacts
    response = http.get("/contacts")
    # THEN it is refused, in style A's error shape
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_an_unknown_id_is_a_404(http: httpx.Client) -> None:
    # GIVEN no contact con_99999 WHEN it is read THEN 404 in the error envelope
    response = http.get("/contacts/con_99999")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "no contact con_99999", "field": None}


def test_a_body_that_is_not_a_json_object_is_a_400(http: httpx.Client) -> None:
    # GIVEN a list where an object belongs WHEN it is posted THEN 400
    response = http.post("/contacts", json=["Ada"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"nickname": "Ada"}, "nickname"), ({"tags": ["vip"]}, "tags"), ({"email": "not-an-address"}, "email")],
)
def test_an_unknown_read_only_or_bad_field_is_a_422_naming_it(
    http: httpx.Client, body: dict[str, object], field: str
) -> None:
    # GIVEN a body with a field style A does not accept WHEN it is posted THEN 422 naming the field
    response = http.post("/contacts", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


# -- contacts ------------------------------------------------------------------------------------
def test_a_created_contact_reads_back_in_snake_case_with_one_name_and_iso_z_times(
    http: httpx.Client, clock: FakeClock
) -> None:
    # GIVEN a contact created at the fake's clock
    created = create(http, **ADA, custom={"plan": "gold"})
    # WHEN it is read by id
    read = http.get(f"/contacts/{created['id']}").json()["data"]
    # THEN it is the same record, with the documented fields
    assert read == created
    assert read["name"] == "Ada Lovelace" and read["email"] == "Ada@Example.com"
    assert read["tags"] == [] and read["custom"] == {"plan": "gold"}
    assert read["created_at"] == read["updated_at"] == "2026-01-01T00:00:00Z"


def test_a_patch_changes_only_the_fields_it_names_and_bumps_updated_at(
    http: httpx.Client, clock: FakeClock
) -> None:
    # GIVEN a contact, an hour later
    contact_id = create(http)["id"]
    clock.advance(3600)
    # WHEN its company is patched
    response = http.patch(f"/contacts/{contact_id}", json={"company": "Analytical Engines"})
    # THEN only the company changed, and updated_at moved
    data = response.json()["data"]
    assert response.status_code == 200
    assert (data["company"], data["name"], data["email"]) == (
        "Analytical Engines",
        "Ada Lovelace",
        "Ada@Example.com",
    )
    assert data["updated_at"] == "2026-01-01T01:00:00Z"


def test_a_patch_merges_custom_fields_and_a_null_removes_one(http: httpx.Client) -> None:
    # GIVEN a contact with two custom fields
    contact_id = create(http, **ADA, custom={"plan": "gold", "seats": 3})["id"]
    # WHEN one is changed, one removed and one added
    response = http.patch(
        f"/contacts/{contact_id}", json={"custom": {"plan": "silver", "seats": None, "region": "EU"}}
    )
    # THEN the others are kept as they were
    assert response.json()["data"]["custom"] == {"plan": "silver", "region": "EU"}


def test_a_tag_with_a_slash_or_space_is_removed_by_its_url_encoded_name(http: httpx.Client) -> None:
    # GIVEN a contact tagged "a/b c"
    contact_id = create(http)["id"]
    http.post(f"/contacts/{contact_id}/tags", json={"tags": ["a/b c", "kept"]})
    # WHEN it is removed by its encoded name
    response = http.delete(f"/contacts/{contact_id}/tags/a%2Fb%20c")
    # THEN only that tag is gone
    assert response.status_code == 204
    assert http.get(f"/contacts/{contact_id}").json()["data"]["tags"] == ["kept"]


def test_a_deleted_contact_is_a_204_then_gone_with_its_tasks(http: httpx.Client) -> None:
    # GIVEN a contact with a task
    contact_id = create(http)["id"]
    task_id = http.post(f"/contacts/{contact_id}/tasks", json={"title": "Call"}).json()["data"]["id"]
    # WHEN the contact is deleted
    response = http.delete(f"/contacts/{contact_id}")
    # THEN it and its task are gone
    assert response.status_code == 204 and response.content == b""
    assert http.get(f"/contacts/{contact_id}").status_code == 404
    assert http.get(f"/tasks/{task_id}").status_code == 404


def test_the_email_filter_ignores_case_and_the_phone_filter_is_exact(http: httpx.Client) -> None:
    # GIVEN two contacts
    ada = create(http)["id"]
    create(http, name="Charles Babbage", email="charles@example.com", phone="+447700900002")
    # WHEN filtered by e-mail (other case) and by phone
    by_email = http.get("/contacts", params={"email": "ada@example.COM"}).json()["data"]
    by_phone = http.get("/contacts", params={"phone": "+447700900001"}).json()["data"]
    not_normalised = http.get("/contacts", params={"phone": "07700900001"}).json()["data"]
    # THEN each finds Ada only; a phone is matched as stored
    assert [c["id"] for c in by_email] == [ada] == [c["id"] for c in by_phone]
    assert not_normalised == []


def test_cursor_paging_lists_every_contact_once_and_ends_with_a_null_cursor(http: httpx.Client) -> None:
    # GIVEN seven contacts
    ids = [create(http, name=f"Person {n}")["id"] for n in range(7)]
    # WHEN they are listed three at a time, following next_cursor
    seen, pages, params = [], 0, {"limit": 3}
    while True:
        body = http.get("/contacts", params=params).json()
        seen += [c["id"] for c in body["data"]]
        pages += 1
        if body["meta"]["next_cursor"] is None:
            break
        params = {"limit": 3, "cursor": body["meta"]["next_cursor"]}
    # THEN three pages hold all seven, in creation order
    assert (pages, seen) == (3, ids)


def test_a_contact_changed_while_paging_moves_behind_the_cursor_and_is_listed_once(
    http: httpx.Client, clock: FakeClock
) -> None:
    # GIVEN four contacts and the first page of two
    ids = [create(http, name=f"Person {n}")["id"] for n in range(4)]
    first = http.get("/contacts", params={"limit": 2}).json()
    # WHEN the first contact changes before the next page is read
    clock.advance(1)
    http.patch(f"/contacts/{ids[0]}", json={"company": "Moved"})
    rest = http.get("/contacts", params={"limit": 10, "cursor": first["meta"]["next_cursor"]}).json()
    # THEN it comes again after the others (never skipped, the rest once each)
    assert [c["id"] for c in rest["data"]] == [ids[2], ids[3], ids[0]]


def test_updated_since_is_inclusive_and_ascending(http: httpx.Client, clock: FakeClock) -> None:
    # GIVEN contacts changed at 00:00, 00:01 and 00:02
    old = create(http)["id"]
    clock.advance(60)
    at_one = create(http, name="At One")["id"]
    clock.advance(60)
    http.patch(f"/contacts/{old}", json={"company": "Later"})
    # WHEN listed since 00:01
    listed = http.get("/contacts", params={"updated_since": "2026-01-01T00:01:00Z"}).json()["data"]
    # THEN the one changed at 00:01 and the one changed after, oldest change first
    assert [c["id"] for c in listed] == [at_one, old]


@pytest.mark.parametrize(
    "params",
    [
        {"updated_since": "yesterday"},
        {"updated_since": "2026-01-01T00:00:00"},
        {"cursor": "!!"},
        {"limit": 101},
    ],
)
def test_a_bad_listing_parameter_is_a_400(http: httpx.Client, params: dict[str, object]) -> None:
    # GIVEN a time without zone, a made-up cursor or a limit past 100 WHEN listing THEN 400
    assert http.get("/contacts", params=params).status_code == 400


# -- tags ---------------------------------------------------------------------------------------
def test_tags_are_added_by_endpoint_kept_once_and_removed_one_at_a_time(http: httpx.Client) -> None:
    # GIVEN a contact
    contact_id = create(http)["id"]
    # WHEN tags are added twice and one is removed (and one that it does not have)
    http.post(f"/contacts/{contact_id}/tags", json={"tags": ["vip", "lead"]})
    added = http.post(f"/contacts/{contact_id}/tags", json={"tags": ["lead", "new"]})
    removed = http.delete(f"/contacts/{contact_id}/tags/lead")
    absent = http.delete(f"/contacts/{contact_id}/tags/never")
    # THEN each tag is held once, the removal took one, and removing an absent tag is no error
    assert added.json()["data"]["tags"] == ["vip", "lead", "new"]
    assert removed.status_code == absent.status_code == 204
    assert http.get(f"/contacts/{contact_id}").json()["data"]["tags"] == ["vip", "new"]


def test_adding_tags_needs_a_list_of_strings(http: httpx.Client) -> None:
    # GIVEN a contact WHEN tags are added as a string THEN 422 naming `tags`
    contact_id = create(http)["id"]
    response = http.post(f"/contacts/{contact_id}/tags", json={"tags": "vip"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "tags"


# -- tasks and notes ------------------------------------------------------------------------------
def test_a_task_is_created_under_its_contact_and_completed_by_patch(http: httpx.Client) -> None:
    # GIVEN a contact and a task under it, due at a time with an offset
    contact_id = create(http)["id"]
    due = "2026-01-02T11:00:00+01:00"
    created = http.post(
        f"/contacts/{contact_id}/tasks", json={"title": "Call", "body": "About engines", "due_at": due}
    )
    task = created.json()["data"]
    # WHEN it is marked done
    done = http.patch(f"/tasks/{task['id']}", json={"status": "done"}).json()["data"]
    # THEN it was created open with the due time in UTC, and is now done, listed under its contact
    assert created.status_code == 201
    assert (task["contact_id"], task["status"], task["due_at"]) == (
        contact_id,
        "open",
        "2026-01-02T10:00:00Z",
    )
    assert done["status"] == "done" and done["title"] == "Call"
    listed = http.get(f"/contacts/{contact_id}/tasks").json()
    assert [t["id"] for t in listed["data"]] == [task["id"]] and listed["meta"]["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"), [({"body": "no title"}, "title"), ({"title": "T", "status": "closed"}, "status")]
)
def test_a_task_without_a_title_or_with_an_unknown_status_is_a_422(
    http: httpx.Client, body: dict[str, object], field: str
) -> None:
    # GIVEN a contact WHEN a bad task is posted THEN 422 naming the field
    contact_id = create(http)["id"]
    response = http.post(f"/contacts/{contact_id}/tasks", json=body)
    assert response.status_code == 422 and response.json()["error"]["field"] == field


def test_a_task_under_an_unknown_contact_is_a_404(http: httpx.Client) -> None:
    # GIVEN no contact con_99999 WHEN a task is posted under it THEN 404
    assert http.post("/contacts/con_99999/tasks", json={"title": "Call"}).status_code == 404


def test_a_note_is_created_updated_and_deleted(http: httpx.Client) -> None:
    # GIVEN a contact with a note
    contact_id = create(http)["id"]
    note = http.post(f"/contacts/{contact_id}/notes", json={"body": "Likes engines"}).json()["data"]
    # WHEN the note is edited, then deleted
    edited = http.patch(f"/notes/{note['id']}", json={"body": "Loves engines"}).json()["data"]
    deleted = http.delete(f"/notes/{note['id']}")
    # THEN the edit held, and the note is gone from its contact
    assert (note["contact_id"], edited["body"]) == (contact_id, "Loves engines")
    assert deleted.status_code == 204
    assert http.get(f"/contacts/{contact_id}/notes").json()["data"] == []


# -- webhooks -----------------------------------------------------------------------------------
def test_a_change_is_posted_signed_over_the_timestamp_and_the_raw_body(
    fake: tuple[GenericSandbox, Sent], http: httpx.Client, clock: FakeClock
) -> None:
    # GIVEN a registered webhook
    sb, sent = fake
    sb.register_webhook(WEBHOOK_URL, secret=WEBHOOK_SECRET)
    # WHEN a contact is created and the webhooks delivered
    contact_id = create(http)["id"]
    sb.deliver_webhooks()
    # THEN one POST names the event, and its signature verifies with the documented scheme
    [(url, body, headers)] = sent
    assert url == WEBHOOK_URL
    assert json.loads(body) == {
        "event": "contact.created",
        "data": {"id": contact_id},
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    assert headers["X-Timestamp"] == str(int(clock()))
    expected = hmac.new(
        WEBHOOK_SECRET.encode(), headers["X-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["X-Signature"], expected)


def test_task_and_note_events_carry_their_contact_and_deletes_are_posted(
    fake: tuple[GenericSandbox, Sent], http: httpx.Client
) -> None:
    # GIVEN a contact, then a registered webhook
    sb, sent = fake
    contact_id = create(http)["id"]
    sb.register_webhook(WEBHOOK_URL, secret=WEBHOOK_SECRET)
    # WHEN a task is created and deleted, and a note created
    task_id = http.post(f"/contacts/{contact_id}/tasks", json={"title": "Call"}).json()["data"]["id"]
    http.delete(f"/tasks/{task_id}")
    note_id = http.post(f"/contacts/{contact_id}/notes", json={"body": "Hi"}).json()["data"]["id"]
    sb.deliver_webhooks()
    # THEN each event names the record and its contact
    events = [(e["event"], e["data"]) for e in (json.loads(body) for _, body, _ in sent)]
    assert events == [
        ("task.created", {"id": task_id, "contact_id": contact_id}),
        ("task.deleted", {"id": task_id, "contact_id": contact_id}),
        ("note.created", {"id": note_id, "contact_id": contact_id}),
    ]


# -- rate limits and faults ----------------------------------------------------------------------
def test_past_the_rate_limit_a_request_is_a_429_with_retry_after_until_the_minute_ends(
    sb: GenericSandbox, http: httpx.Client, clock: FakeClock
) -> None:
    # GIVEN two requests a minute, both used 15 s into the minute
    sb.limiter.configure(2)
    clock.advance(15)
    http.get("/contacts")
    http.get("/contacts")
    # WHEN a third is made, and another when the next minute starts
    refused = http.get("/contacts")
    clock.advance(45)
    allowed = http.get("/contacts")
    # THEN the third waits for the minute's end; the next minute has room
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "45"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert allowed.status_code == 200
    assert "X-RateLimit-Remaining" not in allowed.headers  # style A sends only Retry-After


def test_an_injected_429_says_when_to_retry(sb: GenericSandbox, http: httpx.Client) -> None:
    # GIVEN every request rate-limited by the kit's faults WHEN one is made THEN 429 + Retry-After
    sb.faults.configure(rate_429=1.0)
    response = http.get("/contacts")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")


@pytest.mark.parametrize(("garbage", "content_type"), [("html", "text/html"), ("json", "application/json")])
def test_the_garbage_fault_answers_200_that_is_not_the_apis_answer(
    sb: GenericSandbox, http: httpx.Client, garbage: str, content_type: str
) -> None:
    # GIVEN every request answered garbage
    sb.faults.configure(rate_garbage=1.0, garbage=garbage)
    # WHEN a contact is created
    response = http.post("/contacts", json=ADA)
    # THEN a 200 without the data envelope, and nothing was created
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(content_type)
    assert '"data"' not in response.text
    assert sb.store.records["contact"] == {}
