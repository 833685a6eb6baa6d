"""eKyte flow 3, notes: a comment added in eKyte to a client's task is attached to the linked GHL
contact as a note when the sweep polls, once, and never comes back to eKyte as a board note."""

import pytest

from ghlsync.core.entities import EntityKind
from sandbox.stack.world import World
from tests.fixtures.ekyte_refresh import ekyte_fake

pytestmark = pytest.mark.integration


def _client_task(world: World) -> tuple[str, int]:
    """A synced GHL contact and a task of it made in eKyte, already polled into GHL."""
    contact = world.ghl.ui_create_contact(
        world.location_id, email="ada@engines.example", firstName="Ada", companyName="Engines Ltd"
    )
    world.settle()
    client = world.app_id_of(EntityKind.CONTACT, contact.id, app="ekyte")
    task = ekyte_fake(world).ui_create_task(
        "Design review", due="2026-12-21T09:00:00Z", description=f"ghlsync: contact={client}"
    )
    world.clock.advance(60)
    world.sweep()
    world.settle()
    return contact.id, task.id


def test_a_comment_on_a_clients_task_becomes_a_note_of_the_ghl_contact_once(ekyte_world: World) -> None:
    # GIVEN a client's task known on both sides
    contact, task = _client_task(ekyte_world)
    boards_before = len(ekyte_fake(ekyte_world).store.notes)

    # WHEN someone comments on it in eKyte, and the sweep polls twice
    ekyte_fake(ekyte_world).ui_comment_task(task, "Client approved the mock-ups")
    for _ in range(2):
        ekyte_world.clock.advance(60)
        ekyte_world.sweep()
        ekyte_world.settle()

    # THEN the GHL contact has the note once, and eKyte got no board note back (an echo)
    assert [n.body for n in ekyte_world.ghl_api().list_notes(contact)] == ["Client approved the mock-ups"]
    assert len(ekyte_fake(ekyte_world).store.notes) == boards_before


def test_a_quiet_poll_reads_no_comments(ekyte_world: World) -> None:
    # GIVEN a client's task polled long ago (out of the 15-minute window)
    _client_task(ekyte_world)
    ekyte_world.clock.advance(20 * 60)
    ekyte_world.sweep()
    mark = ekyte_world.mark()

    # WHEN the sweep polls again with nothing new
    ekyte_world.clock.advance(60)
    ekyte_world.sweep()

    # THEN no MCP call was made to list comments
    assert [c for c in ekyte_world.api_calls("ekyte", since=mark) if c.path.startswith("/mcp")] == []
