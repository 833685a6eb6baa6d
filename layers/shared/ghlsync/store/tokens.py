"""GHL location tokens in Secrets Manager, and the token provider that keeps them fresh.

Secret layout: one secret per location, named `<TOKEN_SECRET_PREFIX><locationId>`, created on the
first store and given a new version on every later one. Its SecretString is JSON, either
    {"kind": "oauth", "access_token", "refresh_token", "expires_at" (ISO 8601), "scope",
     "user_type", "location_id", "company_id", "user_id"}
or, for a private-integration token an operator stores by hand,
    {"kind": "pit", "access_token": "pit-..."}
or, for a location of an agency (Company) install, the token minted from the agency's
    {"kind": "agency", "access_token", "expires_at", "scope", "location_id", "company_id"}
The agency's own tokens are an "oauth" secret under `agency_<companyId>` (ghlsync.store.agencies).

Refreshing safely (GHL refresh tokens are single-use and rotate, ghl-api.md §4.1):
1. one refresher per location at a time across every process: a DynamoDB lease (ghlsync.store.leases);
2. after taking the lease, re-read the secret: if someone else refreshed meanwhile, use theirs;
3. persist the new tokens before anything uses them: a crash after GHL rotated the refresh token
   but before the write would lose the install;
4. on `invalid_grant`, re-read once more (another process may have rotated it outside the lease,
   e.g. after its lease expired) before marking the tenant `reconnect_needed`.
Callers that find the lease held wait (bounded, injected sleep) and re-read.
A location of an agency install has no refresh token: its token is minted (POST
/oauth/locationToken with the agency token) when first needed and again when it nears expiry or
is rejected, under the same location lease and double-checked read (ghlsync.store.agency_tokens).

The in-memory cache (per container) keeps each location's secret with its version id; a refresh
through this process replaces the entry, and every refresh decision re-reads the secret first, so
a token another container rotated is picked up instead of being served stale.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

import httpx
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ghlsync.config import get_settings
from ghlsync.ghl.agency import AgencyApi, MintedToken
from ghlsync.ghl.oauth import InvalidGrant, InvalidState, OAuthClient, TokenSet, verify_state
from ghlsync.observability import logger, metrics
from ghlsync.observability.catalog import MetricName
from ghlsync.store.dynamo import error_code, secrets_client, sync_table
from ghlsync.store.leases import LeaseStore
from ghlsync.store.tenants import AuthKind, Tenant, TenantNotFound, TenantStatus, TenantStore

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

    from ghlsync.store.agency_tokens import AgencyMembers

# GHL location ids are 20 alphanumerics; this also keeps untrusted ids inside the secret prefix.
LOCATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# Refresh this long before expiry, so a token never expires between access_token() and its use.
DEFAULT_REFRESH_MARGIN_S = 300.0
# How long a cached secret is trusted without re-reading (tokens live ~24 h; refreshes re-read).
DEFAULT_CACHE_TTL_S = 300.0
TOKEN_HTTP_TIMEOUT = httpx.Timeout(10.0)


class OAuthTokens(TokenSet):
    kind: Literal["oauth"] = "oauth"


class PrivateIntegrationToken(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["pit"] = "pit"
    access_token: str = Field(min_length=1, repr=False)


class AgencyLocationToken(MintedToken):
    kind: Literal["agency"] = "agency"


AnyCredentials = OAuthTokens | PrivateIntegrationToken | AgencyLocationToken
Credentials = Annotated[AnyCredentials, Field(discriminator="kind")]
_credentials = TypeAdapter[AnyCredentials](Credentials)


@dataclass(frozen=True)
class StoredCredentials:
    credentials: AnyCredentials
    version_id: str


class TokenNotFound(LookupError):
    def __init__(self, location_id: str) -> None:
        super().__init__(f"no token stored for location {location_id}")
        self.location_id = location_id


class TokenSecretInvalid(ValueError):
    """A location's secret exists but does not hold a token in either known shape."""


