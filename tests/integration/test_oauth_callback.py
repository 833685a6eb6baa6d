"""oauth_callback end to end: API Gateway proxy events → handler → GHL sandbox token endpoint → moto."""

import json
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from ghlsync.ghl.oauth import make_state
from ghlsync.observability import metrics
from ghlsync.store import dynamo, tokens
from ghlsync.store.tenants import AuthKind, TenantStatus, TenantStore
from ghlsync.store.tokens import TokenNotFound, TokenStore
from sandbox.ghl import GhlSandbox
from sandbox.stack.lambda_runtime import LambdaContext, load_handler

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"
LOCATION = "cbLocation0000000001"
CLIENT_ID = "65f0c0ffee0000000000beef-lx3k9q2z"
CLIENT_SECRET = "d2b7c1c8-0000-4000-8000-000000000001"
REDIRECT_URI = "https://api.example/dev/oauth/callback"
# The key events/oauth_callback_*.json were signed with.
SIGNING_KEY = "events-state-signing-key-0001"
STATE_MAX_AGE = 3600  # Settings default (OAUTH_STATE_MAX_AGE_SECONDS)

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
    sb = GhlSandbox()
    sb.add_location(LOCATION)
    sb.add_oauth_client(CLIENT_ID, CLIENT_SECRET, redirect_uri=REDIRECT_URI)
    return sb


def put_app_secret(aws, **overrides: str) -> None:
    value = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "state_signing_key": SIGNING_KEY,
        **overrides,
    }
    aws.secrets.put_secret_value(SecretId=aws.env["GHL_APP_SECRET_ID"], SecretString=json.dumps(value))


@pytest.fixture
def handler(aws, sandbox, monkeypatch):
    """A fresh container whose HTTP client reaches the GHL sandbox in-process."""
    put_app_secret(aws)
    # The shared Metrics object was built at import, before the aws fixture set its namespace.
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    for builder in LAZY_BUILDERS:
        builder.cache_clear()
    monkeypatch.setattr(tokens, "token_http_client", lambda: httpx.Client(transport=sandbox.transport()))
    yield load_handler("functions/oauth_callback")
    for builder in LAZY_BUILDERS:
        builder.cache_clear()


def event(name: str, **query: str) -> dict:
    loaded = json.loads((EVENTS / f"{name}.json").read_text())
    if query:
        parameters = {**(loaded["queryStringParameters"] or {}), **query}
        loaded["queryStringParameters"] = parameters
        loaded["multiValueQueryStringParameters"] = {key: [value] for key, value in parameters.items()}
    return loaded


def invoke(handler, proxy_event: dict) -> tuple[int, dict]:
    response = handler(proxy_event, LambdaContext(function_name="OAuthCallbackFunction"))
    return response["statusCode"], json.loads(response["body"])


def nothing_stored(aws) -> bool:
    try:
        TokenStore(aws.secrets, aws.env["TOKEN_SECRET_PREFIX"]).get(LOCATION)
    except TokenNotFound:
        return TenantStore(aws.table).get(LOCATION) is None
    return False


def token_calls(sandbox) -> int:
    return sum(1 for method, path, _ in sandbox.request_log if (method, path) == ("POST", "/oauth/token"))


def test_a_valid_callback_stores_tokens_and_registers_the_tenant(aws, sandbox, handler):
    # GIVEN the location consented on GHL's screen, which redirects with a code and our fresh state
    code = sandbox.authorize(CLIENT_ID, LOCATION)
    state = make_state(SIGNING_KEY, time.time())
    # WHEN the callback arrives
    status, body = invoke(handler, event("oauth_callback_success", code=code, state=state))
    # THEN it confirms the connection
    assert (status, body) == (200, {"status": "connected", "location_id": LOCATION})
    # AND the location's tokens are in Secrets Manager and GHL accepts the access token
    stored = TokenStore(aws.secrets, aws.env["TOKEN_SECRET_PREFIX"]).get(LOCATION).credentials
    with httpx.Client(transport=sandbox.transport(), base_url="https://ghl") as http:
        answer = http.get(
            "/contacts/",
            params={"locationId": LOCATION},
            headers={"Authorization": f"Bearer {stored.access_token}", "Version": "2021-07-28"},
        )
    assert answer.status_code == 200
    # AND the tenant is active, OAuth, and scheduled for refresh at its token's expiry
    tenant = TenantStore(aws.table).get(LOCATION)
    assert tenant is not None
    assert (tenant.status, tenant.auth_kind) == (TenantStatus.ACTIVE, AuthKind.OAUTH)
    assert tenant.token_expires_at == stored.expires_at


def test_a_callback_without_a_code_is_refused_and_stores_nothing(aws, sandbox, handler):
    # GIVEN / WHEN the missing-code event arrives
    status, body = invoke(handler, event("oauth_callback_missing_code"))
    # THEN 400 says what is missing, GHL is not called and nothing is stored
    assert status == 400 and "'code'" in body["message"]
    assert token_calls(sandbox) == 0 and nothing_stored(aws)


