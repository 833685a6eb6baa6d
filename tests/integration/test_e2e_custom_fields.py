"""Custom fields mapped by GHL field key (`contact.membership_status`) end to end, GHL + Kayako
only: the engine resolves the key to the field's id from the location's definitions (one GET)
and syncs the value both ways; GHL holds it under the real id."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from ghlsync.core.entities import EntityKind
from sandbox.apps.kayako.stack import KAYAKO
from sandbox.ghl.custom_fields import define_field
from sandbox.stack.world import World

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with World(seed=41, apps=[KAYAKO]) as started:
        define_field(started.ghl, started.location_id, "Membership Status", "TEXT")
        connection = started.connections.get(started.connection_id)
        assert connection is not None
        settings = connection.settings.model_copy(
            update={
                "ghl_custom_fields": {"contact.membership_status": "membership"},
                "app": {**connection.settings.app, "custom_field_map": {"membership": "membership_status"}},
            }
        )
        started.connections.put(
            connection.model_copy(
                update={"settings": settings, "updated_at": connection.updated_at + timedelta(seconds=1)}
            )
        )
        yield started


def _definition_reads(world: World, since: int) -> int:
    return sum(1 for call in world.api_calls("ghl", since=since) if call.path.endswith("/customFields"))


def test_a_ghl_value_under_a_mapped_key_reaches_kayako(world: World) -> None:
    # GIVEN a connection mapping contact.membership_status onto Kayako's membership_status
    mark = world.mark()
    # WHEN a GHL contact with the field is created and the stack settles
    contact = world.ghl.ui_create_contact(
        world.location_id,
        email="member@example.com",
        customFields=[{"key": "contact.membership_status", "field_value": "gold"}],
    )
    world.settle()
    # THEN the Kayako user holds the value, and the definitions were read once
    user_id = world.app_id_of(EntityKind.CONTACT, contact.id)
    assert world.kayako.store.users[int(user_id)].custom_fields.get("membership_status") == "gold"
    assert _definition_reads(world, mark) == 1


def test_a_kayako_value_is_written_to_ghl_under_the_field_id(world: World) -> None:
    # GIVEN a synced contact
    contact = world.ghl.ui_create_contact(world.location_id, email="member2@example.com")
    world.settle()
    user_id = int(world.app_id_of(EntityKind.CONTACT, contact.id))
    # WHEN its Kayako user's mapped field changes
    world.clock.advance(30)
    world.kayako.ui_update_user(user_id, custom_fields={"membership_status": "silver"})
    world.settle()
    # THEN GHL holds it under the real field id
    stored = world.ghl.store.location(world.location_id).contacts[contact.id].fields.get("customFields")
    (field_id,) = world.ghl.store.location(world.location_id).custom_fields
    assert stored == {field_id: "silver"}
