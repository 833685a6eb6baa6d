"""Identity: normalisation and the match order."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.sync.identity import Ambiguous, Matched, NoMatch, find_match, normalize_email, normalize_phone
from tests.unit.test_engine_fakes import FakeClock, FakeConnector


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Ada@Example.COM ", "ada@example.com"), ("", None), (None, None), ("not-an-email", None)],
)
def test_email_is_trimmed_and_lower_cased(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # GB: the trunk 0 goes, +44 comes from the region; the same digits with a prefix anywhere
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "US", "+447911123456"),
        ("0044 7911 123456", "GB", "+447911123456"),
        ("+44 (1234) 567-890", None, "+441234567890"),
        # Brazil: two-digit area code, nine-digit mobile
        ("(11) 91234-5678", "BR", "+5511912345678"),
        ("+55 11 91234-5678", "GB", "+5511912345678"),
        # US with and without the country code, and from abroad with the US exit code
        ("(415) 555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("+1 415-555-2671", "BR", "+14155552671"),
        ("011 44 7911 123456", "US", "+447911123456"),
        # the region is an ISO alpha-2 code in any case
        ("07911 123456", "gb", "+447911123456"),
        # E.164 has no extension
        ("+1 415-555-2671 ext. 42", "US", "+14155552671"),
        ("(415) 555-2671 x42", "US", "+14155552671"),
    ],
)
def test_phone_becomes_e164_in_its_numbering_plan(raw: str, country: str | None, expected: str) -> None:
    # GIVEN a phone as people write it and the connection's region / WHEN normalised / THEN E.164
    assert normalize_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("(415) 555-2671", None),  # national, and no region to place it in
        ("555-0100", "US"),  # local only: no area code
        ("+12", None),
        ("+1", "US"),
        ("+999 1234 5678", None),  # no such country code
        ("1" * 40, "US"),
        ("not a phone", "US"),
        ("ext. 42", "US"),
        ("   ", "GB"),
        ("", "GB"),
        (None, "GB"),
        ("07911 123456", "XX"),  # an unknown region places nothing
    ],
)
def test_a_phone_that_cannot_be_placed_is_no_phone(raw: str | None, country: str | None) -> None:
    # GIVEN text that is no placeable phone / WHEN normalised / THEN None, never an exception
    assert normalize_phone(raw, country) is None


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(raw=st.text(max_size=60), country=st.sampled_from([None, "US", "GB", "BR", "DE", "XX", ""]))
def test_normalising_any_text_never_raises(raw: str, country: str | None) -> None:
    # GIVEN any text and region / WHEN normalised / THEN E.164 or None, never an exception
    phone = normalize_phone(raw, country)
    assert phone is None or (phone.startswith("+") and phone[1:].isdigit())


def test_identity_by_phone_places_a_national_number_in_the_connections_region() -> None:
    # GIVEN a UK app record stored in E.164 and a GHL record with the same number written nationally
    target = FakeConnector("app", FakeClock())
    record = target.seed_contact(first_name="Ada", phone="+447911123456")
    source = CanonicalContact(id="g1", first_name="Ada", phone="07911 123456")
    # WHEN matched for a GB connection
    match = find_match(
        source, target, external_id_field="external_id", default_country="GB", linked_to_other=lambda _: False
    )
    # THEN the phone finds it
    assert isinstance(match, Matched) and match.record.id == record.id and match.via == "phone"


def test_identity_by_phone_in_another_region_is_another_number() -> None:
    # GIVEN the same UK record and national digits, but a US connection
    target = FakeConnector("app", FakeClock())
    target.seed_contact(first_name="Ada", phone="+447911123456")
    source = CanonicalContact(id="g1", first_name="Ada", phone="07911 123456")
    # WHEN matched / THEN nothing is found: the digits are no US number
    match = find_match(
        source, target, external_id_field="external_id", default_country="US", linked_to_other=lambda _: False
    )
    assert isinstance(match, NoMatch)


def _find(source: CanonicalContact, target: FakeConnector, linked: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    return find_match(
        source,
        target,
        external_id_field="external_id",
        default_country=None,
        linked_to_other=lambda record_id: record_id in linked,
    )


def test_no_candidate_is_no_match() -> None:
    target = FakeConnector("app", FakeClock())
    assert isinstance(_find(CanonicalContact(id="g1", email="a@x.io"), target), NoMatch)


def test_email_and_phone_agreeing_is_a_match() -> None:
    target = FakeConnector("app", FakeClock())
    record = target.seed_contact(email="a@x.io", phone="+15550001111")
    match = _find(CanonicalContact(id="g1", email="A@x.io", phone="+1 555 000 1111"), target)
    assert isinstance(match, Matched) and match.record.id == record.id and match.via == "email"


def test_two_records_with_one_email_is_ambiguous() -> None:
    target = FakeConnector("app", FakeClock())
    target.seed_contact(email="a@x.io")
    target.seed_contact(email="a@x.io")
    assert isinstance(_find(CanonicalContact(id="g1", email="a@x.io"), target), Ambiguous)


def test_candidate_linked_to_another_record_is_ambiguous() -> None:
    target = FakeConnector("app", FakeClock())
    record = target.seed_contact(email="a@x.io")
    match = _find(CanonicalContact(id="g1", email="a@x.io"), target, frozenset({record.id or ""}))
    assert isinstance(match, Ambiguous)


def test_external_id_pointing_nowhere_falls_back_to_email() -> None:
    target = FakeConnector("app", FakeClock())
    record = target.seed_contact(email="a@x.io")
    match = _find(CanonicalContact(id="g1", email="a@x.io", custom_fields={"external_id": "gone"}), target)
    assert isinstance(match, Matched) and match.record.id == record.id


class _KeepsFormerAddresses(FakeConnector):
    """An app that, like Kayako, still finds a record by an address it used to have."""

    def __init__(self) -> None:
        super().__init__("app", FakeClock())
        self.former: dict[str, str] = {}  # former address -> record id

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        current = super().find_contacts(email=email, phone=phone)
        held = self.former.get(email or "")
        return current + ([self.contacts[held]] if held else [])


def test_a_linked_record_found_by_its_former_email_is_no_claim() -> None:
    # GIVEN a linked record that moved from a@x.io to b@x.io, the app still knowing the old address
    target = _KeepsFormerAddresses()
    moved = target.seed_contact(email="b@x.io")
    target.former["a@x.io"] = moved.id or ""
    # WHEN a newcomer with the old address is matched
    match = _find(CanonicalContact(id="g2", email="a@x.io"), target, frozenset({moved.id or ""}))
    # THEN nothing claims it: the engine may create a record of its own
    assert isinstance(match, NoMatch)


def test_an_unlinked_record_found_by_its_former_email_still_matches() -> None:
    # GIVEN an unlinked record the app finds by an address it used to have
    target = _KeepsFormerAddresses()
    record = target.seed_contact(email="b@x.io")
    target.former["a@x.io"] = record.id or ""
    # WHEN matched by the old address / THEN it is the same person
    match = _find(CanonicalContact(id="g2", email="a@x.io"), target)
    assert isinstance(match, Matched) and match.record.id == record.id


def test_a_newcomer_with_a_former_address_matches_the_unlinked_holder_of_it() -> None:
    # GIVEN the old address now held by an unlinked record, and still known on the linked one
    target = _KeepsFormerAddresses()
    moved = target.seed_contact(email="b@x.io")
    holder = target.seed_contact(email="a@x.io")
    target.former["a@x.io"] = moved.id or ""
    # WHEN matched / THEN the current holder is the match, not an ambiguity
    match = _find(CanonicalContact(id="g2", email="A@x.io"), target, frozenset({moved.id or ""}))
    assert isinstance(match, Matched) and match.record.id == holder.id


def test_a_linked_record_that_still_holds_the_email_is_a_claim() -> None:
    # GIVEN a linked record whose current address is the one looked up
    target = _KeepsFormerAddresses()
    record = target.seed_contact(email="a@x.io")
    # WHEN matched / THEN it is still ambiguous (two people, one address)
    match = _find(CanonicalContact(id="g2", email="a@x.io"), target, frozenset({record.id or ""}))
    assert isinstance(match, Ambiguous)


def test_a_linked_record_with_no_known_email_keeps_its_claim() -> None:
    # GIVEN a linked record found by the address but exposing no current email
    target = _KeepsFormerAddresses()
    record = target.seed_contact(phone="+15550001111")
    target.former["a@x.io"] = record.id or ""
    # WHEN matched / THEN no proof it moved on: ambiguous
    match = _find(CanonicalContact(id="g2", email="a@x.io"), target, frozenset({record.id or ""}))
    assert isinstance(match, Ambiguous)
