"""Tags travel as deltas (DESIGN §4 rule 4).

GHL's contact PUT replaces every tag and its ContactTagUpdate webhook carries the full list, so the
engine never writes a tag list: it diffs the list against the side's shadow and sends add / remove
calls for the difference only.

Tag identity is case-insensitive (`tag_key`): `Probe-Mixed` and `probe-mixed` are one tag, since
GHL may lower-case what it stores. Spelling is kept, though: every set here holds each side's own
spelling, a delta adds in the spelling of the side the tag came from and removes in the spelling
of the set it is removed from, so a removal sent to a side names the tag exactly as that side
stores it (an app that compares tag names case-sensitively still removes it).
"""

from collections.abc import Iterable
from dataclasses import dataclass


def tag_key(tag: str) -> str:
    """A tag's identity: trimmed and lower-cased."""
    return tag.strip().lower()


def keys(tags: Iterable[str]) -> frozenset[str]:
    return frozenset(tag_key(tag) for tag in tags)


def normalize_tags(tags: Iterable[str]) -> frozenset[str]:
    """Trimmed, empty ones dropped, one spelling per tag (the first in sorted order, so the result
    does not depend on the order the side listed them in)."""
    spelled: dict[str, str] = {}
    for tag in sorted(t.strip() for t in tags):
        if tag:
            spelled.setdefault(tag_key(tag), tag)
    return frozenset(spelled.values())


def same(left: Iterable[str], right: Iterable[str]) -> bool:
    """The two sets name the same tags, whatever the spelling."""
    return keys(left) == keys(right)


def deleted_tag(side_name: str) -> str:
    """The tag a survivor gets when its counterpart is deleted under the `tag` delete policy."""
    return f"deleted-in-{side_name}"


@dataclass(frozen=True)
class TagDelta:
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove

    def apply(self, tags: frozenset[str]) -> frozenset[str]:
        """`tags` without the removed ones (by identity) and with the added ones it lacks; the tags
        it keeps keep their spelling."""
        removed = keys(self.remove)
        kept = frozenset(t for t in tags if tag_key(t) not in removed)
        present = keys(kept)
        return kept | frozenset(t for t in self.add if tag_key(t) not in present)

    def spelled_for(self, side_tags: frozenset[str]) -> "TagDelta":
        """This delta as writes to a side holding `side_tags`: removals of tags it holds, in its own
        spelling; additions of tags it lacks."""
        return diff(side_tags, self.apply(side_tags))


def diff(before: frozenset[str], after: frozenset[str]) -> TagDelta:
    """Tags added (in `after`'s spelling) and removed (in `before`'s), compared by identity."""
    before_keys, after_keys = keys(before), keys(after)
    return TagDelta(
        add=frozenset(t for t in after if tag_key(t) not in before_keys),
        remove=frozenset(t for t in before if tag_key(t) not in after_keys),
    )


def missing_after_write(reported: Iterable[str], delta: TagDelta) -> tuple[frozenset[str], frozenset[str]]:
    """What a side's answer to a tag write contradicts: (added tags it does not list, removed tags
    it still lists). Both empty when the write took."""
    listed = keys(reported)
    return (
        frozenset(t for t in delta.add if tag_key(t) not in listed),
        frozenset(t for t in delta.remove if tag_key(t) in listed),
    )


def merge(
    ghl_now: frozenset[str],
    ghl_base: frozenset[str] | None,
    app_now: frozenset[str],
    app_base: frozenset[str] | None,
) -> tuple[frozenset[str], frozenset[str]]:
    """The tag sets both sides should end with: each side's own changes since its shadow, applied to
    the other side. Without a shadow (first sync) a side's tags all count as added, so the first
    sync unions the two sets and never removes anything. A tag added on one side and removed on the
    other cannot happen (adding needs it absent from the shadow, removing needs it present).
    """
    ghl_delta = diff(ghl_base, ghl_now) if ghl_base is not None else TagDelta(add=ghl_now)
    app_delta = diff(app_base, app_now) if app_base is not None else TagDelta(add=app_now)
    return app_delta.apply(ghl_now), ghl_delta.apply(app_now)
