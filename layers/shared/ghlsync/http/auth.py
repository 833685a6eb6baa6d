"""Authenticators: how a call carries its credentials, and what a refused credential leads to.

The send loop calls `apply` before every attempt (so a renewed credential is picked up), `renew`
when the error map turned an answer into an error (True: the credential was renewed, send once
more; the loop allows that once per call), and `secrets` to redact every credential it knows from
errors and log lines. A request an authenticator needs of its own (a login, a token fetch) goes
through the `send` it is handed: the same loop, retries and deadline, without authentication.

| authenticator          | carries                                   | renews on                      |
|------------------------|-------------------------------------------|--------------------------------|
| BearerAuth             | Authorization: Bearer (from a TokenSource) | what `refresh_on` says (401)   |
| SessionAuth            | a session header (+ CSRF on writes)       | the session-lost statuses      |
| ApiKeyAuth             | a key (+ fixed ids) in query/body/header  | never                          |
| BasicAuth              | Authorization: Basic                      | never                          |
| ClientCredentialsAuth  | a bearer from an OAuth2 token endpoint    | 401 (fetches a new token)      |
| RefreshTokenAuth       | a bearer from an OAuth2 refresh grant     | 401 (refreshes once more)      |
"""

import base64
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from ghlsync.core.errors import ConnectorError, Unauthorized, UnexpectedResponse
from ghlsync.http.call import Call, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Authenticator(Protocol):
    def apply(self, call: Call, send: Send) -> None:
        """Put the credentials on `call` (logging in or fetching a token through `send` first)."""
        ...

    def renew(self, call: Call, error: ConnectorError) -> bool:
        """`call` was answered with `error`: renew the credential if that can help; True to resend."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret value known now (for redaction)."""
        ...


class NoAuth:
    """No credentials (a public endpoint, or one authenticated by its URL)."""

    def apply(self, call: Call, send: Send) -> None:
        return None

    def renew(self, call: Call, error: ConnectorError) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return ()


class TokenSource(Protocol):
    """GHL's TokenProvider shape: a token per key (a location), and a way to report a rejection."""

    def access_token(self, location_id: str) -> str: ...

    def token_rejected(self, location_id: str, token: str) -> None: ...


def _is_unauthorized(error: ConnectorError) -> bool:
    return isinstance(error, Unauthorized)


class BearerAuth:
    """`Authorization: Bearer <token>` from a TokenSource. When `refresh_on(error)` holds, the source
    is told the token was rejected; if it then hands out a different token the call is sent once
    more, and if it hands back the same one (a static token) the error stands: a retry would fail."""

    def __init__(
        self,
        tokens: TokenSource,
        key: str,
        *,
        refresh_on: Callable[[ConnectorError], bool] = _is_unauthorized,
    ) -> None:
        self._tokens = tokens
        self._key = key
        self._refresh_on = refresh_on
        self._last: str | None = None

    def apply(self, call: Call, send: Send) -> None:
        self._last = self._tokens.access_token(self._key)
        call.headers["Authorization"] = f"Bearer {self._last}"

    def renew(self, call: Call, error: ConnectorError) -> bool:
        if self._last is None or not self._refresh_on(error):
            return False
        rejected = self._last
        self._tokens.token_rejected(self._key, rejected)
        return self._tokens.access_token(self._key) != rejected

    def secrets(self) -> tuple[str, ...]:
        return (self._last,) if self._last else ()


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class BasicAuth:
    """HTTP Basic on every call (Payaca). A refusal is final: the password will not change."""

    def __init__(self, username: str, password: str) -> None:
        self._password = password
        self._header = basic_header(username, password)

    def apply(self, call: Call, send: Send) -> None:
        call.headers["Authorization"] = self._header

    def renew(self, call: Call, error: ConnectorError) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return (self._password, self._header.removeprefix("Basic "))


Placement = Literal["query", "body", "header"]
_QUERY_ONLY: tuple[Placement, ...] = ("query",)


class ApiKeyAuth:
    """A static key under `name`, with fixed non-secret ids (`extra`), in the query, the JSON body
    and/or a header (eKyte: `apiKey` + `CompanyId` in the query; Kixie: `apikey` + `businessid` in
    the query and the body). The body is only added to when the call has a JSON object body."""

    def __init__(
        self,
        name: str,
        key: str,
        *,
        places: Collection[Placement] = _QUERY_ONLY,
        extra: Mapping[str, str | int] | None = None,
    ) -> None:
        if not key.strip():
            raise ValueError("an API key must not be empty")
        if not places:
            raise ValueError("say where the key goes: query, body and/or header")
        self._name = name
        self._key = key
        self._places = frozenset(places)
        self._extra = dict(extra or {})

    def apply(self, call: Call, send: Send) -> None:
        fields: dict[str, str | int] = {self._name: self._key, **self._extra}
        if "query" in self._places:
            call.params.update(fields)
        if "body" in self._places and isinstance(call.json, dict):
            call.json = {**call.json, **fields}
        if "header" in self._places:
            call.headers[self._name] = self._key
            call.headers.update({k: str(v) for k, v in self._extra.items()})

    def renew(self, call: Call, error: ConnectorError) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return (self._key,)


