"""The Kixie fake's phone rule: PowerList keys are E.164 (target-apps.md §3.2)."""

import pytest

from sandbox.apps.kixie.phones import e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4155550145", "+14155550145"),  # 10 digits: a NANP number
        ("14155550145", "+14155550145"),  # with its country code
        ("18554842053", "+18554842053"),  # Kixie's own example
        ("(415) 555-0145", "+14155550145"),
        ("+1 415.555.0145", "+14155550145"),
        ("+447700900123", "+447700900123"),  # any E.164 with its +
        (4155550145, "+14155550145"),  # a JSON number
    ],
)
def test_a_phone_number_becomes_e164(raw: object, expected: str) -> None:
    # GIVEN / WHEN a number as a client may send it / THEN its E.164 form
    assert e164(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "0155550145",
        "24155550145",
        "+0123456789",
        "+1234567",
        "415-555-O145",
        "+" + "1" * 16,
        None,
        True,
        4.5,
    ],
)
def test_what_is_not_a_phone_number_is_none(raw: object) -> None:
    # GIVEN / WHEN garbage, too short or long, a bad leading digit, or not text / THEN None
    assert e164(raw) is None
