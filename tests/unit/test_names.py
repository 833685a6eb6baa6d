"""Full names split back into first and last name (mapping.names)."""

import pytest

from ghlsync.mapping.names import join_name, split_full_name


@pytest.mark.parametrize(
    ("full_name", "keep_first", "expected"),
    [
        ("Mary Ann Smyth", "Mary Ann", ("Mary Ann", "Smyth")),
        ("Mary Ann Smyth", None, ("Mary", "Ann Smyth")),
        ("Maria Smyth", "Mary Ann", ("Maria", "Smyth")),
        ("Mary Annette Smyth", "Mary Ann", ("Mary", "Annette Smyth")),
        ("Mary Ann", "Mary Ann", ("Mary Ann", None)),
        ("  Mary   Ann  Smyth ", "Mary Ann", ("Mary Ann", "Smyth")),
        ("", "Mary Ann", (None, None)),
    ],
)
def test_the_known_first_name_is_kept_while_the_full_name_starts_with_it(
    full_name: str, keep_first: str | None, expected: tuple[str | None, str | None]
) -> None:
    # GIVEN a full name and the first name the hub holds
    # WHEN split
    # THEN the hub's first name is kept only when the full name still starts with it (whole words)
    assert split_full_name(full_name, keep_first=keep_first) == expected


def test_splitting_a_joined_name_with_its_first_name_gives_the_parts_back() -> None:
    # GIVEN a first and last name joined
    joined = join_name("Mary Ann", "Smith")
    # WHEN split knowing the first name
    # THEN the parts come back unchanged
    assert joined is not None and split_full_name(joined, keep_first="Mary Ann") == ("Mary Ann", "Smith")