@dataclass(frozen=True)
class Session:
    session_id: str
    csrf_token: str | None = None


class SessionAuth:
    """A login session (Kayako): `login(send)` opens one (through the send loop); its id rides in
    `session_header` on every call and its CSRF token in `csrf_header` on writes only. When a call is
    answered with one of `relogin_statuses` (Kayako: 401, 454 Session Not Found) the session is
    dropped and the call sent once more, after a fresh login."""

    def __init__(
        self,
        login: Callable[[Send], Session],
        *,
        session_header: str = "X-Session-ID",
        csrf_header: str = "X-CSRF-Token",
        relogin_statuses: Collection[int] = (401, 454),
        login_secrets: tuple[str, ...] = (),
    ) -> None:
        self._login = login
        self._session_header = session_header
        self._csrf_header = csrf_header
        self._relogin_statuses = frozenset(relogin_statuses)
        self._login_secrets = tuple(s for s in login_secrets if s)
        self._session: Session | None = None

    def apply(self, call: Call, send: Send) -> None:
        if self._session is None:
            self._session = self._login(send)
        call.headers[self._session_header] = self._session.session_id
        if call.method in WRITE_METHODS and self._session.csrf_token:
            call.headers[self._csrf_header] = self._session.csrf_token

    def renew(self, call: Call, error: ConnectorError) -> bool:
        if error.status not in self._relogin_statuses:
            return False
        self._session = None  # expired or purged: log in again on the next attempt
        return True

    def secrets(self) -> tuple[str, ...]:
        found = list(self._login_secrets)
        if self._session is not None:
            found.append(self._session.session_id)
            if self._session.csrf_token:
                found.append(self._session.csrf_token)
        return tuple(found)


class ClientCredentialsAuth:
    """OAuth2 client credentials: POST `grant_type=client_credentials` to `token_url` (the client's
    id and secret in a Basic header, or in the form when `credentials_in_body`), use the bearer
    until `expires_in` minus `margin_s` (wall clock), and on a 401 fetch a new token, once."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        credentials_in_body: bool = False,
        margin_s: float = 60.0,
        default_lifetime_s: float = 3600.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._in_body = credentials_in_body
        self._margin_s = margin_s
        self._default_lifetime_s = default_lifetime_s
        self._wall_clock = wall_clock
        self._token: str | None = None
        self._expires_at = 0.0

    def apply(self, call: Call, send: Send) -> None:
        if self._token is None or self._wall_clock() >= self._expires_at - self._margin_s:
            self._fetch(send)
        call.headers["Authorization"] = f"Bearer {self._token}"

    def renew(self, call: Call, error: ConnectorError) -> bool:
        if error.status != 401:
            return False
        self._token = None
        return True

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._client_secret, self._token) if s)

    def _fetch(self, send: Send) -> None:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        headers = {"Accept": "application/json"}
        if self._in_body:
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
        else:
            headers["Authorization"] = basic_header(self._client_id, self._client_secret)
        # Fetching a token creates nothing on the server: safe to repeat.
        response = send(Call("POST", self._token_url, data=form, headers=headers, retry_safe=True))
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("the token endpoint answered without an access_token")
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        seconds = float(lifetime) if isinstance(lifetime, int | float) else self._default_lifetime_s
        self._token = token
        self._expires_at = self._wall_clock() + seconds


class RefreshTokenAuth(ClientCredentialsAuth):
    """OAuth2 refresh-token grant: POST `grant_type=refresh_token` with the current refresh token
    (client id, and secret when there is one, in the form). Refresh tokens may rotate: a new one in
    the answer is handed to `persist` before the access token is used, so a crash between the two
    cannot lose the connection (as for GHL's own tokens); `persist` failing stops the call."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        refresh_token: str,
        *,
        persist: Callable[[str], None],
        client_secret: str | None = None,
        scope: str | None = None,
        margin_s: float = 60.0,
        default_lifetime_s: float = 3600.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            token_url,
            client_id,
            client_secret or "",
            scope=scope,
            credentials_in_body=True,
            margin_s=margin_s,
            default_lifetime_s=default_lifetime_s,
            wall_clock=wall_clock,
        )
        self._refresh_token = refresh_token
        self._persist = persist

    def secrets(self) -> tuple[str, ...]:
        return (*super().secrets(), self._refresh_token)

    def _fetch(self, send: Send) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
        }
        if self._client_secret:
            form["client_secret"] = self._client_secret
        if self._scope:
            form["scope"] = self._scope
        # A refresh answered but lost would have rotated the token: never repeated blindly.
        response = send(Call("POST", self._token_url, data=form, headers={"Accept": "application/json"}))
        try:
            body = response.json()
        except ValueError:
            body = None
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("access_token"), str)
            or not body["access_token"]
        ):
            raise UnexpectedResponse("the token endpoint answered without an access_token")
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._persist(rotated)
            self._refresh_token = rotated
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else self._default_lifetime_s
        self._token = body["access_token"]
        self._expires_at = self._wall_clock() + seconds
