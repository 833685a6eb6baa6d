"""OAuthTokenProvider: fresh tokens, refreshed once, under a lease (moto + a fake token endpoint)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from ghlsync.ghl.oauth import OAuthClient
from ghlsync.observability import metrics
from ghlsync.store.leases import LeaseStore
from ghlsync.store.tenants import AuthKind, Tenant, TenantStatus, TenantStore
from ghlsync.store.tokens import (
    OAuthTokenProvider,
    OAuthTokens,
    PrivateIntegrationToken,
    ReconnectNeeded,
    RefreshInProgress,
    RefreshResult,
    TokenStore,
)

PREFIX = "ghl-sync/locations/"
START = 1_767_225_600.0
LEASE = "token-refresh#loc1"


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def instant(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


class FakeTokenEndpoint:
    """GHL's POST /oauth/token for refresh grants: single-use, rotating refresh tokens."""

    def __init__(self) -> None:
        self.live_refresh_tokens = {"refresh-0"}
        self.calls = 0
        self.issued = 0
        self.before_answer = lambda: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        self.before_answer()
        if form.get("refresh_token") not in self.live_refresh_tokens:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "used"})
        self.live_refresh_tokens.discard(form["refresh_token"])
        self.issued += 1
        self.live_refresh_tokens.add(f"refresh-{self.issued}")
        return httpx.Response(
            200,
            json={
                "access_token": f"access-{self.issued}",
                "refresh_token": f"refresh-{self.issued}",
                "expires_in": 86399,
                "userType": "Location",
                "locationId": "loc1",
                "companyId": "co1",
            },
        )


