"""Named combinations of the GHL sandbox's switches for what GHL leaves unconfirmed.

Each switch of `GhlSandbox` (README "Unconfirmed") is a guess about real GHL; a test that passes
only under the default guess proves little. A `GhlVariant` is one alternative world, and the suite
runs the tests that matter for correctness under the variants that can change their outcome (the
`ghl_variants` marker, tests/fixtures/ghl.py) rather than every test under every variant.
"""

from dataclasses import dataclass, field, fields
from typing import Any

from sandbox.ghl.crm import UpdateRules


@dataclass(frozen=True)
class GhlVariant:
    """One setting of the sandbox's unconfirmed switches; the defaults are `GhlSandbox`'s."""

    name: str = "default"
    not_found_status: int = 404
    lowercase_tags: bool = False
    retry_after_on_429: bool = False
    search_lag_s: float = 0.0
    updates: UpdateRules = field(default_factory=UpdateRules)
    previous_access_token_valid_after_refresh: bool = True

    def sandbox_options(self) -> dict[str, Any]:
        """The `GhlSandbox(...)` keyword arguments of this variant."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


DEFAULT = GhlVariant()
_STRICT_UPDATES = UpdateRules(
    noop_put_moves_date_updated=False, noop_put_emits_update=False, tags_move_date_updated=False
)

VARIANTS: dict[str, GhlVariant] = {
    variant.name: variant
    for variant in (
        DEFAULT,
        # A missing record answered 400 instead of 404 (both are reported for GHL).
        GhlVariant(name="not-found-400", not_found_status=400),
        # GHL stores tags lower-cased.
        GhlVariant(name="lowercase-tags", lowercase_tags=True),
        # 429s carry a Retry-After (the default paces on X-RateLimit-* alone).
        GhlVariant(name="retry-after", retry_after_on_429=True),
        # Search and the contact listing trail writes by 30 s (GHL gives no figure).
        GhlVariant(name="search-lag", search_lag_s=30.0),
        # Only real changes move dateUpdated or fire ContactUpdate.
        GhlVariant(name="strict-updates", updates=_STRICT_UPDATES),
        # A refresh revokes the access token issued with the refresh token it spends.
        GhlVariant(name="old-token-dies", previous_access_token_valid_after_refresh=False),
        # Every switch away from its default at once: for the long runs (chaos) that cannot afford
        # one run per switch.
        GhlVariant(
            name="all-flipped",
            not_found_status=400,
            lowercase_tags=True,
            retry_after_on_429=True,
            search_lag_s=30.0,
            updates=_STRICT_UPDATES,
            previous_access_token_valid_after_refresh=False,
        ),
    )
}
