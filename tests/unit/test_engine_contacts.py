"""Engine, contacts: identity, echo suppression, three-way merge, stale events, tags as deltas."""

from datetime import timedelta

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.links import Side
from ghlsync.sync.outcome import Decision
from tests.unit.test_engine_fakes import Harness, aws_env, h, table

__all__ = ["aws_env", "h", "table"]  # fixtures used by name

CONTACT = EntityKind.CONTACT
UPSERT = ChangeAction.UPSERT


def _linked_pair(h: Harness, **fields: object) -> tuple[str, str]:
    """A GHL contact already synced to the app (created there); returns (ghl id, app id)."""
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com", **fields)
    assert contact.id is not None
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id))
    link = h.link_of(CONTACT, Side.GHL, contact.id)
    assert link is not None
    h.clock.advance(60)
    h.reset_calls()
    return contact.id, link.app.id


def test_new_ghl_contact_is_created_in_the_app_and_linked_both_ways(h: Harness) -> None:
    # GIVEN a GHL contact the app has never seen
    contact = h.ghl.seed_contact(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    assert contact.id is not None
    # WHEN its upsert event is handled
    outcome = h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id))
    # THEN the app has a copy and the link is readable from either side
    assert outcome.decision is Decision.APPLIED
    (app_contact,) = h.app.contacts.values()
    assert (app_contact.first_name, app_contact.email) == ("Ada", "ada@example.com")
    by_ghl = h.link_of(CONTACT, Side.GHL, contact.id)
    by_app = h.link_of(CONTACT, Side.APP, app_contact.id or "")
    assert by_ghl is not None and by_ghl == by_app


def test_lookup_always_happens_before_create(h: Harness) -> None:
    # GIVEN a GHL contact with an email and a phone
    contact = h.ghl.seed_contact(email="ada@example.com", phone="+15550001111")
    # WHEN it is synced
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    # THEN the app was searched by email and by phone before anything was created
    names = [name for name, _ in h.app.calls]
    assert names.index("find_contacts") < names.index("create_contact")
    assert ("find_contacts", ("ada@example.com", None)) in h.app.calls
    assert ("find_contacts", (None, "+15550001111")) in h.app.calls


def test_unlinked_contact_matching_by_normalised_email_is_linked_not_created(h: Harness) -> None:
    # GIVEN the app already has the person, with the email in another case
    existing = h.app.seed_contact(first_name="Ada", email="ada@example.com")
    contact = h.ghl.seed_contact(first_name="Ada", email="  Ada@Example.COM ")
    # WHEN the GHL contact is synced
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    # THEN it is linked to the existing app contact and nothing is created
    link = h.link_of(CONTACT, Side.GHL, contact.id or "")
    assert link is not None and link.app.id == existing.id
    assert "create_contact" not in [name for name, _ in h.app.writes()]


def test_unlinked_contact_matching_by_e164_phone_is_linked(h: Harness) -> None:
    # GIVEN the app has the person under the same phone number, no email on our side
    existing = h.app.seed_contact(first_name="Ada", phone="+441234567890")
    contact = h.ghl.seed_contact(first_name="Ada", phone="+44 (1234) 567-890")
    # WHEN the GHL contact is synced
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    # THEN it is linked by phone
    link = h.link_of(CONTACT, Side.GHL, contact.id or "")
    assert link is not None and link.app.id == existing.id


def test_a_national_number_is_placed_in_the_connections_country(h: Harness) -> None:
    # GIVEN a GB connection, GHL holding a UK number in E.164 and the app writing it nationally
    h.reconfigure(default_country="GB")
    existing = h.ghl.seed_contact(first_name="Ada", phone="+447911123456")
    record = h.app.seed_contact(first_name="Ada", phone="07911 123456")
    # WHEN the app contact is synced
    h.engine.handle(h.app_event(CONTACT, UPSERT, record.id or ""))
    # THEN GHL was searched by the E.164 number and the pair linked by phone, and the two spellings
    # of one number are no change to write to either side
    assert ("find_contacts", (None, "+447911123456")) in h.ghl.calls
    link = h.link_of(CONTACT, Side.APP, record.id or "")
    assert link is not None and link.ghl.id == existing.id
    assert h.ghl.writes() == [] and h.app.writes() == []


def test_a_phone_spelt_anew_is_no_change(h: Harness) -> None:
    # GIVEN a linked contact whose phone the app re-formats without changing the number
    _, app_id = _linked_pair(h, phone="+14155552671")
    h.app.edit_contact(app_id, phone="(415) 555-2671")
    # WHEN the app's change is handled
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN it is the content already synced: nothing is written to GHL
    assert outcome.decision is Decision.ECHO
    assert h.ghl.writes() == []


