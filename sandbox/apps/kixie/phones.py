"""Phone numbers as Kixie keys them: E.164 (target-apps.md §3.2: a PowerList contact is its number).

Kixie is North-American first: 10 digits are a NANP number (+1 added), 11 digits starting with 1
are one with its country code; anything else must already carry its `+` (8-15 digits). Spaces,
dashes, dots and brackets are dropped. Anything else is not a number (None).
"""

import re

_PUNCTUATION = re.compile(r"[\s\-.()]")
_DIGITS = re.compile(r"\d+")


def e164(raw: object) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = _PUNCTUATION.sub("", raw.strip())
    plus, digits = text.startswith("+"), text.removeprefix("+")
    if not _DIGITS.fullmatch(digits):
        return None
    if plus:
        return f"+{digits}" if 8 <= len(digits) <= 15 and not digits.startswith("0") else None
    if len(digits) == 10 and digits[0] not in "01":
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1") and digits[1] not in "01":
        return f"+{digits}"
    return None
