"""GhlClient end to end against the in-process GHL sandbox (httpx transport, fake clock, no sockets)."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from ghlsync.apps.ghl_hub import GhlHub, TaskSearch
from ghlsync.core.entities import EntityKind
from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.errors import (
    GhlDuplicateContact,
    GhlForbidden,
    GhlNotFound,
    GhlUnauthorized,
    GhlValidationError,
)
from ghlsync.ghl.models import (
    ContactCreate,
    ContactUpdate,
    ContactUpsert,
    CustomFieldWrite,
    NoteCreate,
    NoteUpdate,
    SearchFilter,
    TaskCreate,
    TaskUpdate,
)
from ghlsync.mapping.ghl import GhlFieldMap
from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.ghl.custom_fields import define_field
from sandbox.ghl.variants import GhlVariant

pytestmark = pytest.mark.integration

LOCATION = "locSandbox0000000001"
OTHER_LOCATION = "locSandbox0000000002"
PIT = "pit-00000000-0000-4000-8000-000000000001"
OTHER_PIT = "pit-00000000-0000-4000-8000-000000000002"
BASE = "https://services.sandbox.test"


@dataclass
class Env:
    sandbox: GhlSandbox
    clock: FakeClock
    client: GhlClient

    def client_for(self, location_id: str, token: str) -> GhlClient:
        return make_client(self.sandbox, self.clock, location_id, token)


def make_client(sandbox: GhlSandbox, clock: FakeClock, location_id: str, token: str) -> GhlClient:
    http = httpx.Client(transport=sandbox.transport())
    return GhlClient(
        http,
        StaticTokenProvider(token),
        location_id,
        base_url=BASE,
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.5,
    )


@pytest.fixture
def env(ghl_variant: GhlVariant) -> Env:
    clock = FakeClock()
    sandbox = GhlSandbox(clock=clock, seed=7, **ghl_variant.sandbox_options())
    sandbox.add_location(LOCATION, token=PIT)
    sandbox.add_location(OTHER_LOCATION, token=OTHER_PIT)
    return Env(sandbox, clock, make_client(sandbox, clock, LOCATION, PIT))


# The client's pacing must hold on the X-RateLimit-* headers alone (GHL documents no Retry-After on
# its 429s): the tests of pacing run with and without one.
paced = pytest.mark.ghl_variants("retry-after")


def statuses(sandbox: GhlSandbox) -> list[int]:
    return [status for _, _, status in sandbox.request_log]


# ---------------------------------------------------------------- contacts


@pytest.mark.ghl_variants("not-found-400")
def test_contact_lifecycle_create_read_update_delete(env: Env) -> None:
    # GIVEN an empty location
    client = env.client

    # WHEN a contact is created, read, updated and deleted
    created = client.create_contact(
        ContactCreate(first_name="Ada", email="ada@example.com", company_name="Engines")
    )
    read = client.get_contact(created.id)
    updated = client.update_contact(created.id, ContactUpdate(last_name="Lovelace", city="London"))
    client.delete_contact(created.id)

    # THEN each step saw the previous one's effect, and the contact is gone
    assert read.email == "ada@example.com" and read.company_name == "Engines"
    assert (updated.first_name, updated.last_name, updated.city) == ("Ada", "Lovelace", "London")
    with pytest.raises(GhlNotFound):
        client.get_contact(created.id)


def test_custom_fields_round_trip_from_write_shape_to_read_shape(env: Env) -> None:
    # GIVEN a contact and a text field of its location
    contact = env.client.create_contact(ContactCreate(email="cf@example.com"))
    colour = define_field(env.sandbox, LOCATION, "Colour", "TEXT")

    # WHEN a custom field is written in the {id, field_value} shape
    env.client.update_contact(
        contact.id, ContactUpdate(custom_fields=[CustomFieldWrite(id=colour.id, field_value="blue")])
    )

    # THEN it reads back in the {id, value} shape
    read = env.client.get_contact(contact.id)
    assert [(f.id, f.value) for f in read.custom_fields] == [(colour.id, "blue")]


def test_creating_a_duplicate_names_the_existing_contact(env: Env) -> None:
    # GIVEN a location that refuses duplicates, with a contact already there
    existing = env.client.create_contact(ContactCreate(email="dup@example.com"))

    # WHEN the same email is created again
    with pytest.raises(GhlDuplicateContact) as caught:
        env.client.create_contact(ContactCreate(email="dup@example.com", first_name="Again"))

    # THEN the error carries the existing contact and the field that matched
    assert (caught.value.contact_id, caught.value.matching_field) == (existing.id, "email")


def test_upsert_creates_then_updates_the_same_contact(env: Env) -> None:
    # GIVEN an empty location
    # WHEN the same email is upserted twice
    first = env.client.upsert_contact(ContactUpsert(email="up@example.com", first_name="One"))
    second = env.client.upsert_contact(ContactUpsert(email="up@example.com", first_name="Two"))

    # THEN the first created and the second updated the same contact
    assert (first.new, second.new) == (True, False)
    assert second.contact.id == first.contact.id and second.contact.first_name == "Two"


def test_find_duplicate_by_email_and_by_phone(env: Env) -> None:
    # GIVEN a contact with an email and a phone
    contact = env.client.create_contact(ContactCreate(email="find@example.com", phone="+15550001111"))

    # WHEN duplicates are looked up by each, and by an unknown email
    by_email = env.client.find_duplicate(email="find@example.com")
    by_phone = env.client.find_duplicate(phone="+15550001111")
    nobody = env.client.find_duplicate(email="nobody@example.com")

    # THEN the contact is found by both keys, and nothing for the unknown one
    assert by_email is not None and by_email.id == contact.id
    assert by_phone is not None and by_phone.id == contact.id
    assert nobody is None


@pytest.mark.ghl_variants("lowercase-tags")
def test_tags_are_added_and_removed_as_deltas(env: Env) -> None:
    # GIVEN a contact with one tag
    contact = env.client.create_contact(ContactCreate(email="tags@example.com", tags=["keep"]))

    # WHEN tags are added and one removed
    env.client.add_tags(contact.id, ["vip", "lead"])
    env.client.remove_tags(contact.id, ["lead"])

    # THEN the contact keeps the original tag plus the one still added
    assert set(env.client.get_contact(contact.id).tags) == {"keep", "vip"}


def test_a_body_ghl_rejects_is_a_validation_error_listing_why(env: Env) -> None:
    # GIVEN a contact whose email GHL will not accept
    contact = ContactCreate(email="not-an-email")

    # WHEN it is created
    with pytest.raises(GhlValidationError) as caught:
        env.client.create_contact(contact)

    # THEN GHL's 422 message list comes back, and nothing was retried
    assert any("email" in message for message in caught.value.messages)
    assert statuses(env.sandbox) == [422]


# ---------------------------------------------------------------- tasks, notes, appointments


@pytest.mark.ghl_variants("not-found-400")
def test_task_lifecycle(env: Env) -> None:
    # GIVEN a contact
    contact = env.client.create_contact(ContactCreate(email="task@example.com"))
    due = datetime(2030, 3, 4, 5, 6, 7, tzinfo=UTC)

    # WHEN a task is created, updated, completed, listed, read and deleted
    task = env.client.create_task(contact.id, TaskCreate(title="Call", due_date=due, body="quote"))
    env.client.update_task(contact.id, task.id, TaskUpdate(title="Call back"))
    completed = env.client.set_task_completed(contact.id, task.id, True)
    listed = env.client.list_tasks(contact.id)
    read = env.client.get_task(contact.id, task.id)
    env.client.delete_task(contact.id, task.id)

    # THEN every step took effect
    assert task.due_date == due and task.completed is False
    assert completed.completed is True
    assert [t.id for t in listed] == [task.id]
    assert (read.title, read.body, read.contact_id) == ("Call back", "quote", contact.id)
    assert env.client.list_tasks(contact.id) == []


@pytest.mark.ghl_variants("not-found-400")
def test_note_lifecycle(env: Env) -> None:
    # GIVEN a contact
    contact = env.client.create_contact(ContactCreate(email="note@example.com"))

    # WHEN a note is created, updated, listed, read and deleted
    note = env.client.create_note(contact.id, NoteCreate(body="Met at the fair"))
    env.client.update_note(contact.id, note.id, NoteUpdate(body="Met at the spring fair"))
    listed = env.client.list_notes(contact.id)
    read = env.client.get_note(contact.id, note.id)
    env.client.delete_note(contact.id, note.id)

    # THEN every step took effect
    assert [n.id for n in listed] == [note.id]
    assert (read.body, read.contact_id) == ("Met at the spring fair", contact.id)
    with pytest.raises(GhlNotFound):
        env.client.get_note(contact.id, note.id)


def test_appointments_of_a_contact(env: Env) -> None:
    # GIVEN a contact with an appointment booked in the GHL UI
    contact = env.client.create_contact(ContactCreate(email="appt@example.com"))
    booked = env.sandbox.ui_create_appointment(LOCATION, contact.id, title="Site visit")

    # WHEN the contact's appointments are listed
    appointments = env.client.list_appointments(contact.id)

    # THEN the booking is there
    assert [(a.id, a.title, a.contact_id) for a in appointments] == [(booked.id, "Site visit", contact.id)]


# ---------------------------------------------------------------- auth


def test_an_unknown_token_is_unauthorized_invalid_token(env: Env) -> None:
    # GIVEN a client holding a token GHL never issued
    client = env.client_for(LOCATION, "pit-00000000-0000-4000-8000-00000000dead")

    # WHEN it calls GHL
    # THEN it is refused as an invalid token, after a single request (a PIT cannot be refreshed)
    with pytest.raises(GhlUnauthorized) as caught:
        client.list_contacts().__next__()
    assert caught.value.kind == "invalid_token"
    assert statuses(env.sandbox) == [401]


def test_a_token_for_another_location_is_forbidden(env: Env) -> None:
    # GIVEN a client for one location holding the other location's token
    client = env.client_for(LOCATION, OTHER_PIT)

    # WHEN it lists the location
    # THEN GHL forbids it
    with pytest.raises(GhlForbidden):
        next(client.list_contacts())


def test_a_revoked_token_is_replaced_by_the_provider_and_retried(env: Env) -> None:
    # GIVEN a provider whose token is revoked, and a rotated token it can switch to
    env.sandbox.add_pit(LOCATION, "pit-00000000-0000-4000-8000-0000000000aa")
    env.sandbox.revoke_token(PIT)

    class RotatingProvider:
        def __init__(self) -> None:
            self.token = PIT
            self.rejected: list[str] = []

        def access_token(self, location_id: str) -> str:
            return self.token

        def token_rejected(self, location_id: str, token: str) -> None:
            self.rejected.append(token)
            self.token = "pit-00000000-0000-4000-8000-0000000000aa"

    provider = RotatingProvider()
    client = GhlClient(
        httpx.Client(transport=env.sandbox.transport()), provider, LOCATION, base_url=BASE,
        clock=env.clock, sleep=env.clock.sleep,
    )  # fmt: skip

    # WHEN the client calls GHL
    contacts = list(client.list_contacts())

    # THEN the rejected token was reported once and the retry with the new one succeeded
    assert contacts == [] and provider.rejected == [PIT]
    assert statuses(env.sandbox) == [401, 200]


# ---------------------------------------------------------------- pagination


def test_listing_sees_every_seeded_contact_exactly_once(env: Env) -> None:
    # GIVEN 340 seeded contacts
    seeded = env.sandbox.seed(LOCATION, contacts=340)

    # WHEN the location is listed 50 at a time
    ids = [c.id for c in env.client.list_contacts(limit=50)]

    # THEN each contact came exactly once, in 7 requests
    assert sorted(ids) == sorted(seeded) and len(ids) == len(set(ids))
    assert len(env.sandbox.request_log) == 7


def test_search_sees_every_seeded_contact_exactly_once(env: Env) -> None:
    # GIVEN 340 seeded contacts
    seeded = env.sandbox.seed(LOCATION, contacts=340)

    # WHEN the location is searched 50 at a time
    ids = [c.id for c in env.client.search_contacts(page_limit=50)]

    # THEN each contact came exactly once
    assert sorted(ids) == sorted(seeded) and len(ids) == len(set(ids))


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to the sandbox and keeps their JSON bodies."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, object]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.content:
            self.bodies.append(json.loads(request.content))
        return self.inner.handle_request(request)


def test_search_beyond_10000_switches_to_search_after_and_still_sees_each_contact_once(env: Env) -> None:
    # GIVEN more contacts than page/pageLimit can reach
    seeded = env.sandbox.seed(LOCATION, contacts=10_120)
    transport = RecordingTransport(env.sandbox.transport())
    client = GhlClient(
        httpx.Client(transport=transport), StaticTokenProvider(PIT), LOCATION, base_url=BASE,
        clock=env.clock, sleep=env.clock.sleep,
    )  # fmt: skip

    # WHEN the whole location is searched 100 at a time
    ids = [c.id for c in client.search_contacts(page_limit=100)]

    # THEN pages 1..100 went by number, the rest by searchAfter, and every contact came exactly once
    assert [b.get("page") for b in transport.bodies[:100]] == list(range(1, 101))
    assert all("searchAfter" in b and "page" not in b for b in transport.bodies[100:])
    assert len(transport.bodies) == 102
    assert len(ids) == len(set(ids)) == len(seeded) and set(ids) == set(seeded)


def test_search_applies_filters(env: Env) -> None:
    # GIVEN seeded contacts and one tagged contact
    env.sandbox.seed(LOCATION, contacts=30)
    tagged = env.client.create_contact(ContactCreate(email="vip@example.com", tags=["vip"]))

    # WHEN contacts tagged vip are searched
    found = list(
        env.client.search_contacts(filters=[SearchFilter(field="tags", operator="contains", value="vip")])
    )

    # THEN only that contact comes back
    assert [c.id for c in found] == [tagged.id]


def test_business_listing_sees_every_contact_of_the_business_once(env: Env) -> None:
    # GIVEN 120 contacts of one business and 30 of none
    business = "641c094001436dbc2081e642"
    in_business = env.sandbox.seed(LOCATION, contacts=120, business_id=business)
    env.sandbox.seed(LOCATION, contacts=30)

    # WHEN the business's contacts are listed 50 at a time
    ids = [c.id for c in env.client.list_business_contacts(business, limit=50)]

    # THEN exactly the business's contacts came, once each
    assert sorted(ids) == sorted(in_business)


# ---------------------------------------------------------------- rate limits and faults


@paced
def test_pacing_by_headers_avoids_429_and_keeps_near_the_allowed_rate(env: Env) -> None:
    # GIVEN a contact and GHL's budget of 100 requests per 10 s
    contact = env.client.create_contact(ContactCreate(email="rate@example.com"))
    start = env.clock()

    # WHEN 450 reads are made back to back
    for _ in range(450):
        env.client.get_contact(contact.id)

    # THEN GHL never answered 429, and the achieved rate is at least 90 % of 10 per second
    assert 429 not in statuses(env.sandbox)
    assert 451 / (env.clock() - start) >= 0.9 * 10


@paced
def test_the_budget_shared_with_another_caller_is_respected(env: Env) -> None:
    # GIVEN another worker of the same location already spent 95 of the 100 requests of this window
    contact = env.client.create_contact(ContactCreate(email="shared@example.com"))
    other = env.client_for(LOCATION, PIT)
    for _ in range(94):
        other.get_contact(contact.id)

    # WHEN this client makes 60 reads
    for _ in range(60):
        env.client.get_contact(contact.id)

    # THEN none was refused: this client learned the spent budget from the headers, not its own count
    assert 429 not in statuses(env.sandbox)


@paced
def test_injected_429s_and_server_errors_are_retried_until_reads_succeed(env: Env) -> None:
    # GIVEN a GHL that fails a third of requests with 429 or 5xx
    contact = env.client.create_contact(ContactCreate(email="faults@example.com"))
    env.sandbox.faults.configure(rate_429=0.15, rate_5xx=0.15)

    # WHEN 60 reads are made
    for _ in range(60):
        assert env.client.get_contact(contact.id).id == contact.id

    # THEN every read succeeded, some after retries
    assert {429, 200} <= set(statuses(env.sandbox))


@paced
def test_a_budget_spent_by_another_caller_is_waited_out_from_the_429s_headers(env: Env) -> None:
    # GIVEN another worker of the same location spent the whole burst budget of a 10 s window
    window_opened = env.clock()
    contact = env.client.create_contact(ContactCreate(email="spent@example.com"))
    other = env.client_for(LOCATION, PIT)
    for _ in range(99):
        other.get_contact(contact.id)

    # WHEN this client, which has not seen those calls, reads twice
    first = env.client.get_contact(contact.id)
    second = env.client.get_contact(contact.id)

    # THEN one call was refused and retried once the window had room again, and none after it
    assert first.id == second.id == contact.id
    assert statuses(env.sandbox).count(429) == 1
    assert env.clock() - window_opened >= 10.0


# ---------------------------------------------------------------- location-wide task search


def test_the_task_search_pages_by_skip_until_a_short_page(env: Env) -> None:
    # GIVEN five tasks over two contacts, one of them completed
    first = env.sandbox.ui_create_contact(LOCATION, firstName="A", email="a@example.com")
    second = env.sandbox.ui_create_contact(LOCATION, firstName="B", email="b@example.com")
    made = [
        env.sandbox.ui_create_task(LOCATION, contact.id, title=f"T{n}", dueDate="2026-03-01T09:00:00Z")
        for n, contact in enumerate([first, first, second, second, second])
    ]
    env.sandbox.ui_update_task(LOCATION, second.id, made[4].id, completed=True)
    mark = len(env.sandbox.request_log)
    # WHEN every task, then the open ones, are searched two per call
    every = [task.id for task in env.client.search_tasks(limit=2)]
    open_ones = [task.id for task in env.client.search_tasks(completed=False, limit=2)]
    # THEN all five came in three calls (2, 2, 1), the open four in three (2, 2, 0), with contacts
    assert sorted(every) == sorted(task.id for task in made)
    assert sorted(open_ones) == sorted(task.id for task in made[:4])
    assert len(env.sandbox.request_log) - mark == 6


def test_a_hub_without_the_task_search_declares_no_task_feed_or_task_listing(env: Env) -> None:
    # GIVEN the hub with the task search turned off (GHL_TASK_SEARCH=false)
    hub = GhlHub(env.client, GhlFieldMap(), task_search=TaskSearch(enabled=False))
    default = GhlHub(env.client, GhlFieldMap())
    # THEN it lists contact ids only and has no snapshot feed; the default hub has both for tasks
    assert (hub.capabilities.id_listing, hub.capabilities.snapshot_feed) == (
        frozenset({EntityKind.CONTACT}),
        frozenset(),
    )
    assert EntityKind.TASK in default.capabilities.id_listing & default.capabilities.snapshot_feed
