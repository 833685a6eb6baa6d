"""Phone numbers as Google's libphonenumber reads them (the `phonenumbers` package).

A number is placed in its country by its own `+`/international prefix, or else by the region the
connection says national numbers belong to (`default_country`, ISO 3166 alpha-2: "US", "GB",
"BR"): `07911 123456` in GB is `+447911123456`, `(415) 555-2671` in the US `+14155552671`, and the
same national digits mean a different person in another country, which is why the region is a
setting and never guessed.

Only a number of a possible length for its country is kept (`IS_POSSIBLE`): a local-only number
(seven US digits without an area code) cannot be placed, and anything that does not parse is no
phone at all. Validity (an allocated range) is not asked: it changes with every metadata release
and refuses the reserved 555 numbers that tests and demos use. E.164 has no extension, so
`+1 415 555 2671 ext. 42` is `+14155552671`.
"""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

DEFAULT_COUNTRY = "US"


def is_known_region(region: str) -> bool:
    """Whether libphonenumber has a numbering plan for this ISO alpha-2 region."""
    return region in phonenumbers.SUPPORTED_REGIONS


def region_for_calling_code(code: str | int) -> str | None:
    """The main region of a country calling code ("1" -> "US", "44" -> "GB"), None if unknown."""
    try:
        region = phonenumbers.region_code_for_country_code(int(code))
    except ValueError:
        return None
    return None if region == phonenumbers.UNKNOWN_REGION else region


def normalize_phone(phone: str | None, default_country: str | None = DEFAULT_COUNTRY) -> str | None:
    """E.164 (`+447911123456`), or None when the text is no phone that can be placed in a country.

    `default_country` is the region of numbers written without a country code; None takes only
    numbers that carry one. Never raises for any text.
    """
    if not phone or not phone.strip():
        return None
    region = default_country.upper() if default_country else None
    try:
        number = phonenumbers.parse(phone, region)
    except NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