def test_external_id_custom_field_wins_over_email(h: Harness) -> None:
    # GIVEN the GHL contact names its app record in the external-id field, and another app
    # record happens to share its email
    named = h.app.seed_contact(first_name="Ada", email="old@example.com")
    h.app.seed_contact(first_name="Other", email="ada@example.com")
    contact = h.ghl.seed_contact(
        first_name="Ada", email="ada@example.com", custom_fields={"external_id": named.id}
    )
    # WHEN it is synced
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    # THEN the named record is the match
    link = h.link_of(CONTACT, Side.GHL, contact.id or "")
    assert link is not None and link.app.id == named.id


def test_email_and_phone_pointing_at_different_records_is_a_conflict_and_nothing_merges(h: Harness) -> None:
    # GIVEN email matches app record A and phone matches app record B
    h.app.seed_contact(first_name="A", email="ada@example.com")
    h.app.seed_contact(first_name="B", phone="+15550001111")
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com", phone="+15550001111")
    # WHEN it is synced
    outcome = h.engine.handle(h.ghl_event(CONTACT, UPSERT, contact.id or ""))
    # THEN it is a conflict: no write, no link, one audit row saying so
    assert outcome.decision is Decision.CONFLICT
    assert "ambiguous identity" in outcome.reason
    assert h.app.writes() == [] and h.ghl.writes() == []
    assert h.link_of(CONTACT, Side.GHL, contact.id or "") is None
    (row,) = h.audit_rows()
    assert row.decision == "conflict"
    assert h.metrics.counts["identity_conflict"] == 1


def test_match_already_linked_to_another_contact_is_a_conflict(h: Harness) -> None:
    # GIVEN a GHL contact synced to the app, and a second GHL contact with the same email
    _linked_pair(h)
    duplicate = h.ghl.seed_contact(first_name="Ada 2", email="ada@example.com")
    # WHEN the duplicate is synced
    outcome = h.engine.handle(h.ghl_event(CONTACT, UPSERT, duplicate.id or ""))
    # THEN the two GHL contacts are not merged into one app record
    assert outcome.decision is Decision.CONFLICT
    assert h.app.writes() == []


def test_our_write_coming_back_is_an_echo_with_zero_writes(h: Harness) -> None:
    # GIVEN a GHL contact the engine just created in the app
    _, app_id = _linked_pair(h)
    # WHEN the app reports that contact as changed (its webhook for our own create)
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN it is dropped as an echo: no writes anywhere, counted
    assert outcome.decision is Decision.ECHO
    assert outcome.writes == 0
    assert h.ghl.writes() == [] and h.app.writes() == []
    assert h.metrics.counts["echo_suppressed"] == 1


def test_an_update_round_trip_produces_no_further_writes(h: Harness) -> None:
    # GIVEN a linked contact edited in GHL and synced to the app
    ghl_id, app_id = _linked_pair(h)
    h.ghl.edit_contact(ghl_id, last_name="Lovelace")
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, ghl_id))
    h.clock.advance(1)
    h.reset_calls()
    # WHEN the app's webhook for that update arrives
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN nothing is written back
    assert outcome.decision is Decision.ECHO
    assert h.ghl.writes() == [] and h.app.writes() == []


def test_reapplying_the_same_event_writes_nothing(h: Harness) -> None:
    # GIVEN an edit in GHL already applied once
    ghl_id, _ = _linked_pair(h)
    h.ghl.edit_contact(ghl_id, last_name="Lovelace")
    event = h.ghl_event(CONTACT, UPSERT, ghl_id)
    h.engine.handle(event)
    h.reset_calls()
    # WHEN the very same event is handled again
    outcome = h.engine.handle(event)
    # THEN no write happens
    assert outcome.writes == 0
    assert h.ghl.writes() == [] and h.app.writes() == []


def test_field_changed_on_one_side_only_is_written_to_the_other(h: Harness) -> None:
    # GIVEN a linked contact whose phone is edited in the app
    ghl_id, app_id = _linked_pair(h)
    h.app.edit_contact(app_id, phone="+15559990000")
    # WHEN the app event is handled
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN GHL gets exactly that field
    assert outcome.decision is Decision.APPLIED
    ((name, args),) = h.ghl.writes()
    assert name == "update_contact" and args[2] == frozenset({"phone"})
    assert h.ghl.contacts[ghl_id].phone == "+15559990000"


