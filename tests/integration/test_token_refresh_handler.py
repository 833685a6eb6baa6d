"""token_refresh end to end: the scheduled event → handler → GHL sandbox token endpoint → moto."""

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ghlsync.config import get_settings
from ghlsync.ghl.oauth import OAuthClient
from ghlsync.observability import metrics
from ghlsync.store import dynamo, tokens
from ghlsync.store.tenants import AuthKind, Tenant, TenantStatus, TenantStore
from ghlsync.store.tokens import OAuthTokens, PrivateIntegrationToken, TokenStore
from sandbox.ghl import GhlSandbox
from sandbox.stack.lambda_runtime import LambdaContext, load_handler

pytestmark = pytest.mark.integration

EVENT = Path(__file__).resolve().parents[2] / "events" / "token_refresh_scheduled.json"
# No agency installs in these tests: the reconcile half of the run finds nothing to do.
NO_AGENCIES = {"agency_locations_added": 0, "agency_locations_removed": 0, "agencies_failed": 0}
CLIENT_ID = "65f0c0ffee0000000000beef-lx3k9q2z"
CLIENT_SECRET = "d2b7c1c8-0000-4000-8000-000000000001"
# Shorter than the default 4 h refresh window, so every fresh install is already due.
ACCESS_TOKEN_TTL_S = 3600
DUE = "dueLocation000000001"
DEAD = "deadLocation00000001"
MISSING = "missingSecret0000001"
PIT = "pitLocation000000001"

LAZY_BUILDERS = [
    tokens.token_http_client,
    tokens.default_token_store,
    tokens.default_tenant_store,
    tokens.default_oauth_client,
    tokens.default_token_provider,
    dynamo.sync_table,
    dynamo.secrets_client,
]


@pytest.fixture
def sandbox():
    sb = GhlSandbox(access_token_ttl_s=ACCESS_TOKEN_TTL_S)
    sb.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    for location_id in (DUE, DEAD, MISSING):
        sb.add_location(location_id)
    sb.add_location(PIT, token="pit-static-token")
    return sb


@pytest.fixture
def handler(aws, sandbox, monkeypatch):
    """A fresh container whose HTTP client reaches the GHL sandbox in-process."""
    aws.secrets.put_secret_value(
        SecretId=aws.env["GHL_APP_SECRET_ID"],
        SecretString=json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uri": "",
                "state_signing_key": "a-signing-key-of-some-length",
            }
        ),
    )
    # The shared Metrics object was built at import, before the aws fixture set its namespace.
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    for builder in LAZY_BUILDERS:
        builder.cache_clear()
    monkeypatch.setattr(tokens, "token_http_client", lambda: httpx.Client(transport=sandbox.transport()))
    yield load_handler("functions/token_refresh")
    for builder in LAZY_BUILDERS:
        builder.cache_clear()


def install(aws, sandbox, location_id: str) -> OAuthTokens:
    """What the OAuth callback leaves behind: tokens in Secrets Manager and an active tenant."""
    oauth = OAuthClient(httpx.Client(transport=sandbox.transport()), "https://ghl", CLIENT_ID, CLIENT_SECRET)
    granted = OAuthTokens.model_validate(
        oauth.exchange_code(sandbox.authorize(CLIENT_ID, location_id), "").model_dump()
    )
    TokenStore(aws.secrets, aws.env["TOKEN_SECRET_PREFIX"]).put(location_id, granted)
    TenantStore(aws.table).register(
        Tenant(location_id=location_id, installed_at=datetime.now(UTC), token_expires_at=granted.expires_at)
    )
    return granted


def test_the_schedule_refreshes_due_tokens_and_isolates_failures(aws, sandbox, handler):
    # GIVEN four tenants: one due for refresh, one whose refresh token was spent elsewhere, one whose
    # secret is gone, and one on a private-integration token (never refreshed)
    due = install(aws, sandbox, DUE)
    dead = install(aws, sandbox, DEAD)
    OAuthClient(httpx.Client(transport=sandbox.transport()), "https://ghl", CLIENT_ID, CLIENT_SECRET).refresh(
        dead.refresh_token
    )
    install(aws, sandbox, MISSING)
    aws.secrets.delete_secret(
        SecretId=aws.env["TOKEN_SECRET_PREFIX"] + MISSING, ForceDeleteWithoutRecovery=True
    )
    TokenStore(aws.secrets, aws.env["TOKEN_SECRET_PREFIX"]).put(
        PIT, PrivateIntegrationToken(access_token="pit-static-token")
    )
    TenantStore(aws.table).register(
        Tenant(location_id=PIT, installed_at=datetime.now(UTC), auth_kind=AuthKind.PIT)
    )
    # WHEN the scheduled event fires
    summary = handler(json.loads(EVENT.read_text()), LambdaContext(function_name="TokenRefreshFunction"))
    # THEN each outcome is counted and the failures did not stop the due refresh
    assert summary == {"refreshed": 1, "skipped": 0, "reconnect_needed": 1, "failed": 1, **NO_AGENCIES}
    stored = TokenStore(aws.secrets, aws.env["TOKEN_SECRET_PREFIX"]).get(DUE).credentials
    assert stored.access_token != due.access_token
    # AND the refreshed tenant moved along the expiry index; the dead one awaits a reconnect
    tenants = TenantStore(aws.table)
    due_tenant, dead_tenant = tenants.get(DUE), tenants.get(DEAD)
    assert due_tenant is not None and due_tenant.token_expires_at == stored.expires_at
    assert dead_tenant is not None and dead_tenant.status is TenantStatus.RECONNECT_NEEDED


def test_a_schedule_with_nothing_due_refreshes_nothing(aws, sandbox, handler, monkeypatch):
    # GIVEN a tenant whose token outlives a 10-minute window
    monkeypatch.setenv("TOKEN_REFRESH_WINDOW_SECONDS", "600")
    get_settings.cache_clear()
    install(aws, sandbox, DUE)
    calls_before = len(sandbox.request_log)
    # WHEN the scheduled event fires
    summary = handler(json.loads(EVENT.read_text()), LambdaContext(function_name="TokenRefreshFunction"))
    # THEN nothing is refreshed and GHL is not called
    assert summary == {"refreshed": 0, "skipped": 0, "reconnect_needed": 0, "failed": 0, **NO_AGENCIES}
    assert len(sandbox.request_log) == calls_before
