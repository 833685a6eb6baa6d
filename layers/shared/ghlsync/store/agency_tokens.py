"""Agency (Company) installs: the agency token, its locations' minted tokens, and their tenants.

An agency installs the app once for many locations (ghl-api.md §4.1). What is kept:
- the agency's tokens: an "oauth" secret under `agency_<companyId>`, refreshed like a location's
  (single-use refresh token, the same lease rules; `user_type=Company` on the refresh);
- one tenant per location of the install, `auth_kind` agency, and a member row under the agency
  (ghlsync.store.agencies);
- per location, the token minted from the agency token (`POST /oauth/locationToken`) in the
  location's own secret (kind "agency"), minted when first needed and again near expiry or when
  GHL rejects it, one minter per location at a time (the location's lease, double-checked read).

The set of locations follows GHL: approved at the install (`approvedLocations`), INSTALL webhooks
for locations created later under `installToFutureLocations`, and a scheduled reconcile against
`GET /oauth/installedLocations` that registers missing ones and marks removed ones uninstalled.
A company UNINSTALL disables the agency and every one of its tenants.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from ghlsync.ghl.agency import AgencyApi, AgencyTokenRejected, LocationNotInstalled
from ghlsync.ghl.oauth import TokenSet
from ghlsync.observability import logger, metrics
from ghlsync.store.agencies import Agency, AgencyStore, agency_token_key
from ghlsync.store.tenants import AuthKind, Tenant, TenantNotFound, TenantStatus, TenantStore

if TYPE_CHECKING:
    from ghlsync.store.tokens import AgencyLocationToken, OAuthTokenProvider, TokenStore


class LocationTokenMinter:
    """Mints a location's token from its agency's; the provider calls `mint` holding the lease."""

    def __init__(
        self, tokens: TokenStore, tenants: TenantStore, api: AgencyApi, provider: OAuthTokenProvider
    ) -> None:
        self._tokens = tokens
        self._tenants = tenants
        self._api = api
        self._provider = provider

    def stored(self, location_id: str) -> AgencyLocationToken | None:
        from ghlsync.store.tokens import AgencyLocationToken

        stored = self._tokens.get_or_none(location_id, fresh=True)
        if stored is None or not isinstance(stored.credentials, AgencyLocationToken):
            return None
        return stored.credentials

    def mint(self, location_id: str) -> tuple[AgencyLocationToken, bool]:
        from ghlsync.store.tokens import AgencyLocationToken, ReconnectNeeded, TokenNotFound

        tenant = self._tenants.get(location_id)
        if tenant is None or tenant.auth_kind is not AuthKind.AGENCY or not tenant.company_id:
            raise TokenNotFound(location_id)
        if tenant.status is not TenantStatus.ACTIVE:
            raise ReconnectNeeded(location_id)
        company_id = tenant.company_id
        try:
            minted = with_agency_token(
                self._provider,
                company_id,
                lambda token: self._api.location_token(token, company_id, location_id),
            )
        except LocationNotInstalled as exc:
            self._tenants.set_status(location_id, TenantStatus.UNINSTALLED, reason=exc.message)
            raise ReconnectNeeded(location_id) from exc
        token = AgencyLocationToken.model_validate(minted.model_dump())
        self._tokens.put(location_id, token)  # persisted before anyone uses it
        metrics.add_metric(name="LocationTokenMinted", unit=MetricUnit.Count, value=1)
        logger.info("location token minted", extra={"location_id": location_id, "company_id": company_id})
        return token, True


def with_agency_token[T](provider: OAuthTokenProvider, company_id: str, call: Callable[[str], T]) -> T:
    """`call(agency access token)`; when GHL answers 401 to it (revoked, rotated elsewhere, expired
    early), the agency token is renewed under its lease and the call tried once more."""
    key = agency_token_key(company_id)
    token = provider.access_token(key)
    try:
        return call(token)
    except AgencyTokenRejected:
        provider.token_rejected(key, token)
        return call(provider.access_token(key))


# ---- install, INSTALL / UNINSTALL, reconcile ---------------------------------------------------


class AgencyMembers:
    """Registers and retires the tenants of agency installs."""

    def __init__(
        self, agencies: AgencyStore, tenants: TenantStore, *, retain_days: int, clock: Callable[[], datetime]
    ) -> None:
        self._agencies = agencies
        self._tenants = tenants
        self._retain_days = retain_days
        self._clock = clock

    def install(self, tokens: TokenSet, app_id: str, token_store: TokenStore) -> Agency:
        """The OAuth callback's Company install: agency token stored, agency and its approved
        locations registered. Locations approved without being listed arrive with the reconcile."""
        from ghlsync.store.tokens import OAuthTokens

        if not tokens.company_id:
            raise ValueError("a Company token without companyId")
        token_store.put(agency_token_key(tokens.company_id), OAuthTokens.model_validate(tokens.model_dump()))
        agency = Agency(
            company_id=tokens.company_id,
            app_id=app_id,
            install_to_future_locations=tokens.install_to_future_locations,
            installed_at=self._clock(),
        )
        self._agencies.register(agency)
        for location_id in tokens.approved_locations:
            self.add(agency.company_id, location_id)
        logger.info(
            "agency installed",
            extra={"company_id": agency.company_id, "locations": len(tokens.approved_locations)},
        )
        return agency

    def add(self, company_id: str, location_id: str) -> None:
        self._tenants.register(
            Tenant(
                location_id=location_id,
                company_id=company_id,
                installed_at=self._clock(),
                auth_kind=AuthKind.AGENCY,
            )
        )
        self._agencies.add_location(company_id, location_id)

    def remove(self, company_id: str, location_id: str) -> None:
        with suppress(TenantNotFound):  # never registered: only the member row is left
            self._tenants.mark_uninstalled(location_id, self._retain_days)
        self._agencies.remove_location(company_id, location_id)

    def location_installed(self, company_id: str | None, location_id: str) -> bool:
        """An INSTALL for one location: registered as the agency's if its company has an active
        agency install (a location created under installToFutureLocations); False otherwise."""
        agency = self._agencies.get(company_id) if company_id else None
        if agency is None or agency.status is not TenantStatus.ACTIVE:
            return False
        self.add(agency.company_id, location_id)
        return True

    def company_uninstalled(self, company_id: str) -> int:
        """A company-level UNINSTALL: the agency and every one of its tenants stop; returns how many."""
        if self._agencies.get(company_id) is None:
            logger.info("UNINSTALL for a company we never registered", extra={"company_id": company_id})
            return 0
        self._agencies.set_status(company_id, TenantStatus.UNINSTALLED)
        members = self._agencies.locations(company_id)
        for location_id in members:
            self.remove(company_id, location_id)
        return len(members)


class ReconcileSummary(BaseModel):
    agency_locations_added: int = 0
    agency_locations_removed: int = 0
    agencies_failed: int = 0


def reconcile_agencies(
    members: AgencyMembers, agencies: AgencyStore, provider: OAuthTokenProvider, api: AgencyApi
) -> ReconcileSummary:
    """Make every active agency's tenants match GHL's installed locations; one agency's failure
    stops nothing (it is counted and logged)."""
    from ghlsync.store.tokens import ReconnectNeeded

    summary = ReconcileSummary()
    for agency in list(agencies.active()):
        company_id = agency.company_id
        try:
            listing = partial(api.installed_location_ids, company_id=company_id, app_id=agency.app_id)
            installed = with_agency_token(provider, company_id, listing)
        except ReconnectNeeded:
            agencies.set_status(company_id, TenantStatus.RECONNECT_NEEDED)
            summary.agencies_failed += 1
            logger.warning("agency token rejected: reinstall needed", extra={"company_id": company_id})
            continue
        except Exception as exc:  # one agency's failure must not stop the others
            summary.agencies_failed += 1
            logger.exception(
                "agency reconcile failed", extra={"company_id": company_id, "error": type(exc).__name__}
            )
            continue
        known = agencies.locations(company_id)
        for location_id in sorted(installed - known):
            members.add(company_id, location_id)
            summary.agency_locations_added += 1
        for location_id in sorted(known - installed):
            members.remove(company_id, location_id)
            summary.agency_locations_removed += 1
    metrics.add_metric(name="AgencyReconcileFailed", unit=MetricUnit.Count, value=summary.agencies_failed)
    return summary


def utc_now() -> datetime:
    return datetime.now(UTC)
