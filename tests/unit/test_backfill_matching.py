"""The backfill's identity rule over two listings (ghlsync.backfill.matching): rule-1 order, and
every disagreement ambiguous, never merged."""

import pytest

from ghlsync.backfill.matching import Ambiguous, Pair, Unmatched, keys_of, match, wanted_keys
from ghlsync.mapping.canonical import CanonicalContact


def _index(*records: CanonicalContact) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for record in records:
        for key in keys_of(record, "US"):
            found.setdefault(key, set()).add(str(record.id))
    return {key: frozenset(ids) for key, ids in found.items()}


def _match(contact: CanonicalContact, *app: CanonicalContact, taken: frozenset[str] = frozenset()) -> object:
    keys = wanted_keys(contact, external_id_field="external_id", default_country="US")
    return match(keys, _index(*app), taken_by_other=lambda app_id: app_id in taken)


def test_the_external_id_field_wins_over_email_and_phone() -> None:
    # GIVEN a hub contact naming app record 7, whose email is another record's
    contact = CanonicalContact(id="h1", email="a@x.test", custom_fields={"external_id": "7"})
    # WHEN it is matched
    verdict = _match(contact, CanonicalContact(id="7"), CanonicalContact(id="8", email="a@x.test"))
    # THEN the external id decides
    assert verdict == Pair("7", "external_id")


def test_email_matches_trimmed_and_case_insensitively() -> None:
    # GIVEN the same address written differently on the two sides
    contact = CanonicalContact(id="h1", email=" Ann@X.test ")
    # WHEN it is matched
    # THEN by email
    assert _match(contact, CanonicalContact(id="5", email="ann@x.test")) == Pair("5", "email")


def test_phone_matches_in_e164_whatever_the_format() -> None:
    # GIVEN a national number on one side and E.164 on the other
    contact = CanonicalContact(id="h1", phone="(415) 555-0101")
    # WHEN it is matched
    # THEN by phone
    assert _match(contact, CanonicalContact(id="5", phone="+14155550101")) == Pair("5", "phone")


def test_email_and_phone_agreeing_is_a_match_by_email() -> None:
    contact = CanonicalContact(id="h1", email="a@x.test", phone="+14155550101")
    app = CanonicalContact(id="5", email="a@x.test", phone="+14155550101")
    assert _match(contact, app) == Pair("5", "email")


@pytest.mark.parametrize(
    ("app", "reason"),
    [
        (
            [CanonicalContact(id="5", email="a@x.test"), CanonicalContact(id="6", phone="+14155550101")],
            "email matches 5 but phone matches 6",
        ),
        (
            [CanonicalContact(id="5", email="a@x.test"), CanonicalContact(id="6", email="A@x.test")],
            "email matches 2 records: 5, 6",
        ),
    ],
    ids=["email-vs-phone", "shared-email"],
)
def test_disagreeing_keys_are_ambiguous_and_name_every_record_involved(
    app: list[CanonicalContact], reason: str
) -> None:
    # GIVEN app records the hub contact's keys find differently
    contact = CanonicalContact(id="h1", email="a@x.test", phone="+14155550101")
    # WHEN it is matched
    verdict = _match(contact, *app)
    # THEN ambiguous, with both records, so neither is created on GHL either
    assert verdict == Ambiguous(reason, frozenset({"5", "6"}))


def test_a_record_linked_to_another_contact_is_not_taken() -> None:
    # GIVEN the only candidate is linked (or claimed) by another hub contact
    contact = CanonicalContact(id="h1", email="a@x.test")
    # WHEN it is matched
    verdict = _match(contact, CanonicalContact(id="5", email="a@x.test"), taken=frozenset({"5"}))
    # THEN ambiguous, not a second link
    assert isinstance(verdict, Ambiguous) and "already linked" in verdict.reason


def test_nothing_found_is_unmatched() -> None:
    contact = CanonicalContact(id="h1", email="new@x.test")
    assert _match(contact, CanonicalContact(id="5", email="a@x.test")) == Unmatched()
