"""The records behind the OAuth server (oauth.py): tokens, apps, installs and grants."""

from dataclasses import dataclass
from typing import Literal


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
    user_type: Literal["Location", "Company"] = "Location"
    company_id: str = ""

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
    installed_at: float = 0.0


@dataclass
class CompanyInstallation:
    """An agency's install: which of its locations it approved, and whether new ones follow."""

    client_id: str
    company_id: str
    user_id: str
    approved_locations: set[str]
    install_to_future_locations: bool
    approve_all_locations: bool
    active: bool = True


@dataclass
class Grant:
    """An auth code or refresh token: single use, tied to one installation (a location's, or an
    agency's when `user_type` is Company and `location_id` is empty)."""

    client_id: str
    location_id: str
    expires_at: float
    used: bool = False
    grant_id: str = ""
    user_type: Literal["Location", "Company"] = "Location"
    company_id: str = ""
    access_token: str = ""  # issued together with this refresh token
