"""Webhook events: GHL's flat payloads, signed with the sandbox's own keys, delivered like GHL.

GHL signs the raw body with Ed25519 (`x-ghl-signature`) and, for the legacy scheme, RSA-SHA256
PKCS#1 v1.5 (`x-wh-signature`); both base64. The real private keys are GHL's, so the sandbox
has its own pairs and publishes the public halves (`public_keys`, GET /_sandbox/keys).
Delivery retries only when the receiver answers 429 (up to 6 retries, ~10 min apart); any
other failure, including a timeout or a 5xx, is given up and recorded, as GHL does.
"""

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

WebhookSender = Callable[[str, bytes, dict[str, str]], int]
"""(url, body, headers) -> HTTP status; raises on transport failure."""

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


DeliveryState = Literal["pending", "delivered", "failed", "exhausted"]


@dataclass
class Delivery:
    """One webhook to one target; retried with the same bytes and webhookId."""

    webhook_id: str
    event_type: str
    location_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    next_attempt_at: float
    attempts: int = 0
    status: int | None = None  # the last HTTP status received
    error: str | None = None  # the last exception, when the send raised
    state: DeliveryState = "pending"
    history: list[int | str] = field(default_factory=list)  # status or error of every attempt

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True)
class Target:
    url: str
    app_id: str
    version_id: str


def httpx_sender(timeout_s: float = 10.0) -> WebhookSender:
    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        return httpx.post(url, content=body, headers=headers, timeout=timeout_s).status_code

    return send


class Outbox:
    """Queued deliveries; `flush` sends the due ones."""

    def __init__(self, *, retry_interval_s: float, max_retries: int = MAX_RETRIES) -> None:
        self.retry_interval_s = retry_interval_s
        self.max_retries = max_retries
        self.deliveries: list[Delivery] = []

    def due(self, now: float) -> list[Delivery]:
        return [d for d in self.deliveries if d.state == "pending" and d.next_attempt_at <= now]

    def record(self, delivery: Delivery, now: float, *, status: int | None, error: str | None) -> None:
        delivery.attempts += 1
        delivery.status, delivery.error = status, error
        delivery.history.append(status if status is not None else f"error: {error}")
        if status is not None and 200 <= status < 300:
            delivery.state = "delivered"
        elif status == 429:
            if delivery.attempts > self.max_retries:
                delivery.state = "exhausted"
            else:
                delivery.next_attempt_at = now + self.retry_interval_s
        else:
            delivery.state = "failed"
