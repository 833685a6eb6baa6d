"""Who may call the API: private-integration tokens, OAuth apps, installs, and the token endpoint.

Access tokens expire by the sandbox clock; refresh tokens are single-use and rotate (GHL docs:
"the original Refresh Token becomes invalid"); auth codes are single-use. An install is either a
location's (`userType` Location) or an agency's (`userType` Company, ghl-api.md §4.1): the agency
approves some or all of its locations (each becomes an installation of its own) and may let the
app follow onto locations created later (`installToFutureLocations`). The token type follows the
install that issued the code or refresh token; `user_type` in the form is not checked
(⚠ UNCONFIRMED: GHL documents the field, not what a mismatch answers). Tokens are JWT-shaped
(tokens.py). Whether the access token issued with a refresh token stays valid once that refresh
token is used is undocumented (⚠ UNCONFIRMED): `previous_access_token_valid_after_refresh`, default
True (a JWT is normally good until its `exp`); False revokes it at the refresh.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.fakes.clock import Clock
from sandbox.ghl.errors import OAuthError, unprocessable
from sandbox.ghl.oauth_records import CompanyInstallation, Credential, Grant, Installation, OAuthApp
from sandbox.ghl.state import IdFactory
from sandbox.ghl.tokens import TokenGrant, TokenMinter

ALL_SCOPES = frozenset(
    {
        "contacts.readonly",
        "contacts.write",
        "calendars.readonly",
        "calendars.write",
        "calendars/events.readonly",
        "calendars/events.write",
        "locations.readonly",
        "locations/customFields.readonly",
        "locations/customFields.write",
        "locations/tasks.readonly",
        "users.readonly",
        "businesses.readonly",
        "businesses.write",
        "oauth.readonly",
        "oauth.write",
    }
)
# What only an agency token carries: minting location tokens, listing installed locations.
AGENCY_ONLY_SCOPES = frozenset({"oauth.readonly", "oauth.write"})
PIT_APP = "private-integration"  # the rate-limit bucket owner for private-integration tokens
ACCESS_TOKEN_TTL_S = 86_399
REFRESH_TOKEN_TTL_S = 365 * 86_400
AUTH_CODE_TTL_S = 600  # GHL says short-lived; the exact lifetime is unconfirmed


@dataclass
class OAuthServer:
    clock: Clock
    ids: IdFactory
    access_token_ttl_s: int = ACCESS_TOKEN_TTL_S
    previous_access_token_valid_after_refresh: bool = True
    credentials: dict[str, Credential] = field(default_factory=dict)
    apps: dict[str, OAuthApp] = field(default_factory=dict)
    installations: dict[tuple[str, str], Installation] = field(default_factory=dict)
    company_installations: dict[tuple[str, str], CompanyInstallation] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.minter = TokenMinter(self.ids, self.ids.secret(32))

    def resolve(self, token: str) -> Credential | None:
        credential = self.credentials.get(token)
        if credential is None or not credential.valid_at(self.clock()):
            return None
        return credential

    def add_pit(self, location_id: str, token: str, scopes: Iterable[str] | None) -> Credential:
        if token in self.credentials:
            raise ValueError("that token is already registered")
        credential = Credential(token, "pit", location_id, PIT_APP, _scopes(scopes))
        self.credentials[token] = credential
        return credential

    def add_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str | None,
        webhook_url: str | None,
        scopes: Iterable[str] | None,
    ) -> OAuthApp:
        if client_id in self.apps:
            raise ValueError(f"OAuth client {client_id!r} already exists")
        # Marketplace client ids are `<24-hex appId>-<suffix>`; SDKs take the appId from the prefix.
        app_id = client_id.split("-", 1)[0]
        app = OAuthApp(client_id, client_secret, app_id, app_id, _scopes(scopes), redirect_uri, webhook_url)
        self.apps[client_id] = app
        return app

    def authorize(self, client_id: str, location_id: str, company_id: str) -> tuple[str, Installation, bool]:
        """The consent screen: returns (code, installation, newly_installed)."""
        if client_id not in self.apps:
            raise KeyError(f"unknown OAuth client {client_id!r}")
        installation, newly = self.install_location(client_id, location_id, company_id, None)
        code = self.ids.secret(32)
        self.codes[code] = Grant(client_id, location_id, self.clock() + AUTH_CODE_TTL_S)
        return code, installation, newly

    def install_location(
        self, client_id: str, location_id: str, company_id: str, user_id: str | None
    ) -> tuple[Installation, bool]:
        """Install the app on one location (again, if it was removed): (installation, newly)."""
        key = (client_id, location_id)
        existing = self.installations.get(key)
        if existing is not None and existing.active:
            return existing, False
        self.installations[key] = Installation(
            client_id, location_id, company_id, user_id or self.ids.firestore_id(), installed_at=self.clock()
        )
        return self.installations[key], True

    def authorize_company(
        self,
        client_id: str,
        company_id: str,
        location_ids: Iterable[str],
        *,
        install_to_future_locations: bool,
        approve_all_locations: bool,
    ) -> tuple[str, CompanyInstallation, list[str]]:
        """The agency's consent screen: (code, company install, locations newly installed)."""
        if client_id not in self.apps:
            raise KeyError(f"unknown OAuth client {client_id!r}")
        key = (client_id, company_id)
        existing = self.company_installations.get(key)
        user_id = existing.user_id if existing is not None else self.ids.firestore_id()
        approved = set(location_ids)
        company = CompanyInstallation(
            client_id, company_id, user_id, approved, install_to_future_locations, approve_all_locations
        )
        self.company_installations[key] = company
        newly = [
            location_id
            for location_id in sorted(approved)
            if self.install_location(client_id, location_id, company_id, user_id)[1]
        ]
        code = self.ids.secret(32)
        self.codes[code] = Grant(
            client_id, "", self.clock() + AUTH_CODE_TTL_S, user_type="Company", company_id=company_id
        )
        return code, company, newly

    def follows_new_locations(self, company_id: str) -> list[CompanyInstallation]:
        """The active agency installs of `company_id` that extend to locations created later."""
        return [
            company
            for (_, installed_on), company in self.company_installations.items()
            if installed_on == company_id and company.active and company.install_to_future_locations
        ]

    def uninstall_company(self, client_id: str, company_id: str) -> CompanyInstallation:
        """The agency removes the app: every location it installed and every token stop working."""
        company = self.company_installations.get((client_id, company_id))
        if company is None or not company.active:
            raise KeyError(f"{client_id!r} is not installed on company {company_id!r}")
        company.active = False
        for (installed_by, location_id), installation in self.installations.items():
            if installed_by == client_id and installation.company_id == company_id and installation.active:
                self.uninstall(client_id, location_id)
        app_id = self.apps[client_id].app_id
        for credential in self.credentials.values():
            if credential.user_type == "Company" and (credential.app_id, credential.company_id) == (
                app_id,
                company_id,
            ):
                credential.revoked = True
        for grant in self.refresh_tokens.values():
            if (
                grant.client_id == client_id
                and grant.company_id == company_id
                and grant.user_type == "Company"
            ):
                grant.used = True
        return company

    def uninstall(self, client_id: str, location_id: str) -> Installation:
        installation = self.installations.get((client_id, location_id))
        if installation is None or not installation.active:
            raise KeyError(f"{client_id!r} is not installed on {location_id!r}")
        installation.active = False
        for company in self.company_installations.values():
            if company.client_id == client_id and company.company_id == installation.company_id:
                company.approved_locations.discard(location_id)
        app_id = self.apps[client_id].app_id
        for credential in self.credentials.values():
            if (
                credential.kind == "oauth"
                and credential.app_id == app_id
                and credential.location_id == location_id
            ):
                credential.revoked = True
        for grant in self.refresh_tokens.values():
            if grant.client_id == client_id and grant.location_id == location_id:
                grant.used = True
        return installation

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /oauth/token (form-encoded): authorization_code and refresh_token grants."""
        missing = [name for name in ("client_id", "client_secret", "grant_type") if not form.get(name)]
        if missing:
            raise unprocessable([f"{name} should not be empty" for name in missing])
        app = self.apps.get(form["client_id"])
        if app is None or app.client_secret != form["client_secret"]:
            raise OAuthError(401, "invalid_client")
        grant_type = form["grant_type"]
        if grant_type == "authorization_code":
            grant = self._take(
                self.codes, form.get("code"), app, "Invalid grant: authorization code is invalid"
            )
            redirect_uri = form.get("redirect_uri")
            if app.redirect_uri and redirect_uri and redirect_uri != app.redirect_uri:
                raise OAuthError(400, "invalid_grant", "Invalid grant: redirect_uri does not match")
        elif grant_type == "refresh_token":
            grant = self._take(
                self.refresh_tokens, form.get("refresh_token"), app, "Invalid grant: refresh token is invalid"
            )
            previous = self.credentials.get(grant.access_token)
            if previous is not None and not self.previous_access_token_valid_after_refresh:
                previous.revoked = True
        else:
            raise OAuthError(400, "unsupported_grant_type")
        if grant.user_type == "Company":
            company = self.company_installations.get((app.client_id, grant.company_id))
            if company is None or not company.active:
                raise OAuthError(400, "invalid_grant", "Invalid grant: app is not installed on this company")
            return self._issue_company(app, company)
        installation = self.installations.get((app.client_id, grant.location_id))
        if installation is None or not installation.active:
            raise OAuthError(400, "invalid_grant", "Invalid grant: app is not installed on this location")
        return self._issue(app, installation)

    def _take(self, grants: dict[str, Grant], value: str | None, app: OAuthApp, description: str) -> Grant:
        grant = grants.get(value or "")
        if (
            grant is None
            or grant.used
            or grant.client_id != app.client_id
            or self.clock() >= grant.expires_at
        ):
            raise OAuthError(400, "invalid_grant", description)
        grant.used = True
        return grant

    def _issue_company(self, app: OAuthApp, company: CompanyInstallation) -> dict[str, Any]:
        """An agency token: no locationId, the bulk-install fields of GetAccessCodeSuccessfulResponseDto."""
        now = self.clock()
        grant = TokenGrant(
            "Company", company.company_id, app.client_id, app.app_id, app.version_id, app.scopes, ""
        )
        access_token, refresh_token = self._mint_pair(grant, now)
        refresh_token_id = self.ids.hex_id()
        self.credentials[access_token] = Credential(
            access_token,
            "oauth",
            "",
            app.app_id,
            app.scopes,
            now + self.access_token_ttl_s,
            user_type="Company",
            company_id=company.company_id,
        )
        self.refresh_tokens[refresh_token] = Grant(
            app.client_id,
            "",
            now + REFRESH_TOKEN_TTL_S,
            grant_id=refresh_token_id,
            user_type="Company",
            company_id=company.company_id,
            access_token=access_token,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl_s,
            "refresh_token": refresh_token,
            "scope": " ".join(sorted(app.scopes)),
            "refreshTokenId": refresh_token_id,
            "userType": "Company",
            "companyId": company.company_id,
            "userId": company.user_id,
            "isBulkInstallation": True,
            "approvedLocations": sorted(company.approved_locations),
            "installToFutureLocations": company.install_to_future_locations,
            "approveAllLocations": company.approve_all_locations,
            "traceId": self.ids.uuid(),
        }

    def location_token(self, app: OAuthApp, installation: Installation) -> dict[str, Any]:
        """POST /oauth/locationToken's answer: a Location token (with a refresh token, as GHL's
        samples show) for a location the agency installed; the agency-only scopes stay behind."""
        issued = self._issue(app, installation, scopes=app.scopes - AGENCY_ONLY_SCOPES)
        return {
            **{key: issued[key] for key in ("access_token", "token_type", "expires_in", "scope")},
            "locationId": installation.location_id,
            "userId": installation.user_id,
            "appId": app.app_id,
            "versionId": app.version_id,
            "refresh_token": issued["refresh_token"],
            "userType": "Location",
            "companyId": installation.company_id,
            "traceId": issued["traceId"],
        }

    def _issue(
        self, app: OAuthApp, installation: Installation, scopes: frozenset[str] | None = None
    ) -> dict[str, Any]:
        scopes = app.scopes if scopes is None else scopes
        now = self.clock()
        location = installation.location_id
        grant = TokenGrant(
            "Location", location, app.client_id, app.app_id, app.version_id, scopes, installation.company_id
        )
        access_token, refresh_token = self._mint_pair(grant, now)
        refresh_token_id = self.ids.hex_id()
        self.credentials[access_token] = Credential(
            access_token,
            "oauth",
            installation.location_id,
            app.app_id,
            scopes,
            now + self.access_token_ttl_s,
            company_id=installation.company_id,
        )
        self.refresh_tokens[refresh_token] = Grant(
            app.client_id,
            location,
            now + REFRESH_TOKEN_TTL_S,
            grant_id=refresh_token_id,
            access_token=access_token,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl_s,
            "refresh_token": refresh_token,
            "scope": " ".join(sorted(scopes)),
            "refreshTokenId": refresh_token_id,
            "userType": "Location",
            "locationId": installation.location_id,
            "companyId": installation.company_id,
            "userId": installation.user_id,
            "isBulkInstallation": False,
            "traceId": self.ids.uuid(),
        }

    def _mint_pair(self, grant: TokenGrant, now: float) -> tuple[str, str]:
        access = self.minter.mint(grant, issued_at=now, ttl_s=self.access_token_ttl_s)
        return access, self.minter.mint(grant, issued_at=now, ttl_s=REFRESH_TOKEN_TTL_S)


def _scopes(scopes: Iterable[str] | None) -> frozenset[str]:
    return ALL_SCOPES if scopes is None else frozenset(scopes)
