"""Identity: normalisation and the match order."""

import pytest

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
        ("+44 (1234) 567-890", None, "+441234567890"),
        ("0044 1234 567890", None, "+441234567890"),
        ("(555) 123-4567", "1", "+15551234567"),
        ("(555) 123-4567", None, None),
        ("+12", None, None),
    ],
)
def test_phone_becomes_e164_or_nothing(raw: str, country: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, country) == expected


def _find(source: CanonicalContact, target: FakeConnector, linked: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    return find_match(
        source,
        target,
        external_id_field="external_id",
        default_country_code=None,
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
