"""GHL sandbox: contacts, tags, tasks, notes, appointments, duplicates and validation."""

import httpx
import pytest

from sandbox.ghl import FakeClock, GhlSandbox
from tests.fixtures.ghl import GHL_BASE_URL, GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT


@pytest.fixture
def api(ghl_http: httpx.Client) -> httpx.Client:
    ghl_http.headers.update(GHL_HEADERS)
    return ghl_http


def _create(api: httpx.Client, **fields) -> httpx.Response:
    return api.post("/contacts/", json={"locationId": GHL_LOCATION_ID, **fields})


def test_create_returns_201_with_the_stored_contact(api, ghl_clock):
    # GIVEN a new person
    # WHEN they are created with a formatted phone
    response = _create(
        api, firstName="Ada", lastName="Lovelace", email="Ada@Example.com", phone="(555) 123-4567"
    )
    # THEN 201 wraps the contact: E.164 phone, lower-cased copies, ISO ms dates, 20-char id
    assert response.status_code == 201
    contact = response.json()["contact"]
    assert contact["phone"] == "+15551234567"
    assert contact["emailLowerCase"] == "ada@example.com"
    assert contact["fullNameLowerCase"] == "ada lovelace"
    assert contact["dateAdded"] == contact["dateUpdated"] == "2026-01-01T00:00:00.000Z"
    assert len(contact["id"]) == 20 and contact["id"].isalnum()


def test_ids_are_deterministic_for_a_seed():
    # GIVEN two sandboxes with the same seed
    def first_id() -> str:
        sb = GhlSandbox(clock=FakeClock(), seed=7)
        sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
        return sb.ui_create_contact(GHL_LOCATION_ID, firstName="A").id

    # WHEN each creates a contact / THEN the ids match
    assert first_id() == first_id()


def test_duplicate_email_any_case_is_400_with_meta(api):
    # GIVEN a contact with an email, in a location that disallows duplicates
    existing = _create(api, firstName="Ada", lastName="L", email="ada@example.com").json()["contact"]
    # WHEN another is created with the same email in other case
    response = _create(api, firstName="Other", email="  ADA@example.COM ")
    # THEN GHL's duplicate body names the existing contact and the matching field
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "This location does not allow duplicated contacts."
    assert body["meta"] == {"contactId": existing["id"], "contactName": "Ada L", "matchingField": "email"}


def test_duplicate_phone_in_another_format_is_400(api):
    # GIVEN a contact with an E.164 phone
    _create(api, firstName="Ada", phone="+15551234567")
    # WHEN another is created with the same number written differently
    response = _create(api, firstName="Bob", phone="555-123-4567")
    # THEN it is a duplicate on phone
    assert response.status_code == 400
    assert response.json()["meta"]["matchingField"] == "phone"


def test_duplicates_are_created_when_the_location_allows_them(ghl_sandbox, api):
    # GIVEN a location that allows duplicates
    ghl_sandbox.add_location("loc_dupes", token="pit-dupes", allow_duplicates=True)
    headers = {"Authorization": "Bearer pit-dupes"}
    body = {"locationId": "loc_dupes", "email": "same@example.com"}
    # WHEN the same email is created twice
    statuses = [api.post("/contacts/", json=body, headers=headers).status_code for _ in range(2)]
    # THEN both exist
    assert statuses == [201, 201]
    assert len(ghl_sandbox.store.contacts("loc_dupes")) == 2


def test_unknown_property_is_422_should_not_exist(api):
    # GIVEN a contact
    contact_id = _create(api, firstName="Ada").json()["contact"]["id"]
    # WHEN it is updated with properties UpdateContactDto lacks
    response = api.put(f"/contacts/{contact_id}", json={"gender": "female", "additionalEmails": []})
    # THEN NestJS-style 422 lists each of them
    assert response.status_code == 422
    assert response.json()["message"] == [
        "property gender should not exist",
        "property additionalEmails should not exist",
    ]
    assert response.json()["error"] == "Unprocessable Entity"