def test_both_sides_edited_far_apart_last_writer_wins(h: Harness) -> None:
    # GIVEN both sides edit the first name, the app a minute after GHL
    ghl_id, app_id = _linked_pair(h)
    h.ghl.edit_contact(ghl_id, first_name="Augusta")
    h.clock.advance(60)
    h.app.edit_contact(app_id, first_name="Countess")
    # WHEN GHL's (older) edit is processed
    outcome = h.engine.handle(h.ghl_event(CONTACT, UPSERT, ghl_id))
    # THEN the later app value wins on both sides, without a conflict
    assert outcome.decision is Decision.APPLIED
    assert h.ghl.contacts[ghl_id].first_name == "Countess"
    assert h.app.contacts[app_id].first_name == "Countess"


def test_both_sides_edited_inside_the_skew_window_is_a_conflict_keeping_the_ghl_value(h: Harness) -> None:
    # GIVEN both sides edit the first name two seconds apart (skew window 5 s)
    ghl_id, app_id = _linked_pair(h)
    h.app.edit_contact(app_id, first_name="Countess")
    h.clock.advance(2)
    h.ghl.edit_contact(ghl_id, first_name="Augusta")
    # WHEN the app's edit is processed
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN a conflict is recorded and the hub's value is kept on both sides
    assert outcome.decision is Decision.CONFLICT
    assert h.app.contacts[app_id].first_name == "Augusta"
    assert h.ghl.contacts[ghl_id].first_name == "Augusta"
    (*_, row) = h.audit_rows()
    assert row.decision == "conflict" and "first_name" in row.fields_changed


def test_app_wins_policy_overrides_timestamps(h: Harness) -> None:
    # GIVEN a connection whose policy is app_wins, and a later GHL edit of the same field
    h.reconfigure(conflict_policy="app_wins")
    ghl_id, app_id = _linked_pair(h)
    h.app.edit_contact(app_id, first_name="Countess")
    h.clock.advance(120)
    h.ghl.edit_contact(ghl_id, first_name="Augusta")
    # WHEN the GHL edit is processed
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, ghl_id))
    # THEN the app's value wins anyway
    assert h.ghl.contacts[ghl_id].first_name == "Countess"


def test_ghl_wins_policy_overrides_timestamps(h: Harness) -> None:
    # GIVEN a connection whose policy is ghl_wins, and a later app edit of the same field
    h.reconfigure(conflict_policy="ghl_wins")
    ghl_id, app_id = _linked_pair(h)
    h.ghl.edit_contact(ghl_id, first_name="Augusta")
    h.clock.advance(120)
    h.app.edit_contact(app_id, first_name="Countess")
    # WHEN the app edit is processed
    h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN GHL's value wins anyway
    assert h.app.contacts[app_id].first_name == "Augusta"


def test_event_older_than_the_shadow_is_skipped_as_stale(h: Harness) -> None:
    # GIVEN a linked contact whose last GHL change was synced at T
    ghl_id, _ = _linked_pair(h)
    h.ghl.edit_contact(ghl_id, last_name="Lovelace")
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, ghl_id))
    h.reset_calls()
    # WHEN an event that happened before T arrives late
    late = h.ghl_event(CONTACT, UPSERT, ghl_id, occurred_at=h.clock.now.replace(year=2025))
    outcome = h.engine.handle(late)
    # THEN it is skipped without touching either side
    assert (outcome.decision, outcome.reason) == (Decision.SKIPPED, "stale")
    assert h.ghl.calls == [] and h.app.writes() == []


def test_a_write_leaves_the_written_sides_shadow_at_the_writes_own_time(h: Harness) -> None:
    # GIVEN a linked contact, then a GHL edit a minute later
    ghl_id, app_id = _linked_pair(h)
    h.clock.advance(60)
    h.ghl.edit_contact(ghl_id, last_name="Lovelace")
    # WHEN the edit is synced to the app
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, ghl_id))
    # THEN the app side's shadow holds the time the app gave our write, so the app's change feed,
    # which lists our write at that time, finds it already synced
    link = h.link_of(CONTACT, Side.APP, app_id)
    assert link is not None
    assert link.app.source_time == h.app.contacts[app_id].updated_at


