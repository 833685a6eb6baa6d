"""Agency (Company) installs end to end: the real oauth_callback, ghl_webhook and token_refresh
handlers and the token provider against moto and the GHL sandbox (agency fixtures).

The sandbox and the provider share one fake clock that starts now, so signed webhook timestamps
are fresh for the ingress and token expiry is moved by `ghl_clock.advance`.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ghlsync import ingress, queue
from ghlsync.config import get_settings
from ghlsync.ghl.agency import AgencyApi
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.oauth import OAuthClient, make_state
from ghlsync.observability import metrics
from ghlsync.store import tokens
from ghlsync.store.agencies import AgencyStore, agency_token_key
from ghlsync.store.leases import LeaseStore
from ghlsync.store.tenants import AuthKind, TenantStatus, TenantStore
from ghlsync.store.tokens import AgencyLocationToken, OAuthTokenProvider, ReconnectNeeded, TokenStore
from sandbox.fakes.clock import FakeClock
from sandbox.ghl import GhlSandbox
from sandbox.stack.gateway import Route, build_proxy_event
from sandbox.stack.lambda_runtime import LambdaContext, load_handler
from tests.fixtures.agency import (
    AGENCY_APPROVED,
    AGENCY_CLIENT_ID,
    AGENCY_CLIENT_SECRET,
    AGENCY_COMPANY,
    AGENCY_LOCATIONS,
    AGENCY_REDIRECT_URI,
    calls_to,
)
from tests.integration.test_oauth_callback import LAZY_BUILDERS, event
from tests.integration.test_token_refresh_race import ReleaseSignallingLeases

pytestmark = pytest.mark.integration

BASE_URL = "https://services.leadconnectorhq.com"
SIGNING_KEY = "events-state-signing-key-0001"
FUTURE_LOCATION = "agencyLocation000009"
WEBHOOK_ROUTE = Route(function="GhlWebhookFunction", method="POST", resource="/webhooks/ghl")


@pytest.fixture
def ghl_clock() -> FakeClock:
    """Overrides the shared fixture: starts at the real time, so webhook timestamps are fresh."""
    return FakeClock(start=time.time())


@pytest.fixture
def stack(aws, agency_sandbox, monkeypatch):
    """GIVEN a fresh container of each function, reaching the sandbox in-process."""
    app_secret = {
        "client_id": AGENCY_CLIENT_ID,
        "client_secret": AGENCY_CLIENT_SECRET,
        "redirect_uri": AGENCY_REDIRECT_URI,
        "state_signing_key": SIGNING_KEY,
    }
    aws.secrets.put_secret_value(SecretId=aws.env["GHL_APP_SECRET_ID"], SecretString=json.dumps(app_secret))
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    monkeypatch.setenv("GHL_WEBHOOK_ED25519_PUBLIC_KEYS", agency_sandbox.public_keys["ed25519"])
    new_containers()
    monkeypatch.setattr(
        tokens, "token_http_client", lambda: httpx.Client(transport=agency_sandbox.transport())
    )
    yield aws
    new_containers()


def new_containers() -> None:
    """Nothing a previous test's containers built survives (settings, clients, the ingress)."""
    get_settings.cache_clear()
    ingress.default_ghl_ingress.cache_clear()
    queue.sqs_client.cache_clear()
    for builder in LAZY_BUILDERS:
        builder.cache_clear()


def install_agency(agency_sandbox: GhlSandbox, agency_code: str) -> tuple[int, dict]:
    """The agency's browser comes back to the callback with its code and our state."""
    proxy = event("oauth_callback_success", code=agency_code, state=make_state(SIGNING_KEY, time.time()))
    response = load_handler("functions/oauth_callback")(
        proxy, LambdaContext(function_name="OAuthCallbackFunction")
    )
    return response["statusCode"], json.loads(response["body"])


