"""OAuth access and refresh tokens shaped like GHL's: RS256 JWTs (`header.payload.signature`,
base64url without padding; ghl-api.md §4.1: `eyJhbGciOiJSUzI1NiIs...`).

The claims are the ones seen in GHL's tokens (ghl-api.md §4.1, community captures): `authClass`
(Location or Company), `authClassId` (the location or company id), `source` "INTEGRATION",
`sourceId` (the client id), `channel` "OAUTH", `oauthMeta.scopes`, plus `iat`/`exp`. The rest of
`oauthMeta` and `primaryAuthClassId` are plausible guesses; `jti` is the sandbox's own, so that two
tokens issued in the same second differ. Access and refresh tokens share the shape.

The signature is 256 bytes (what RS256 with a 2048-bit key produces) derived from the payload and
the sandbox's seed, not a real RSA signature: GHL's private key is GHL's, so no client can verify
a GHL token either, and one RSA key per sandbox would cost more than every test that builds one.
Clients must treat tokens as opaque; the shape matters to code that logs, redacts or stores them.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.ghl.state import IdFactory

_HEADER = {"alg": "RS256", "typ": "JWT"}
_SIGNATURE_BYTES = 256


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _compact(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT-shaped token (no signature check: there is nothing to check it with)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


@dataclass(frozen=True)
class TokenGrant:
    """Who a token speaks for: the claims every token of one install shares."""

    auth_class: Literal["Location", "Company"]
    auth_class_id: str
    client_id: str
    app_id: str
    version_id: str
    scopes: frozenset[str]
    company_id: str


class TokenMinter:
    """Mints JWT-shaped tokens; deterministic for a seed and a sequence of calls, like every id."""

    def __init__(self, ids: IdFactory, key: str) -> None:
        self._ids = ids
        self._key = key.encode()

    def mint(self, grant: TokenGrant, *, issued_at: float, ttl_s: int) -> str:
        claims: dict[str, Any] = {
            "authClass": grant.auth_class,
            "authClassId": grant.auth_class_id,
            "source": "INTEGRATION",
            "sourceId": grant.client_id,
            "channel": "OAUTH",
            "primaryAuthClassId": grant.auth_class_id,
            "oauthMeta": {
                "scopes": sorted(grant.scopes),
                "client": grant.app_id,
                "versionId": grant.version_id,
                "clientKey": grant.client_id,
            },
            **({"companyId": grant.company_id} if grant.company_id else {}),
            "iat": int(issued_at),
            "exp": int(issued_at) + ttl_s,
            "jti": self._ids.uuid(),
        }
        signing_input = f"{b64url(_compact(_HEADER))}.{b64url(_compact(claims))}"
        return f"{signing_input}.{b64url(self._signature(signing_input))}"

    def _signature(self, signing_input: str) -> bytes:
        blocks = (
            hashlib.sha256(self._key + bytes([n]) + signing_input.encode()).digest()
            for n in range(_SIGNATURE_BYTES // 32)
        )
        return b"".join(blocks)