def test_missing_required_field_is_422(api):
    # GIVEN a task body without title, dueDate or completed
    contact_id = _create(api, firstName="Ada").json()["contact"]["id"]
    # WHEN it is posted
    response = api.post(f"/contacts/{contact_id}/tasks", json={"body": "call back"})
    # THEN each required field is reported
    assert response.status_code == 422
    assert "title should not be empty" in response.json()["message"]
    assert "dueDate should not be empty" in response.json()["message"]
    assert "completed should not be empty" in response.json()["message"]


def test_wrong_type_is_422(api):
    # GIVEN / WHEN a contact is created with a non-boolean dnd and a bad email
    response = _create(api, dnd="yes", email="not-an-email")
    # THEN both problems are reported
    assert response.status_code == 422
    assert set(response.json()["message"]) == {"dnd must be a boolean value", "email must be an email"}


def test_update_returns_succeded_and_tags_replace_all(api):
    # GIVEN a contact with two tags
    contact_id = _create(api, firstName="Ada", tags=["a", "b"]).json()["contact"]["id"]
    # WHEN it is updated with tags ["c"]
    response = api.put(f"/contacts/{contact_id}", json={"tags": ["c"], "city": "London"})
    # THEN GHL's misspelt success flag comes back and tags were replaced, not merged
    assert response.status_code == 200
    assert response.json()["succeded"] is True
    assert response.json()["contact"]["tags"] == ["c"]
    assert response.json()["contact"]["city"] == "London"


def test_tags_add_and_remove(api):
    # GIVEN a contact tagged "a"
    contact_id = _create(api, firstName="Ada", tags=["a"]).json()["contact"]["id"]
    # WHEN tags are added then removed
    added = api.post(f"/contacts/{contact_id}/tags", json={"tags": ["b", "a"]})
    removed = api.request("DELETE", f"/contacts/{contact_id}/tags", json={"tags": ["a"]})
    # THEN add answers 201, remove 200, each with the contact's tags after the change
    assert (added.status_code, added.json()) == (201, {"tags": ["a", "b"]})
    assert (removed.status_code, removed.json()) == (200, {"tags": ["b"]})


def test_update_changes_date_updated(api, ghl_clock):
    # GIVEN a contact created at the start
    contact_id = _create(api, firstName="Ada").json()["contact"]["id"]
    # WHEN it is updated a minute later
    ghl_clock.advance(60)
    contact = api.put(f"/contacts/{contact_id}", json={"lastName": "L"}).json()["contact"]
    # THEN dateUpdated moved and dateAdded did not
    assert contact["dateAdded"] == "2026-01-01T00:00:00.000Z"
    assert contact["dateUpdated"] == "2026-01-01T00:01:00.000Z"


def test_delete_then_get_is_not_found(api):
    # GIVEN a contact
    contact_id = _create(api, firstName="Ada").json()["contact"]["id"]
    # WHEN it is deleted and read again
    deleted = api.delete(f"/contacts/{contact_id}")
    again = api.get(f"/contacts/{contact_id}")
    # THEN delete says succeded and the read is 404 with GHL's message
    assert deleted.json() == {"succeded": True}
    assert again.status_code == 404
    assert again.json()["message"] == f"Contact with id {contact_id} not found"


def test_not_found_status_is_configurable():
    # GIVEN a sandbox configured to answer 400 for missing contacts (GHL's status is unconfirmed)
    sb = GhlSandbox(clock=FakeClock(), not_found_status=400)
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    client = httpx.Client(base_url=GHL_BASE_URL, transport=sb.transport(), headers=GHL_HEADERS)
    # WHEN a missing contact is read
    response = client.get("/contacts/missingContact0000000")
    # THEN it is a 400 with the same message
    assert response.status_code == 400
    assert response.json()["message"] == "Contact with id missingContact0000000 not found"