def deliver_webhooks(agency_sandbox: GhlSandbox) -> list[int]:
    """Every delivery GHL queued, posted in order to the real ghl_webhook handler; their statuses
    (a repeated one is answered as a duplicate, as GHL's redelivery would be)."""
    handler = load_handler("functions/ghl_webhook")
    statuses = []
    for delivery in agency_sandbox.deliveries:
        proxy = build_proxy_event(
            "POST", "/webhooks/ghl", delivery.headers, None, delivery.body, WEBHOOK_ROUTE
        )
        statuses.append(handler(proxy, LambdaContext())["statusCode"])
    return statuses


def run_token_refresh() -> dict:
    handler = load_handler("functions/token_refresh")
    return handler({"source": "aws.scheduler"}, LambdaContext(function_name="TokenRefreshFunction"))


def provider(aws, agency_sandbox, clock, leases: LeaseStore | None = None) -> OAuthTokenProvider:
    """A provider as one container builds it, on the shared fake clock."""
    table = aws.dynamodb.Table(aws.table.name)
    http = httpx.Client(transport=agency_sandbox.transport())
    return OAuthTokenProvider(
        TokenStore(aws.secrets, aws.env["TOKEN_SECRET_PREFIX"]),
        leases or LeaseStore(table, clock),
        TenantStore(table, clock),
        OAuthClient(http, BASE_URL, AGENCY_CLIENT_ID, AGENCY_CLIENT_SECRET, clock=clock),
        clock=clock,
        agency_api=AgencyApi(http, BASE_URL, clock=clock),
    )


def ghl_client(agency_sandbox, token_provider, location_id: str) -> GhlClient:
    return GhlClient(
        httpx.Client(transport=agency_sandbox.transport()), token_provider, location_id, base_url=BASE_URL
    )


def mints(agency_sandbox) -> int:
    return calls_to(agency_sandbox, "POST", "/oauth/locationToken")


@pytest.fixture
def installed(stack, agency_sandbox, agency_code):
    """GIVEN the agency installed the app through the callback."""
    status, body = install_agency(agency_sandbox, agency_code)
    assert status == 200, body
    return body


def test_a_company_callback_stores_the_agency_token_and_registers_each_approved_location(
    stack, agency_sandbox, agency_code
):
    # GIVEN the agency's consent (two of three locations approved) / WHEN the callback arrives
    status, body = install_agency(agency_sandbox, agency_code)
    # THEN it answers the company and its locations
    assert (status, body) == (
        200,
        {"status": "connected", "company_id": AGENCY_COMPANY, "location_ids": list(AGENCY_APPROVED)},
    )
    # AND one secret holds the agency token (no location token is minted yet)
    store = TokenStore(stack.secrets, stack.env["TOKEN_SECRET_PREFIX"])
    agency_tokens = store.get(agency_token_key(AGENCY_COMPANY)).credentials
    assert agency_tokens.kind == "oauth" and agency_tokens.user_type == "Company"
    assert mints(agency_sandbox) == 0
    # AND each approved location is an active tenant of kind agency; the third is not a tenant
    tenants = TenantStore(stack.table)
    for location_id in AGENCY_APPROVED:
        tenant = tenants.get(location_id)
        assert tenant is not None
        assert (tenant.auth_kind, tenant.status, tenant.company_id) == (
            AuthKind.AGENCY,
            TenantStatus.ACTIVE,
            AGENCY_COMPANY,
        )
    assert tenants.get(AGENCY_LOCATIONS[2]) is None
    assert AgencyStore(stack.table).locations(AGENCY_COMPANY) == set(AGENCY_APPROVED)


def test_an_approved_locations_first_call_mints_its_token_once_and_reuses_it(
    installed, stack, agency_sandbox, ghl_clock
):
    # GIVEN an approved location with no token yet
    client = ghl_client(agency_sandbox, provider(stack, agency_sandbox, ghl_clock), AGENCY_APPROVED[0])
    # WHEN the sync lists its contacts twice
    list(client.list_contacts())
    list(client.list_contacts())
    # THEN one location token was minted, stored in the location's own secret, and served both times
    assert mints(agency_sandbox) == 1
    stored = TokenStore(stack.secrets, stack.env["TOKEN_SECRET_PREFIX"]).get(AGENCY_APPROVED[0]).credentials
    assert isinstance(stored, AgencyLocationToken) and stored.company_id == AGENCY_COMPANY


