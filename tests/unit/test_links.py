"""Link store: both directions written together, optimistic locking, tombstones; checkpoints."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.links import Link, LinkConflict, LinkState, LinkStore, Shadow, Side
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]


def _link(ghl_id: str = "g1", app_id: str = "a1") -> Link:
    return Link(
        connection_id="conn1",
        entity=EntityKind.CONTACT,
        ghl=Shadow(id=ghl_id, content_hash="h", fields={"tags": ["vip"]}),
        app=Shadow(id=app_id),
    )


def test_a_saved_link_is_found_from_either_side(table: Any) -> None:
    # GIVEN a new link saved
    store = LinkStore(table)
    stored = store.save(_link(), previous=None)
    # THEN both ids find the same link, version 1, shadow intact
    assert store.get("conn1", EntityKind.CONTACT, Side.GHL, "g1") == stored
    assert store.get("conn1", EntityKind.CONTACT, Side.APP, "a1") == stored
    assert stored.version == 1 and stored.ghl.tags == frozenset({"vip"})


def test_saving_a_new_link_over_an_existing_one_is_a_conflict(table: Any) -> None:
    # GIVEN a stored link
    store = LinkStore(table)
    store.save(_link(), previous=None)
    # WHEN another writer saves a "new" link with the same app id
    # THEN it is refused and nothing changes
    with pytest.raises(LinkConflict):
        store.save(_link(ghl_id="g2"), previous=None)
    assert store.get("conn1", EntityKind.CONTACT, Side.GHL, "g2") is None


def test_update_from_a_stale_read_is_a_conflict(table: Any) -> None:
    # GIVEN a link updated once since it was read
    store = LinkStore(table)
    first = store.save(_link(), previous=None)
    store.save(first, previous=first)
    # WHEN the old read is used to update again
    # THEN the write is refused
    with pytest.raises(LinkConflict):
        store.save(first, previous=first)


def test_repointing_a_link_removes_the_old_direction(table: Any) -> None:
    # GIVEN a link g1<->a1 re-pointed to g2<->a1
    store = LinkStore(table)
    first = store.save(_link(), previous=None)
    store.save(_link(ghl_id="g2"), previous=first)
    # THEN g1 no longer resolves and a1 resolves to g2
    assert store.get("conn1", EntityKind.CONTACT, Side.GHL, "g1") is None
    moved = store.get("conn1", EntityKind.CONTACT, Side.APP, "a1")
    assert moved is not None and moved.ghl.id == "g2"


def test_tombstone_carries_a_ttl(table: Any) -> None:
    # GIVEN a link turned into a tombstone with an expiry
    store = LinkStore(table)
    first = store.save(_link(), previous=None)
    store.save(
        first.model_copy(update={"state": LinkState.DELETED}), previous=first, expires_at=1_900_000_000
    )
    # THEN both items expire and read as deleted
    item = table.get_item(Key={"pk": "LINK#conn1", "sk": "contact#app#a1"})["Item"]
    assert item["expires_at"] == 1_900_000_000 and item["state"] == "deleted"


def test_links_are_listed_per_connection_kind_and_side(table: Any) -> None:
    # GIVEN two contact links and a task link
    store = LinkStore(table)
    store.save(_link("g1", "a1"), previous=None)
    store.save(_link("g2", "a2"), previous=None)
    store.save(_link("g3", "a3").model_copy(update={"entity": EntityKind.TASK}), previous=None)
    # THEN listing contacts from the GHL side yields exactly the two contact links
    assert sorted(link.ghl.id for link in store.iter_links("conn1", EntityKind.CONTACT)) == ["g1", "g2"]


def test_delete_removes_both_directions(table: Any) -> None:
    store = LinkStore(table)
    stored = store.save(_link(), previous=None)
    store.delete(stored)
    assert store.get("conn1", EntityKind.CONTACT, Side.APP, "a1") is None
    assert store.get("conn1", EntityKind.CONTACT, Side.GHL, "g1") is None


def test_checkpoint_only_moves_forward(table: Any) -> None:
    # GIVEN a checkpoint at T
    store = CheckpointStore(table)
    t = datetime(2026, 3, 1, tzinfo=UTC)
    assert store.advance("conn1", "ghl#contact", t)
    # WHEN an older position is offered
    moved = store.advance("conn1", "ghl#contact", t - timedelta(minutes=5))
    # THEN it is refused and T stays
    assert not moved
    assert store.get("conn1", "ghl#contact") == t