def test_an_edit_racing_our_write_keeps_the_shadow_at_the_read_before_it(h: Harness) -> None:
    # GIVEN a linked contact, a GHL edit of the last name, and an app user changing the phone while
    # the engine writes the last name (the write's answer shows the phone it did not write)
    ghl_id, app_id = _linked_pair(h)
    read_at = h.app.contacts[app_id].updated_at
    h.ghl.edit_contact(ghl_id, last_name="Lovelace")
    write = h.app.update_contact

    def raced(contact_id: str, contact: CanonicalContact, changed: frozenset[str]) -> CanonicalContact:
        h.clock.advance(1)
        h.app.edit_contact(contact_id, phone="+15550002222")
        h.clock.advance(1)
        return write(contact_id, contact, changed)

    h.app.update_contact = raced  # type: ignore[method-assign]
    # WHEN the GHL edit is synced
    h.engine.handle(h.ghl_event(CONTACT, UPSERT, ghl_id))
    # THEN the app shadow keeps the time read before the write, and the raced edit's own event
    # (older than the write) is still applied rather than dropped as stale
    h.app.update_contact = write  # type: ignore[method-assign]
    link = h.link_of(CONTACT, Side.APP, app_id)
    assert link is not None and link.app.source_time == read_at
    raced_at = h.clock.now - timedelta(seconds=1)  # the phone edit, a second before the write
    outcome = h.engine.handle(h.app_event(CONTACT, UPSERT, app_id, occurred_at=raced_at))
    assert outcome.decision is Decision.APPLIED
    assert h.ghl.contacts[ghl_id].phone == "+15550002222"


def test_ghl_tag_update_sends_only_add_and_remove_calls(h: Harness) -> None:
    # GIVEN a linked contact tagged {vip, lead}
    ghl_id, app_id = _linked_pair(h, tags=frozenset({"vip", "lead"}))
    h.ghl.edit_contact(ghl_id, tags=frozenset({"vip", "Customer"}))
    # WHEN GHL reports its full tag list is now [vip, Customer]
    event = h.ghl_event(CONTACT, ChangeAction.TAGS, ghl_id, data={"tags": ["vip", "Customer"]})
    outcome = h.engine.handle(event)
    # THEN the app gets one add (in GHL's spelling) and one remove, never a contact update
    assert outcome.decision is Decision.APPLIED
    assert h.app.writes() == [
        ("add_tags", (app_id, frozenset({"Customer"}))),
        ("remove_tags", (app_id, frozenset({"lead"}))),
    ]


def test_tag_list_equal_to_the_shadow_is_an_echo(h: Harness) -> None:
    # GIVEN a linked contact tagged {vip}
    ghl_id, _ = _linked_pair(h, tags=frozenset({"vip"}))
    # WHEN GHL reports the same list
    outcome = h.engine.handle(h.ghl_event(CONTACT, ChangeAction.TAGS, ghl_id, data={"tags": ["VIP"]}))
    # THEN nothing is written
    assert outcome.decision is Decision.ECHO
    assert h.app.writes() == []


def test_tag_list_snapshot_older_than_our_writes_is_checked_and_dropped(h: Harness) -> None:
    # GIVEN a linked contact tagged {vip}, and a late ContactTagUpdate carrying an intermediate
    # list [vip, lead] that our own later writes have already moved past
    ghl_id, _ = _linked_pair(h, tags=frozenset({"vip"}))
    event = h.ghl_event(CONTACT, ChangeAction.TAGS, ghl_id, data={"tags": ["vip", "lead"]})
    # WHEN it is handled
    outcome = h.engine.handle(event)
    # THEN the contact is re-read, found equal to the shadow, and nothing is written
    assert outcome.decision is Decision.ECHO
    assert ("get_contact", (ghl_id,)) in h.ghl.calls
    assert h.app.writes() == []


def test_tag_added_in_the_app_reaches_ghl_as_an_add_not_a_contact_update(h: Harness) -> None:
    # GIVEN a linked contact that gets a new tag in the app
    ghl_id, app_id = _linked_pair(h, tags=frozenset({"vip"}))
    h.app.edit_contact(app_id, tags=frozenset({"vip", "support"}))
    # WHEN the app's contact update is processed
    h.engine.handle(h.app_event(CONTACT, UPSERT, app_id))
    # THEN GHL sees only the added tag
    assert h.ghl.writes() == [("add_tags", (ghl_id, frozenset({"support"})))]


def test_every_decision_writes_one_audit_row_with_ids(h: Harness) -> None:
    # GIVEN a GHL contact
    contact = h.ghl.seed_contact(first_name="Ada", email="ada@example.com")
    event = h.ghl_event(CONTACT, UPSERT, contact.id or "")
    # WHEN it is synced
    h.engine.handle(event)
    # THEN one audit row names the event, both ids and the decision, with a 90-day TTL
    (row,) = h.audit_rows()
    (app_contact,) = h.app.contacts.values()
    assert (row.event_id, row.ghl_id, row.app_id, row.decision) == (
        event.event_id,
        contact.id,
        app_contact.id,
        "applied",
    )
    assert row.expires_at == int(h.clock.now.timestamp()) + 90 * 24 * 3600
