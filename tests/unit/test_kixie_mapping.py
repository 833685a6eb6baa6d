"""Kixie mapping: PowerList records and rules, the upsert body, the digest's bounds, activity dates."""

from datetime import UTC, datetime

import pytest

from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.kixie import (
    ActivityRecord,
    KixieMappingConfig,
    KixieMappingError,
    PowerListRule,
    activity_due,
    digest,
    powerlist_record,
    upsert_body,
)

CONFIG = KixieMappingConfig(powerlist_id="1969")


def test_a_contact_becomes_a_powerlist_record_keyed_by_its_e164_phone() -> None:
    # GIVEN a GHL contact with a national US number and a title custom field
    contact = CanonicalContact(
        id="ghl-1", first_name="Ada", phone="(415) 555-0100", custom_fields={"title": "CTO", "other": "x"}
    )
    # WHEN mapped / THEN it is keyed by E.164, in the default list, with its title only
    record = powerlist_record(contact, CONFIG)
    assert record is not None
    assert (record.id, record.phone, record.first_name) == ("+14155550100", "+14155550100", "Ada")
    assert record.custom_fields == {"powerlist_id": "1969", "title": "CTO"}


def test_a_contact_without_a_usable_phone_has_no_powerlist_record() -> None:
    assert powerlist_record(CanonicalContact(first_name="Ada", phone="call me"), CONFIG) is None


def test_the_first_matching_rule_picks_the_powerlist() -> None:
    # GIVEN rules on a tag and on a custom field
    config = KixieMappingConfig(
        powerlist_id="1",
        powerlist_rules=(
            PowerListRule(powerlist_id="2", tag="VIP"),
            PowerListRule(powerlist_id="3", field="custom_fields.lifecycle", equals="customer"),
        ),
    )
    both = CanonicalContact(tags=frozenset({"vip"}), custom_fields={"lifecycle": "Customer"})
    # WHEN lists are chosen / THEN the first match wins, else the default
    assert config.powerlist_for(both) == "2"
    assert config.powerlist_for(CanonicalContact(custom_fields={"lifecycle": "customer"})) == "3"
    assert config.powerlist_for(CanonicalContact()) == "1"


def test_a_rule_names_a_tag_or_a_field() -> None:
    with pytest.raises(ValueError, match="either a tag or a field"):
        PowerListRule(powerlist_id="2")


def test_the_upsert_merges_and_clears_a_field_the_contact_lost() -> None:
    # GIVEN a record written with an e-mail, now without one
    before = powerlist_record(
        CanonicalContact(phone="+14155550100", email="a@x.test", first_name="A"), CONFIG
    )
    now = powerlist_record(CanonicalContact(phone="+14155550100", first_name="A"), CONFIG)
    assert before is not None and now is not None
    # WHEN the body is built
    body = upsert_body(now, before, crm_contact_id="ghl-1", config=CONFIG)
    # THEN it merges (never overwrite), names the GHL id, and empties the e-mail
    assert body["duplicateHandling"] == "merge" and body["crmContactId"] == "ghl-1"
    assert (body["target"], body["powerlistId"], body["email"], body["firstName"]) == (
        "+14155550100",
        "1969",
        "",
        "A",
    )
    assert "lastName" not in body


def _tasks_and_notes(count: int) -> tuple[list[CanonicalTask], list[CanonicalNote]]:
    tasks = [
        CanonicalTask(title=f"task {i}", due_date=datetime(2026, 3, 25 - i, tzinfo=UTC)) for i in range(count)
    ]
    tasks.append(CanonicalTask(title="done already", completed=True))
    notes = [
        CanonicalNote(body=f"note {i} " + "words " * 50, updated_at=datetime(2026, 2, 1 + i, tzinfo=UTC))
        for i in range(count)
    ]
    return tasks, notes


def test_the_digest_lists_open_tasks_soonest_first_then_the_newest_notes() -> None:
    tasks, notes = _tasks_and_notes(3)
    text = digest(tasks, notes, KixieMappingConfig(digest_max_chars=10_000, digest_note_chars=20))
    lines = text.splitlines()
    assert lines[0] == "Open tasks:" and lines[1].startswith("- 2026-03-23 task 2")
    assert "done already" not in text
    assert lines[4] == "Latest notes:" and lines[5].startswith("- 2026-02-03 note 2")


@pytest.mark.parametrize("limit", [80, 200, 1000])
def test_the_digest_never_exceeds_its_character_limit(limit: int) -> None:
    tasks, notes = _tasks_and_notes(20)
    config = KixieMappingConfig(digest_max_chars=limit, digest_max_tasks=50, digest_max_notes=50)
    assert 0 < len(digest(tasks, notes, config)) <= limit


def test_an_activity_is_due_at_its_local_date_and_time() -> None:
    record = ActivityRecord(date="2026-03-05", time="14:30", timezone="America/Los_Angeles")
    assert activity_due(record) == datetime(2026, 3, 5, 22, 30, tzinfo=UTC)


def test_an_activity_with_only_human_date_and_time_is_read_too() -> None:
    record = ActivityRecord(dateformat="Thursday, March 5, 2026", timeformat="2:30 PM", timezone="UTC-05:00")
    assert activity_due(record) == datetime(2026, 3, 5, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        {"date": "yesterday-ish"},
        {"date": "2026-03-05", "time": "25:99"},
        {"date": "2026-03-05", "time": "10:00", "timezone": "Mars/Olympus"},
        {"date": "2026-03-05", "timezone": "+99:00"},
    ],
)
def test_an_unreadable_activity_date_time_or_zone_is_a_clear_error(fields: dict[str, str]) -> None:
    with pytest.raises(KixieMappingError, match=r"unreadable|unknown"):
        activity_due(ActivityRecord(**fields))