def test_a_callback_with_a_forged_state_is_refused_and_stores_nothing(aws, sandbox, handler):
    # GIVEN / WHEN the bad-state event arrives (its signature was altered)
    status, body = invoke(handler, event("oauth_callback_bad_state"))
    # THEN 400 names the state problem, the code is never exchanged and nothing is stored
    assert status == 400 and "signature" in body["message"]
    assert token_calls(sandbox) == 0 and nothing_stored(aws)


def test_a_callback_with_an_expired_state_is_refused_and_stores_nothing(aws, sandbox, handler):
    # GIVEN a real code but a state issued longer ago than the allowed age
    code = sandbox.authorize(CLIENT_ID, LOCATION)
    state = make_state(SIGNING_KEY, time.time() - STATE_MAX_AGE - 60)
    # WHEN the callback arrives
    status, body = invoke(handler, event("oauth_callback_success", code=code, state=state))
    # THEN 400 says it expired, and nothing is exchanged or stored
    assert status == 400 and "expired" in body["message"]
    assert token_calls(sandbox) == 0 and nothing_stored(aws)


def test_a_failing_token_endpoint_answers_502_and_stores_nothing(aws, sandbox, handler):
    # GIVEN GHL's token endpoint answers 5xx
    code = sandbox.authorize(CLIENT_ID, LOCATION)
    sandbox.faults.configure(rate_5xx=1.0, include_auth_paths=True)
    # WHEN the callback arrives
    status, body = invoke(
        handler, event("oauth_callback_success", code=code, state=make_state(SIGNING_KEY, time.time()))
    )
    # THEN 502 tells the user GHL failed, and nothing is stored
    assert status == 502 and "token endpoint" in body["message"]
    assert nothing_stored(aws)


def test_a_code_already_used_is_refused_as_a_bad_request(aws, sandbox, handler):
    # GIVEN a code that was already exchanged once (a reloaded callback page)
    code = sandbox.authorize(CLIENT_ID, LOCATION)
    first = event("oauth_callback_success", code=code, state=make_state(SIGNING_KEY, time.time()))
    assert invoke(handler, first)[0] == 200
    # WHEN the same callback arrives again
    status, body = invoke(handler, first)
    # THEN 400 explains the code is spent and the install must start again
    assert status == 400 and "start the install again" in body["message"]


def test_an_unconfigured_app_answers_503(aws, sandbox, handler):
    # GIVEN the app secret still holds the template's empty client_id / client_secret
    put_app_secret(aws, client_id="", client_secret="")
    code = sandbox.authorize(CLIENT_ID, LOCATION)
    # WHEN a callback arrives
    status, body = invoke(
        handler, event("oauth_callback_success", code=code, state=make_state(SIGNING_KEY, time.time()))
    )
    # THEN 503 points at the configuration, and GHL is not called
    assert status == 503 and "not configured" in body["message"]
    assert token_calls(sandbox) == 0 and nothing_stored(aws)


def test_a_warm_container_picks_up_credentials_filled_in_after_a_503(aws, sandbox, handler):
    # GIVEN a container that answered 503 while the app secret was still empty
    put_app_secret(aws, client_id="", client_secret="")
    state = make_state(SIGNING_KEY, time.time())
    early = event("oauth_callback_success", code=sandbox.authorize(CLIENT_ID, LOCATION), state=state)
    assert invoke(handler, early)[0] == 503
    # WHEN the operator fills the credentials in and the same container gets the next callback
    put_app_secret(aws)
    code = sandbox.authorize(CLIENT_ID, LOCATION)
    status, body = invoke(
        handler, event("oauth_callback_success", code=code, state=make_state(SIGNING_KEY, time.time()))
    )
    # THEN the install completes without a restart
    assert (status, body) == (200, {"status": "connected", "location_id": LOCATION})


def test_a_reinstall_reactivates_a_location_that_needed_a_reconnect(aws, sandbox, handler):
    # GIVEN an installed location later marked reconnect_needed (its refresh token was refused)
    first = event(
        "oauth_callback_success",
        code=sandbox.authorize(CLIENT_ID, LOCATION),
        state=make_state(SIGNING_KEY, time.time()),
    )
    assert invoke(handler, first)[0] == 200
    TenantStore(aws.table).set_status(LOCATION, TenantStatus.RECONNECT_NEEDED, reason="invalid_grant")
    # WHEN the location installs the app again
    again = event(
        "oauth_callback_success",
        code=sandbox.authorize(CLIENT_ID, LOCATION),
        state=make_state(SIGNING_KEY, time.time()),
    )
    status, _ = invoke(handler, again)
    # THEN the tenant is active again, with its new token's expiry scheduled for refresh
    tenant = TenantStore(aws.table).get(LOCATION)
    assert status == 200 and tenant is not None and tenant.status is TenantStatus.ACTIVE
    due = TenantStore(aws.table).expiring_before(tenant.token_expires_at + timedelta(seconds=1))
    assert [due_tenant.location_id for due_tenant in due] == [LOCATION]
