"""Bug 7.1 through the real handlers (sandbox.stack.world): tag identity is case-insensitive, and each
side is written in its own spelling. Run against both GHL behaviours, since whether GHL lower-cases
the tags it stores is unconfirmed: the GHL sandbox's default and its `lowercase-tags` variant."""

from collections.abc import Iterator

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.sync.tags import keys
from sandbox.apps import apps_named
from sandbox.ghl.variants import GhlVariant
from sandbox.stack.world import World

pytestmark = [pytest.mark.integration, pytest.mark.ghl_variants("lowercase-tags")]


@pytest.fixture
def world(ghl_variant: GhlVariant) -> Iterator[World]:
    with World(seed=17, apps=apps_named("kayako"), ghl_variant=ghl_variant) as started:
        yield started


def kayako_user_tagged(world: World, tag: str) -> tuple[str, int]:
    """A Kayako user tagged `tag`, synced to GHL: (GHL contact id, Kayako user id)."""
    user = world.kayako.ui_create_user("Grace Hopper", email="grace@example.com")
    world.settle()
    world.kayako.ui_add_tags(user.id, tag)
    world.settle()
    return world.ghl_id_of(EntityKind.CONTACT, user.id, app="kayako"), user.id


def ghl_tags(world: World, contact_id: str) -> list[str]:
    return list(world.ghl.crm.contact(world.location_id, contact_id).tags)


def test_a_mixed_case_kayako_tag_reaches_ghl_in_kayakos_spelling(world: World) -> None:
    # GIVEN / WHEN a Kayako user tagged `Probe-Mixed` is synced
    contact_id, _ = kayako_user_tagged(world, "Probe-Mixed")
    # THEN GHL holds the tag as sent (or lower-cased, where GHL lower-cases what it stores)
    expected = ["probe-mixed"] if world.ghl.crm.lowercase_tags else ["Probe-Mixed"]
    assert ghl_tags(world, contact_id) == expected


def test_removing_the_tag_in_ghl_removes_it_in_kayako_for_good(world: World) -> None:
    # GIVEN a Kayako tag `Probe-Mixed` synced to GHL
    contact_id, user_id = kayako_user_tagged(world, "Probe-Mixed")
    # WHEN a GHL user removes it (spelled as GHL shows it) and later the Kayako user changes
    world.ghl.ui_remove_tags(world.location_id, contact_id, ghl_tags(world, contact_id))
    world.settle()
    removed_in_kayako = world.kayako.store.tags_of(user_id)
    world.kayako.ui_add_tags(user_id, "Later")
    world.settle()
    # THEN Kayako lost the tag too, and the later change does not bring it back to GHL
    assert removed_in_kayako == []
    assert keys(ghl_tags(world, contact_id)) == {"later"}
    assert world.kayako.store.tags_of(user_id) == ["Later"]


def test_a_tag_respelled_by_ghl_is_not_a_change(world: World) -> None:
    # GIVEN a Kayako tag `Probe-Mixed` synced to GHL (which may have lower-cased it)
    contact_id, user_id = kayako_user_tagged(world, "Probe-Mixed")
    mark = world.mark()
    # WHEN an unrelated Kayako change syncs
    world.kayako.ui_update_user(user_id, full_name="Grace B. Hopper")
    world.settle()
    # THEN no tag is written on either side: the two spellings are one tag
    calls = world.ghl_writes(since=mark) + world.app_writes("kayako", since=mark)
    assert [c for c in calls if "/tags" in c.path] == []
    assert world.kayako.store.tags_of(user_id) == ["Probe-Mixed"]
    assert keys(ghl_tags(world, contact_id)) == {"probe-mixed"}
