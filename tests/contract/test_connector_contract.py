"""The connector contract: what every (connector, fake) pair must do, checked the same way.

Each test runs once per subject in `tests/fixtures/contract.py` (GHL as the hub, Kayako, and every
app that joins). The connector is the real one, talking HTTP to its fake in-process.
"""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ghlsync.apps.base import RECORD_OPS, Operation, as_contact_listing, as_id_listing, as_upserts
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import ConnectorError, MalformedWebhook, WebhookRejected
from ghlsync.mapping.canonical import CanonicalNote, CanonicalTask
from tests.fixtures.contract import LISTING_PAGE_SIZE, ContractSubject, unique_contact

pytestmark = pytest.mark.integration

CONTACT_FIELDS = ["first_name", "last_name", "email", "phone", "company_name"]


def _declares(subject: ContractSubject, *operations: Operation) -> None:
    """Skip a check of what the connector does not declare (it need not implement it)."""
    capabilities = subject.connector.capabilities
    missing = [op.value for op in operations if not capabilities.can(EntityKind.CONTACT, op)]
    if missing:
        pytest.skip(f"{subject.name} declares no contact {', '.join(missing)}")


def _person(contact: object) -> tuple[object, ...]:
    return tuple(getattr(contact, name) for name in ("first_name", "last_name", "email", "phone"))


def test_a_lookup_finds_nothing_before_the_create(subject: ContractSubject) -> None:
    _declares(subject, Operation.FIND)
    # GIVEN a contact that exists nowhere yet
    contact = unique_contact()
    # WHEN the connector looks it up by e-mail and phone
    found = subject.connector.find_contacts(email=contact.email, phone=contact.phone)
    # THEN nothing matches
    assert found == []


def test_a_lookup_finds_the_created_contact_by_email(subject: ContractSubject) -> None:
    _declares(subject, Operation.CREATE, Operation.FIND)
    # GIVEN a contact created through the connector
    created = subject.connector.create_contact(unique_contact())
    # WHEN it is looked up by its e-mail alone
    found = subject.connector.find_contacts(email=created.email, phone=None)
    # THEN the lookup finds exactly that record
    assert [c.id for c in found] == [created.id]


def test_a_created_contact_reads_back_equal(subject: ContractSubject) -> None:
    _declares(subject, Operation.CREATE, Operation.READ)
    # GIVEN a contact
    contact = unique_contact()
    # WHEN it is created and read back
    created = subject.connector.create_contact(contact)
    assert created.id
    read = subject.connector.get_contact(created.id)
    # THEN the side holds what was sent, and the create answered the same record
    assert read is not None
    assert _person(read) == _person(contact) == _person(created)


@pytest.mark.parametrize("field_name", CONTACT_FIELDS)
def test_each_mapped_field_updates(subject: ContractSubject, field_name: str) -> None:
    _declares(subject, Operation.CREATE, Operation.UPDATE, Operation.READ)
    if field_name not in subject.mapped_updates:
        pytest.skip(f"{subject.name} does not map {field_name}")
    # GIVEN a created contact
    created = subject.connector.create_contact(unique_contact())
    assert created.id
    # WHEN one mapped field is changed
    value = subject.mapped_updates[field_name]
    wanted = created.model_copy(update={field_name: value})
    answered = subject.connector.update_contact(created.id, wanted, frozenset({field_name}))
    # THEN the update's answer and a fresh read both hold the new value
    read = subject.connector.get_contact(created.id)
    assert read is not None
    assert getattr(answered, field_name) == getattr(read, field_name) == value


def test_a_missing_record_reads_as_none(subject: ContractSubject) -> None:
    _declares(subject, Operation.READ)
    # GIVEN an id that names no record
    # WHEN it is read
    # THEN the answer is None, not an error
    assert subject.connector.get_contact(subject.missing_id()) is None


def test_deleting_twice_is_fine(subject: ContractSubject) -> None:
    _declares(subject, Operation.CREATE, Operation.DELETE, Operation.READ)
    # GIVEN a created contact
    created = subject.connector.create_contact(unique_contact())
    assert created.id
    # WHEN it is deleted twice (a retried delete)
    subject.connector.delete_contact(created.id)
    subject.connector.delete_contact(created.id)
    # THEN it is gone
    assert subject.connector.get_contact(created.id) is None


def test_a_webhook_from_the_app_parses_into_the_changed_record(subject: ContractSubject) -> None:
    if not subject.connector.capabilities.inbound.webhooks:
        pytest.skip(f"{subject.name} declares no webhooks")
    # GIVEN a record changed in the app, which sent its webhook
    request, expected = subject.emit_webhook()
    # WHEN the connector verifies and parses it
    subject.connector.verify_webhook(request)
    events = subject.connector.parse_webhook(
        request, location_id=subject.location_id, connection_id=subject.connection_id
    )
    # THEN it is one upsert of that record
    assert [(e.entity, e.action, e.entity_id) for e in events] == [expected]


