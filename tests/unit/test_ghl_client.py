"""GhlClient operations over httpx.MockTransport: each one's request (method, path, query, headers,
body) and how its response is parsed. No sockets, no sleeping: clock and sleep are fakes."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from ghlsync.ghl.auth import TokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.errors import GhlError
from ghlsync.ghl.models import (
    Appointment,
    Contact,
    ContactCreate,
    ContactUpdate,
    ContactUpsert,
    CustomFieldWrite,
    Note,
    NoteCreate,
    NoteUpdate,
    Task,
    TaskCreate,
    TaskUpdate,
    UpsertResult,
)

BASE = "https://ghl.test"
LOCATION = "loc_123"
TOKEN = "tok-initial"


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RotatingTokens:
    """TokenProvider that hands out the next token after each rejection."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens) or [TOKEN]
        self.rejected: list[tuple[str, str]] = []

    def access_token(self, location_id: str) -> str:
        return self.tokens[0]

    def token_rejected(self, location_id: str, token: str) -> None:
        self.rejected.append((location_id, token))
        if len(self.tokens) > 1:
            self.tokens.pop(0)


@dataclass
class Harness:
    client: GhlClient
    requests: list[httpx.Request]
    clock: FakeClock
    tokens: Any


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler | Sequence[httpx.Response | Exception],
    *,
    tokens: TokenProvider | None = None,
    rng: Callable[[], float] = lambda: 0.5,
    max_retries: int = 5,
    clock: FakeClock | None = None,
) -> Harness:
    """A client whose transport answers with `handler`, or with the scripted responses in order
    (an Exception in the script is raised as the transport failure)."""
    requests: list[httpx.Request] = []
    script = list(handler) if isinstance(handler, Sequence) else None

    def transport(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if script is None:
            assert callable(handler)
            return handler(request)
        outcome = script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    clock = clock or FakeClock()
    tokens = tokens or RotatingTokens()
    client = GhlClient(
        httpx.Client(transport=httpx.MockTransport(transport)),
        tokens,
        LOCATION,
        base_url=BASE,
        sleep=clock.sleep,
        clock=clock,
        rng=rng,
        max_retries=max_retries,
    )
    return Harness(client, requests, clock, tokens)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


CONTACT = {
    "id": "c1",
    "locationId": LOCATION,
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "phone": "+15550100",
    "tags": ["vip"],
    "dateAdded": "2021-07-02T05:18:26.704Z",
    "dateUpdated": "2021-07-03T05:18:26.704Z",
    "customFields": [{"id": "cf1", "value": "blue"}, {"id": "cf2", "value": ["a", "b"]}],
    "dndSettings": {"Email": {"status": "active", "message": "", "code": ""}, "RCS": {"status": "inactive"}},
    "additionalEmails": ["ada2@example.com"],
}
TASK = {
    "id": "t1",
    "title": "Call back",
    "body": "about the quote",
    "dueDate": "2021-07-08T02:30:00.000Z",
    "completed": False,
    "contactId": "c1",
    "assignedTo": "u1",
}
NOTE = {
    "id": "n1",
    "body": "Met at fair",
    "userId": "u1",
    "dateAdded": "2021-07-08T12:02:11.285Z",
    "contactId": "c1",
}
EVENT = {
    "id": "e1",
    "calendarId": "cal1",
    "title": "Visit",
    "startTime": "2021-07-16 11:00:00",
    "users": ["u1"],
}


@dataclass(frozen=True)
class Operation:
    name: str
    call: Callable[[GhlClient], Any]
    method: str
    path: str
    body: Any
    status: int
    answer: dict[str, Any]
    check: Callable[[Any], object]


def _contact_c1(result: Any) -> None:
    assert isinstance(result, Contact) and result.id == "c1" and result.first_name == "Ada"


def _task_t1(result: Any) -> None:
    assert isinstance(result, Task) and result.id == "t1"
    assert result.due_date == datetime(2021, 7, 8, 2, 30, tzinfo=UTC)


def _note_n1(result: Any) -> None:
    assert isinstance(result, Note) and result.id == "n1" and result.body == "Met at fair"


def _upserted_c1(result: Any) -> None:
    assert isinstance(result, UpsertResult) and result.new and result.trace_id == "tr-1"
    _contact_c1(result.contact)


def _appointment_e1(result: Any) -> None:
    [appointment] = result
    assert isinstance(appointment, Appointment) and appointment.start_time == "2021-07-16 11:00:00"


def _equals(expected: object) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        assert result == expected

    return check


def _none(result: Any) -> None:
    assert result is None


DUE = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

OPERATIONS = [
    Operation(
        "get_contact",
        lambda c: c.get_contact("c1"),
        "GET",
        "/contacts/c1",
        None,
        200,
        {"contact": CONTACT},
        _contact_c1,
    ),
    Operation(
        "create_contact",
        lambda c: c.create_contact(ContactCreate(first_name="Ada", email="ada@example.com", tags=["vip"])),
        "POST",
        "/contacts/",
        {"firstName": "Ada", "email": "ada@example.com", "tags": ["vip"], "locationId": LOCATION},
        201,
        {"contact": CONTACT},
        _contact_c1,
    ),
    Operation(
        "update_contact",
        lambda c: c.update_contact("c1", ContactUpdate(last_name="King")),
        "PUT",
        "/contacts/c1",
        {"lastName": "King"},
        200,
        {"succeded": True, "contact": CONTACT},
        _contact_c1,
    ),
    Operation(
        "upsert_contact",
        lambda c: c.upsert_contact(
            ContactUpsert(email="ada@example.com", create_new_if_duplicate_allowed=False)
        ),
        "POST",
        "/contacts/upsert",
        {"email": "ada@example.com", "createNewIfDuplicateAllowed": False, "locationId": LOCATION},
        200,
        {"new": True, "contact": CONTACT, "traceId": "tr-1"},
        _upserted_c1,
    ),
    Operation(
        "delete_contact",
        lambda c: c.delete_contact("c1"),
        "DELETE",
        "/contacts/c1",
        None,
        200,
        {"succeded": True},
        _none,
    ),
    Operation(
        "add_tags",
        lambda c: c.add_tags("c1", ["a", "b", "a"]),
        "POST",
        "/contacts/c1/tags",
        {"tags": ["a", "b"]},
        201,
        {"tags": ["a", "b", "vip"]},
        _equals(["a", "b", "vip"]),
    ),
    Operation(
        "remove_tags",
        lambda c: c.remove_tags("c1", ["vip"]),
        "DELETE",
        "/contacts/c1/tags",
        {"tags": ["vip"]},
        200,
        {"tags": []},
        _equals([]),
    ),
    Operation(
        "list_tasks",
        lambda c: c.list_tasks("c1"),
        "GET",
        "/contacts/c1/tasks",
        None,
        200,
        {"tasks": [TASK]},
        lambda r: _task_t1(r[0]),
    ),
    Operation(
        "get_task",
        lambda c: c.get_task("c1", "t1"),
        "GET",
        "/contacts/c1/tasks/t1",
        None,
        200,
        {"task": TASK},
        _task_t1,
    ),
    Operation(
        "create_task",
        lambda c: c.create_task("c1", TaskCreate(title="Call back", due_date=DUE)),
        "POST",
        "/contacts/c1/tasks",
        {"title": "Call back", "dueDate": "2030-01-02T03:04:05.000Z", "completed": False},
        201,
        {"task": TASK},
        _task_t1,
    ),
    Operation(
        "update_task",
        lambda c: c.update_task("c1", "t1", TaskUpdate(body="new", assigned_to="u2")),
        "PUT",
        "/contacts/c1/tasks/t1",
        {"body": "new", "assignedTo": "u2"},
        200,
        {"task": TASK},
        _task_t1,
    ),
    Operation(
        "set_task_completed",
        lambda c: c.set_task_completed("c1", "t1", True),
        "PUT",
        "/contacts/c1/tasks/t1/completed",
        {"completed": True},
        200,
        {"task": TASK},
        _task_t1,
    ),
    Operation(
        "delete_task",
        lambda c: c.delete_task("c1", "t1"),
        "DELETE",
        "/contacts/c1/tasks/t1",
        None,
        200,
        {"succeded": True},
        _none,
    ),
    Operation(
        "list_notes",
        lambda c: c.list_notes("c1"),
        "GET",
        "/contacts/c1/notes",
        None,
        200,
        {"notes": [NOTE]},
        lambda r: _note_n1(r[0]),
    ),
    Operation(
        "get_note",
        lambda c: c.get_note("c1", "n1"),
        "GET",
        "/contacts/c1/notes/n1",
        None,
        200,
        {"note": NOTE},
        _note_n1,
    ),
    Operation(
        "create_note",
        lambda c: c.create_note("c1", NoteCreate(body="Met at fair", pinned=True)),
        "POST",
        "/contacts/c1/notes",
        {"body": "Met at fair", "pinned": True},
        201,
        {"note": NOTE},
        _note_n1,
    ),
    Operation(
        "update_note",
        lambda c: c.update_note("c1", "n1", NoteUpdate(title="Fair")),
        "PUT",
        "/contacts/c1/notes/n1",
        {"title": "Fair"},
        200,
        {"note": NOTE},
        _note_n1,
    ),
    Operation(
        "delete_note",
        lambda c: c.delete_note("c1", "n1"),
        "DELETE",
        "/contacts/c1/notes/n1",
        None,
        200,
        {"succeded": True},
        _none,
    ),
    Operation(
        "list_appointments",
        lambda c: c.list_appointments("c1"),
        "GET",
        "/contacts/c1/appointments",
        None,
        200,
        {"events": [EVENT]},
        lambda r: (
            (isinstance(r[0], Appointment) and r[0].start_time == "2021-07-16 11:00:00")
            or pytest.fail(repr(r))
        ),
    ),
]


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.name for op in OPERATIONS])
def test_operation_sends_the_documented_request_and_parses_the_answer(op: Operation) -> None:
    # GIVEN a GHL that answers the operation's documented success response
    harness = make_client([httpx.Response(op.status, json=op.answer)])

    # WHEN the operation is called
    result = op.call(harness.client)

    # THEN exactly one request went out with the documented method, path and body
    [request] = harness.requests
    assert (request.method, request.url.path) == (op.method, op.path)
    assert body_of(request) == op.body
    # AND the answer was parsed into the operation's model
    op.check(result)


