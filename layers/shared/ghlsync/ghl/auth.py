"""Where the GHL client gets its bearer token from.

Two kinds of token reach the contacts API: an OAuth access token per location (refreshed by the
OAuth token provider in ghlsync.store.tokens) and a private-integration token (PIT), a static token
an operator creates in the sub-account's settings. Both sit behind `TokenProvider`, so the client
neither knows nor cares which one it holds.
"""

from typing import Protocol

from ghlsync.core.errors import REDACTED


class TokenProvider(Protocol):
    def access_token(self, location_id: str) -> str:
        """A token for `location_id` that is believed to be valid now."""
        ...

    def token_rejected(self, location_id: str, token: str) -> None:
        """GHL answered 401 "invalid token" for `token`: make the next `access_token` call return a
        fresh one if one can be had (refresh, re-read). The client retries once after this call."""
        ...


class StaticTokenProvider:
    """A private-integration token: fixed, never refreshed.

    A PIT cannot be refreshed, so a rejection changes nothing; the client sees the same token come
    back and raises instead of spending a request on a retry that would fail again.
    """

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise ValueError("a private-integration token must not be empty")
        self._token = token

    def access_token(self, location_id: str) -> str:
        return self._token

    def token_rejected(self, location_id: str, token: str) -> None:
        return None

    def __repr__(self) -> str:
        return f"StaticTokenProvider(token={REDACTED})"