def test_a_webhook_with_a_wrong_secret_or_signature_is_rejected(subject: ContractSubject) -> None:
    if not subject.connector.capabilities.inbound.webhooks:
        pytest.skip(f"{subject.name} declares no webhooks")
    # GIVEN a real webhook, with its secret or signature no longer matching
    request, _ = subject.emit_webhook()
    forged = subject.forge(request)
    # WHEN the connector verifies it
    # THEN it is rejected
    with pytest.raises(WebhookRejected):
        subject.connector.verify_webhook(forged)


def test_a_webhook_body_that_is_not_the_apps_is_malformed(subject: ContractSubject) -> None:
    if not subject.connector.capabilities.inbound.webhooks:
        pytest.skip(f"{subject.name} declares no webhooks")
    # GIVEN a verified-looking request whose body is not JSON
    request, _ = subject.emit_webhook()
    garbage = type(request)(body=b"not json", headers=request.headers, query=request.query, path_params={})
    # WHEN the connector parses it
    # THEN it says the body is malformed
    with pytest.raises(MalformedWebhook):
        subject.connector.parse_webhook(
            garbage, location_id=subject.location_id, connection_id=subject.connection_id
        )


def test_change_listing_includes_a_change_at_its_checkpoint(subject: ContractSubject) -> None:
    if subject.connector.capabilities.inbound.feed is None:
        pytest.skip(f"{subject.name} declares no change feed")
    # GIVEN a checkpoint taken at the moment a contact is created
    checkpoint = subject.now()
    created = subject.connector.create_contact(unique_contact())
    # WHEN changes are listed since that checkpoint
    listed = {e.entity_id for e in subject.connector.list_changes(checkpoint)}
    # THEN the contact is among them (inclusive: a same-second change is never lost)
    assert created.id in listed


def test_change_listing_resumes_after_its_checkpoint(subject: ContractSubject) -> None:
    if subject.connector.capabilities.inbound.feed is None:
        pytest.skip(f"{subject.name} declares no change feed")
    # GIVEN one contact changed, then later another
    first = subject.connector.create_contact(unique_contact())
    subject.advance(120)
    checkpoint = subject.now()
    subject.advance(1)
    second = subject.connector.create_contact(unique_contact())
    # WHEN changes are listed from the later checkpoint
    listed = {e.entity_id for e in subject.connector.list_changes(checkpoint)}
    # THEN only the later change is listed again
    assert second.id in listed and first.id not in listed


def test_an_upsert_repeated_holds_the_contact_once(subject: ContractSubject) -> None:
    _declares(subject, Operation.UPSERT)
    upserts = as_upserts(subject.connector)
    # GIVEN a hub contact written to the app once
    contact = unique_contact().model_copy(update={"id": "hub-contact-1"})
    key = upserts.contact_key(contact)
    before = subject.contact_count()
    written = upserts.upsert_contact(key, contact, None)
    # WHEN the same write is repeated (a retried event that lost what it wrote)
    upserts.upsert_contact(key, contact, None)
    # THEN the app holds it once, under its key
    assert written.id == key
    assert subject.contact_count() == before + 1


def test_an_upsert_under_a_new_key_takes_the_old_entry_out(subject: ContractSubject) -> None:
    _declares(subject, Operation.UPSERT)
    upserts = as_upserts(subject.connector)
    # GIVEN a hub contact written to the app
    contact = unique_contact().model_copy(update={"id": "hub-contact-2"})
    first = upserts.upsert_contact(upserts.contact_key(contact), contact, None)
    before = subject.contact_count()
    # WHEN its key changes (Kixie: a new phone number) and it is written again
    moved = contact.model_copy(update={"phone": "+14155550987"})
    second = upserts.upsert_contact(upserts.contact_key(moved), moved, first)
    # THEN the app holds it under the new key only
    assert second.id != first.id
    assert subject.contact_count() == before


def test_an_upsert_times_out_after_applying_and_its_retry_holds_one(subject: ContractSubject) -> None:
    _declares(subject, Operation.UPSERT)
    upserts = as_upserts(subject.connector)
    # GIVEN a side that from now on applies every request and then loses the answer
    contact = unique_contact().model_copy(update={"id": "hub-contact-3"})
    key = upserts.contact_key(contact)
    before = subject.contact_count()
    subject.time_out_after_applying_every_request()
    # WHEN an upsert fails that way and is retried once the side heals
    with pytest.raises(ConnectorError) as caught:
        upserts.upsert_contact(key, contact, None)
    subject.heal()
    upserts.upsert_contact(key, contact, None)
    # THEN the failure was transient and the side holds the contact once
    assert caught.value.transient is True
    assert subject.contact_count() == before + 1


