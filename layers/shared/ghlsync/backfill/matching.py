"""Who is who across two listings (DESIGN §4 rule 1, as `sync.identity` states it), without a
lookup call per contact.

The app side's listing is indexed by identity key (`keys_of`: the record's own id, its normalised
email, its E.164 phone); each hub contact is then matched against that index in the rule-1 order:
its stored link (the caller checks it) -> the external-id field naming an app record -> email ->
phone. As in the live path a match is taken only when every key that finds something agrees:
two app records sharing the email, email saying A and phone saying B, or a candidate already
linked to (or claimed in this job by) another hub contact are `Ambiguous` and never merged.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.mapping.phones import normalize_phone
from ghlsync.sync.identity import normalize_email


def id_key(record_id: str) -> str:
    return f"x#{record_id}"


def email_key(email: str) -> str:
    return f"e#{email}"


def phone_key(phone: str) -> str:
    return f"p#{phone}"


def keys_of(record: CanonicalContact, default_country: str | None) -> list[str]:
    """The index keys an app record is found by."""
    keys = [id_key(record.id)] if record.id else []
    email = normalize_email(record.email)
    phone = normalize_phone(record.phone, default_country)
    if email:
        keys.append(email_key(email))
    if phone:
        keys.append(phone_key(phone))
    return keys


def wanted_keys(
    contact: CanonicalContact, *, external_id_field: str, default_country: str | None
) -> list[str]:
    """The index keys a hub contact looks its counterpart up by, in rule-1 order."""
    keys = []
    external = contact.custom_fields.get(external_id_field)
    if isinstance(external, str | int) and str(external).strip():
        keys.append(id_key(str(external).strip()))
    email = normalize_email(contact.email)
    phone = normalize_phone(contact.phone, default_country)
    if email:
        keys.append(email_key(email))
    if phone:
        keys.append(phone_key(phone))
    return keys


@dataclass(frozen=True)
class Pair:
    app_id: str
    via: str  # external_id | email | phone


@dataclass(frozen=True)
class Unmatched:
    """No app record matches: the hub contact is missing on the app."""


@dataclass(frozen=True)
class Ambiguous:
    reason: str
    candidates: frozenset[str] = frozenset()  # the app records involved: none of them is created on GHL


Verdict = Pair | Unmatched | Ambiguous


def match(
    keys: list[str],
    found: Mapping[str, frozenset[str]],
    *,
    taken_by_other: Callable[[str], bool],
) -> Verdict:
    """The app record a hub contact is, from its `keys` (`wanted_keys`) and what the index holds
    under each (`found`: key -> app ids). `taken_by_other(app_id)`: linked to, or claimed by,
    another hub contact."""
    by_kind: dict[str, frozenset[str]] = {"x": frozenset(), "e": frozenset(), "p": frozenset()}
    for key in keys:
        by_kind[key[0]] = found.get(key, frozenset())
    [by_id, by_email, by_phone] = [by_kind["x"], by_kind["e"], by_kind["p"]]
    involved = by_id | by_email | by_phone
    verdict = _match(by_id, by_email, by_phone, taken_by_other)
    if isinstance(verdict, Ambiguous):
        return Ambiguous(verdict.reason, involved)
    return verdict


def _match(
    by_id: frozenset[str],
    by_email: frozenset[str],
    by_phone: frozenset[str],
    taken_by_other: Callable[[str], bool],
) -> Verdict:
    if by_id:
        [app_id] = by_id  # an id key holds the one record of that id
        if taken_by_other(app_id):
            return Ambiguous(f"external id {app_id} is already linked to another record")
        return Pair(app_id, "external_id")
    if len(by_email) > 1:
        return Ambiguous(f"email matches {len(by_email)} records: {', '.join(sorted(by_email))}")
    if len(by_phone) > 1 and not by_email:
        return Ambiguous(f"phone matches {len(by_phone)} records: {', '.join(sorted(by_phone))}")
    if by_email and by_phone and not by_email & by_phone:
        return Ambiguous(
            f"email matches {next(iter(by_email))} but phone matches {', '.join(sorted(by_phone))}"
        )
    candidates = by_email or by_phone
    if not candidates:
        return Unmatched()
    [app_id] = candidates
    if taken_by_other(app_id):
        return Ambiguous(f"{app_id} is already linked to another record")
    return Pair(app_id, "email" if by_email else "phone")
