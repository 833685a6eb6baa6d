"""Workflow API rules without I/O: keys, `include`, ETags, path ids and request bodies."""

import pytest

from ghlsync.workflow.bundle import ALL_PARTS, Part, etag_matches, etag_of, parse_include
from ghlsync.workflow.errors import BadRequest, Unprocessable
from ghlsync.workflow.keys import MAX_KEY_LENGTH, key_digest, key_matches, new_key
from ghlsync.workflow.requests import NoteBody, TaskCreateBody, TaskUpdateBody, contact_ref, parse_body


def test_new_keys_are_distinct_and_prefixed() -> None:
    # GIVEN two new keys THEN they differ and carry the prefix
    first, second = new_key(), new_key()
    assert first != second and first.startswith("wfk_") and len(first) > 40


def test_the_key_matches_its_digest() -> None:
    # GIVEN a key and its stored digest THEN the key matches
    key = new_key()
    assert key_matches(key, key_digest(key))


@pytest.mark.parametrize("presented", [None, "", "wfk_wrong", "x" * (MAX_KEY_LENGTH + 1)])
def test_no_key_a_wrong_key_or_an_overlong_key_does_not_match(presented: str | None) -> None:
    # GIVEN a stored digest WHEN anything but its key is presented THEN it does not match
    assert not key_matches(presented, key_digest(new_key()))


def test_no_stored_digest_matches_no_key() -> None:
    # GIVEN a connection without a key THEN even a well-formed key does not match
    assert not key_matches(new_key(), None)


def test_no_include_means_every_part() -> None:
    # GIVEN no include parameter THEN all four parts are asked for
    assert parse_include(None) == ALL_PARTS == frozenset(Part)


def test_include_takes_commas_and_repeats() -> None:
    # GIVEN include=contact,notes&include=tasks THEN exactly those three parts
    assert parse_include(["contact, notes", "tasks"]) == {Part.CONTACT, Part.NOTES, Part.TASKS}


def test_an_unknown_include_part_is_a_bad_request_naming_include() -> None:
    # GIVEN include=contact,secrets THEN 400 naming the field and the part
    with pytest.raises(BadRequest) as refused:
        parse_include(["contact,secrets"])
    assert refused.value.field == "include" and "secrets" in refused.value.message


def test_the_etag_is_stable_for_the_same_document() -> None:
    # GIVEN the same document built twice (keys in another order) THEN the same strong ETag
    assert etag_of({"a": 1, "b": [1, 2]}) == etag_of({"b": [1, 2], "a": 1})


def test_the_etag_changes_with_any_content() -> None:
    # GIVEN a note body changed THEN another ETag
    assert etag_of({"notes": [{"body": "a"}]}) != etag_of({"notes": [{"body": "b"}]})


@pytest.mark.parametrize("header", ['"{t}"', 'W/"{t}"', '"other", "{t}"', "*"])
def test_if_none_match_matches_the_etag_in_its_forms(header: str) -> None:
    # GIVEN an ETag WHEN If-None-Match names it (strong, weak, in a list) or is * THEN it matches
    tag = etag_of({"x": 1})
    assert etag_matches(header.replace('"{t}"', tag), tag)


@pytest.mark.parametrize("header", [None, "", '"other"'])
def test_if_none_match_without_the_etag_does_not_match(header: str | None) -> None:
    # GIVEN another or no If-None-Match THEN the document is sent
    assert not etag_matches(header, etag_of({"x": 1}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SoB4bYMRp5rp7sRevmmE", ("ghl", "SoB4bYMRp5rp7sRevmmE")),
        ("app:2", ("app", "2")),
        ("app:cust-77@acme.test", ("app", "cust-77@acme.test")),
    ],
)
def test_a_contact_is_named_by_its_ghl_id_or_the_app_id(value: str, expected: tuple[str, str]) -> None:
    # GIVEN a path contact id THEN the side and id it names
    assert contact_ref(value) == expected


@pytest.mark.parametrize("value", ["../x", "..", "a/b", "app:", "app:../x", "app:a b", "x" * 65, "%2e%2e"])
def test_an_id_that_cannot_name_a_record_names_none(value: str) -> None:
    # GIVEN a path id with traversal, separators, blanks or overlong THEN it names nothing
    assert contact_ref(value) is None


@pytest.mark.parametrize("raw", [b"{", b"[1]", b'"text"', b"\xff\xfe", b""])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(raw: bytes) -> None:
    # GIVEN malformed JSON, a non-object or no body THEN 400
    with pytest.raises(BadRequest):
        parse_body(raw, NoteBody)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"title": ""}', "title"),
        (b'{"title": "x", "dueDate": "tomorrow"}', "dueDate"),
        (b'{"title": "x", "dueDate": "2027-01-15T09:00:00"}', "dueDate"),
        (b'{"title": "x", "colour": "red"}', "colour"),
        (b'{"title": "x", "appId": "../x"}', "appId"),
        (b"{}", "title"),
    ],
)
def test_a_wrong_task_field_is_unprocessable_naming_it(raw: bytes, field: str) -> None:
    # GIVEN a task body with one wrong field THEN 422 naming that field
    with pytest.raises(Unprocessable) as refused:
        parse_body(raw, TaskCreateBody)
    assert refused.value.field == field


def test_a_task_update_reports_the_fields_it_sets() -> None:
    # GIVEN a body setting title and dueDate (and appId, which is not content)
    body = parse_body(b'{"title": "Call", "dueDate": "2027-01-15T09:00:00Z", "appId": "7"}', TaskUpdateBody)
    # THEN exactly the canonical fields it changes
    assert body.changed() == {"title", "due_date"}
