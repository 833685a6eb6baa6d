"""Tags travel as deltas (DESIGN §4 rule 4).

GHL's contact PUT replaces every tag and its ContactTagUpdate webhook carries the full list, so the
engine never writes a tag list: it diffs the list against the side's shadow and sends add / remove
calls for the difference only. Tags compare case-insensitively (GHL stores them lower-cased), so
every set here is normalised first.
"""

from collections.abc import Iterable
from dataclasses import dataclass


def normalize_tags(tags: Iterable[str]) -> frozenset[str]:
    return frozenset(tag.strip().lower() for tag in tags if tag.strip())


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
        return (tags | self.add) - self.remove


def diff(before: frozenset[str], after: frozenset[str]) -> TagDelta:
    return TagDelta(add=after - before, remove=before - after)


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
