"""Tag deltas and the tag-set merge."""

from ghlsync.sync import tags


def test_diff_lists_only_what_was_added_and_removed() -> None:
    # GIVEN a shadow {a, b} and a new list {b, c}
    # WHEN diffed
    delta = tags.diff(frozenset({"a", "b"}), frozenset({"b", "c"}))
    # THEN only the changes remain
    assert (delta.add, delta.remove) == (frozenset({"c"}), frozenset({"a"}))


def test_tags_are_normalised_case_and_whitespace_insensitively() -> None:
    # GIVEN tags as users type them
    # WHEN normalised
    # THEN case and surrounding spaces no longer matter, and blanks are dropped
    assert tags.normalize_tags([" VIP ", "vip", "", "Lead"]) == frozenset({"vip", "lead"})


def test_merge_applies_each_sides_changes_to_the_other() -> None:
    # GIVEN both sides started from {a, b}; GHL added c, the app removed a
    ghl, app = tags.merge(
        frozenset({"a", "b", "c"}), frozenset({"a", "b"}), frozenset({"b"}), frozenset({"a", "b"})
    )
    # THEN both end with {b, c}
    assert ghl == app == frozenset({"b", "c"})


def test_first_sync_unions_and_never_removes() -> None:
    # GIVEN no shadow on either side
    ghl, app = tags.merge(frozenset({"a"}), None, frozenset({"b"}), None)
    # THEN both get the union
    assert ghl == app == frozenset({"a", "b"})


def test_deleted_marker_names_the_side() -> None:
    assert tags.deleted_tag("kayako") == "deleted-in-kayako"