def _one_request(subject: ContractSubject) -> Callable[[], object]:
    """One call the side declares: a read, or for a side that cannot be read, an upsert."""
    if subject.connector.capabilities.can(EntityKind.CONTACT, Operation.READ):
        return lambda: subject.connector.get_contact(subject.missing_id())
    _declares(subject, Operation.UPSERT)
    contact = unique_contact().model_copy(update={"id": "hub-contact-4"})
    upserts = as_upserts(subject.connector)
    return lambda: upserts.upsert_contact(upserts.contact_key(contact), contact, None)


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_server_errors_are_transient(subject: ContractSubject, status: int) -> None:
    request = _one_request(subject)
    # GIVEN a side that answers every request with 429 or 5xx
    subject.fail_every_request(status)
    # WHEN a read (or, for a side that cannot be read, an upsert) gives up after its retries
    with pytest.raises(ConnectorError) as caught:
        request()
    # THEN the error says a later retry can succeed
    assert caught.value.transient is True


def test_a_refused_request_is_permanent(subject: ContractSubject) -> None:
    _declares(subject, Operation.CREATE)
    # GIVEN a contact the side refuses (an e-mail that is not one)
    bad = unique_contact().model_copy(update={"email": "not-an-email"})
    # WHEN the connector creates it
    with pytest.raises(ConnectorError) as caught:
        subject.connector.create_contact(bad)
    # THEN the error is permanent: retrying the same request cannot help
    assert caught.value.transient is False


def test_a_create_whose_answer_was_lost_is_not_sent_again(subject: ContractSubject) -> None:
    _declares(subject, Operation.CREATE, Operation.READ)
    # GIVEN a connector that has talked to its side (signed in), and a side that from now on
    # applies every request and then loses the answer
    assert subject.connector.get_contact(subject.missing_id()) is None
    before = subject.contact_count()
    subject.time_out_after_applying_every_request()
    # WHEN a create fails that way
    with pytest.raises(ConnectorError) as caught:
        subject.connector.create_contact(unique_contact())
    subject.heal()
    # THEN the failure is transient and the side holds exactly one new contact
    assert caught.value.transient is True
    assert subject.contact_count() == before + 1


def test_adding_tags_twice_keeps_one_of_each(subject: ContractSubject) -> None:
    if not subject.connector.capabilities.tags.can_add:
        pytest.skip(f"{subject.name} declares no tag writes")
    # GIVEN a created contact
    created = subject.connector.create_contact(unique_contact())
    assert created.id
    # WHEN the same tags are added twice (a retried delta)
    subject.connector.add_tags(created.id, frozenset({"vip", "lead"}))
    subject.connector.add_tags(created.id, frozenset({"vip", "lead"}))
    # THEN the contact has each tag once
    read = subject.connector.get_contact(created.id)
    assert read is not None and sorted(read.tags) == ["lead", "vip"]


def test_removing_a_tag_twice_is_fine(subject: ContractSubject) -> None:
    if not subject.connector.capabilities.tags.can_remove:
        pytest.skip(f"{subject.name} declares no tag removal")
    # GIVEN a contact with two tags
    created = subject.connector.create_contact(unique_contact(frozenset({"vip", "lead"})))
    assert created.id
    # WHEN one tag is removed twice
    subject.connector.remove_tags(created.id, frozenset({"lead"}))
    subject.connector.remove_tags(created.id, frozenset({"lead"}))
    # THEN only the other one is left
    read = subject.connector.get_contact(created.id)
    assert read is not None and sorted(read.tags) == ["vip"]


def test_tags_differing_only_in_case_are_one_tag_where_the_app_says_so(subject: ContractSubject) -> None:
    if not subject.connector.capabilities.tags.case_insensitive:
        pytest.skip(f"{subject.name} does not declare case-insensitive tags")
    # GIVEN a contact tagged "Probe-Mixed"
    created = subject.connector.create_contact(unique_contact(frozenset({"Probe-Mixed"})))
    assert created.id
    # WHEN the tag is removed in another spelling
    subject.connector.remove_tags(created.id, frozenset({"probe-mixed"}))
    # THEN the contact has no tag left
    read = subject.connector.get_contact(created.id)
    assert read is not None and read.tags == frozenset()


CHILDREN = {
    EntityKind.TASK: lambda: CanonicalTask(
        title="Call back about the quote", due_date=datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    ),
    EntityKind.NOTE: lambda: CanonicalNote(body="Prefers e-mail after 5pm"),
}


def _declares_child(subject: ContractSubject, entity: EntityKind, *operations: Operation) -> None:
    capabilities = subject.connector.capabilities
    needed = (Operation.CREATE, Operation.READ, *operations)
    if not all(capabilities.can(entity, op) for op in needed) or not capabilities.can(
        EntityKind.CONTACT, Operation.CREATE
    ):
        names = "/".join(op.value for op in needed)
        pytest.skip(f"{subject.name} declares no {entity.value} {names} under a contact")