def test_every_request_carries_bearer_token_version_and_accept() -> None:
    # GIVEN a client for a location whose token provider holds TOKEN
    harness = make_client([httpx.Response(200, json={"contact": CONTACT})])

    # WHEN any call is made
    harness.client.get_contact("c1")

    # THEN the request carries the API v2 headers
    headers = harness.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["version"] == "2021-07-28"
    assert headers["accept"] == "application/json"


def test_json_bodies_are_sent_as_application_json() -> None:
    # GIVEN a GHL that accepts a note
    harness = make_client([httpx.Response(201, json={"note": NOTE})])

    # WHEN a note is created
    harness.client.create_note("c1", NoteCreate(body="x"))

    # THEN the body is declared as JSON
    assert harness.requests[0].headers["content-type"] == "application/json"


def test_ids_are_percent_encoded_into_one_path_segment() -> None:
    # GIVEN an id from an untrusted source that looks like a path
    harness = make_client([httpx.Response(200, json={"contact": CONTACT})])

    # WHEN it is used to fetch a contact
    harness.client.get_contact("../locations/x")

    # THEN it stays inside the /contacts/{id} segment
    assert harness.requests[0].url.raw_path == b"/contacts/..%2Flocations%2Fx"


@pytest.mark.parametrize("contact_id", ["", "   "])
def test_an_empty_id_is_refused_before_any_request(contact_id: str) -> None:
    # GIVEN a client
    harness = make_client([])

    # WHEN an operation is called with an empty id
    # THEN it is refused locally (GET /contacts/ would otherwise list the location)
    with pytest.raises(ValueError, match="contact_id"):
        harness.client.get_contact(contact_id)
    assert harness.requests == []