def test_upsert_creates_then_updates_by_email(api):
    # GIVEN no contact with this email
    body = {"locationId": GHL_LOCATION_ID, "email": "up@example.com", "firstName": "Up"}
    # WHEN upsert runs twice with a changed name
    first = api.post("/contacts/upsert", json=body).json()
    second = api.post(
        "/contacts/upsert", json={**body, "firstName": "Upper", "email": "UP@example.com"}
    ).json()
    # THEN the first creates, the second updates the same contact; both carry a traceId
    assert first["new"] is True and second["new"] is False
    assert second["contact"]["id"] == first["contact"]["id"]
    assert second["contact"]["firstName"] == "Upper"
    assert first["traceId"] and second["traceId"]


def test_upsert_ignores_a_phone_that_belongs_to_another_contact(api):
    # GIVEN contact A (email) and contact B (phone)
    a = _create(api, email="a@example.com").json()["contact"]["id"]
    _create(api, phone="+15550000002")
    # WHEN upsert sends A's email with B's phone
    result = api.post(
        "/contacts/upsert",
        json={"locationId": GHL_LOCATION_ID, "email": "a@example.com", "phone": "+15550000002"},
    ).json()
    # THEN A is updated and the clashing phone is dropped (GHL issue #37)
    assert result["contact"]["id"] == a
    assert "phone" not in result["contact"]


def test_duplicate_search_finds_by_email_or_number(api):
    # GIVEN a contact with email and phone
    contact_id = _create(api, email="dup@example.com", phone="+15551112222").json()["contact"]["id"]
    # WHEN the duplicate search runs by email, by number, and for nobody
    by_email = api.get(
        "/contacts/search/duplicate", params={"locationId": GHL_LOCATION_ID, "email": "DUP@example.com"}
    )
    by_number = api.get(
        "/contacts/search/duplicate", params={"locationId": GHL_LOCATION_ID, "number": "+15551112222"}
    )
    nobody = api.get(
        "/contacts/search/duplicate", params={"locationId": GHL_LOCATION_ID, "email": "x@example.com"}
    )
    # THEN the contact (or null) comes back
    assert by_email.json()["contact"]["id"] == contact_id
    assert by_number.json()["contact"]["id"] == contact_id
    assert nobody.json() == {"contact": None}


def test_task_lifecycle(api):
    # GIVEN a contact
    contact_id = _create(api, firstName="Ada").json()["contact"]["id"]
    base = f"/contacts/{contact_id}/tasks"
    # WHEN a task is created, updated, completed, listed and deleted
    created = api.post(base, json={"title": "Call", "dueDate": "2026-02-01T09:00:00Z", "completed": False})
    task_id = created.json()["task"]["id"]
    updated = api.put(f"{base}/{task_id}", json={"title": "Call back"})
    completed = api.put(f"{base}/{task_id}/completed", json={"completed": True})
    listed = api.get(base)
    deleted = api.delete(f"{base}/{task_id}")
    # THEN each answers GHL's wrapper and status
    assert created.status_code == 201
    assert created.json()["task"]["dueDate"] == "2026-02-01T09:00:00.000Z"
    assert updated.json()["task"]["title"] == "Call back"
    assert completed.json()["task"]["completed"] is True
    assert [t["id"] for t in listed.json()["tasks"]] == [task_id]
    assert deleted.json() == {"succeded": True}
    assert api.get(f"{base}/{task_id}").status_code == 404


