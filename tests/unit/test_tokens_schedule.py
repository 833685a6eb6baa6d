"""refresh_expiring_tokens: the scheduled sweep over tenants whose tokens expire soon."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ghlsync.ghl.oauth import OAuthClient
from ghlsync.observability import metrics
from ghlsync.store.leases import LeaseStore
from ghlsync.store.tenants import Tenant, TenantStore
from ghlsync.store.tokens import OAuthTokenProvider, OAuthTokens, TokenStore, refresh_expiring_tokens

PREFIX = "ghl-sync/locations/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_S = 4 * 3600


def grant(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": "new-access", "refresh_token": "new-refresh", "expires_in": 86399}
    )


@pytest.fixture(autouse=True)
def clear_metrics():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def tenants(aws):
    return TenantStore(aws.table, NOW.timestamp)


@pytest.fixture
def leases(aws):
    return LeaseStore(aws.table, NOW.timestamp)


@pytest.fixture
def provider(aws, tenants, leases):
    oauth = OAuthClient(
        httpx.Client(transport=httpx.MockTransport(grant)), "https://ghl", "c", "s", clock=NOW.timestamp
    )
    return OAuthTokenProvider(
        TokenStore(aws.secrets, PREFIX),
        leases,
        tenants,
        oauth,
        clock=NOW.timestamp,
        sleep=lambda s: None,
        lease_wait_s=0,
    )


def install_due(aws, tenants, location_id: str) -> Tenant:
    expires_at = NOW + timedelta(hours=1)
    TokenStore(aws.secrets, PREFIX).put(
        location_id,
        OAuthTokens(access_token="a", refresh_token="r", expires_at=expires_at, location_id=location_id),
    )
    tenant = Tenant(location_id=location_id, installed_at=NOW, token_expires_at=expires_at)
    tenants.register(tenant)
    return tenant


def test_a_location_another_process_is_refreshing_is_skipped(aws, provider, tenants, leases):
    # GIVEN a due tenant whose refresh lease another process holds
    install_due(aws, tenants, "loc1")
    leases.acquire("token-refresh#loc1", "other-process", 60)
    # WHEN the schedule runs (without waiting for the lease)
    summary = refresh_expiring_tokens(provider, tenants, window_s=WINDOW_S, now=NOW)
    # THEN it is counted as skipped, not failed
    assert summary.model_dump() == {"refreshed": 0, "skipped": 1, "reconnect_needed": 0, "failed": 0}
    assert metrics.metric_set["TokenRefreshSkipped"]["Value"] == [1.0]


def test_a_tenant_listed_twice_is_refreshed_once(aws, provider, tenants):
    # GIVEN an index read that returns the same tenant again (it moved to a later page)
    tenant = install_due(aws, tenants, "loc1")

    class ListsTwice(TenantStore):
        def expiring_before(self, instant):
            yield tenant
            yield tenant

    # WHEN the schedule runs
    summary = refresh_expiring_tokens(provider, ListsTwice(aws.table), window_s=WINDOW_S, now=NOW)
    # THEN the location is refreshed once and counted once
    assert summary.model_dump() == {"refreshed": 1, "skipped": 0, "reconnect_needed": 0, "failed": 0}
