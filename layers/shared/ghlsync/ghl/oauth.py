"""GHL OAuth 2.0: the token endpoint (code exchange, refresh) and the signed `state` parameter.

GHL refresh tokens are single-use and rotate: every successful refresh returns a new refresh
token and invalidates the one sent (ghl-api.md §4.1). Callers must persist the returned TokenSet
before using it; serialising refreshes across processes is the caller's job (see
ghlsync.store.tokens.OAuthTokenProvider).

The token endpoint takes a form-encoded body and no Version header (SPEC `POST /oauth/token`).
GHL's exact error body for a reused or revoked refresh token is UNCONFIRMED; `InvalidGrant` is
raised for a 400/401 whose `error` (or message) says `invalid_grant`, the standard OAuth 2.0 form.

`state`: `<base64url(payload JSON)>.<base64url(HMAC-SHA256(key, payload part))>`, where the payload
carries the issue time (`iat`, epoch seconds) and a random `nonce`. It proves the callback belongs
to an install flow this stack started recently.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ghlsync.core.errors import ConnectorError

# The consent screen ("choose location"); white-label apps use marketplace.leadconnectorhq.com.
GHL_AUTHORIZE_URL = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
TOKEN_PATH = "/oauth/token"
# A state issued slightly "in the future" is tolerated: the signer's and verifier's clocks differ.
STATE_CLOCK_SKEW_S = 60


class TokenSet(BaseModel):
    """The tokens of one GHL install, with an absolute expiry (GHL sends `expires_in`).

    A Location install's carry its `location_id`; a Company (agency) install's carry none, but
    the bulk-install fields: which locations the agency approved and whether the app follows
    onto locations it creates later (ghl-api.md §4.1).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: str = Field(min_length=1, repr=False)
    refresh_token: str = Field(min_length=1, repr=False)
    expires_at: AwareDatetime
    token_type: str = "Bearer"
    scope: str = ""
    user_type: str = "Location"
    location_id: str | None = None
    company_id: str | None = None
    user_id: str | None = None
    is_bulk_installation: bool = False
    approved_locations: tuple[str, ...] = ()
    install_to_future_locations: bool = False

    @property
    def is_company(self) -> bool:
        return self.user_type == "Company"

    def expires_within(self, seconds: float, now: datetime) -> bool:
        return self.expires_at <= now + timedelta(seconds=seconds)


class _TokenResponse(BaseModel):
    """The token endpoint's JSON (SPEC GetAccessCodeSuccessfulResponseDto): snake and camel case mixed."""

    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    expires_in: float = Field(gt=0)
    token_type: str = "Bearer"
    scope: str = ""
    user_type: str = Field(default="Location", alias="userType")
    location_id: str | None = Field(default=None, alias="locationId")
    company_id: str | None = Field(default=None, alias="companyId")
    user_id: str | None = Field(default=None, alias="userId")
    is_bulk_installation: bool = Field(default=False, alias="isBulkInstallation")
    approved_locations: tuple[str, ...] = Field(default=(), alias="approvedLocations")
    install_to_future_locations: bool = Field(default=False, alias="installToFutureLocations")

    def token_set(self, now: datetime) -> TokenSet:
        return TokenSet(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            expires_at=now + timedelta(seconds=self.expires_in),
            token_type=self.token_type,
            scope=self.scope,
            user_type=self.user_type,
            location_id=self.location_id,
            company_id=self.company_id,
            user_id=self.user_id,
            is_bulk_installation=self.is_bulk_installation,
            approved_locations=self.approved_locations,
            install_to_future_locations=self.install_to_future_locations,
        )


class OAuthError(ConnectorError):
    """The token endpoint refused or could not be reached. `status` is None for transport errors,
    which (like 429 and 5xx) are transient."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status=status, transient=status is None or status == 429 or status >= 500)


class InvalidGrant(OAuthError):
    """The code or refresh token is invalid, expired, revoked or already used."""


class OAuthNotConfigured(OAuthError):
    """The app's client_id / client_secret are not set (the app secret still holds its placeholders)."""