class Sleeps:
    """An injected sleep: records each call and runs `on_sleep` in place of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.on_sleep = lambda: None

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.on_sleep()


@pytest.fixture(autouse=True)
def clear_metrics():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def endpoint():
    return FakeTokenEndpoint()


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def tokens(aws):
    return TokenStore(aws.secrets, PREFIX)


@pytest.fixture
def tenants(aws, clock):
    return TenantStore(aws.table, clock)


@pytest.fixture
def leases(aws, clock):
    return LeaseStore(aws.table, clock)


@pytest.fixture
def provider(aws, clock, endpoint, sleeps, tokens, tenants, leases):
    oauth = OAuthClient(
        httpx.Client(transport=httpx.MockTransport(endpoint)), "https://ghl.example", "c", "s", clock=clock
    )
    return OAuthTokenProvider(
        tokens,
        leases,
        tenants,
        oauth,
        clock=clock,
        sleep=sleeps,
        refresh_margin_s=300,
        lease_wait_s=1.0,
        lease_poll_s=0.25,
        owner="this-process",
    )


def install(tokens, tenants, clock, *, expires_in: timedelta, n: int = 0) -> OAuthTokens:
    stored = OAuthTokens(
        access_token=f"access-{n}",
        refresh_token=f"refresh-{n}",
        expires_at=clock.instant() + expires_in,
        location_id="loc1",
    )
    tokens.put("loc1", stored)
    tenants.register(
        Tenant(location_id="loc1", installed_at=clock.instant(), token_expires_at=stored.expires_at)
    )
    return stored


def another_process_refreshes(aws, clock, n: int) -> None:
    """What a second container does when it wins the race: store rotated tokens."""
    TokenStore(aws.secrets, PREFIX).put(
        "loc1",
        OAuthTokens(
            access_token=f"access-elsewhere-{n}",
            refresh_token=f"refresh-elsewhere-{n}",
            expires_at=clock.instant() + timedelta(hours=24),
            location_id="loc1",
        ),
    )


def test_a_token_far_from_expiry_is_returned_without_refreshing(provider, tokens, tenants, clock, endpoint):
    # GIVEN a token valid for another hour
    install(tokens, tenants, clock, expires_in=timedelta(hours=1))
    # WHEN / THEN it is returned as is, and GHL is not called
    assert provider.access_token("loc1") == "access-0"
    assert endpoint.calls == 0


def test_a_token_inside_the_margin_is_refreshed_and_persisted_first(provider, tokens, tenants, clock, aws):
    # GIVEN a token that expires in two minutes (margin: five)
    install(tokens, tenants, clock, expires_in=timedelta(minutes=2))
    # WHEN a caller asks for a token
    token = provider.access_token("loc1")
    # THEN it gets the refreshed one, which Secrets Manager already holds with its new refresh token
    assert token == "access-1"
    stored = TokenStore(aws.secrets, PREFIX).get("loc1").credentials
    assert (stored.access_token, stored.refresh_token) == ("access-1", "refresh-1")
    # AND the tenant's place in the refresh schedule moves to the new expiry
    tenant = tenants.get("loc1")
    assert tenant is not None and tenant.token_expires_at == stored.expires_at


def test_the_lease_is_released_after_a_refresh(provider, tokens, tenants, clock, leases):
    # GIVEN an expiring token that this process refreshes
    install(tokens, tenants, clock, expires_in=timedelta(minutes=2))
    provider.access_token("loc1")
    # WHEN / THEN another process can take the lease straight away
    assert leases.acquire(LEASE, "other-process", 60)


def test_a_rejected_current_token_is_refreshed(provider, tokens, tenants, clock, endpoint):
    # GIVEN a token GHL says is invalid although it has not expired (revoked)
    install(tokens, tenants, clock, expires_in=timedelta(hours=10))
    # WHEN the client reports the rejection
    provider.token_rejected("loc1", "access-0")
    # THEN one refresh happens and the next caller gets the new token
    assert endpoint.calls == 1
    assert provider.access_token("loc1") == "access-1"


def test_a_rejection_of_a_token_already_replaced_elsewhere_needs_no_refresh(
    provider, tokens, tenants, clock, endpoint, aws
):
    # GIVEN this process cached access-0, then another container rotated the tokens
    install(tokens, tenants, clock, expires_in=timedelta(hours=10))
    assert provider.access_token("loc1") == "access-0"
    another_process_refreshes(aws, clock, 1)
    # WHEN GHL rejects the stale access-0
    provider.token_rejected("loc1", "access-0")
    # THEN no refresh is spent, and the next caller gets the other container's token, not the stale one
    assert endpoint.calls == 0
    assert provider.access_token("loc1") == "access-elsewhere-1"


def test_a_private_integration_token_is_served_and_never_refreshed(provider, tokens, endpoint):
    # GIVEN a location set up with a PIT
    tokens.put("loc1", PrivateIntegrationToken(access_token="pit-1"))
    # WHEN it is used, rejected, and checked by the schedule
    token = provider.access_token("loc1")
    provider.token_rejected("loc1", "pit-1")
    result = provider.ensure_valid_for("loc1", 3600)
    # THEN the PIT is served as is and GHL's token endpoint is never called
    assert (token, result, endpoint.calls) == ("pit-1", RefreshResult.NOT_REFRESHABLE, 0)


def test_a_dead_refresh_token_marks_the_tenant_reconnect_needed(provider, tokens, tenants, clock, endpoint):
    # GIVEN an expiring token whose refresh token GHL no longer accepts
    install(tokens, tenants, clock, expires_in=timedelta(minutes=2))
    endpoint.live_refresh_tokens.clear()
    # WHEN a caller asks for a token
    with pytest.raises(ReconnectNeeded):
        provider.access_token("loc1")
    # THEN the tenant needs a reconnect, the metric says so, and the stored tokens are untouched
    tenant = tenants.get("loc1")
    assert tenant is not None and tenant.status is TenantStatus.RECONNECT_NEEDED
    assert metrics.metric_set["TokenReconnectNeeded"]["Value"] == [1.0]
    assert tokens.get("loc1", fresh=True).credentials.access_token == "access-0"


def test_a_location_already_marked_reconnect_needed_is_not_refreshed_again(
    provider, tokens, tenants, clock, endpoint
):
    # GIVEN a location whose refresh token GHL already refused once
    install(tokens, tenants, clock, expires_in=timedelta(minutes=2))
    endpoint.live_refresh_tokens.clear()
    with pytest.raises(ReconnectNeeded):
        provider.access_token("loc1")
    # WHEN another event for it needs a token
    with pytest.raises(ReconnectNeeded):
        provider.access_token("loc1")
    # THEN GHL was asked only the first time, and the metric counted one disconnection
    assert endpoint.calls == 1
    assert metrics.metric_set["TokenReconnectNeeded"]["Value"] == [1.0]


def test_an_uninstalled_location_is_not_refreshed_nor_marked_reconnect_needed(
    provider, tokens, tenants, clock, endpoint
):
    # GIVEN a location that uninstalled the app, with an expiring token
    install(tokens, tenants, clock, expires_in=timedelta(minutes=2))
    tenants.mark_uninstalled("loc1", retain_days=30)
    # WHEN a late event asks for its token
    with pytest.raises(ReconnectNeeded):
        provider.access_token("loc1")
    # THEN GHL is not asked and the tenant stays uninstalled
    tenant = tenants.get("loc1")
    assert endpoint.calls == 0
    assert tenant is not None and tenant.status is TenantStatus.UNINSTALLED


def test_invalid_grant_after_a_rotation_elsewhere_uses_the_rotated_tokens(
    provider, tokens, tenants, clock, endpoint, aws
):
    # GIVEN another process rotates the tokens (outside the lease, e.g. after its lease expired)
    # just before GHL answers our refresh with invalid_grant
    install(tokens, tenants, clock, expires_in=timedelta(minutes=2))
    endpoint.live_refresh_tokens.clear()
    endpoint.before_answer = lambda: another_process_refreshes(aws, clock, 1)
    # WHEN a caller asks for a token
    token = provider.access_token("loc1")
    # THEN it gets the rotated token and the tenant stays active
    assert token == "access-elsewhere-1"
    tenant = tenants.get("loc1")
    assert tenant is not None and tenant.status is TenantStatus.ACTIVE
    assert "TokenReconnectNeeded" not in metrics.metric_set


def test_a_caller_that_finds_the_lease_held_waits_and_uses_the_winners_token(
    provider, tokens, tenants, clock, endpoint, leases, sleeps, aws
):
    # GIVEN an expired token and another process holding the refresh lease
    install(tokens, tenants, clock, expires_in=timedelta(seconds=-1))
    leases.acquire(LEASE, "other-process", 60)

    def other_process_finishes() -> None:
        another_process_refreshes(aws, clock, 1)
        leases.release(LEASE, "other-process")

    sleeps.on_sleep = other_process_finishes
    # WHEN a caller here asks for a token
    token = provider.access_token("loc1")
    # THEN it waited once and took the other process's token, without calling GHL
    assert (token, len(sleeps.calls), endpoint.calls) == ("access-elsewhere-1", 1, 0)


def test_a_lease_held_too_long_gives_up_after_a_bounded_wait(
    provider, tokens, tenants, clock, endpoint, leases, sleeps
):
    # GIVEN an expired token and a lease another process never releases in time
    install(tokens, tenants, clock, expires_in=timedelta(seconds=-1))
    leases.acquire(LEASE, "other-process", 60)
    # WHEN a caller asks for a token
    with pytest.raises(RefreshInProgress):
        provider.access_token("loc1")
    # THEN it polled for the configured wait (1 s in 0.25 s steps) and never called GHL
    assert (sleeps.calls, endpoint.calls) == ([0.25] * 4, 0)


def test_the_read_after_taking_the_lease_sees_a_refresh_that_just_finished(
    tokens, tenants, clock, endpoint, aws, provider, monkeypatch
):
    # GIVEN an expired token, and another process that finishes its refresh and releases the
    # lease in the instant between our first read and our lease acquisition
    install(tokens, tenants, clock, expires_in=timedelta(seconds=-1))
    acquire = LeaseStore.acquire

    def acquire_after_the_other_process(self, name, owner, ttl_s):
        another_process_refreshes(aws, clock, 1)
        return acquire(self, name, owner, ttl_s)

    monkeypatch.setattr(LeaseStore, "acquire", acquire_after_the_other_process)
    # WHEN a caller asks for a token
    token = provider.access_token("loc1")
    # THEN the double-checked read finds the new token and GHL is not called
    assert (token, endpoint.calls) == ("access-elsewhere-1", 0)


def test_ensure_valid_for_refreshes_tokens_due_within_the_window(provider, tokens, tenants, clock, endpoint):
    # GIVEN a token valid for two hours (outside the 5 min margin, inside a 4 h window)
    install(tokens, tenants, clock, expires_in=timedelta(hours=2))
    # WHEN the schedule asks for 4 hours of validity
    result = provider.ensure_valid_for("loc1", 4 * 3600)
    # THEN the token is refreshed
    assert (result, endpoint.calls) == (RefreshResult.REFRESHED, 1)


def test_ensure_valid_for_leaves_tokens_that_last_long_enough(provider, tokens, tenants, clock, endpoint):
    # GIVEN a token valid for ten hours
    install(tokens, tenants, clock, expires_in=timedelta(hours=10))
    # WHEN / THEN a 4 h check changes nothing
    assert provider.ensure_valid_for("loc1", 4 * 3600) is RefreshResult.ALREADY_VALID
    assert endpoint.calls == 0


def test_a_dead_refresh_token_without_a_tenant_row_still_reports_reconnect_needed(
    provider, tokens, clock, endpoint
):
    # GIVEN tokens but no tenant row (e.g. the row's retention ended), and a dead refresh token
    tokens.put(
        "loc1",
        OAuthTokens(access_token="a", refresh_token="r", expires_at=clock.instant(), location_id="loc1"),
    )
    # WHEN / THEN the caller still learns a reconnect is needed
    with pytest.raises(ReconnectNeeded):
        provider.access_token("loc1")


def test_the_tenant_is_not_touched_for_a_pit_rejection(provider, tokens, tenants, clock):
    # GIVEN a PIT tenant
    tokens.put("loc1", PrivateIntegrationToken(access_token="pit-1"))
    tenants.register(Tenant(location_id="loc1", installed_at=clock.instant(), auth_kind=AuthKind.PIT))
    # WHEN GHL rejects the PIT
    provider.token_rejected("loc1", "pit-1")
    # THEN the tenant keeps its status (an operator must rotate the PIT; nothing to refresh)
    tenant = tenants.get("loc1")
    assert tenant is not None and tenant.status is TenantStatus.ACTIVE
