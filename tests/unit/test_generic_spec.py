"""The generic connector's spec: every kind of mistake is refused when the spec is loaded, with a
message naming the path of the bad key, and all of a spec's problems are reported at once."""

from typing import Any

import pytest

from tests.fixtures.generic_spec import example_spec, problems_of_spec


@pytest.mark.parametrize("style", ["a", "b"])
def test_the_example_specs_are_valid(style: str) -> None:
    # GIVEN the shipped example WHEN loaded THEN it has no problem
    assert problems_of_spec(example_spec(style)) == []


def test_an_unknown_placeholder_names_its_path() -> None:
    # GIVEN an update path with a misspelt placeholder
    spec = example_spec("a")
    spec["entities"]["contact"]["update"]["path"] = "/contacts/{contactid}"
    # WHEN loaded THEN the problem names the key and the placeholder (and the one it needs)
    problems = problems_of_spec(spec)
    assert "entities.contact.update.path: unknown placeholder {contactid} (offered: {id})" in problems
    assert "entities.contact.update: must use the placeholder {id}" in problems


def test_an_unknown_key_names_its_path() -> None:
    spec = example_spec("b")
    spec["entities"]["task"]["record"]["parent"] = "ContactId"
    assert problems_of_spec(spec) == ["entities.task.record.parent: Extra inputs are not permitted"]


def test_an_unknown_canonical_field_names_its_path() -> None:
    spec = example_spec("a")
    spec["entities"]["contact"]["fields"][3]["canonical"] = "company"
    [problem] = problems_of_spec(spec)
    assert problem.startswith("entities.contact.fields.3.canonical: unknown contact field 'company'")


def test_a_transform_on_the_wrong_field_is_refused() -> None:
    spec = example_spec("a")
    spec["entities"]["contact"]["fields"][3]["transform"] = "e164"
    assert problems_of_spec(spec) == ["entities.contact.fields.3.transform: e164 is for the phone field"]


def test_an_enum_without_values_is_refused() -> None:
    spec = example_spec("a")
    del spec["entities"]["task"]["fields"][3]["values"]
    [problem] = problems_of_spec(spec)
    assert problem.startswith("entities.task.fields.3: ") and "`values`" in problem


def test_an_unreadable_date_format_is_refused() -> None:
    spec = example_spec("b")
    spec["entities"]["contact"]["record"]["updated_at_format"] = "yyyy-mm-dd"
    [problem] = problems_of_spec(spec)
    assert problem.startswith("entities.contact.record.updated_at_format: 'yyyy-mm-dd' is not")


def test_an_entity_that_cannot_be_read_back_is_refused() -> None:
    spec = example_spec("a")
    del spec["entities"]["note"]["get"]
    [problem] = problems_of_spec(spec)
    assert problem.startswith("entities.note.get: required")


def test_tags_as_a_field_without_a_contact_update_are_refused() -> None:
    # GIVEN tags written as a list field, but no contact update request to write it with
    spec = example_spec("b")
    del spec["entities"]["contact"]["update"]
    assert problems_of_spec(spec) == [
        "tags.field: needs entities.contact.update (the list is written with it)"
    ]


def test_polling_without_a_change_listing_is_refused() -> None:
    spec = example_spec("b")
    del spec["entities"]["contact"]["list_changed_since"]
    assert problems_of_spec(spec) == ["inbound.polling: needs entities.contact.list_changed_since"]


def test_a_webhook_event_of_an_absent_entity_is_refused() -> None:
    spec = example_spec("a")
    del spec["entities"]["note"]
    problems = problems_of_spec(spec)
    assert "inbound.webhooks.events.note.created.entity: no entities.note in this spec" in problems


def test_a_task_rule_without_a_task_create_is_refused() -> None:
    spec = example_spec("a")
    spec["rules"] = {"new_contact_tasks": [{"title": "Welcome call"}]}
    del spec["entities"]["task"]["create"]
    assert problems_of_spec(spec) == ["rules.new_contact_tasks: needs entities.task.create"]


def test_a_full_pass_without_a_contact_listing_is_refused() -> None:
    spec = example_spec("a")
    spec["rules"] = {"full_pass": {"filter": {"businessId": "42"}}}
    del spec["entities"]["contact"]["list"]
    assert problems_of_spec(spec) == ["rules.full_pass: needs entities.contact.list"]


def test_a_tag_endpoint_without_the_tags_is_refused() -> None:
    spec = example_spec("a")
    spec["tags"]["add"]["body"] = {"labels": "{labels}"}
    problems = problems_of_spec(spec)
    assert "tags.add.body: unknown placeholder {labels} (offered: {id}, {tag}, {tags})" in problems
    assert "tags.add: must use {tags} (the list) or {tag} (one call per tag)" in problems


def test_an_unknown_auth_kind_names_its_path() -> None:
    spec = example_spec("a")
    spec["auth"] = {"kind": "magic"}
    [problem] = problems_of_spec(spec)
    assert problem.startswith("auth: ")


def test_every_problem_of_a_spec_is_reported_at_once() -> None:
    # GIVEN three unrelated mistakes
    spec: dict[str, Any] = example_spec("a")
    spec["entities"]["contact"]["get"]["path"] = "/contacts/{uid}"
    spec["entities"]["task"]["list"]["path"] = "/tasks"
    spec["rules"] = {"new_contact_tasks": [{"title": "Welcome"}]}
    del spec["entities"]["task"]["create"]
    # WHEN loaded THEN all of them come back together
    problems = problems_of_spec(spec)
    assert {
        "entities.contact.get.path: unknown placeholder {uid} (offered: {id})",
        "entities.task.list: must use the placeholder {contact_id}",
        "rules.new_contact_tasks: needs entities.task.create",
    } <= set(problems)