class OAuthClient:
    """Calls GHL's token endpoint with the Marketplace app's client credentials."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._token_url = base_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "user_type": "Location"}
        if redirect_uri:
            form["redirect_uri"] = redirect_uri
        return self._token_request(form)

    @property
    def app_id(self) -> str:
        """The Marketplace app id: the client id's part before the first '-' (as GHL's SDKs take it)."""
        return self._client_id.split("-", 1)[0]

    def refresh(self, refresh_token: str, user_type: str = "Location") -> TokenSet:
        """`user_type` Company for an agency's refresh token."""
        return self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "user_type": user_type}
        )

    def _token_request(self, form: dict[str, str]) -> TokenSet:
        if not self._client_id or not self._client_secret:
            raise OAuthNotConfigured("the GHL app's client_id and client_secret are not configured")
        body = {"client_id": self._client_id, "client_secret": self._client_secret, **form}
        try:
            response = self._http.post(self._token_url, data=body, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OAuthError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        # The clock is read after the answer so that expires_at errs on the early side.
        now = datetime.fromtimestamp(self._clock(), UTC)
        payload = json_or_none(response)
        if response.is_success:
            try:
                return _TokenResponse.model_validate(payload).token_set(now)
            except ValidationError as exc:
                raise OAuthError("token endpoint answered with a malformed token response") from exc
        raise error_from(response.status_code, payload, "token endpoint")


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_from(status: int, payload: Any, what: str) -> OAuthError:
    fields = payload if isinstance(payload, dict) else {}
    error = str(fields.get("error", ""))
    message = fields.get("error_description") or fields.get("message") or error or f"HTTP {status}"
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    text = f"{what} answered {status}: {message}"
    says_invalid_grant = "invalid_grant" in f"{error} {message}".lower().replace(" ", "_")
    if status in (400, 401) and says_invalid_grant:
        return InvalidGrant(text, status)
    return OAuthError(text, status)


# ---- state ---------------------------------------------------------------------------------


class InvalidState(ValueError):
    """The `state` parameter is missing, tampered with, expired or malformed."""


class StatePayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    iat: int
    nonce: str = Field(min_length=8, max_length=128)


def make_state(key: str, now: float, nonce: str | None = None) -> str:
    """A signed state for an install link: HMAC-SHA256 with `key` over issue time and a nonce."""
    payload = StatePayload(iat=int(now), nonce=nonce or secrets.token_urlsafe(16))
    encoded = _b64encode(json.dumps(payload.model_dump(), separators=(",", ":")).encode())
    return f"{encoded}.{_b64encode(_sign(key, encoded))}"


def verify_state(state: str, key: str, now: float, max_age_s: float) -> StatePayload:
    """Return the payload of a state this key signed less than `max_age_s` ago, else InvalidState."""
    encoded, dot, signature = state.partition(".")
    if not dot or not encoded or not signature:
        raise InvalidState("state is malformed")
    try:
        given = _b64decode(signature)
    except (binascii.Error, ValueError) as exc:
        raise InvalidState("state is malformed") from exc
    if not hmac.compare_digest(given, _sign(key, encoded)):
        raise InvalidState("state signature does not match")
    try:
        payload = StatePayload.model_validate_json(_b64decode(encoded))
    except (binascii.Error, ValueError) as exc:
        raise InvalidState("state is malformed") from exc
    if payload.iat > now + STATE_CLOCK_SKEW_S:
        raise InvalidState("state was issued in the future")
    if now - payload.iat > max_age_s:
        raise InvalidState("state has expired; start the install again")
    return payload


def authorization_url(
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    state: str,
    *,
    authorize_url: str = GHL_AUTHORIZE_URL,
) -> str:
    """The install link: GHL's consent screen, which redirects to `redirect_uri?code=...&state=...`."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
    }
    return f"{authorize_url}?{urlencode(query)}"


def _sign(key: str, encoded_payload: str) -> bytes:
    if not key:
        raise ValueError("the state signing key is empty")
    return hmac.new(key.encode(), encoded_payload.encode(), hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