@pytest.mark.parametrize("entity", list(CHILDREN), ids=str)
def test_a_child_record_created_under_a_contact_reads_back_equal(
    subject: ContractSubject, entity: EntityKind
) -> None:
    _declares_child(subject, entity)
    # GIVEN a contact
    contact = subject.connector.create_contact(unique_contact())
    assert contact.id
    # WHEN a task or note is created under it and read back
    ops = RECORD_OPS[entity]
    record = CHILDREN[entity]()
    created = ops.create(subject.connector, contact.id, record)
    assert created.id
    read = ops.read(subject.connector, contact.id, created.id)
    # THEN the side holds what was sent, in every field it stores
    assert read is not None
    stored = subject.child_fields[entity]
    assert {k: v for k, v in read.fields().items() if k in stored} == {
        k: v for k, v in record.fields().items() if k in stored
    }


@pytest.mark.parametrize("entity", list(CHILDREN), ids=str)
def test_a_child_record_deleted_twice_reads_as_none(subject: ContractSubject, entity: EntityKind) -> None:
    _declares_child(subject, entity, Operation.DELETE)
    # GIVEN a task or note under a contact
    contact = subject.connector.create_contact(unique_contact())
    assert contact.id
    ops = RECORD_OPS[entity]
    created = ops.create(subject.connector, contact.id, CHILDREN[entity]())
    assert created.id
    # WHEN it is deleted twice
    ops.delete(subject.connector, contact.id, created.id)
    ops.delete(subject.connector, contact.id, created.id)
    # THEN it reads as missing
    assert ops.read(subject.connector, contact.id, created.id) is None


@pytest.mark.parametrize("entity", [EntityKind.CONTACT, EntityKind.TASK], ids=str)
def test_an_id_listing_shows_a_record_until_it_is_deleted(
    subject: ContractSubject, entity: EntityKind
) -> None:
    if entity not in subject.connector.capabilities.id_listing:
        pytest.skip(f"{subject.name} declares no {entity.value} id listing")
    # GIVEN a record created through the connector (a task under a new contact)
    contact = subject.connector.create_contact(unique_contact())
    assert contact.id
    record = (
        contact
        if entity is EntityKind.CONTACT
        else RECORD_OPS[entity].create(subject.connector, contact.id, CHILDREN[entity]())
    )
    assert record.id
    listing = as_id_listing(subject.connector)
    # WHEN every id is listed, before and after the record is deleted
    before = set(listing.list_ids(entity))
    if entity is EntityKind.CONTACT:
        subject.delete_contact(record.id)
    else:
        RECORD_OPS[entity].delete(subject.connector, contact.id, record.id)
    after = set(listing.list_ids(entity))
    # THEN the sweep's delete diff would see it gone: listed first, missing then
    assert record.id in before and record.id not in after


def _listing_of_created(subject: ContractSubject, count: int) -> tuple[set[str], list[list[str]]]:
    """`count` contacts created through the connector, and every contact's id page by page."""
    if not subject.connector.capabilities.lists_contacts:
        pytest.skip(f"{subject.name} declares no contact listing")
    created = {subject.connector.create_contact(unique_contact()).id for _ in range(count)}
    pages = as_contact_listing(subject.connector).contact_pages(start=None, page_size=LISTING_PAGE_SIZE)
    return created, [[contact.id for contact in page.contacts] for page in pages]


def test_a_contact_listing_holds_every_contact_once_across_its_pages(subject: ContractSubject) -> None:
    # GIVEN five contacts created through the connector
    # WHEN every contact is listed, a small page at a time
    created, pages = _listing_of_created(subject, 5)
    listed = [contact_id for page in pages for contact_id in page]
    # THEN it took several pages, and each contact is listed exactly once
    assert len(pages) > 1
    assert created <= set(listed) and len(listed) == len(set(listed))


def test_a_contact_listing_resumes_after_a_pages_cursor(subject: ContractSubject) -> None:
    # GIVEN contacts and their listing's first page
    _, pages = _listing_of_created(subject, 3)
    listing = as_contact_listing(subject.connector)
    first = next(iter(listing.contact_pages(start=None, page_size=LISTING_PAGE_SIZE)))
    assert first.next_cursor is not None
    # WHEN the listing resumes from that page's cursor (as a backfill's next work item does)
    rest = listing.contact_pages(start=first.next_cursor, page_size=LISTING_PAGE_SIZE)
    # THEN the first page and the rest are the whole listing, in order, nothing twice
    assert [c.id for c in first.contacts] + [c.id for page in rest for c in page.contacts] == [
        contact_id for page in pages for contact_id in page
    ]
