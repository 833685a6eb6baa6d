"""The refresh race against the GHL sandbox: many callers, an expired token, one refresh.

GHL refresh tokens are single-use; two refreshes with the same token would leave one caller with
invalid_grant and the location disconnected. The lease + double-checked read must make exactly one
POST /oauth/token happen, and every caller must end up with the token it returned.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.oauth import OAuthClient
from ghlsync.observability import metrics
from ghlsync.store.leases import LeaseStore
from ghlsync.store.tenants import Tenant, TenantStatus, TenantStore
from ghlsync.store.tokens import OAuthTokenProvider, OAuthTokens, ReconnectNeeded, TokenStore
from sandbox.ghl import GhlSandbox

pytestmark = pytest.mark.integration

CALLERS = 20
LOCATION = "raceLocation00000001"
CLIENT_ID = "65f0c0ffee0000000000beef-lx3k9q2z"
CLIENT_SECRET = "d2b7c1c8-0000-4000-8000-000000000001"
PREFIX = "ghl-sync/locations/"
BASE_URL = "https://services.leadconnectorhq.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


class ReleaseSignallingLeases(LeaseStore):
    """A LeaseStore that lets waiting test threads resume when a lease is released.

    Callers that find the lease held sleep through the injected sleep; in this test that sleep
    waits for a release instead of for wall-clock time, so the test neither sleeps nor races.
    """

    # DynamoDB evaluates a ConditionExpression and writes atomically; moto checks and then writes,
    # so two threads can both pass the check. One lock for every store (one table) restores the
    # guarantee the lease relies on in AWS; the provider's own logic is untouched.
    _conditional_write = threading.Lock()

    def __init__(self, table, clock, released: threading.Event) -> None:
        super().__init__(table, clock)
        self._released = released

    def acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        with self._conditional_write:
            return super().acquire(name, owner, ttl_s)

    def release(self, name: str, owner: str) -> None:
        with self._conditional_write:
            super().release(name, owner)
        self._released.set()


@pytest.fixture(autouse=True)
def clear_metrics():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sandbox(clock, request):
    """`previous_access_token_valid_after_refresh` as an indirect parameter says (default True)."""
    sb = GhlSandbox(clock=clock, previous_access_token_valid_after_refresh=getattr(request, "param", True))
    sb.add_location(LOCATION)
    sb.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    return sb


def oauth_client(sandbox, clock) -> OAuthClient:
    return OAuthClient(
        httpx.Client(transport=sandbox.transport()), BASE_URL, CLIENT_ID, CLIENT_SECRET, clock=clock
    )


@pytest.fixture
def installed(aws, sandbox, clock):
    """GIVEN the location installed the app: tokens in Secrets Manager, tenant registered."""
    tokens = oauth_client(sandbox, clock).exchange_code(sandbox.authorize(CLIENT_ID, LOCATION), "")
    TokenStore(aws.secrets, PREFIX).put(LOCATION, OAuthTokens.model_validate(tokens.model_dump()))
    TenantStore(aws.table, clock).register(
        Tenant(
            location_id=LOCATION,
            installed_at=datetime.fromtimestamp(clock(), UTC),
            token_expires_at=tokens.expires_at,
        )
    )
    return tokens


def token_calls(sandbox) -> int:
    return sum(1 for method, path, _ in sandbox.request_log if (method, path) == ("POST", "/oauth/token"))


def provider_for(aws, sandbox, clock, released: threading.Event) -> OAuthTokenProvider:
    """One provider as one Lambda container would build it: its own clients, cache and owner id."""
    table = aws.dynamodb.Table(aws.table.name)
    return OAuthTokenProvider(
        TokenStore(aws.secrets, PREFIX),
        ReleaseSignallingLeases(table, clock, released),
        TenantStore(table, clock),
        oauth_client(sandbox, clock),
        clock=clock,
        sleep=lambda seconds: released.wait(timeout=5),
    )


def contacts_status(sandbox, token: str) -> int:
    with httpx.Client(transport=sandbox.transport(), base_url=BASE_URL) as http:
        response = http.get(
            "/contacts/",
            params={"locationId": LOCATION, "limit": 1},
            headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
        )
    return response.status_code


def run_concurrently(callables) -> list:
    start = threading.Barrier(len(callables))

    def call(target):
        start.wait(timeout=10)
        return target()

    with ThreadPoolExecutor(max_workers=len(callables)) as pool:
        return list(pool.map(call, callables))


def test_twenty_containers_refresh_an_expired_token_exactly_once(aws, sandbox, clock, installed):
    # GIVEN the stored access token has expired (by GHL's clock too) and 20 containers start at once
    clock.now = installed.expires_at.timestamp() + 1
    assert contacts_status(sandbox, installed.access_token) == 401
    released = threading.Event()
    providers = [provider_for(aws, sandbox, clock, released) for _ in range(CALLERS)]
    calls_before = token_calls(sandbox)
    # WHEN each asks for a token at the same moment
    results = run_concurrently([lambda p=p: p.access_token(LOCATION) for p in providers])
    # THEN GHL saw exactly one refresh, everyone got the same new token, and GHL accepts it
    assert token_calls(sandbox) - calls_before == 1
    assert len(set(results)) == 1 and results[0] != installed.access_token
    assert contacts_status(sandbox, results[0]) == 200
    # AND the token every caller uses is the one stored in Secrets Manager
    assert TokenStore(aws.secrets, PREFIX).get(LOCATION).credentials.access_token == results[0]


def test_twenty_threads_of_one_container_refresh_exactly_once(aws, sandbox, clock, installed):
    # GIVEN an expired token and one container whose 20 threads share a provider
    clock.now = installed.expires_at.timestamp() + 1
    provider = provider_for(aws, sandbox, clock, threading.Event())
    calls_before = token_calls(sandbox)
    # WHEN all threads ask at once
    results = run_concurrently([lambda: provider.access_token(LOCATION)] * CALLERS)
    # THEN one refresh, one new token for all
    assert token_calls(sandbox) - calls_before == 1
    assert len(set(results)) == 1 and contacts_status(sandbox, results[0]) == 200


def test_a_reused_refresh_token_means_reconnect_needed_not_a_crash(aws, sandbox, clock, installed):
    # GIVEN someone spent the stored refresh token without storing the result (a lost rotation)
    oauth_client(sandbox, clock).refresh(installed.refresh_token)
    clock.now = installed.expires_at.timestamp() + 1
    provider = provider_for(aws, sandbox, clock, threading.Event())
    # WHEN a caller needs a token
    with pytest.raises(ReconnectNeeded):
        provider.access_token(LOCATION)
    # THEN the tenant is marked for reconnect and the metric is emitted
    tenant = TenantStore(aws.table, clock).get(LOCATION)
    assert tenant is not None and tenant.status is TenantStatus.RECONNECT_NEEDED
    assert metrics.metric_set["TokenReconnectNeeded"]["Value"] == [1.0]


def test_a_401_from_ghl_triggers_one_refresh_and_the_retry_succeeds(aws, sandbox, clock, installed):
    # GIVEN a token that GHL revoked before its expiry, as the GHL client would see it
    sandbox.revoke_token(installed.access_token)
    provider = provider_for(aws, sandbox, clock, threading.Event())
    token = provider.access_token(LOCATION)
    assert contacts_status(sandbox, token) == 401
    # WHEN the client reports the rejection and asks again
    provider.token_rejected(LOCATION, token)
    retry = provider.access_token(LOCATION)
    # THEN the retry's token works
    assert retry != token and contacts_status(sandbox, retry) == 200


@pytest.mark.parametrize("sandbox", [True, False], ids=["old-token-lives", "old-token-dies"], indirect=True)
def test_a_client_holding_a_token_another_container_refreshed_keeps_working(aws, sandbox, clock, installed):
    # GIVEN container A's GHL client has read the stored token (and caches it)
    contact = sandbox.ui_create_contact(LOCATION, email="held@example.com")
    provider_a = provider_for(aws, sandbox, clock, threading.Event())
    client_a = GhlClient(
        httpx.Client(transport=sandbox.transport()), provider_a, LOCATION, base_url=BASE_URL,
        clock=clock, sleep=lambda seconds: None,
    )  # fmt: skip
    assert client_a.get_contact(contact.id).id == contact.id
    # AND container B refreshes the location's token (the schedule, two days ahead)
    calls_before = token_calls(sandbox)
    provider_for(aws, sandbox, clock, threading.Event()).ensure_valid_for(LOCATION, 2 * 86_400)
    assert token_calls(sandbox) - calls_before == 1
    # WHEN container A calls GHL again with the token it holds
    # THEN the call succeeds whether GHL still accepts the old token or not (a 401 makes A re-read
    # the secret and retry once with B's token), and A never refreshes on its own
    assert client_a.get_contact(contact.id).id == contact.id
    assert token_calls(sandbox) - calls_before == 1
    rejected = [status for method, path, status in sandbox.request_log if path.startswith("/contacts/")][-2:]
    assert rejected == ([200, 200] if sandbox.oauth.previous_access_token_valid_after_refresh else [401, 200])
