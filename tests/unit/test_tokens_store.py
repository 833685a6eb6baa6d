"""TokenStore: one Secrets Manager secret per location, behind a version-aware cache (moto)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from ghlsync.store.tokens import (
    OAuthTokens,
    PrivateIntegrationToken,
    TokenNotFound,
    TokenSecretInvalid,
    TokenStore,
)

PREFIX = "ghl-sync/locations/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def oauth_tokens(n: int) -> OAuthTokens:
    return OAuthTokens(
        access_token=f"access-{n}",
        refresh_token=f"refresh-{n}",
        expires_at=NOW + timedelta(hours=24),
        scope="contacts.readonly",
        location_id="loc1",
        company_id="co1",
    )


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(aws, clock):
    return TokenStore(aws.secrets, PREFIX, clock=clock, cache_ttl_s=300)


def test_stored_oauth_tokens_read_back_the_same(store):
    # GIVEN tokens stored for a location
    written = store.put("loc1", oauth_tokens(1))
    # WHEN they are read from Secrets Manager (not the cache)
    read = store.get("loc1", fresh=True)
    # THEN the same tokens and version come back
    assert read.credentials == oauth_tokens(1)
    assert read.version_id == written.version_id


def test_the_first_store_creates_the_location_secret_and_later_ones_add_versions(store, aws):
    # GIVEN / WHEN a location's tokens are stored twice
    first = store.put("loc1", oauth_tokens(1))
    second = store.put("loc1", oauth_tokens(2))
    # THEN one secret, named after the location, holds two versions; the newest is current
    versions = aws.secrets.list_secret_version_ids(SecretId=f"{PREFIX}loc1")["Versions"]
    assert {version["VersionId"] for version in versions} == {first.version_id, second.version_id}
    current = aws.secrets.get_secret_value(SecretId=f"{PREFIX}loc1")
    assert current["VersionId"] == second.version_id
    assert json.loads(current["SecretString"])["kind"] == "oauth"


def test_a_private_integration_token_stored_by_an_operator_is_read(store, aws):
    # GIVEN an operator created the location's secret by hand with a PIT
    aws.secrets.create_secret(
        Name=f"{PREFIX}loc2", SecretString=json.dumps({"kind": "pit", "access_token": "pit-123"})
    )
    # WHEN / THEN it reads back as a private-integration token
    assert store.get("loc2").credentials == PrivateIntegrationToken(access_token="pit-123")


def test_a_location_without_a_secret_has_no_token(store):
    # GIVEN / WHEN / THEN
    with pytest.raises(TokenNotFound):
        store.get("nowhere")


def test_a_malformed_secret_is_reported_without_its_content(store, aws):
    # GIVEN a secret holding something else than a token
    aws.secrets.create_secret(
        Name=f"{PREFIX}loc3", SecretString=json.dumps({"kind": "oauth", "access_token": "leaky-value"})
    )
    # WHEN / THEN the error names the location and does not echo the secret
    with pytest.raises(TokenSecretInvalid, match="loc3") as raised:
        store.get("loc3")
    assert "leaky-value" not in str(raised.value)


def test_location_ids_that_could_escape_the_prefix_are_refused(store, aws):
    # GIVEN / WHEN an untrusted location id with path characters is stored
    with pytest.raises(ValueError, match="location id"):
        store.put("../other-stack/secret", oauth_tokens(1))
    # THEN no secret was created
    assert not [s for s in aws.secrets.list_secrets()["SecretList"] if "other-stack" in s["Name"]]


def test_reads_are_served_from_the_cache_until_it_expires(store, aws, clock):
    # GIVEN a cached token
    store.put("loc1", oauth_tokens(1))
    store.get("loc1")
    # WHEN another process stores a new version
    TokenStore(aws.secrets, PREFIX).put("loc1", oauth_tokens(2))
    # THEN a cached read still returns the old one, and a read after the cache TTL the new one
    assert store.get("loc1").credentials == oauth_tokens(1)
    clock.now += 300
    assert store.get("loc1").credentials == oauth_tokens(2)


def test_a_fresh_read_bypasses_the_cache(store, aws):
    # GIVEN a cached token that another process has since replaced
    store.put("loc1", oauth_tokens(1))
    TokenStore(aws.secrets, PREFIX).put("loc1", oauth_tokens(2))
    # WHEN / THEN a fresh read sees the replacement, and refills the cache with it
    assert store.get("loc1", fresh=True).credentials == oauth_tokens(2)
    assert store.get("loc1").credentials == oauth_tokens(2)


def test_a_store_through_this_process_replaces_the_cached_entry(store):
    # GIVEN a cached token
    store.put("loc1", oauth_tokens(1))
    store.get("loc1")
    # WHEN this process stores a newer one
    newer = store.put("loc1", oauth_tokens(2))
    # THEN the cache serves the newer one with its version
    assert store.get("loc1") == newer


def test_invalidating_drops_the_cached_entry(store, aws):
    # GIVEN a cached token replaced elsewhere
    store.put("loc1", oauth_tokens(1))
    TokenStore(aws.secrets, PREFIX).put("loc1", oauth_tokens(2))
    # WHEN the cache entry is invalidated
    store.invalidate("loc1")
    # THEN the next read goes to Secrets Manager
    assert store.get("loc1").credentials == oauth_tokens(2)