def test_contact_read_keeps_undeclared_fields_and_both_custom_field_shapes() -> None:
    # GIVEN a contact answer with fields the model does not declare and list-valued custom fields
    harness = make_client([httpx.Response(200, json={"contact": CONTACT})])

    # WHEN it is read
    contact = harness.client.get_contact("c1")

    # THEN the undeclared field is kept as an extra and the custom field values are untouched
    assert contact.model_extra == {"additionalEmails": ["ada2@example.com"]}
    assert [(f.id, f.value) for f in contact.custom_fields] == [("cf1", "blue"), ("cf2", ["a", "b"])]
    assert contact.dnd_settings is not None and contact.dnd_settings["RCS"].status == "inactive"
    assert contact.date_updated == datetime(2021, 7, 3, 5, 18, 26, 704000, tzinfo=UTC)


def test_contact_read_treats_null_lists_as_empty() -> None:
    # GIVEN a contact whose tags and customFields are null
    harness = make_client(
        [httpx.Response(200, json={"contact": {"id": "c1", "tags": None, "customFields": None}})]
    )

    # WHEN it is read
    contact = harness.client.get_contact("c1")

    # THEN both are empty lists
    assert (contact.tags, contact.custom_fields) == ([], [])


def test_custom_fields_are_written_as_id_or_key_with_field_value() -> None:
    # GIVEN an update with custom fields referenced by id and by key
    harness = make_client([httpx.Response(200, json={"succeded": True, "contact": CONTACT})])
    changes = ContactUpdate(
        custom_fields=[
            CustomFieldWrite(id="cf1", field_value="red"),
            CustomFieldWrite(key="my_field", field_value=["x", "y"]),
            CustomFieldWrite(id="cf3", field_value=12.5),
        ],
        date_of_birth=date(1990, 9, 25),
    )

    # WHEN the contact is updated
    harness.client.update_contact("c1", changes)

    # THEN the body uses GHL's write shape
    assert body_of(harness.requests[0]) == {
        "customFields": [
            {"id": "cf1", "field_value": "red"},
            {"key": "my_field", "field_value": ["x", "y"]},
            {"id": "cf3", "field_value": 12.5},
        ],
        "dateOfBirth": "1990-09-25",
    }


