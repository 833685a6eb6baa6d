"""GHL sandbox building blocks: request DTOs vs the spec, normalisers, rate limiter, faults."""

import json
from pathlib import Path

import pytest

from sandbox.fakes.faults import FaultInjector
from sandbox.ghl import FakeClock
from sandbox.ghl.errors import ApiError
from sandbox.ghl.ratelimit import GhlBudget
from sandbox.ghl.validation import (
    ALL_DTOS,
    CREATE_CONTACT,
    UPDATE_CONTACT,
    normalize_date_of_birth,
    normalize_phone,
)

SPEC_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "reference"
    / "ghl-openapi"
    / "apps"
    / "contacts.json"
)
# DTOs whose spec schema is empty or absent: their fields come from GHL's search documentation.
NOT_IN_SPEC = {"SearchBodyV2DTO"}
# DTOs of another spec file than contacts.json.
SPEC_FILE_OF = {"TaskSearchParamsDto": SPEC_FILE.with_name("locations.json")}


@pytest.mark.skipif(
    not SPEC_FILE.is_file(), reason="GHL OpenAPI files not found at ../shared/reference/ghl-openapi"
)
@pytest.mark.parametrize("dto", [d for d in ALL_DTOS if d.name not in NOT_IN_SPEC], ids=lambda d: d.name)
def test_dto_properties_and_required_fields_match_the_spec(dto):
    # GIVEN the request schema of the same name in contacts.json (or its own file)
    spec = SPEC_FILE_OF.get(dto.name, SPEC_FILE)
    schema = json.loads(spec.read_text())["components"]["schemas"][dto.name]
    # WHEN compared with the sandbox's whitelist
    # THEN the allowed and required properties are the same
    assert set(dto.rules) == set(schema["properties"])
    assert {name for name, rule in dto.rules.items() if rule.required} == set(schema.get("required", []))


def test_update_contact_whitelist_lacks_location_gender_and_company():
    # GIVEN / WHEN the update DTO validates a body with create-only fields
    with pytest.raises(ApiError) as raised:
        UPDATE_CONTACT.validate({"locationId": "x", "gender": "f", "companyName": "c"})
    # THEN each is reported as not allowed
    assert raised.value.message == [
        "property locationId should not exist",
        "property gender should not exist",
        "property companyName should not exist",
    ]


def test_null_clears_a_nullable_field_but_not_a_required_one():
    # GIVEN / WHEN a create body has a null email (nullable) and a null locationId (required)
    with pytest.raises(ApiError) as raised:
        CREATE_CONTACT.validate({"email": None, "locationId": None})
    # THEN only the required field is reported
    assert raised.value.message == ["locationId should not be empty", "locationId must be a string"]


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+15551234567", "US", "+15551234567"),
        ("(555) 123-4567", "US", "+15551234567"),
        ("1 555 123 4567", "US", "+15551234567"),
        ("07911 123456", "GB", "+447911123456"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("(11) 91234-5678", "BR", "+5511912345678"),
        ("+1 415-555-2671 ext. 42", "US", "+14155552671"),
        ("call me", "US", None),
        ("12", "US", None),
        ("555-0100", "US", None),
        ("07911 123456", "US", None),
    ],
)
def test_phones_are_read_in_the_locations_numbering_plan(raw, region, e164):
    # GIVEN a phone as people write it and the location's country
    # WHEN normalised / THEN it is E.164, or None when no possible number can be read
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize("raw", ["1990-09-25", "09/25/1990", "09-25-1990", "1990/09/25"])
def test_birthdays_in_accepted_formats_become_midnight_utc(raw):
    # GIVEN a birthday in one of GHL's accepted formats / WHEN normalised / THEN ISO midnight UTC
    assert normalize_date_of_birth(raw) == "1990-09-25T00:00:00.000Z"


def test_rate_limiter_counts_down_and_refuses_past_the_burst():
    # GIVEN a limiter of 2 per second
    clock = FakeClock()
    limiter = GhlBudget(clock, burst_limit=2, burst_interval_ms=1000, daily_limit=100)
    # WHEN three calls arrive at once
    verdicts = [limiter.consume("app", "loc") for _ in range(3)]
    # THEN the remaining count falls and the third is refused for one second
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert [v.headers["X-RateLimit-Remaining"] for v in verdicts] == ["1", "0", "0"]
    assert verdicts[2].retry_after_s == 1


def test_fault_draws_repeat_for_a_seed():
    # GIVEN two injectors with the same seed and rates
    def draws(seed: int) -> list[str | None]:
        faults = FaultInjector(seed)
        faults.configure(rate_429=0.25, rate_timeout=0.25)
        return [None if (f := faults.draw()) is None else f"{f.kind}:{f.applied}" for _ in range(50)]

    # WHEN each draws 50 times / THEN the sequences match
    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
