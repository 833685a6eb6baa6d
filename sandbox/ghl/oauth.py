"""Who may call the API: private-integration tokens, OAuth apps, installs, and the token endpoint.

Access tokens expire by the sandbox clock; refresh tokens are single-use and rotate (GHL docs:
"the original Refresh Token becomes invalid"); auth codes are single-use.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.fakes.clock import Clock
from sandbox.ghl.errors import OAuthError, unprocessable
from sandbox.ghl.state import IdFactory

ALL_SCOPES = frozenset(
    {
        "contacts.readonly",
        "contacts.write",
        "calendars.readonly",
        "calendars.write",
        "calendars/events.readonly",
        "calendars/events.write",
        "locations.readonly",
        "users.readonly",
        "businesses.readonly",
        "businesses.write",
        "oauth.readonly",
        "oauth.write",
    }
)
PIT_APP = "private-integration"  # the rate-limit bucket owner for private-integration tokens
ACCESS_TOKEN_TTL_S = 86_399
REFRESH_TOKEN_TTL_S = 365 * 86_400
AUTH_CODE_TTL_S = 600  # GHL says short-lived; the exact lifetime is unconfirmed


@dataclass
class Credential:
    """A bearer token and what it may do."""

    token: str
    kind: Literal["pit", "oauth"]
    location_id: str
    app_id: str
    scopes: frozenset[str]
    expires_at: float | None = None
    revoked: bool = False

    def valid_at(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    app_id: str
    version_id: str
    scopes: frozenset[str]
    redirect_uri: str | None = None
    webhook_url: str | None = None


@dataclass
class Installation:
    client_id: str
    location_id: str
    company_id: str
    user_id: str
    active: bool = True


@dataclass
class _Grant:
    """An auth code or refresh token: single use, tied to one installation."""

    client_id: str
    location_id: str
    expires_at: float
    used: bool = False
    grant_id: str = ""


@dataclass
class OAuthServer:
    clock: Clock
    ids: IdFactory
    access_token_ttl_s: int = ACCESS_TOKEN_TTL_S
    credentials: dict[str, Credential] = field(default_factory=dict)
    apps: dict[str, OAuthApp] = field(default_factory=dict)
    installations: dict[tuple[str, str], Installation] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, _Grant] = field(default_factory=dict)

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
        key = (client_id, location_id)
        existing = self.installations.get(key)
        newly = existing is None or not existing.active
        if newly:
            self.installations[key] = Installation(
                client_id, location_id, company_id, self.ids.firestore_id()
            )
        code = self.ids.secret(32)
        self.codes[code] = _Grant(client_id, location_id, self.clock() + AUTH_CODE_TTL_S)
        return code, self.installations[key], newly

    def uninstall(self, client_id: str, location_id: str) -> Installation:
        installation = self.installations.get((client_id, location_id))
        if installation is None or not installation.active:
            raise KeyError(f"{client_id!r} is not installed on {location_id!r}")
        installation.active = False
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
        else:
            raise OAuthError(400, "unsupported_grant_type")
        installation = self.installations.get((app.client_id, grant.location_id))
        if installation is None or not installation.active:
            raise OAuthError(400, "invalid_grant", "Invalid grant: app is not installed on this location")
        return self._issue(app, installation)

    def _take(self, grants: dict[str, _Grant], value: str | None, app: OAuthApp, description: str) -> _Grant:
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

    def _issue(self, app: OAuthApp, installation: Installation) -> dict[str, Any]:
        now = self.clock()
        access_token = "sbx-at-" + self.ids.secret(48)
        refresh_token = "sbx-rt-" + self.ids.secret(48)
        refresh_token_id = self.ids.hex_id()
        self.credentials[access_token] = Credential(
            access_token,
            "oauth",
            installation.location_id,
            app.app_id,
            app.scopes,
            now + self.access_token_ttl_s,
        )
        self.refresh_tokens[refresh_token] = _Grant(
            app.client_id, installation.location_id, now + REFRESH_TOKEN_TTL_S, grant_id=refresh_token_id
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl_s,
            "refresh_token": refresh_token,
            "scope": " ".join(sorted(app.scopes)),
            "refreshTokenId": refresh_token_id,
            "userType": "Location",
            "locationId": installation.location_id,
            "companyId": installation.company_id,
            "userId": installation.user_id,
            "isBulkInstallation": False,
            "traceId": self.ids.uuid(),
        }


def _scopes(scopes: Iterable[str] | None) -> frozenset[str]:
    return ALL_SCOPES if scopes is None else frozenset(scopes)