def test_find_duplicate_queries_email_and_number_for_the_location() -> None:
    # GIVEN a GHL that finds a duplicate
    harness = make_client([httpx.Response(200, json={"contact": CONTACT})])

    # WHEN a duplicate is looked up by email and phone
    found = harness.client.find_duplicate(email="ada@example.com", phone="+15550100")

    # THEN the query carries locationId, email and number (GHL's name for the phone)
    request = harness.requests[0]
    assert (request.method, request.url.path) == ("GET", "/contacts/search/duplicate")
    assert dict(request.url.params) == {
        "locationId": LOCATION,
        "email": "ada@example.com",
        "number": "+15550100",
    }
    assert request.url.query.decode().endswith("number=%2B15550100")
    assert found is not None and found.id == "c1"


def test_find_duplicate_returns_none_when_nothing_matches() -> None:
    # GIVEN a GHL that finds no duplicate
    harness = make_client([httpx.Response(200, json={"contact": None})])

    # WHEN a duplicate is looked up
    # THEN the answer is None
    assert harness.client.find_duplicate(email="nobody@example.com") is None


def test_find_duplicate_needs_an_email_or_a_phone() -> None:
    # GIVEN a client
    harness = make_client([])

    # WHEN a duplicate is looked up with neither key
    # THEN it is refused locally
    with pytest.raises(ValueError):
        harness.client.find_duplicate()


def test_adding_no_tags_sends_nothing() -> None:
    # GIVEN a client
    harness = make_client([])

    # WHEN an empty tag delta is applied
    added = harness.client.add_tags("c1", [])

    # THEN no request is spent on it
    assert added == [] and harness.requests == []


def test_a_delete_answered_with_succeded_false_is_an_error() -> None:
    # GIVEN a GHL that answers 200 but says the delete did not succeed
    harness = make_client([httpx.Response(200, json={"succeded": False})])

    # WHEN a contact is deleted
    # THEN the client does not pretend it worked
    with pytest.raises(GhlError, match="succeded=false"):
        harness.client.delete_contact("c1")
