"""Person names on sides that store one full name (Kayako's `full_name`). Pure: no I/O.

Joining is unambiguous (`join_name`); splitting is not: `Mary Ann Smith` may be first name
`Mary Ann`, last name `Smith`, or `Mary` / `Ann Smith`. `split_full_name` takes the first word as
the first name unless it is told the first name the other side already holds (`keep_first`) and
the full name still starts with it: then that first name is kept, so a surname fixed in the app
(`Mary Ann Smyth`) comes back to GHL as first `Mary Ann`, last `Smyth`.
"""


def join_name(first_name: str | None, last_name: str | None) -> str | None:
    joined = " ".join(p.strip() for p in (first_name, last_name) if p and p.strip())
    return joined or None


def split_full_name(full_name: str, keep_first: str | None = None) -> tuple[str | None, str | None]:
    """'Ada King Lovelace' -> ('Ada', 'King Lovelace'); 'Cher' -> ('Cher', None);
    ('Mary Ann Smyth', keep_first='Mary Ann') -> ('Mary Ann', 'Smyth')."""
    words = full_name.split()
    kept = (keep_first or "").split()
    if kept and words[: len(kept)] == kept:
        rest = " ".join(words[len(kept) :])
        return " ".join(kept), rest or None
    if not words:
        return None, None
    return words[0], " ".join(words[1:]) or None
