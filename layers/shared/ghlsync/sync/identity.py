"""Who is who on the other side (DESIGN §4 rule 1).

Match order: stored link (the engine checks it before calling here) -> the external-id custom field
(the source record carries the other side's id) -> normalised email -> E.164 phone
(`normalize_phone`, from `ghlsync.mapping.phones`: national numbers are read in the connection's
`default_country`). A match is only taken when every step that finds something agrees: email
saying A and phone saying B, two records sharing an email, or a candidate already linked to a
different record are all `Ambiguous`, recorded as a conflict and never merged. Nothing here
creates anything: the engine creates only after `find_match` returned `NoMatch`.

A former address is not a claim: apps such as Kayako keep every address a person ever had, so a
lookup can find a record by an email (or phone) that is no longer its own. Such a record, when it
is already linked to someone else, moved on from that address: it is left out of the candidates
rather than blocking the newcomer forever. An unlinked record found by a former address still
matches (it is the same person writing from an old address).
"""

from collections.abc import Callable
from dataclasses import dataclass

from ghlsync.apps.base import ContactConnector
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.mapping.phones import normalize_phone


def normalize_email(email: str | None) -> str | None:
    if not email:
        return None
    cleaned = email.strip().lower()
    return cleaned if "@" in cleaned else None


@dataclass(frozen=True)
class Matched:
    record: CanonicalContact
    via: str  # external_id | email | phone


@dataclass(frozen=True)
class NoMatch:
    """No record on the other side matches: the engine may create one."""


@dataclass(frozen=True)
class Ambiguous:
    reason: str


Match = Matched | NoMatch | Ambiguous


def find_match(
    source: CanonicalContact,
    target: ContactConnector,
    *,
    external_id_field: str,
    default_country: str | None,
    linked_to_other: Callable[[str], bool],
) -> Match:
    """The target record that is `source`, by the rule-1 order.

    `linked_to_other(target_id)` says whether that target record is already linked to a different
    source record (then matching it would merge two people).
    """
    external_id = source.custom_fields.get(external_id_field)
    if isinstance(external_id, str | int) and str(external_id).strip():
        record = target.get_contact(str(external_id).strip())
        if record is not None and record.id:
            if linked_to_other(record.id):
                return Ambiguous(f"external id {record.id} is already linked to another record")
            return Matched(record, "external_id")

    email = normalize_email(source.email)
    phone = normalize_phone(source.phone, default_country)
    by_email = _distinct(target.find_contacts(email=email, phone=None)) if email else {}
    by_phone = _distinct(target.find_contacts(email=None, phone=phone)) if phone else {}
    by_email = _without_former_holders(
        by_email, email, lambda record: normalize_email(record.email), linked_to_other
    )
    by_phone = _without_former_holders(
        by_phone, phone, lambda record: normalize_phone(record.phone, default_country), linked_to_other
    )

    if len(by_email) > 1:
        return Ambiguous(f"email matches {len(by_email)} records: {', '.join(sorted(by_email))}")
    if len(by_phone) > 1 and not by_email:
        return Ambiguous(f"phone matches {len(by_phone)} records: {', '.join(sorted(by_phone))}")
    if by_email and by_phone and not by_phone.keys() & by_email.keys():
        return Ambiguous(
            f"email matches {next(iter(by_email))} but phone matches {', '.join(sorted(by_phone))}"
        )
    found = by_email or by_phone
    if not found:
        return NoMatch()
    record_id, record = next(iter(found.items()))
    if linked_to_other(record_id):
        return Ambiguous(f"{record_id} is already linked to another record")
    return Matched(record, "email" if by_email else "phone")


def _distinct(records: list[CanonicalContact]) -> dict[str, CanonicalContact]:
    return {record.id: record for record in records if record.id}


def _without_former_holders(
    found: dict[str, CanonicalContact],
    wanted: str | None,
    current_of: Callable[[CanonicalContact], str | None],
    linked_to_other: Callable[[str], bool],
) -> dict[str, CanonicalContact]:
    """`found` minus the records that were found by a value they no longer hold (their current one,
    normalised, is another) and that are linked to another record. A record whose current value is
    unknown keeps its claim: only a known different value proves the address moved on."""
    return {
        record_id: record
        for record_id, record in found.items()
        if not (_moved_on(current_of(record), wanted) and linked_to_other(record_id))
    }


def _moved_on(current: str | None, wanted: str | None) -> bool:
    return current is not None and wanted is not None and current != wanted
