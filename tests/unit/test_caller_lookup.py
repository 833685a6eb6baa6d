"""ghlsync.lookup without AWS or HTTP: number parsing, token checks, answer shaping, the caches and
the cost rules (store first, at most one GHL call, none when cached), over in-memory fakes."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.ghl.errors import GhlServerError
from ghlsync.ghl.models import Contact
from ghlsync.lookup import (
    MAX_NOTES,
    MAX_TASKS,
    MAX_TEXT_CHARS,
    NOT_FOUND,
    CallerLookup,
    NotAuthorized,
    Source,
    TtlCache,
    contact_answer,
    parse_number,
    token_matches,
)
from ghlsync.mapping.ghl import GhlFieldMap
from ghlsync.store.connections import Connection, ConnectionSettings, ConnectionStatus
from ghlsync.store.links import Link, Shadow

LOCATION = "locKixie000000000001"
CONNECTION = "conn-kixie-1"
TOKEN = "kixie-lookup-token-0123456789abcdef"
PHONE = "+14155550100"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# ---- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550100", PHONE),
        ("+1 (415) 555-0100", PHONE),
        (" 14155550100", PHONE),  # a "+" the query string decoded as a space
        ("+442079460958", "+442079460958"),
    ],
)
def test_an_international_number_reads_as_e164(raw: str, expected: str) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "garbage",
        "+1415555O100",  # a letter O
        "+1415555010a",
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "+123456",  # 6 digits: too short
        "+" + "1" * 40,
        "+١٤١٥٥٥٥٠١٠٠",  # non-ASCII digits
        "4155550100",  # national, and the connection names no country
        "+1415\x005550100",
        "'; DROP TABLE contacts; --",
    ],
)
def test_anything_else_is_no_number(raw: str | None) -> None:
    assert parse_number(raw) is None


def test_a_national_number_takes_the_connections_country_code() -> None:
    assert parse_number("(415) 555-0100", "US") == PHONE
    assert parse_number("14155550100", "US") == PHONE


# ---- tokens --------------------------------------------------------------------------------------
def test_the_connections_token_matches() -> None:
    assert token_matches(TOKEN, TOKEN)


@pytest.mark.parametrize("presented", [None, "", "wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()])
def test_any_other_token_does_not(presented: str | None) -> None:
    assert not token_matches(presented, TOKEN)


def test_no_token_matches_a_connection_without_one() -> None:
    assert not token_matches(TOKEN, None)
    assert not token_matches("", "")


def test_an_overlong_token_is_refused_even_when_equal() -> None:
    long_token = "t" * 257
    assert not token_matches(long_token, long_token)


# ---- answers -------------------------------------------------------------------------------------
def _child(entity: EntityKind, ghl_id: str, fields: dict[str, object]) -> Link:
    return Link(
        connection_id=CONNECTION,
        entity=entity,
        ghl=Shadow(id=ghl_id, parent_id="g1", fields=fields),
        app=Shadow(id=f"app-{ghl_id}"),
    )


CONTACT_FIELDS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": PHONE,
    "company_name": "Analytical Engines",
    "tags": [],
}


def test_a_found_answer_has_kixies_snake_case_keys_and_the_ghl_url() -> None:
    # GIVEN a contact's canonical fields WHEN shaped THEN Kixie's contact keys, the GHL link, the org
    answer = contact_answer(LOCATION, "g1", CONTACT_FIELDS, [], [])
    assert answer == {
        "found": True,
        "contact": {
            "contact_id": "g1",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone_number": PHONE,
            "url": f"https://app.gohighlevel.com/v2/location/{LOCATION}/contacts/detail/g1",
            "notes": [],
            "tasks": [],
        },
        "org": {"name": "Analytical Engines"},
    }


def test_missing_fields_are_empty_strings_and_no_company_means_no_org() -> None:
    answer = contact_answer(LOCATION, "g1", {"phone": PHONE}, [], [])
    assert answer["contact"]["first_name"] == "" and answer["contact"]["email"] == ""
    assert "org" not in answer


def test_the_newest_notes_are_given_within_bounds() -> None:
    # GIVEN more notes than shown, newest first, one far too long and spread over lines
    notes = [_child(EntityKind.NOTE, f"n{i}", {"body": f"note {i}"}) for i in range(MAX_NOTES + 2)]
    notes[0] = _child(EntityKind.NOTE, "n0", {"body": "long\n\n" + "x" * 5000})
    # WHEN shaped THEN the first MAX_NOTES, each on one line and cut to MAX_TEXT_CHARS
    shown = contact_answer(LOCATION, "g1", CONTACT_FIELDS, notes, [])["contact"]["notes"]
    assert len(shown) == MAX_NOTES and shown[1:] == ["note 1", "note 2"]
    assert len(shown[0]) == MAX_TEXT_CHARS and shown[0].startswith("long x") and shown[0].endswith("…")


def test_only_open_tasks_are_given_soonest_due_first_undated_last() -> None:
    # GIVEN open tasks due at various times, one undated, one completed
    tasks = [
        _child(EntityKind.TASK, "t-late", {"title": "Late", "due_date": "2026-03-09T09:00:00Z"}),
        _child(EntityKind.TASK, "t-none", {"title": "Someday", "due_date": None}),
        _child(
            EntityKind.TASK,
            "t-done",
            {"title": "Done", "due_date": "2026-03-01T09:00:00Z", "completed": True},
        ),
        _child(EntityKind.TASK, "t-soon", {"title": "Soon", "due_date": "2026-03-02T09:00:00Z"}),
    ]
    # WHEN shaped THEN the open ones, soonest first, the undated last
    shown = contact_answer(LOCATION, "g1", CONTACT_FIELDS, [], tasks)["contact"]["tasks"]
    assert shown == [
        {"title": "Soon", "due_date": "2026-03-02T09:00:00Z"},
        {"title": "Late", "due_date": "2026-03-09T09:00:00Z"},
        {"title": "Someday", "due_date": None},
    ]


def test_no_more_than_max_tasks_are_given() -> None:
    tasks = [_child(EntityKind.TASK, f"t{i}", {"title": f"T{i}"}) for i in range(MAX_TASKS * 3)]
    assert len(contact_answer(LOCATION, "g1", CONTACT_FIELDS, [], tasks)["contact"]["tasks"]) == MAX_TASKS


# ---- the cache -----------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_cached_entry_expires_after_its_ttl() -> None:
    # GIVEN an entry put with a 30 s TTL
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(ttl_s=30, max_size=4, clock=clock)
    cache.put("a", 1)
    # WHEN 29 s pass THEN it is there; at 30 s THEN it is gone
    clock.now += 29
    assert cache.get("a") == 1
    clock.now += 1
    assert cache.get("a") is None and len(cache) == 0


def test_the_least_recently_used_entry_leaves_a_full_cache() -> None:
    # GIVEN a full cache of two whose older entry was just read
    cache: TtlCache[str, int] = TtlCache(ttl_s=30, max_size=2, clock=Clock())
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    # WHEN a third is put THEN the one unread longest leaves
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3) and len(cache) == 2


# ---- the service over fakes ----------------------------------------------------------------------
@dataclass
class FakeConnections:
    rows: dict[str, Connection] = field(default_factory=dict)
    reads: int = 0

    def get(self, connection_id: str) -> Connection | None:
        self.reads += 1
        return self.rows.get(connection_id)


@dataclass
class FakeCredentials:
    tokens: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def credential(self, connection_id: str, name: str) -> str | None:
        self.reads += 1
        return self.tokens.get(connection_id) if name == "webhook_token" else None


@dataclass
class FakeLinks:
    by_phone: dict[str, list[Link]] = field(default_factory=dict)
    children: dict[tuple[EntityKind, str], list[Link]] = field(default_factory=dict)

    def contacts_by_phone(self, connection_id: str, phone: str) -> list[Link]:
        return self.by_phone.get(phone, [])

    def children_of(
        self, connection_id: str, entity: EntityKind, ghl_contact_id: str, *, limit: int
    ) -> list[Link]:
        return self.children.get((entity, ghl_contact_id), [])[:limit]


@dataclass
class FakeGhl:
    contacts: dict[str, Contact] = field(default_factory=dict)
    fail: bool = False
    calls: int = 0

    def ghl_single_attempt_client_for(self, connection: Connection) -> "FakeGhl":
        return self

    def field_map_for(self, connection: Connection) -> GhlFieldMap:
        return GhlFieldMap(custom_fields=dict(connection.settings.ghl_custom_fields))

    def find_duplicate(self, *, email: str | None = None, phone: str | None = None) -> Contact | None:
        self.calls += 1
        if self.fail:
            raise GhlServerError("GET /contacts/search/duplicate answered 503", status=503)
        return self.contacts.get(phone or "")


@dataclass
class Harness:
    lookup: CallerLookup
    connections: FakeConnections
    credentials: FakeCredentials
    links: FakeLinks
    ghl: FakeGhl
    clock: Clock


def _connection(app: str = "kixie", status: ConnectionStatus = ConnectionStatus.ACTIVE) -> Connection:
    return Connection(
        connection_id=CONNECTION,
        location_id=LOCATION,
        app=app,
        status=status,
        settings=ConnectionSettings(default_country="US"),
    )


@pytest.fixture
def harness() -> Harness:
    """GIVEN an active Kixie connection with its token, an empty store, GHL knowing nobody."""
    connections = FakeConnections({CONNECTION: _connection()})
    credentials = FakeCredentials({CONNECTION: TOKEN})
    links, ghl, clock = FakeLinks(), FakeGhl(), Clock()
    lookup = CallerLookup(
        app="kixie",
        connections=connections,
        credentials=credentials,
        links=links,
        ghl=ghl,
        clock=clock,
        credentials_ttl_s=60,
        answer_ttl_s=30,
    )
    return Harness(lookup, connections, credentials, links, ghl, clock)


def _linked_contact(ghl_id: str = "g1", at: datetime = T0) -> Link:
    return Link(
        connection_id=CONNECTION,
        entity=EntityKind.CONTACT,
        ghl=Shadow(id=ghl_id, fields=CONTACT_FIELDS, source_time=at),
        app=Shadow(id=PHONE),
    )


def test_a_linked_contact_is_answered_from_the_store_without_ghl(harness: Harness) -> None:
    # GIVEN a contact linked for the number, with a note
    harness.links.by_phone[PHONE] = [_linked_contact()]
    harness.links.children[(EntityKind.NOTE, "g1")] = [
        _child(EntityKind.NOTE, "n1", {"body": "Prefers mornings"})
    ]
    # WHEN the number is looked up
    result = harness.lookup.lookup(CONNECTION, TOKEN, PHONE)
    # THEN the store answered it, with the note, and GHL was not called
    assert result.source is Source.STORE and result.ghl_calls == 0 and harness.ghl.calls == 0
    assert result.answer["contact"]["contact_id"] == "g1"
    assert result.answer["contact"]["notes"] == ["Prefers mornings"]


def test_of_two_contacts_sharing_the_number_the_latest_edited_answers(harness: Harness) -> None:
    harness.links.by_phone[PHONE] = [
        _linked_contact("g-old", T0),
        _linked_contact("g-new", T0 + timedelta(days=1)),
    ]
    assert harness.lookup.lookup(CONNECTION, TOKEN, PHONE).answer["contact"]["contact_id"] == "g-new"


def test_a_number_the_store_lacks_costs_one_ghl_call(harness: Harness) -> None:
    # GIVEN GHL has a contact with the number, the store none
    harness.ghl.contacts[PHONE] = Contact.model_validate(
        {"id": "g9", "locationId": LOCATION, "firstName": "Grace", "phone": PHONE}
    )
    # WHEN looked up THEN one GHL call answered it
    result = harness.lookup.lookup(CONNECTION, TOKEN, PHONE)
    assert result.source is Source.GHL and harness.ghl.calls == 1
    assert (
        result.answer["contact"]["first_name"] == "Grace" and result.answer["contact"]["contact_id"] == "g9"
    )


def test_a_repeated_lookup_is_answered_from_the_cache_until_its_ttl(harness: Harness) -> None:
    # GIVEN a number nobody has, looked up once (one GHL call)
    assert harness.lookup.lookup(CONNECTION, TOKEN, PHONE).source is Source.NOBODY
    # WHEN it is looked up again within the TTL THEN no GHL call
    again = harness.lookup.lookup(CONNECTION, TOKEN, "+1 415 555 0100")
    assert again.source is Source.CACHE and again.answer == NOT_FOUND and harness.ghl.calls == 1
    # WHEN the TTL has passed THEN GHL is asked again
    harness.clock.now += 30
    assert harness.lookup.lookup(CONNECTION, TOKEN, PHONE).source is Source.NOBODY and harness.ghl.calls == 2


def test_a_ghl_failure_answers_not_found_and_is_not_cached(harness: Harness) -> None:
    # GIVEN GHL failing
    harness.ghl.fail = True
    # WHEN looked up THEN "not found", from a failed call
    result = harness.lookup.lookup(CONNECTION, TOKEN, PHONE)
    assert result.answer == NOT_FOUND and result.source is Source.GHL_FAILED and result.ghl_calls == 1
    # AND once GHL recovers, the next lookup asks it (nothing was cached)
    harness.ghl.fail = False
    assert harness.lookup.lookup(CONNECTION, TOKEN, PHONE).source is Source.NOBODY and harness.ghl.calls == 2


def test_a_malformed_number_is_not_found_without_any_read(harness: Harness) -> None:
    result = harness.lookup.lookup(CONNECTION, TOKEN, "not-a-number")
    assert result.answer == NOT_FOUND and result.source is Source.MALFORMED and harness.ghl.calls == 0


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_missing_or_wrong_token_is_refused(harness: Harness, token: str | None) -> None:
    with pytest.raises(NotAuthorized):
        harness.lookup.lookup(CONNECTION, token, PHONE)
    assert harness.ghl.calls == 0


@pytest.mark.parametrize(
    "connection", [_connection(status=ConnectionStatus.DISABLED), _connection(app="kayako")]
)
def test_a_disabled_or_other_apps_connection_is_refused(harness: Harness, connection: Connection) -> None:
    # GIVEN the right token on a connection that is disabled, or of another app
    harness.connections.rows[CONNECTION] = connection
    # WHEN looked up THEN refused like a wrong token, and its secret never read
    with pytest.raises(NotAuthorized):
        harness.lookup.lookup(CONNECTION, TOKEN, PHONE)
    assert harness.credentials.reads == 0


@pytest.mark.parametrize("connection_id", ["conn-unknown", "", "../etc", "c" * 65, "conn kixie"])
def test_an_unknown_or_malformed_connection_is_refused(harness: Harness, connection_id: str) -> None:
    with pytest.raises(NotAuthorized):
        harness.lookup.lookup(connection_id, TOKEN, PHONE)


def test_a_malformed_connection_id_reads_nothing(harness: Harness) -> None:
    with pytest.raises(NotAuthorized):
        harness.lookup.lookup("../" + CONNECTION, TOKEN, PHONE)
    assert harness.connections.reads == 0


def test_the_token_is_read_once_per_ttl_and_a_rotated_one_takes_over_after_it(harness: Harness) -> None:
    # GIVEN two lookups with the token (one read of the row and the secret)
    harness.lookup.lookup(CONNECTION, TOKEN, PHONE)
    harness.lookup.lookup(CONNECTION, TOKEN, "+14155550101")
    assert (harness.connections.reads, harness.credentials.reads) == (1, 1)
    # WHEN the token is rotated and the credentials TTL passes
    harness.credentials.tokens[CONNECTION] = "rotated-token-0123456789"
    harness.clock.now += 60
    # THEN the old token is refused and the new one opens the connection
    with pytest.raises(NotAuthorized):
        harness.lookup.lookup(CONNECTION, TOKEN, PHONE)
    assert harness.lookup.lookup(CONNECTION, "rotated-token-0123456789", PHONE).answer == NOT_FOUND
