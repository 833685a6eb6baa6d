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
    normalized = tags.normalize_tags([" VIP ", "vip", "", "Lead"])
    # THEN case and surrounding spaces no longer make two tags, and blanks are dropped
    assert tags.keys(normalized) == frozenset({"vip", "lead"}) and len(normalized) == 2


def test_normalising_keeps_one_spelling_whatever_the_order() -> None:
    # GIVEN the same tags listed in two orders
    # WHEN normalised
    # THEN both keep the same spelling (the first in sorted order), not a lower-cased one
    assert tags.normalize_tags(["vip", "VIP", "Lead"]) == tags.normalize_tags(["Lead", "VIP", "vip"])
    assert tags.normalize_tags(["Probe-Mixed"]) == frozenset({"Probe-Mixed"})


def test_diff_compares_by_identity_and_removes_in_the_before_spelling() -> None:
    # GIVEN a side's shadow spelled {Probe-Mixed, vip} and a new list {probe-mixed}
    # WHEN diffed
    delta = tags.diff(frozenset({"Probe-Mixed", "vip"}), frozenset({"probe-mixed"}))
    # THEN the re-spelled tag is no change, and the removal names the tag as the shadow has it
    assert (delta.add, delta.remove) == (frozenset(), frozenset({"vip"}))


def test_a_delta_is_spelled_for_the_side_it_is_sent_to() -> None:
    # GIVEN GHL removed `probe-mixed` and added `New`; the app stores `Probe-Mixed`
    delta = tags.TagDelta(add=frozenset({"New"}), remove=frozenset({"probe-mixed"}))
    # WHEN spelled for the app
    sent = delta.spelled_for(frozenset({"Probe-Mixed", "vip"}))
    # THEN the removal uses the app's own spelling
    assert (sent.add, sent.remove) == (frozenset({"New"}), frozenset({"Probe-Mixed"}))


def test_applying_a_delta_keeps_the_spelling_of_tags_already_there() -> None:
    # GIVEN a set with `VIP` and a delta adding `vip` and `lead`
    # WHEN applied
    result = tags.TagDelta(add=frozenset({"vip", "lead"})).apply(frozenset({"VIP"}))
    # THEN `VIP` stays as spelled and only `lead` is new
    assert result == frozenset({"VIP", "lead"})


def test_a_write_that_took_contradicts_nothing() -> None:
    # GIVEN a side's answer listing its tags after an add of `Probe` (it lower-cased it)
    # WHEN checked
    # THEN nothing is missing
    assert tags.missing_after_write(["probe", "vip"], tags.TagDelta(add=frozenset({"Probe"}))) == (
        frozenset(),
        frozenset(),
    )


def test_a_removal_the_side_did_not_take_is_reported() -> None:
    # GIVEN a side still listing `Probe-Mixed` after `probe-mixed` was removed
    # WHEN checked
    # THEN the kept tag is reported
    assert tags.missing_after_write(["Probe-Mixed"], tags.TagDelta(remove=frozenset({"probe-mixed"}))) == (
        frozenset(),
        frozenset({"probe-mixed"}),
    )


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
