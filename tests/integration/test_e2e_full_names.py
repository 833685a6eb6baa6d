"""Bug 7.2 through the real handlers (sandbox.stack.world): Kayako stores one full name, so the engine
merges first + last name as one value, and a name split back for GHL keeps GHL's first name when
the full name still starts with it."""

from collections.abc import Iterator

import pytest

from ghlsync.core.entities import EntityKind
from sandbox.apps import apps_named
from sandbox.stack.world import World

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with World(seed=19, apps=apps_named("kayako")) as started:
        yield started


def synced_mary_ann(world: World) -> tuple[str, int]:
    """GHL `Mary Ann` / `Smith`, synced to Kayako: (GHL contact id, Kayako user id)."""
    contact = world.ghl.ui_create_contact(
        world.location_id, firstName="Mary Ann", lastName="Smith", email="mary.ann@example.com"
    )
    world.settle()
    return contact.id, int(world.app_id_of(EntityKind.CONTACT, contact.id, app="kayako"))


def ghl_name(world: World, contact_id: str) -> tuple[str | None, str | None]:
    contact = world.ghl_reader().get_contact(contact_id)
    assert contact is not None
    return contact.first_name, contact.last_name


def test_a_two_word_first_name_reaches_kayako_as_one_full_name(world: World) -> None:
    # GIVEN / WHEN GHL `Mary Ann` / `Smith` is synced
    _, user_id = synced_mary_ann(world)
    # THEN Kayako holds the full name
    assert world.kayako.store.user(user_id).full_name == "Mary Ann Smith"


def test_a_surname_fixed_in_kayako_keeps_ghls_two_word_first_name(world: World) -> None:
    # GIVEN GHL `Mary Ann` / `Smith` synced to Kayako as `Mary Ann Smith`
    contact_id, user_id = synced_mary_ann(world)
    # WHEN an agent fixes the surname in Kayako
    world.kayako.ui_update_user(user_id, full_name="Mary Ann Smyth")
    world.settle()
    # THEN GHL gets the new surname under the same first name, and Kayako keeps the agent's name
    assert ghl_name(world, contact_id) == ("Mary Ann", "Smyth")
    assert world.kayako.store.user(user_id).full_name == "Mary Ann Smyth"


def test_the_two_sides_converge_after_the_fix(world: World) -> None:
    # GIVEN the surname fixed in Kayako and synced to GHL
    contact_id, user_id = synced_mary_ann(world)
    world.kayako.ui_update_user(user_id, full_name="Mary Ann Smyth")
    world.settle()
    mark = world.mark()
    # WHEN GHL then changes the surname again
    world.ghl.ui_update_contact(world.location_id, contact_id, lastName="Smythe")
    world.settle()
    # THEN Kayako follows with one write, and nothing bounces back to GHL
    assert world.kayako.store.user(user_id).full_name == "Mary Ann Smythe"
    assert ghl_name(world, contact_id) == ("Mary Ann", "Smythe")
    assert world.ghl_writes(since=mark) == []
