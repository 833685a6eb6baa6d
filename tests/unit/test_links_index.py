"""Link store gsi1: a contact found by its GHL phone, a contact's tasks and notes by their GHL parent."""

from datetime import UTC, datetime, timedelta

from ghlsync.core.entities import EntityKind
from ghlsync.store.links import Link, LinkState, LinkStore, Shadow, Side
from tests.fixtures.aws import AwsResources

CONNECTION = "conn-kixie-1"
PHONE = "+14155550100"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _contact(ghl_id: str = "g1", phone: str | None = PHONE, connection: str = CONNECTION) -> Link:
    return Link(
        connection_id=connection,
        entity=EntityKind.CONTACT,
        ghl=Shadow(id=ghl_id, fields={"first_name": "Ada", "phone": phone, "tags": []}),
        app=Shadow(id=f"app-{ghl_id}"),
    )


def _note(ghl_id: str, parent: str, at: datetime | None, body: str = "hello") -> Link:
    return Link(
        connection_id=CONNECTION,
        entity=EntityKind.NOTE,
        ghl=Shadow(id=ghl_id, parent_id=parent, fields={"body": body}, source_time=at),
        app=Shadow(id=f"app-{ghl_id}"),
    )


def test_a_contact_is_found_by_its_ghl_phone(aws: AwsResources) -> None:
    # GIVEN a contact link whose GHL side holds an E.164 phone
    store = LinkStore(aws.table)
    stored = store.save(_contact(), previous=None)
    # WHEN its connection's contacts are looked up by that phone THEN it is the one found
    assert store.contacts_by_phone(CONNECTION, PHONE) == [stored]


def test_another_connections_contact_with_the_same_phone_is_not_found(aws: AwsResources) -> None:
    # GIVEN the phone held by a contact of another connection only
    store = LinkStore(aws.table)
    store.save(_contact(connection="conn-other"), previous=None)
    # WHEN looked up for this connection THEN nothing
    assert store.contacts_by_phone(CONNECTION, PHONE) == []


def test_a_changed_phone_moves_the_contact_in_the_index(aws: AwsResources) -> None:
    # GIVEN a linked contact whose GHL phone then changes
    store = LinkStore(aws.table)
    first = store.save(_contact(), previous=None)
    changed = first.with_side(Side.GHL, _contact(phone="+14155550199").ghl)
    store.save(changed, previous=first)
    # WHEN both phones are looked up THEN only the new one finds it
    assert store.contacts_by_phone(CONNECTION, PHONE) == []
    assert [link.ghl.id for link in store.contacts_by_phone(CONNECTION, "+14155550199")] == ["g1"]


def test_a_tombstone_leaves_the_index(aws: AwsResources) -> None:
    # GIVEN a linked contact that is then deleted (tombstone)
    store = LinkStore(aws.table)
    first = store.save(_contact(), previous=None)
    store.save(first.model_copy(update={"state": LinkState.DELETED}), previous=first, expires_at=1)
    # WHEN its phone is looked up THEN nothing
    assert store.contacts_by_phone(CONNECTION, PHONE) == []


def test_a_phone_that_is_not_e164_is_not_indexed(aws: AwsResources) -> None:
    # GIVEN a contact whose GHL phone is written nationally
    store = LinkStore(aws.table)
    store.save(_contact(phone="(415) 555-0100"), previous=None)
    # WHEN that text or its E.164 form is looked up THEN nothing (the lookup asks GHL instead)
    assert store.contacts_by_phone(CONNECTION, "(415) 555-0100") == []
    assert store.contacts_by_phone(CONNECTION, PHONE) == []


def test_a_contacts_notes_are_read_newest_first_within_the_limit(aws: AwsResources) -> None:
    # GIVEN three notes of a contact (one without a source time), and a note of another contact
    store = LinkStore(aws.table)
    for ghl_id, at in (("n-old", T0), ("n-new", T0 + timedelta(hours=2)), ("n-mid", T0 + timedelta(hours=1))):
        store.save(_note(ghl_id, "g1", at), previous=None)
    store.save(_note("n-untimed", "g1", None), previous=None)
    store.save(_note("n-other", "g2", T0 + timedelta(days=1)), previous=None)
    # WHEN two are asked for THEN the two newest of that contact
    notes = store.children_of(CONNECTION, EntityKind.NOTE, "g1", limit=2)
    assert [note.ghl.id for note in notes] == ["n-new", "n-mid"]
    # AND a note without any time sorts oldest
    everything = store.children_of(CONNECTION, EntityKind.NOTE, "g1", limit=10)
    assert [note.ghl.id for note in everything][-1] == "n-untimed"


def test_a_child_without_a_source_time_sorts_by_its_sync_time(aws: AwsResources) -> None:
    # GIVEN two untimed notes synced an hour apart
    store = LinkStore(aws.table)
    store.save(
        _note("n-a", "g1", None).model_copy(update={"synced_at": T0 + timedelta(hours=1)}), previous=None
    )
    store.save(_note("n-b", "g1", None).model_copy(update={"synced_at": T0}), previous=None)
    # WHEN read THEN the later synced first
    assert [n.ghl.id for n in store.children_of(CONNECTION, EntityKind.NOTE, "g1", limit=5)] == ["n-a", "n-b"]


def test_tasks_and_notes_are_read_apart_and_deleted_ones_are_gone(aws: AwsResources) -> None:
    # GIVEN a task and a note of a contact, and a second note then deleted
    store = LinkStore(aws.table)
    task = _note("t1", "g1", T0).model_copy(update={"entity": EntityKind.TASK})
    store.save(
        task.model_copy(update={"ghl": task.ghl.model_copy(update={"fields": {"title": "Call"}})}),
        previous=None,
    )
    store.save(_note("n1", "g1", T0), previous=None)
    gone = store.save(_note("n2", "g1", T0 + timedelta(hours=1)), previous=None)
    store.save(gone.model_copy(update={"state": LinkState.DELETED}), previous=gone, expires_at=1)
    # WHEN each kind is read THEN only its own live links
    assert [t.ghl.id for t in store.children_of(CONNECTION, EntityKind.TASK, "g1", limit=5)] == ["t1"]
    assert [n.ghl.id for n in store.children_of(CONNECTION, EntityKind.NOTE, "g1", limit=5)] == ["n1"]
