"""Webhook events: GHL's flat payloads, signed with the sandbox's own keys, delivered like GHL.

GHL signs the raw body with Ed25519 (`x-ghl-signature`) and, for the legacy scheme, RSA-SHA256
PKCS#1 v1.5 (`x-wh-signature`); both base64. The real private keys are GHL's, so the sandbox
has its own pairs and publishes the public halves (`public_keys`, GET /_sandbox/keys).
Delivery (the kit's Outbox) retries only when the receiver answers 429 (up to 6 retries, ~10 min
apart); any other failure, including a timeout or a 5xx, is given up and recorded, as GHL does.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from sandbox.fakes.webhooks import Delivery as KitDelivery
from sandbox.fakes.webhooks import RetryRule

MAX_RETRIES = 6


def compact_json(payload: dict[str, Any]) -> bytes:
    """JSON.stringify-style bytes: no spaces, non-ASCII kept as UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@cache
def _rsa_key(seed: int) -> rsa.RSAPrivateKey:
    # RSA keys cannot be derived from a seed with `cryptography`; one key per seed per process
    # keeps them stable within a test run and pays the generation cost once.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _spki_b64(public_key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def _pem(public_key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


class Signer:
    """The sandbox's key pairs: Ed25519 derived from the seed; RSA generated lazily, cached per seed."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        material = hashlib.sha256(f"ghl-sandbox-ed25519:{seed}".encode()).digest()
        self._ed25519 = ed25519.Ed25519PrivateKey.from_private_bytes(material)

    @property
    def _rsa(self) -> rsa.RSAPrivateKey:
        return _rsa_key(self._seed)

    def sign_ed25519(self, body: bytes) -> str:
        return base64.b64encode(self._ed25519.sign(body)).decode("ascii")

    def sign_rsa(self, body: bytes) -> str:
        signature = self._rsa.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    @property
    def public_keys(self) -> dict[str, str]:
        """Single-line base64 of each public key's SubjectPublicKeyInfo DER."""
        return {"ed25519": _spki_b64(self._ed25519.public_key()), "rsa": _spki_b64(self._rsa.public_key())}

    @property
    def public_keys_pem(self) -> dict[str, str]:
        return {"ed25519": _pem(self._ed25519.public_key()), "rsa": _pem(self._rsa.public_key())}


@dataclass(kw_only=True)
class Delivery(KitDelivery):
    """One GHL webhook to one target; retried with the same bytes and webhookId."""

    webhook_id: str
    event_type: str
    location_id: str

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def retry_rule(interval_s: float, max_retries: int = MAX_RETRIES) -> RetryRule:
    """GHL retries only when the receiver answers 429; a 5xx, a timeout or a refusal is given up."""
    return RetryRule(retry_statuses=frozenset({429}), max_retries=max_retries, interval_s=interval_s)


@dataclass(frozen=True)
class Target:
    url: str
    app_id: str
    version_id: str