class ReconnectNeeded(Exception):
    """GHL rejected the location's refresh token: only a reinstall of the app can fix it."""

    def __init__(self, location_id: str) -> None:
        super().__init__(f"location {location_id} must reinstall the GHL app: its refresh token was rejected")
        self.location_id = location_id


class RefreshInProgress(Exception):
    """Another process held the location's refresh lease for longer than this caller waits."""

    def __init__(self, location_id: str) -> None:
        super().__init__(f"another process is refreshing the token of location {location_id}")
        self.location_id = location_id


def validate_location_id(location_id: str) -> str:
    if not LOCATION_ID.fullmatch(location_id):
        raise ValueError("location id must be 1-128 letters, digits, '_' or '-'")
    return location_id


class TokenStore:
    """One Secrets Manager secret per location, behind a small version-aware cache."""

    def __init__(
        self,
        secrets: SecretsManagerClient,
        prefix: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
    ) -> None:
        self._secrets = secrets
        self._prefix = prefix
        self._clock = clock
        self._cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[float, StoredCredentials]] = {}

    def secret_name(self, location_id: str) -> str:
        return self._prefix + validate_location_id(location_id)

    def get(self, location_id: str, *, fresh: bool = False) -> StoredCredentials:
        """The location's token; `fresh` skips the cache (use it before any refresh decision)."""
        cached = self._cache.get(location_id)
        if not fresh and cached is not None and self._clock() - cached[0] < self._cache_ttl_s:
            return cached[1]
        try:
            answer = self._secrets.get_secret_value(SecretId=self.secret_name(location_id))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                self._cache.pop(location_id, None)
                raise TokenNotFound(location_id) from exc
            raise
        try:
            credentials = _credentials.validate_json(answer["SecretString"])
        except (KeyError, ValidationError):
            # The validation error would echo the secret's content: keep only the field names.
            raise TokenSecretInvalid(f"the token secret of location {location_id} is malformed") from None
        stored = StoredCredentials(credentials, answer["VersionId"])
        self._cache[location_id] = (self._clock(), stored)
        return stored

    def get_or_none(self, location_id: str, *, fresh: bool = False) -> StoredCredentials | None:
        try:
            return self.get(location_id, fresh=fresh)
        except TokenNotFound:
            return None

    def put(self, location_id: str, credentials: AnyCredentials) -> StoredCredentials:
        """Store a new version (creating the secret on the first store); the cache follows."""
        name = self.secret_name(location_id)
        body = credentials.model_dump_json()
        try:
            version_id = self._secrets.put_secret_value(SecretId=name, SecretString=body)["VersionId"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            version_id = self._create(name, location_id, body)
        stored = StoredCredentials(credentials, version_id)
        self._cache[location_id] = (self._clock(), stored)
        return stored

    def invalidate(self, location_id: str) -> None:
        self._cache.pop(location_id, None)

    def _create(self, name: str, location_id: str, body: str) -> str:
        try:
            return self._secrets.create_secret(
                Name=name, SecretString=body, Description=f"GHL tokens of location {location_id} (ghl-sync)"
            )["VersionId"]
        except ClientError as exc:
            # Two first stores raced: the other created it, so this one becomes a new version.
            if error_code(exc) != "ResourceExistsException":
                raise
            return self._secrets.put_secret_value(SecretId=name, SecretString=body)["VersionId"]


class RefreshResult(StrEnum):
    REFRESHED = "refreshed"
    ALREADY_VALID = "already_valid"  # valid long enough, or another process refreshed it first
    NOT_REFRESHABLE = "not_refreshable"  # a private-integration token


class TokenEndpoint(Protocol):
    """GHL's /oauth/token as the provider and the installer use it (an OAuthClient, or AppOAuthClient)."""

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet: ...
    def refresh(self, refresh_token: str, user_type: str = "Location") -> TokenSet: ...


class OAuthTokenProvider:
    """The GHL client's TokenProvider for every location: PITs as stored, OAuth tokens kept fresh,
    tokens of an agency's locations minted from the agency token (when `agency_api` is given)."""

    def __init__(
        self,
        tokens: TokenStore,
        leases: LeaseStore,
        tenants: TenantStore,
        oauth: TokenEndpoint,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
        lease_ttl_s: float = 60.0,
        lease_wait_s: float = 10.0,
        lease_poll_s: float = 0.25,
        owner: str | None = None,
        agency_api: AgencyApi | None = None,
    ) -> None:
        from ghlsync.store.agency_tokens import LocationTokenMinter  # it builds on this module

        self._minter = None if agency_api is None else LocationTokenMinter(tokens, tenants, agency_api, self)
        self._tokens = tokens
        self._leases = leases
        self._tenants = tenants
        self._oauth = oauth
        self._clock = clock
        self._sleep = sleep
        self._refresh_margin_s = refresh_margin_s
        self._lease_ttl_s = lease_ttl_s
        self._lease_wait_s = lease_wait_s
        self._lease_poll_s = lease_poll_s
        self._owner = owner or f"token-provider-{uuid.uuid4()}"
        self._local_locks: dict[str, threading.Lock] = {}
        self._local_locks_guard = threading.Lock()

    def access_token(self, location_id: str) -> str:
        stored = self._tokens.get_or_none(location_id)
        if stored is None or isinstance(stored.credentials, AgencyLocationToken):
            return self._minted(location_id, self._valid_for(self._refresh_margin_s)).access_token
        credentials = stored.credentials
        if isinstance(credentials, PrivateIntegrationToken):
            return credentials.access_token
        if not credentials.expires_within(self._refresh_margin_s, self._now()):
            return credentials.access_token
        fresh, _ = self._refresh_unless(location_id, self._valid_for(self._refresh_margin_s))
        return fresh.access_token

    def token_rejected(self, location_id: str, token: str) -> None:
        credentials = self._tokens.get(location_id, fresh=True).credentials
        if isinstance(credentials, PrivateIntegrationToken) or credentials.access_token != token:
            # A PIT cannot be refreshed; a different stored token means someone already replaced it.
            return
        valid = self._valid_for(self._refresh_margin_s)
        if isinstance(credentials, AgencyLocationToken):
            self._minted(location_id, lambda minted: minted.access_token != token and valid(minted))
            return
        self._refresh_unless(location_id, lambda tokens: tokens.access_token != token and valid(tokens))

    def _minted(self, location_id: str, usable: Callable[[MintedToken], bool]) -> MintedToken:
        """The location's minted token if usable, else a new one minted under the location's lease."""
        if self._minter is None:
            raise TokenNotFound(location_id)
        minter = self._minter

        def mint_unless_minted_meanwhile() -> tuple[MintedToken, bool]:
            # Double-checked read: another process may have minted between our check and our lease.
            current = minter.stored(location_id)
            if current is not None and usable(current):
                return current, False
            return minter.mint(location_id)

        token, _ = self.under_lease(
            location_id, lambda: minter.stored(location_id), usable, mint_unless_minted_meanwhile
        )
        return token

    def ensure_valid_for(self, location_id: str, seconds: float) -> RefreshResult:
        """Refresh the location's OAuth token unless it stays valid for `seconds` (the schedule's job)."""
        if not isinstance(self._tokens.get(location_id, fresh=True).credentials, OAuthTokens):
            return RefreshResult.NOT_REFRESHABLE
        _, refreshed = self._refresh_unless(location_id, self._valid_for(seconds))
        return RefreshResult.REFRESHED if refreshed else RefreshResult.ALREADY_VALID

    def _valid_for(self, seconds: float) -> Callable[[TokenSet | MintedToken], bool]:
        return lambda tokens: not tokens.expires_within(seconds, self._now())

    def _refresh_unless(self, location_id: str, usable: Callable[[TokenSet], bool]) -> tuple[TokenSet, bool]:
        """Return usable tokens, refreshing under the location's lease when the stored ones are not."""
        return self.under_lease(
            location_id,
            lambda: self._stored_oauth(location_id),
            usable,
            lambda: self._refresh_holding_lease(location_id, usable),
        )

    def under_lease[T](
        self,
        key: str,
        read: Callable[[], T | None],
        usable: Callable[[T], bool],
        renew: Callable[[], tuple[T, bool]],
    ) -> tuple[T, bool]:
        """(token, renewed): the stored token if `usable`, else `renew()` run by one caller at a
        time across processes (the key's lease; `renew` must re-read before it calls GHL)."""
        lease = f"token-refresh#{key}"
        waited = 0.0
        with self._local_lock(key):
            while True:
                current = read()
                if current is not None and usable(current):
                    return current, False
                if self._leases.acquire(lease, self._owner, self._lease_ttl_s):
                    try:
                        return renew()
                    finally:
                        self._leases.release(lease, self._owner)
                if waited >= self._lease_wait_s:
                    raise RefreshInProgress(key)
                self._sleep(self._lease_poll_s)
                waited += self._lease_poll_s

    def _refresh_holding_lease(
        self, location_id: str, usable: Callable[[TokenSet], bool]
    ) -> tuple[TokenSet, bool]:
        # Double-checked read: another process may have refreshed between our check and our lease.
        current = self._stored_oauth(location_id)
        if usable(current):
            return current, False
        tenant = self._tenants.get(location_id)
        if tenant is not None and tenant.status is not TenantStatus.ACTIVE:
            # Refused before (reconnect_needed) or uninstalled: asking GHL again for every event
            # would only repeat the refusal. A reinstall stores new tokens (usable above) and
            # reactivates the tenant.
            raise ReconnectNeeded(location_id)
        try:
            refreshed = self._oauth.refresh(current.refresh_token, current.user_type)
        except InvalidGrant as exc:
            latest = self._stored_oauth(location_id)
            if latest.refresh_token != current.refresh_token:
                logger.info(
                    "refresh token was rotated by another process", extra={"location_id": location_id}
                )
                return latest, False
            self._mark_reconnect_needed(location_id, tenant, exc.message)
            raise ReconnectNeeded(location_id) from exc
        stored = OAuthTokens.model_validate(
            {**refreshed.model_dump(), "location_id": refreshed.location_id or current.location_id}
        )
        self._tokens.put(location_id, stored)  # persisted before anyone uses it
        self._tenants.record_token_expiry(location_id, stored.expires_at)
        metrics.add_metric(name="TokenRefreshed", unit=MetricUnit.Count, value=1)
        logger.info("token refreshed", extra={"location_id": location_id, "expires_at": stored.expires_at})
        return stored, True

    def _mark_reconnect_needed(self, location_id: str, tenant: Tenant | None, reason: str) -> None:
        metrics.add_metric(name=MetricName.TOKEN_RECONNECT_NEEDED, unit=MetricUnit.Count, value=1)
        logger.warning("refresh token rejected: reconnect needed", extra={"location_id": location_id})
        if tenant is None:
            logger.warning("no tenant row to mark reconnect_needed", extra={"location_id": location_id})
            return
        try:
            self._tenants.set_status(location_id, TenantStatus.RECONNECT_NEEDED, reason=reason)
        except TenantNotFound:
            logger.warning("tenant row vanished before reconnect_needed", extra={"location_id": location_id})

    def _stored_oauth(self, location_id: str) -> OAuthTokens:
        credentials = self._tokens.get(location_id, fresh=True).credentials
        if not isinstance(credentials, OAuthTokens):
            raise TokenSecretInvalid(f"location {location_id} holds a {credentials.kind} token, not OAuth")
        return credentials

    @contextmanager
    def _local_lock(self, location_id: str) -> Iterator[None]:
        """Threads of this process queue here, so only one of them competes for the lease."""
        with self._local_locks_guard:
            lock = self._local_locks.setdefault(location_id, threading.Lock())
        with lock:
            yield

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


# ---- install (OAuth callback) ---------------------------------------------------------------


class AppCredentials(BaseModel):
    """The Marketplace app's secret (GHL_APP_SECRET_ID)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    client_id: str = Field(default="", repr=False)
    client_secret: str = Field(default="", repr=False)
    redirect_uri: str = ""
    state_signing_key: str = Field(min_length=16, repr=False)


def load_app_credentials(secrets: SecretsManagerClient, secret_id: str) -> AppCredentials:
    secret = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        return AppCredentials.model_validate_json(secret)
    except ValidationError:
        raise ValueError(
            f"the GHL app secret {secret_id} must be JSON with client_id, client_secret, redirect_uri "
            "and a state_signing_key of 16+ characters"
        ) from None


class InstallRejected(ValueError):
    """The callback cannot complete an install: bad request or a code GHL refused."""


@dataclass(frozen=True)
class Installed:
    """What an install connected: one location, or an agency and the locations it approved."""

    location_id: str | None = None
    company_id: str | None = None
    location_ids: tuple[str, ...] = ()

    def answer(self) -> dict[str, object]:
        if self.location_id is not None:
            return {"status": "connected", "location_id": self.location_id}
        return {"status": "connected", "company_id": self.company_id, "location_ids": list(self.location_ids)}


class Installer:
    """Completes an install from the OAuth callback: state → code exchange → tokens → tenant."""

    def __init__(
        self,
        oauth: TokenEndpoint,
        tokens: TokenStore,
        tenants: TenantStore,
        app: AppCredentials,
        *,
        state_max_age_s: float,
        clock: Callable[[], float] = time.time,
        agency_members: AgencyMembers | None = None,
        app_id: str = "",
    ) -> None:
        """`agency_members` (and the app's `app_id`) accept Company installs; without them an
        agency's code is refused."""
        self._oauth = oauth
        self._tokens = tokens
        self._tenants = tenants
        self._agency_members = agency_members
        self._app_id = app_id
        self._app = app
        self._state_max_age_s = state_max_age_s
        self._clock = clock

    def complete(self, code: str | None, state: str | None) -> Installed:
        """Raises InstallRejected (the request is at fault) or OAuthError (GHL's token endpoint is)."""
        if not code:
            raise InstallRejected("the 'code' query parameter is missing")
        if not state:
            raise InstallRejected("the 'state' query parameter is missing")
        try:
            verify_state(state, self._app.state_signing_key, self._clock(), self._state_max_age_s)
        except InvalidState as exc:
            raise InstallRejected(f"invalid state: {exc}") from exc
        try:
            tokens = self._oauth.exchange_code(code, self._app.redirect_uri)
        except InvalidGrant as exc:
            raise InstallRejected(
                "GHL refused the authorization code (expired or already used); start the install again"
            ) from exc
        if tokens.is_company and self._agency_members is not None:
            agency = self._agency_members.install(tokens, self._app_id, self._tokens)
            return Installed(company_id=agency.company_id, location_ids=tokens.approved_locations)
        if not tokens.location_id or not LOCATION_ID.fullmatch(tokens.location_id):
            raise InstallRejected(
                "GHL returned an agency-level token; install the app on a sub-account (location)"
            )
        location_id = tokens.location_id
        self._tokens.put(location_id, OAuthTokens.model_validate(tokens.model_dump()))
        tenant = Tenant(
            location_id=location_id,
            company_id=tokens.company_id,
            installed_at=datetime.fromtimestamp(self._clock(), UTC),
            auth_kind=AuthKind.OAUTH,
            token_expires_at=tokens.expires_at,
        )
        self._tenants.register(tenant)
        logger.info("location installed", extra={"location_id": location_id})
        return Installed(location_id=location_id)


# ---- scheduled refresh ----------------------------------------------------------------------


class RefreshSummary(BaseModel):
    refreshed: int = 0
    skipped: int = 0
    reconnect_needed: int = 0
    failed: int = 0


def refresh_expiring_tokens(
    provider: OAuthTokenProvider, tenants: TenantStore, *, window_s: float, now: datetime
) -> RefreshSummary:
    """Refresh every active OAuth token that expires within `window_s`; one failure stops nothing."""
    summary = RefreshSummary()
    seen: set[str] = set()
    for tenant in tenants.expiring_before(now + timedelta(seconds=window_s)):
        location_id = tenant.location_id
        # A refreshed tenant moves along the index and may show up again on a later page.
        if location_id in seen:
            continue
        seen.add(location_id)
        try:
            result = provider.ensure_valid_for(location_id, window_s)
        except ReconnectNeeded:
            summary.reconnect_needed += 1
        except RefreshInProgress:
            summary.skipped += 1  # another process is doing exactly this right now
        except Exception as exc:  # one location's failure must not stop the others
            summary.failed += 1
            logger.exception(
                "token refresh failed", extra={"location_id": location_id, "error": type(exc).__name__}
            )
        else:
            if result is RefreshResult.REFRESHED:
                summary.refreshed += 1
            else:
                summary.skipped += 1
    metrics.add_metric(name=MetricName.TOKEN_REFRESH_FAILED, unit=MetricUnit.Count, value=summary.failed)
    metrics.add_metric(name="TokenRefreshSkipped", unit=MetricUnit.Count, value=summary.skipped)
    return summary


# ---- wiring: built lazily, once per container ------------------------------------------------


@cache
def token_http_client() -> httpx.Client:
    return httpx.Client(timeout=TOKEN_HTTP_TIMEOUT)


@cache
def default_token_store() -> TokenStore:
    return TokenStore(secrets_client(), get_settings().token_secret_prefix)


class AppOAuthClient:
    """GHL's token endpoint with the Marketplace app's credentials as they are now.

    The operator fills client_id / client_secret into the app secret after deploying. Until then
    every use re-reads the secret (and fails with OAuthNotConfigured), so a warm container picks
    the credentials up without a restart; once they are there, the client is kept.
    """

    def __init__(self, load: Callable[[], AppCredentials], http: httpx.Client, base_url: str) -> None:
        self._load = load
        self._http = http
        self._base_url = base_url
        self._configured: OAuthClient | None = None

    def credentials(self) -> AppCredentials:
        return self._load()

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._client().exchange_code(code, redirect_uri)

    def refresh(self, refresh_token: str, user_type: str = "Location") -> TokenSet:
        return self._client().refresh(refresh_token, user_type)

    @property
    def app_id(self) -> str:
        return self._client().app_id

    def _client(self) -> OAuthClient:
        if self._configured is not None:
            return self._configured
        app = self._load()
        client = OAuthClient(self._http, self._base_url, app.client_id, app.client_secret)
        if app.client_id and app.client_secret:
            self._configured = client
        return client


def load_default_app_credentials() -> AppCredentials:
    return load_app_credentials(secrets_client(), get_settings().ghl_app_secret_id)


@cache
def default_oauth_client() -> AppOAuthClient:
    return AppOAuthClient(load_default_app_credentials, token_http_client(), get_settings().ghl_api_base_url)


@cache
def default_tenant_store() -> TenantStore:
    return TenantStore(sync_table())


@cache
def default_token_provider() -> OAuthTokenProvider:
    settings = get_settings()
    return OAuthTokenProvider(
        default_token_store(),
        LeaseStore(sync_table()),
        default_tenant_store(),
        default_oauth_client(),
        lease_ttl_s=settings.token_lease_seconds,
        agency_api=default_agency_api(),
    )


def default_agency_api() -> AgencyApi:
    settings = get_settings()
    return AgencyApi(token_http_client(), settings.ghl_api_base_url, version=settings.ghl_api_version)


def default_agency_members() -> AgencyMembers:
    from ghlsync.store.agencies import AgencyStore
    from ghlsync.store.agency_tokens import AgencyMembers, utc_now

    table = sync_table()
    return AgencyMembers(
        AgencyStore(table),
        TenantStore(table),
        retain_days=get_settings().uninstall_retain_days,
        clock=utc_now,
    )


def default_installer() -> Installer:
    # Built per call (it is cheap): the app secret's redirect_uri and credentials are read fresh
    # until configured, so the callback answers 503 only while the operator has not filled them in.
    oauth = default_oauth_client()
    return Installer(
        oauth,
        default_token_store(),
        default_tenant_store(),
        oauth.credentials(),
        state_max_age_s=get_settings().oauth_state_max_age_seconds,
        agency_members=default_agency_members(),
        app_id=oauth.app_id,
    )
