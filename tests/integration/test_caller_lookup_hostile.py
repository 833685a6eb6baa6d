"""Hostile input at GET /kixie/{connectionId}/lookup: the documented answer, nothing written, never
a 5xx. Refusals are one 401 body whatever the reason; a bad number is 200 "not found" without a
GHL call. Nothing here writes, so the module shares one World (each test compares before/after).
"""

from collections.abc import Iterator

import pytest

from ghlsync.config import get_settings
from ghlsync.store.connections import ConnectionSecrets
from tests.fixtures.caller_lookup import CallerLookupClient, add_kixie_connection

PHONE = "+14155550100"
UNAUTHORIZED = {"message": "unauthorized"}
NOT_FOUND = {"found": False}
OTHER_KIXIE = "conn-other-kixie"
OTHER_TOKEN = "other-kixie-webhook-token-77d1e0c4"


@pytest.fixture(scope="module")
def hostile() -> Iterator[CallerLookupClient]:
    """GIVEN a World with the Kixie connection (a linked contact on PHONE) and a second one."""
    from sandbox.apps import apps_named
    from sandbox.stack.world import World

    with World(seed=12, apps=apps_named("kayako")) as world:
        add_kixie_connection(world)
        add_kixie_connection(world, OTHER_KIXIE, OTHER_TOKEN)
        client = CallerLookupClient(world)
        client.linked_contact(firstName="Ada", phone=PHONE)
        yield client


@pytest.fixture
def untouched(hostile: CallerLookupClient) -> Iterator[CallerLookupClient]:
    """THEN (after the test) nothing was written and GHL saw no write."""
    world = hostile.world
    before, mark = world.table.scan()["Items"], world.mark()
    yield hostile
    assert world.table.scan()["Items"] == before
    assert world.ghl_writes(since=mark) == []


@pytest.mark.parametrize(
    ("token", "connection"),
    [
        pytest.param(None, None, id="no token"),
        pytest.param("", None, id="empty token"),
        pytest.param("wrong-token", None, id="wrong token"),
        pytest.param(OTHER_TOKEN, None, id="another connection's token"),
        pytest.param("x" * 100_000, None, id="huge token"),
        pytest.param(None, "conn-unknown", id="unknown connection, no token"),
        pytest.param("wrong-token", "conn-unknown", id="unknown connection"),
        pytest.param(OTHER_TOKEN, "..", id="a dotted connection id"),
        pytest.param(OTHER_TOKEN, "c" * 5000, id="huge connection id"),
    ],
)
def test_every_refusal_is_the_same_401(
    untouched: CallerLookupClient, token: str | None, connection: str | None
) -> None:
    # WHEN a lookup comes with no, a wrong or another connection's token, or for an unknown connection
    answer = untouched.call(PHONE, token=token, connection_id=connection)
    # THEN 401 with one body for every reason
    assert answer.status == 401 and answer.json() == UNAUTHORIZED


def test_another_apps_connection_is_refused_even_with_its_own_token(untouched: CallerLookupClient) -> None:
    # GIVEN the World's Kayako connection and its webhook token
    world = untouched.world
    kayako = world.connection_ids["kayako"]
    token = ConnectionSecrets(world.secrets, get_settings().connection_secret_prefix).credential(
        kayako, "webhook_token"
    )
    assert token
    # WHEN it is used on the Kixie lookup route THEN 401
    assert untouched.call(PHONE, token=token, connection_id=kayako).status == 401


@pytest.mark.parametrize(
    "number",
    [
        None,
        "",
        "garbage",
        "+1415555010a",
        "+1234567890123456",
        "9" * 10_000,
        "+١٤١٥٥٥٥٠١٠٠",
        "%2B14155550100",
        "<script>alert(1)</script>",
        "+1 415 555 0100; DROP TABLE",
    ],
)
def test_a_malformed_number_is_not_found_without_a_ghl_call(
    untouched: CallerLookupClient, number: str | None
) -> None:
    # WHEN a lookup with the right token names no usable number
    mark = untouched.world.mark()
    answer = untouched.call(number)
    # THEN 200 "not found", and GHL was not asked
    assert answer.status == 200 and answer.json() == NOT_FOUND
    assert untouched.ghl_calls(since=mark) == []


def test_a_huge_query_string_gets_the_documented_answer(untouched: CallerLookupClient) -> None:
    # WHEN a lookup carries thousands of extra parameters and a huge one
    noise = [(f"p{i}", "v" * 50) for i in range(2000)] + [("blob", "b" * 200_000)]
    answer = untouched.call(PHONE, query=noise)
    # THEN it is answered as without them (the linked contact, from the store)
    assert answer.status == 200 and answer.json()["found"] is True


def test_the_token_is_read_from_the_query_not_a_header(untouched: CallerLookupClient) -> None:
    # WHEN the token comes as a header only THEN 401 (Kixie's lookup URL carries it)
    world = untouched.world
    answer = world.request(
        "GET",
        f"/kixie/{untouched.connection_id}/lookup",
        headers={"token": untouched.token},
        query=[("number", PHONE)],
    )
    assert answer.status == 401


def test_other_methods_are_not_routed(untouched: CallerLookupClient) -> None:
    # WHEN the lookup path is POSTed THEN API Gateway's own 403 (no route), the handler never runs
    answer = untouched.world.request("POST", f"/kixie/{untouched.connection_id}/lookup", body=b"{}")
    assert answer.status == 403
