"""A connection's GHL custom-field map, resolved against the location's field definitions.

`ghl_custom_fields` maps a GHL field onto a canonical key. The field is named by its id
(`6dvNaf7VhkQ9snc5vnjJ`) or by its field key as GHL shows it (`contact.membership_status`, the
`fieldKey` of GET /locations/{id}/customFields); contacts carry values under the id only, so keys
are resolved to ids. A map of ids alone needs no definitions (nothing is fetched); ids are then
trusted as they are, and `connections_cli check` is where an unknown one shows up.

Problems found (each one line, for the check and the logs): a field the location does not have
(GHL drops such values on write), a field whose values the engine cannot carry (file uploads,
signatures, text-box lists are objects GHL builds itself), the external-id field on a field that
is not text (an id would be refused or mangled), and one field named twice.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ghlsync.ghl.models import CustomFieldDefinition

FIELD_KEY_PREFIX = "contact."
UNSYNCABLE_TYPES = frozenset({"FILE_UPLOAD", "SIGNATURE", "TEXTBOX_LIST"})
TEXT_TYPES = frozenset({"TEXT", "LARGE_TEXT"})


def names_a_key(reference: str) -> bool:
    return reference.startswith(FIELD_KEY_PREFIX)


def needs_definitions(refs: Mapping[str, str]) -> bool:
    return any(names_a_key(reference) for reference in refs)


@dataclass(frozen=True)
class FieldResolution:
    by_id: dict[str, str]  # GHL field id -> canonical key: what GhlFieldMap.custom_fields takes
    problems: list[str] = field(default_factory=list)


def resolve_field_map(
    refs: Mapping[str, str],
    definitions: Sequence[CustomFieldDefinition] | None,
    *,
    external_id_field: str | None = None,
) -> FieldResolution:
    """`definitions` None: not fetched (the map names ids only), so every id is taken as is."""
    if definitions is None:
        return FieldResolution(dict(refs))
    by_id = {definition.id: definition for definition in definitions}
    by_key = {definition.field_key: definition for definition in definitions if definition.field_key}
    resolved: dict[str, str] = {}
    problems = []
    for reference, canonical in sorted(refs.items()):
        definition = by_id.get(reference) or by_key.get(reference)
        if definition is None:
            kind = "key" if names_a_key(reference) else "id"
            problems.append(f"{reference} -> {canonical}: the location has no custom field with this {kind}")
            continue
        named = f"{reference} -> {canonical}"
        if definition.id in resolved:
            problems.append(f"{named}: field {definition.id} is mapped twice")
            continue
        if definition.data_type in UNSYNCABLE_TYPES:
            problems.append(f"{named}: a {definition.data_type} field, whose values cannot be synced")
            continue
        if canonical == external_id_field and definition.data_type not in TEXT_TYPES:
            problems.append(
                f"{named}: holds the external id but is {definition.data_type}; ids need TEXT or LARGE_TEXT"
            )
            continue
        resolved[definition.id] = canonical
    return FieldResolution(resolved, problems)