def test_a_minted_token_that_expires_is_minted_again_with_a_refreshed_agency_token(
    installed, stack, agency_sandbox, ghl_clock
):
    # GIVEN a location whose token was minted
    token_provider = provider(stack, agency_sandbox, ghl_clock)
    client = ghl_client(agency_sandbox, token_provider, AGENCY_APPROVED[0])
    list(client.list_contacts())
    refreshes_before = calls_to(agency_sandbox, "POST", "/oauth/token")
    # WHEN a day passes (both the location and the agency token expire) and the sync calls again
    ghl_clock.advance(86_400)
    list(client.list_contacts())
    # THEN the agency token was refreshed once and the location token minted a second time
    assert calls_to(agency_sandbox, "POST", "/oauth/token") == refreshes_before + 1
    assert mints(agency_sandbox) == 2


def test_a_rejected_minted_token_is_replaced(installed, stack, agency_sandbox, ghl_clock):
    # GIVEN a minted token that GHL then revokes
    token_provider = provider(stack, agency_sandbox, ghl_clock)
    first = token_provider.access_token(AGENCY_APPROVED[0])
    agency_sandbox.revoke_token(first)
    # WHEN the sync calls with it (401) / THEN the client gets a newly minted token and succeeds
    list(ghl_client(agency_sandbox, token_provider, AGENCY_APPROVED[0]).list_contacts())
    assert mints(agency_sandbox) == 2
    assert token_provider.access_token(AGENCY_APPROVED[0]) != first


@pytest.mark.ghl_variants("old-token-dies")
def test_an_agency_token_another_container_refreshed_still_mints(
    installed, stack, agency_sandbox, ghl_clock, ghl_variant
):
    # GIVEN container A has minted one location's token (and holds the agency token it used)
    container_a = provider(stack, agency_sandbox, ghl_clock)
    list(ghl_client(agency_sandbox, container_a, AGENCY_APPROVED[0]).list_contacts())
    # AND container B refreshed the agency token (the schedule, two days ahead)
    refreshes = calls_to(agency_sandbox, "POST", "/oauth/token")
    provider(stack, agency_sandbox, ghl_clock).ensure_valid_for(agency_token_key(AGENCY_COMPANY), 2 * 86_400)
    assert calls_to(agency_sandbox, "POST", "/oauth/token") == refreshes + 1
    # WHEN container A needs the second location's token
    list(ghl_client(agency_sandbox, container_a, AGENCY_APPROVED[1]).list_contacts())
    # THEN it is minted whether GHL still takes the old agency token or not (a 401 makes A re-read
    # the agency secret and mint once more with B's token), and A refreshed nothing itself
    refused = 0 if ghl_variant.previous_access_token_valid_after_refresh else 1
    assert mints(agency_sandbox) == 2 + refused
    assert calls_to(agency_sandbox, "POST", "/oauth/token") == refreshes + 1


def test_concurrent_first_calls_mint_one_token(installed, stack, agency_sandbox, ghl_clock):
    # GIVEN ten containers that all need the same location's first token at once
    released = threading.Event()
    table = stack.dynamodb.Table(stack.table.name)
    providers = [
        provider(stack, agency_sandbox, ghl_clock, ReleaseSignallingLeases(table, ghl_clock, released))
        for _ in range(10)
    ]
    for each in providers:
        each._sleep = lambda seconds: released.wait(timeout=5)  # wait for a release, not for time
    # WHEN they ask together
    with ThreadPoolExecutor(max_workers=10) as pool:
        tokens_seen = set(pool.map(lambda p: p.access_token(AGENCY_APPROVED[1]), providers))
    # THEN GHL minted once and every caller got that token
    assert mints(agency_sandbox) == 1
    assert len(tokens_seen) == 1


