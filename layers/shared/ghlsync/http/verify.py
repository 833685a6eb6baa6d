"""Webhook verifiers over the raw body bytes: each raises WebhookRejected (answer 401) or returns.

- SharedSecretVerifier: a secret token in a query parameter or a header, compared in constant time.
- HmacVerifier: HMAC-SHA256/SHA-1 of the body (or of `timestamp.body`), hex or base64, optional
  `sha256=` prefix; a signed timestamp must be within a tolerance of the injected wall clock.
- Ed25519Verifier: a base64 Ed25519 signature of the body (GHL `x-ghl-signature`).
- RsaVerifier: a base64 RSASSA-PKCS1-v1_5 / SHA-256 signature of the body (GHL `x-wh-signature`).

Header names are looked up lower-case (InboundRequest lower-cases them). We verify the exact bytes
received: re-serialising JSON would change them.
"""

import base64
import binascii
import hashlib
import hmac
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ghlsync.core.errors import WebhookRejected

if TYPE_CHECKING:
    # `cryptography` is imported where a signature is checked: a shared-secret app's cold start
    # does not pay for it.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

_NO_QUERY: Mapping[str, str] = {}


class Verifier(Protocol):
    def verify(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] = _NO_QUERY) -> None:
        """Raise WebhookRejected unless the request proves it comes from the side."""
        ...


class SharedSecretVerifier:
    """The secret in query parameter `query` (checked first) or header `header`."""

    def __init__(
        self, secret: str, *, header: str | None = None, query: str | None = None, label: str = "token"
    ) -> None:
        if not secret:
            raise ValueError("a shared secret must not be empty")
        if header is None and query is None:
            raise ValueError("say where the secret is: a header and/or a query parameter")
        self._secret = secret.encode()
        self._header = header.lower() if header else None
        self._query = query
        self._label = label

    def verify(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] = _NO_QUERY) -> None:
        presented = (query.get(self._query) if self._query else None) or (
            headers.get(self._header) if self._header else None
        )
        if not presented:
            raise WebhookRejected(f"missing {self._label}")
        if not hmac.compare_digest(presented.encode(), self._secret):
            raise WebhookRejected(f"wrong {self._label}")


