"""Webhook verifiers over raw bytes: good input passes, every kind of bad input is WebhookRejected."""

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from ghlsync.core.errors import WebhookRejected
from ghlsync.http.verify import Ed25519Verifier, HmacVerifier, RsaVerifier, SharedSecretVerifier
from tests.fixtures.http import HTTP_START, FakeTime

BODY = b'{"event":"customer.updated","id":7}'
SECRET = "whsec-0123456789abcdef"


# -- shared secret --------------------------------------------------------------------------------
SHARED = SharedSecretVerifier(SECRET, header="X-Token", query="token", label="endpoint token")


def test_shared_secret_in_the_query_passes() -> None:
    # GIVEN the secret in the query / WHEN verified / THEN accepted
    SHARED.verify(BODY, {}, {"token": SECRET})


def test_shared_secret_in_the_header_passes() -> None:
    # GIVEN the secret in the header (names are lower-case) / WHEN verified / THEN accepted
    SHARED.verify(BODY, {"x-token": SECRET}, {})


@pytest.mark.parametrize(
    ("headers", "query", "reason"),
    [
        ({}, {}, "missing endpoint token"),
        ({"x-token": "wrong"}, {}, "wrong endpoint token"),
        ({}, {"token": SECRET[:-1]}, "wrong endpoint token"),
    ],
    ids=["missing", "wrong-header", "wrong-query"],
)
def test_shared_secret_missing_or_wrong_is_rejected(
    headers: dict[str, str], query: dict[str, str], reason: str
) -> None:
    # GIVEN no secret, or a wrong one / WHEN verified / THEN rejected, saying which
    with pytest.raises(WebhookRejected, match=reason):
        SHARED.verify(BODY, headers, query)


# -- HMAC -----------------------------------------------------------------------------------------
def sign(payload: bytes, *, algorithm: str = "sha256", encoding: str = "hex", key: str = SECRET) -> str:
    digest = hmac.new(key.encode(), payload, getattr(hashlib, algorithm)).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


