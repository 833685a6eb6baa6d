"""GHL's agency endpoints (SPEC `apps/oauth.json`): a location's token minted from the agency
token, and the locations the app is installed on under a company.

`POST /oauth/locationToken` (agency token with `oauth.write`, `Version: 2021-07-28`, form body
`companyId`, `locationId`) answers a Location access token for one location the agency
installed (a refresh token too, per GHL's samples: not used here, the agency token mints again).
`GET /oauth/installedLocations` (agency token with `oauth.readonly`; `companyId`, `appId`,
`isInstalled`, `skip`/`limit`) lists the company's locations and whether the app is on each.

A 401 means the agency token itself was refused (`AgencyTokenRejected`: refresh it, try once
more); any other 4xx except 429 is permanent (`LocationNotInstalled` for a mint: the agency
did not approve that location, or removed it). GHL's exact bodies for those refusals are
UNCONFIRMED; the status is what is relied on.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ghlsync.ghl.oauth import OAuthError, error_from, json_or_none

LOCATION_TOKEN_PATH = "/oauth/locationToken"
INSTALLED_LOCATIONS_PATH = "/oauth/installedLocations"
INSTALLED_LOCATIONS_PAGE = 100


class AgencyTokenRejected(OAuthError):
    """GHL answered 401 to the agency token (expired early, revoked, or missing a scope)."""


class LocationNotInstalled(OAuthError):
    """GHL refused to mint a token for the location: the agency has not (or no longer) installed it."""


class MintedToken(BaseModel):
    """A location's access token minted from its agency's token."""

    model_config = ConfigDict(frozen=True)

    access_token: str = Field(min_length=1, repr=False)
    expires_at: AwareDatetime
    scope: str = ""
    location_id: str
    company_id: str

    def expires_within(self, seconds: float, now: datetime) -> bool:
        return self.expires_at <= now + timedelta(seconds=seconds)


class _LocationTokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    expires_in: float = Field(gt=0)
    scope: str = ""
    location_id: str = Field(alias="locationId", min_length=1)


class _InstalledLocation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(alias="_id", min_length=1)
    is_installed: bool = Field(default=False, alias="isInstalled")


class _InstalledLocationsPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    locations: list[_InstalledLocation] = Field(default_factory=list)
    count: int = 0


class AgencyApi:
    """The two agency calls, each with the agency access token the caller passes."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        *,
        version: str = "2021-07-28",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._version = version
        self._clock = clock or (lambda: datetime.now(UTC).timestamp())

    def location_token(self, agency_token: str, company_id: str, location_id: str) -> MintedToken:
        response = self._send(
            "POST",
            LOCATION_TOKEN_PATH,
            agency_token,
            data={"companyId": company_id, "locationId": location_id},
        )
        now = datetime.fromtimestamp(self._clock(), UTC)  # after the answer: expiry errs early
        payload = json_or_none(response)
        if not response.is_success:
            raise self._refusal(response.status_code, payload, LocationNotInstalled)
        try:
            answer = _LocationTokenResponse.model_validate(payload)
        except ValidationError as exc:
            raise OAuthError("locationToken answered with a malformed token response") from exc
        if answer.location_id != location_id:
            raise OAuthError(f"locationToken answered a token for another location ({answer.location_id})")
        return MintedToken(
            access_token=answer.access_token,
            expires_at=now + timedelta(seconds=answer.expires_in),
            scope=answer.scope,
            location_id=location_id,
            company_id=company_id,
        )

    def installed_location_ids(self, agency_token: str, company_id: str, app_id: str) -> set[str]:
        """Every location of the company the app is installed on (all pages)."""
        return set(self._installed(agency_token, company_id, app_id))

    def _installed(self, agency_token: str, company_id: str, app_id: str) -> Iterator[str]:
        skip = 0
        while True:
            params = {
                "companyId": company_id,
                "appId": app_id,
                "isInstalled": "true",
                "skip": str(skip),
                "limit": str(INSTALLED_LOCATIONS_PAGE),
            }
            response = self._send("GET", INSTALLED_LOCATIONS_PATH, agency_token, params=params)
            payload = json_or_none(response)
            if not response.is_success:
                raise self._refusal(response.status_code, payload, OAuthError)
            try:
                page = _InstalledLocationsPage.model_validate(payload)
            except ValidationError as exc:
                raise OAuthError("installedLocations answered a malformed page") from exc
            yield from (row.id for row in page.locations if row.is_installed)
            skip += len(page.locations)
            if not page.locations or skip >= page.count:
                return

    def _send(self, method: str, path: str, agency_token: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {agency_token}",
            "Version": self._version,
            "Accept": "application/json",
        }
        try:
            return self._http.request(method, self._base_url + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise OAuthError(f"{path} unreachable: {type(exc).__name__}") from exc

    @staticmethod
    def _refusal(status: int, payload: Any, refused: type[OAuthError]) -> OAuthError:
        error = error_from(status, payload, "GHL")
        if status == 401:
            return AgencyTokenRejected(error.message, status)
        if 400 <= status < 500 and status != 429:
            return refused(error.message, status)
        return error