def test_note_lifecycle(api):
    # GIVEN a contact
    contact_id = _create(api, firstName="Ada").json()["contact"]["id"]
    base = f"/contacts/{contact_id}/notes"
    # WHEN a note is created, read, updated, listed and deleted
    created = api.post(base, json={"body": "Met at the fair", "title": "Fair"})
    note_id = created.json()["note"]["id"]
    read = api.get(f"{base}/{note_id}")
    updated = api.put(f"{base}/{note_id}", json={"body": "Met at the fair in May"})
    listed = api.get(base)
    deleted = api.delete(f"{base}/{note_id}")
    # THEN each answers GHL's wrapper
    assert created.status_code == 201
    assert read.json()["note"]["body"] == "Met at the fair"
    assert updated.json()["note"]["body"] == "Met at the fair in May"
    assert [n["id"] for n in listed.json()["notes"]] == [note_id]
    assert deleted.json() == {"succeded": True}


def test_appointments_are_listed_as_events(ghl_sandbox, api):
    # GIVEN a contact with an appointment booked in the calendar UI
    contact = ghl_sandbox.ui_create_contact(GHL_LOCATION_ID, firstName="Ada")
    ghl_sandbox.ui_create_appointment(
        GHL_LOCATION_ID,
        contact.id,
        title="Demo",
        start_time="2026-01-05T10:00:00Z",
        end_time="2026-01-05T10:30:00Z",
    )
    # WHEN the contact's appointments are read
    response = api.get(f"/contacts/{contact.id}/appointments")
    # THEN they come back under "events"
    events = response.json()["events"]
    assert [(e["title"], e["startTime"], e["contactId"]) for e in events] == [
        ("Demo", "2026-01-05T10:00:00.000Z", contact.id)
    ]


def test_business_listing_skips_and_limits(ghl_sandbox, api):
    # GIVEN three contacts of one business and one of none
    members = ghl_sandbox.seed(GHL_LOCATION_ID, contacts=3, business_id="641c094001436dbc2081e642")
    ghl_sandbox.seed(GHL_LOCATION_ID, contacts=1)
    # WHEN the second page of size 2 is read
    response = api.get(
        "/contacts/business/641c094001436dbc2081e642",
        params={"locationId": GHL_LOCATION_ID, "limit": "2", "skip": "2"},
    )
    # THEN it holds the third member and the count of all members
    assert [c["id"] for c in response.json()["contacts"]] == [members[2]]
    assert response.json()["count"] == 3


def _seeded_first_names(ghl_sandbox: GhlSandbox, location_id: str) -> list[str]:
    location = ghl_sandbox.store.location(location_id)
    return sorted(str(c.fields.get("firstName")) for c in location.contacts.values())


def test_seeding_an_unknown_location_is_refused_and_moves_no_seed_offset(ghl_sandbox, ghl_http):
    # GIVEN a location id the sandbox does not know
    unknown = "unknownLocation00001"
    # WHEN the admin API is asked to seed 3 contacts there
    refused = ghl_http.post("/_sandbox/seed", json={"locationId": unknown, "contacts": 3})
    # THEN it answers 400 naming the location, and once the location exists its first seed
    # starts from the first seeded contact (the refused seed moved nothing)
    assert (refused.status_code, refused.json()) == (400, {"error": f"unknown location '{unknown}'"})
    ghl_sandbox.add_location(unknown)
    ghl_sandbox.seed(unknown, contacts=1)
    assert _seeded_first_names(ghl_sandbox, unknown) == ["Seed0"]


def test_seeding_a_negative_count_is_refused_and_moves_no_seed_offset(ghl_sandbox, ghl_http):
    # GIVEN the sandbox's location, never seeded
    # WHEN the admin API is asked to seed -2 contacts there
    refused = ghl_http.post("/_sandbox/seed", json={"locationId": GHL_LOCATION_ID, "contacts": -2})
    # THEN it answers 400, and the next seed starts from the first seeded contact
    assert (refused.status_code, refused.json()) == (400, {"error": "contacts must be 0 or more, not -2"})
    ghl_sandbox.seed(GHL_LOCATION_ID, contacts=1)
    assert _seeded_first_names(ghl_sandbox, GHL_LOCATION_ID) == ["Seed0"]