@pytest.mark.parametrize("algorithm", ["sha256", "sha1"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_hmac_of_the_body_passes(algorithm: str, encoding: str) -> None:
    # GIVEN a body signed with the shared secret / WHEN verified with the same settings / THEN accepted
    verifier = HmacVerifier(SECRET, header="X-Sig", algorithm=algorithm, encoding=encoding)
    verifier.verify(BODY, {"x-sig": sign(BODY, algorithm=algorithm, encoding=encoding)})


def test_hmac_with_a_prefix_passes() -> None:
    # GIVEN a GitHub-style `sha256=` prefix / WHEN verified / THEN accepted
    HmacVerifier(SECRET, header="X-Sig", prefix="sha256=").verify(BODY, {"x-sig": "sha256=" + sign(BODY)})


def test_hmac_without_the_expected_prefix_is_rejected() -> None:
    # GIVEN a bare signature where the prefix is expected / THEN rejected
    with pytest.raises(WebhookRejected, match="prefix"):
        HmacVerifier(SECRET, header="X-Sig", prefix="sha256=").verify(BODY, {"x-sig": sign(BODY)})


def test_hmac_of_a_tampered_body_is_rejected() -> None:
    # GIVEN a signature of the original body and a changed body / THEN rejected
    with pytest.raises(WebhookRejected, match="does not match"):
        HmacVerifier(SECRET, header="X-Sig").verify(BODY + b" ", {"x-sig": sign(BODY)})


def test_hmac_with_the_wrong_secret_is_rejected() -> None:
    # GIVEN a body signed with another secret / THEN rejected
    with pytest.raises(WebhookRejected, match="does not match"):
        HmacVerifier(SECRET, header="X-Sig").verify(BODY, {"x-sig": sign(BODY, key="other-secret")})


def test_hmac_in_the_wrong_encoding_is_rejected() -> None:
    # GIVEN a base64 signature where hex is expected / THEN rejected as not hex
    with pytest.raises(WebhookRejected, match="not hex"):
        HmacVerifier(SECRET, header="X-Sig").verify(BODY, {"x-sig": sign(BODY, encoding="base64")})


def test_hmac_missing_header_is_rejected() -> None:
    # GIVEN no signature header / THEN rejected
    with pytest.raises(WebhookRejected, match="missing x-sig"):
        HmacVerifier(SECRET, header="X-Sig").verify(BODY, {})


def timed(time: FakeTime, tolerance_s: float = 300) -> HmacVerifier:
    return HmacVerifier(
        SECRET, header="X-Sig", timestamp_header="X-Timestamp", tolerance_s=tolerance_s, wall_clock=time
    )


def timed_headers(sent_at: float) -> dict[str, str]:
    stamp = str(int(sent_at))
    return {"x-timestamp": stamp, "x-sig": sign(stamp.encode() + b"." + BODY)}


def test_hmac_with_a_fresh_timestamp_passes(fake_time: FakeTime) -> None:
    # GIVEN a body signed with its timestamp 10 s ago / WHEN verified / THEN accepted
    timed(fake_time).verify(BODY, timed_headers(HTTP_START - 10))


@pytest.mark.parametrize("offset", [-301, 301], ids=["stale", "future"])
def test_hmac_timestamp_outside_the_tolerance_is_rejected(fake_time: FakeTime, offset: float) -> None:
    # GIVEN a correctly signed body whose timestamp is 301 s old or ahead / THEN rejected as a replay
    with pytest.raises(WebhookRejected, match="outside the accepted window"):
        timed(fake_time).verify(BODY, timed_headers(HTTP_START + offset))


def test_hmac_timestamp_is_part_of_the_signed_bytes(fake_time: FakeTime) -> None:
    # GIVEN a signature made for another timestamp, with a fresh timestamp header / THEN rejected
    headers = timed_headers(HTTP_START - 5)
    headers["x-timestamp"] = str(int(HTTP_START))
    with pytest.raises(WebhookRejected, match="does not match"):
        timed(fake_time).verify(BODY, headers)


def test_hmac_missing_timestamp_is_rejected(fake_time: FakeTime) -> None:
    # GIVEN a signature but no timestamp header / THEN rejected
    with pytest.raises(WebhookRejected, match="missing x-timestamp"):
        timed(fake_time).verify(BODY, {"x-sig": sign(BODY)})


# -- Ed25519 / RSA --------------------------------------------------------------------------------
ED_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_ed25519_signature_of_the_body_passes() -> None:
    # GIVEN a body signed with the private key / WHEN verified with the public key / THEN accepted
    verifier = Ed25519Verifier((ED_KEY.public_key(),), header="x-ghl-signature")
    verifier.verify(BODY, {"x-ghl-signature": b64(ED_KEY.sign(BODY))})


def test_ed25519_signature_of_another_body_is_rejected() -> None:
    # GIVEN a signature of a different body / THEN rejected
    verifier = Ed25519Verifier((ED_KEY.public_key(),), header="x-ghl-signature")
    with pytest.raises(WebhookRejected, match="does not match"):
        verifier.verify(BODY, {"x-ghl-signature": b64(ED_KEY.sign(b"other"))})


def test_ed25519_signature_that_is_not_base64_is_rejected() -> None:
    # GIVEN a hex signature / THEN rejected as not base64
    verifier = Ed25519Verifier((ED_KEY.public_key(),), header="x-ghl-signature")
    with pytest.raises(WebhookRejected, match="not base64"):
        verifier.verify(BODY, {"x-ghl-signature": ED_KEY.sign(BODY).hex() + "!"})


def test_rsa_signature_of_the_body_passes() -> None:
    # GIVEN a PKCS#1 v1.5 SHA-256 signature / WHEN verified / THEN accepted
    signature = RSA_KEY.sign(BODY, padding.PKCS1v15(), hashes.SHA256())
    RsaVerifier((RSA_KEY.public_key(),), header="x-wh-signature").verify(
        BODY, {"x-wh-signature": b64(signature)}
    )


def test_rsa_signature_by_another_key_is_rejected() -> None:
    # GIVEN a signature by a key that is not configured / THEN rejected
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = other.sign(BODY, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(WebhookRejected, match="does not match"):
        RsaVerifier((RSA_KEY.public_key(),), header="x-wh-signature").verify(
            BODY, {"x-wh-signature": b64(signature)}
        )


def test_signature_header_missing_is_rejected() -> None:
    # GIVEN no signature header / THEN rejected
    with pytest.raises(WebhookRejected, match="missing"):
        RsaVerifier((RSA_KEY.public_key(),), header="x-wh-signature").verify(BODY, {})