def test_a_location_created_later_arrives_by_install_webhook(installed, stack, agency_sandbox, ghl_clock):
    # GIVEN the agency let the app follow onto new locations / WHEN it creates one
    agency_sandbox.add_location(FUTURE_LOCATION, company_id=AGENCY_COMPANY)
    # AND GHL delivers the queued webhooks (the Company INSTALL, then the location's INSTALL)
    assert deliver_webhooks(agency_sandbox) == [200, 200]
    # THEN the new location is an agency tenant and its token can be minted
    tenant = TenantStore(stack.table).get(FUTURE_LOCATION)
    assert tenant is not None and (tenant.auth_kind, tenant.company_id) == (AuthKind.AGENCY, AGENCY_COMPANY)
    assert provider(stack, agency_sandbox, ghl_clock).access_token(FUTURE_LOCATION)
    assert mints(agency_sandbox) == 1


def test_the_schedule_reconciles_added_and_removed_locations(installed, stack, agency_sandbox):
    # GIVEN GHL now has a location the stack never heard of, and one approved location removed the app
    agency_sandbox.add_location(FUTURE_LOCATION, company_id=AGENCY_COMPANY)  # its INSTALL is never delivered
    agency_sandbox.uninstall(AGENCY_CLIENT_ID, AGENCY_APPROVED[1])
    # WHEN token_refresh runs on its schedule
    summary = run_token_refresh()
    # THEN the reconcile added the new location and retired the removed one
    assert (
        summary["agency_locations_added"],
        summary["agency_locations_removed"],
        summary["agencies_failed"],
    ) == (1, 1, 0)
    tenants = TenantStore(stack.table)
    assert tenants.get(FUTURE_LOCATION).auth_kind is AuthKind.AGENCY
    assert tenants.get(AGENCY_APPROVED[1]).status is TenantStatus.UNINSTALLED
    assert AgencyStore(stack.table).locations(AGENCY_COMPANY) == {AGENCY_APPROVED[0], FUTURE_LOCATION}
    assert calls_to(agency_sandbox, "GET", "/oauth/installedLocations") == 1


def test_a_company_uninstall_disables_every_tenant_of_the_agency(installed, stack, agency_sandbox):
    # GIVEN the installed agency / WHEN it removes the app and GHL delivers the UNINSTALL
    agency_sandbox.uninstall_company(AGENCY_CLIENT_ID, AGENCY_COMPANY)
    assert deliver_webhooks(agency_sandbox) == [200, 200]
    # THEN every tenant of the agency is uninstalled and the agency leaves the reconcile
    tenants = TenantStore(stack.table)
    assert [tenants.get(location_id).status for location_id in AGENCY_APPROVED] == [
        TenantStatus.UNINSTALLED
    ] * 2
    assert list(AgencyStore(stack.table).active()) == []


def test_an_agency_whose_tokens_were_revoked_needs_a_reinstall(installed, stack, agency_sandbox, ghl_clock):
    # GIVEN GHL revoked the agency's tokens without our knowing (no UNINSTALL delivered), and
    # /oauth/reconnect, the old recovery path, now answers 400 "API endpoint has been removed"
    agency_sandbox.uninstall_company(AGENCY_CLIENT_ID, AGENCY_COMPANY)
    reconnect = httpx.Client(transport=agency_sandbox.transport()).post(BASE_URL + "/oauth/reconnect")
    assert (reconnect.status_code, reconnect.json()["message"]) == (400, "API endpoint has been removed")
    # WHEN the schedule reconciles (401 on the listing → refresh → invalid_grant)
    summary = run_token_refresh()
    # THEN the agency is marked reconnect_needed (only a reinstall helps) and minting is refused
    assert summary["agencies_failed"] == 1
    assert AgencyStore(stack.table).get(AGENCY_COMPANY).status is TenantStatus.RECONNECT_NEEDED
    with pytest.raises(ReconnectNeeded):
        provider(stack, agency_sandbox, ghl_clock).access_token(AGENCY_APPROVED[0])
