"""Resolving a connection's GHL custom-field map (ids or `contact.x` keys) against definitions."""

from ghlsync.ghl.models import CustomFieldDefinition
from ghlsync.mapping.ghl_fields import needs_definitions, resolve_field_map

PLAN = CustomFieldDefinition(id="f1", field_key="contact.plan", data_type="SINGLE_OPTIONS")
REF = CustomFieldDefinition(id="f2", field_key="contact.crm_ref", data_type="TEXT")
CONTRACT = CustomFieldDefinition(id="f3", field_key="contact.contract", data_type="FILE_UPLOAD")


def test_a_map_of_ids_needs_no_definitions_and_is_taken_as_is():
    # GIVEN ids only / WHEN resolved without definitions / THEN unchanged, nothing to fetch
    refs = {"f1": "plan", "anything": "x"}
    assert not needs_definitions(refs)
    assert resolve_field_map(refs, None).by_id == refs


def test_keys_and_ids_resolve_to_field_ids():
    # GIVEN a key and an id of the location / WHEN resolved / THEN both by id, no problems
    resolution = resolve_field_map({"contact.plan": "plan", "f2": "external_id"}, [PLAN, REF])
    assert (resolution.by_id, resolution.problems) == ({"f1": "plan", "f2": "external_id"}, [])


def test_unknown_fields_and_unsyncable_types_are_problems_and_left_out():
    # GIVEN an unknown id, an unknown key and a file-upload field / WHEN resolved
    resolution = resolve_field_map(
        {"zz": "a", "contact.gone": "b", "contact.contract": "c"}, [PLAN, REF, CONTRACT]
    )
    # THEN none is mapped and each is named
    assert resolution.by_id == {}
    assert resolution.problems == [
        "contact.contract -> c: a FILE_UPLOAD field, whose values cannot be synced",
        "contact.gone -> b: the location has no custom field with this key",
        "zz -> a: the location has no custom field with this id",
    ]


def test_one_field_named_twice_is_a_problem():
    # GIVEN the same field by id and by key / WHEN resolved / THEN mapped once, the second named
    resolution = resolve_field_map({"f1": "plan", "contact.plan": "tier"}, [PLAN])
    assert resolution.by_id == {"f1": "tier"}
    assert resolution.problems == ["f1 -> plan: field f1 is mapped twice"]


def test_the_external_id_on_a_non_text_field_is_a_problem():
    # GIVEN the external id mapped onto an options field / WHEN resolved / THEN refused
    resolution = resolve_field_map({"contact.plan": "external_id"}, [PLAN], external_id_field="external_id")
    assert resolution.by_id == {}
    (problem,) = resolution.problems
    assert problem.startswith("contact.plan -> external_id: holds the external id but is SINGLE_OPTIONS")