def _timestamp_then_body(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


class HmacVerifier:
    """HMAC of the body under `secret`, in header `header`.

    With `timestamp_header`, that header holds epoch seconds, the signed bytes are
    `signed_payload(timestamp, body)` (default `timestamp.body`), and a timestamp more than
    `tolerance_s` away from `wall_clock()` (older or ahead) is refused as a replay.
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        header: str,
        algorithm: Literal["sha256", "sha1"] = "sha256",
        encoding: Literal["hex", "base64"] = "hex",
        prefix: str = "",
        timestamp_header: str | None = None,
        tolerance_s: float = 300.0,
        signed_payload: Callable[[str, bytes], bytes] = _timestamp_then_body,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        if not key:
            raise ValueError("an HMAC secret must not be empty")
        self._key = key
        self._header = header.lower()
        self._algorithm = algorithm
        self._encoding = encoding
        self._prefix = prefix
        self._timestamp_header = timestamp_header.lower() if timestamp_header else None
        self._tolerance_s = tolerance_s
        self._signed_payload = signed_payload
        self._wall_clock = wall_clock

    def verify(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] = _NO_QUERY) -> None:
        presented = headers.get(self._header)
        if not presented:
            raise WebhookRejected(f"missing {self._header}")
        signed = body
        if self._timestamp_header is not None:
            signed = self._signed_payload(self._fresh_timestamp(headers), body)
        value = presented.strip()
        if self._prefix:
            if not value.startswith(self._prefix):
                raise WebhookRejected(f"{self._header} lacks the {self._prefix!r} prefix")
            value = value.removeprefix(self._prefix)
        expected = hmac.new(self._key, signed, getattr(hashlib, self._algorithm)).digest()
        if not hmac.compare_digest(self._decode(value), expected):
            raise WebhookRejected(f"{self._header} does not match the body")

    def _fresh_timestamp(self, headers: Mapping[str, str]) -> str:
        assert self._timestamp_header is not None
        raw = headers.get(self._timestamp_header)
        if not raw:
            raise WebhookRejected(f"missing {self._timestamp_header}")
        try:
            sent_at = float(raw.strip())
        except ValueError:
            raise WebhookRejected(f"{self._timestamp_header} is not epoch seconds") from None
        if abs(self._wall_clock() - sent_at) > self._tolerance_s:
            raise WebhookRejected(f"{self._timestamp_header} is outside the accepted window")
        return raw.strip()

    def _decode(self, value: str) -> bytes:
        try:
            if self._encoding == "hex":
                return bytes.fromhex(value)
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise WebhookRejected(f"{self._header} is not {self._encoding}") from None


def _load_spki(spki_list: str, what: str) -> list["PublicKeyTypes"]:
    from cryptography.hazmat.primitives import serialization

    keys: list[PublicKeyTypes] = []
    for item in spki_list.split(","):
        encoded = item.strip()
        if not encoded:
            continue
        try:
            keys.append(serialization.load_der_public_key(base64.b64decode(encoded, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"{what}: not a base64 SPKI DER public key") from exc
    return keys


def load_ed25519_keys(spki_list: str) -> tuple["Ed25519PublicKey", ...]:
    """Comma-separated base64 SPKI DER Ed25519 public keys (several, so a rotation can overlap)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = _load_spki(spki_list, "Ed25519 webhook key")
    if not all(isinstance(key, Ed25519PublicKey) for key in keys):
        raise ValueError("Ed25519 webhook key: not an Ed25519 key")
    return tuple(key for key in keys if isinstance(key, Ed25519PublicKey))


def load_rsa_keys(spki_list: str) -> tuple["RSAPublicKey", ...]:
    """Comma-separated base64 SPKI DER RSA public keys."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    keys = _load_spki(spki_list, "RSA webhook key")
    if not all(isinstance(key, RSAPublicKey) for key in keys):
        raise ValueError("RSA webhook key: not an RSA key")
    return tuple(key for key in keys if isinstance(key, RSAPublicKey))


def _b64_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected("signature is not base64") from exc


class _PublicKeyVerifier(ABC):
    """A base64 signature of the raw body in `header`, by any of `keys` (rotation keeps several)."""

    def __init__(self, keys: tuple[Any, ...], *, header: str) -> None:
        self.keys = keys
        self._header = header.lower()

    def verify(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] = _NO_QUERY) -> None:
        presented = headers.get(self._header)
        if not presented:
            raise WebhookRejected(f"missing {self._header}")
        from cryptography.exceptions import InvalidSignature

        signature = _b64_signature(presented)
        for key in self.keys:
            try:
                self._check(key, signature, body)
            except InvalidSignature:
                continue
            return
        raise WebhookRejected(f"{self._header} does not match the body")

    @abstractmethod
    def _check(self, key: Any, signature: bytes, body: bytes) -> None:
        """Raise cryptography's InvalidSignature unless `signature` is `key`'s over `body`."""


class Ed25519Verifier(_PublicKeyVerifier):
    """Ed25519 over the body (GHL's `x-ghl-signature`)."""

    keys: tuple["Ed25519PublicKey", ...]

    def _check(self, key: "Ed25519PublicKey", signature: bytes, body: bytes) -> None:
        key.verify(signature, body)


class RsaVerifier(_PublicKeyVerifier):
    """RSASSA-PKCS1-v1_5 / SHA-256 over the body (GHL's legacy `x-wh-signature`)."""

    keys: tuple["RSAPublicKey", ...]

    def _check(self, key: "RSAPublicKey", signature: bytes, body: bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
