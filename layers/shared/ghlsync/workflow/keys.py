"""Per-connection workflow-API keys: generated, stored as a digest, compared in constant time.

A key is `wfk_` + 32 random URL-safe bytes. Only its SHA-256 digest is stored (in the connection's
secret, `ghlsync.store.connections.WORKFLOW_KEY_DIGEST_FIELD`), so the key is shown once, when it
is made, and a reader of the secret cannot call the API. Rotating stores a new digest: the old key
stops working at once. Keys are high-entropy, so an unsalted fast hash is enough; the comparison
is `hmac.compare_digest` over digests of equal length, whatever the presented key looks like.
"""

import hashlib
import hmac
import secrets

KEY_PREFIX = "wfk_"
# A longer presented key is refused before hashing: nothing legitimate is that long.
MAX_KEY_LENGTH = 256


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(presented: str | None, digest: str | None) -> bool:
    """True when `presented` is the key whose digest is stored; False for no key or no digest."""
    if not presented or not digest or len(presented) > MAX_KEY_LENGTH:
        return False
    return hmac.compare_digest(key_digest(presented), digest)
