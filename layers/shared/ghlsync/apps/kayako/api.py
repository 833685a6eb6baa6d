"""Kayako REST v1 over httpx: session auth, the envelope, offset paging, retries, typed errors.

Auth (target-apps.md §1.3): one Basic request opens a session; its `session_id` and
`X-CSRF-Token` are cached on this object and sent on every later call (the token only on
POST/PUT/DELETE). On 401 or 454 Session Not Found the session is dropped and the call is made once
more after a fresh login.

Retries: 429 is retried after `Retry-After` (the request was not applied) up to `max_retries`;
5xx and timeouts only for idempotent methods; connection failures (nothing sent) for all. Waits
longer than the settings allow raise a transient error instead, so the queue retries later.
"""

import base64
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ghlsync.apps.kayako.errors import (
    KayakoAuthError,
    KayakoRateLimited,
    KayakoServerError,
    KayakoTransportError,
    error_from_response,
    retry_after_seconds,
)
from ghlsync.apps.kayako.settings import KayakoCredentials, KayakoSettings

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
SESSION_LOST = frozenset({401, 454})
_BACKOFF_BASE_S = 0.5


@dataclass(frozen=True)
class _Session:
    session_id: str
    csrf_token: str | None


@dataclass(frozen=True)
class KayakoResponse:
    """A decoded success: the envelope body and the ETag (for If-Match)."""

    body: dict[str, Any]
    etag: str | None

    @property
    def data(self) -> Any:
        return self.body.get("data")


class KayakoApi:
    def __init__(
        self,
        http: httpx.Client,
        settings: KayakoSettings,
        credentials: KayakoCredentials,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self._http = http
        self._settings = settings
        self._credentials = credentials
        self._sleep = sleep
        self._clock = clock
        self._session: _Session | None = None

    # -- public -----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> KayakoResponse:
        """One API call with the session; raises a KayakoError subclass on any error answer."""
        for attempt in range(2):
            session = self._session or self._login()
            headers = {"X-Session-ID": session.session_id}
            if method != "GET" and session.csrf_token:
                headers["X-CSRF-Token"] = session.csrf_token
            if if_match:
                headers["If-Match"] = if_match
            response = self._send(method, path, params=params, body=body, headers=headers)
            if response.status_code in SESSION_LOST and attempt == 0:
                self._session = None  # expired or purged: log in again, once
                continue
            return self._decode(response)
        raise AssertionError("unreachable: the second attempt always returns or raises")

    def paginate(self, path: str, params: Mapping[str, str | int] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of an offset-paged collection, one page in memory at a time."""
        offset = 0
        limit = self._settings.page_size
        while True:
            page = self.call("GET", path, params={**(params or {}), "offset": offset, "limit": limit})
            items = page.data if isinstance(page.data, list) else []
            yield from items
            offset += len(items)
            total = page.body.get("total_count")
            if (
                not items
                or (isinstance(total, int) and offset >= total)
                or (total is None and len(items) < limit)
            ):
                return

    # -- internals ------------------------------------------------------------------------
    def _login(self) -> _Session:
        secret = f"{self._credentials.email}:{self._credentials.password.get_secret_value()}"
        basic = "Basic " + base64.b64encode(secret.encode()).decode()
        response = self._send("GET", "session", params=None, body=None, headers={"Authorization": basic})
        if response.status_code >= 400:
            error = error_from_response(response)
            if isinstance(error, KayakoAuthError | KayakoRateLimited | KayakoServerError):
                raise error
            raise KayakoAuthError(f"Kayako login failed: {error}", status=error.status, code=error.code)
        session_id = response.json().get("session_id")
        if not isinstance(session_id, str) or not session_id:
            raise KayakoAuthError("Kayako login answered without a session_id", status=response.status_code)
        self._session = _Session(session_id, response.headers.get("X-CSRF-Token"))
        return self._session

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """Send with bounded retries; return the final response (success or error)."""
        url = f"{self._settings.api_base}/{path}"
        deadline = self._clock() + self._settings.max_total_wait_s
        headers = {"Accept": "application/json", **headers}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, params=params, json=body, headers=headers)
            except httpx.TransportError as exc:
                # A refused/reset connection sent nothing; a timeout may have been applied.
                nothing_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                wait = _BACKOFF_BASE_S * 2**attempt
                if (nothing_sent or method in IDEMPOTENT) and self._may_wait(attempt, wait, deadline):
                    self._sleep(wait)
                    attempt += 1
                    continue
                raise KayakoTransportError(f"Kayako {method} {path}: {type(exc).__name__}") from exc
            if response.status_code == 429:
                wait = retry_after_seconds(response)
                if wait <= self._settings.max_retry_after_s and self._may_wait(attempt, wait, deadline):
                    self._sleep(wait)
                    attempt += 1
                    continue
            elif response.status_code >= 500 and method in IDEMPOTENT:
                wait = _BACKOFF_BASE_S * 2**attempt
                if self._may_wait(attempt, wait, deadline):
                    self._sleep(wait)
                    attempt += 1
                    continue
            return response

    def _may_wait(self, attempt: int, wait: float, deadline: float) -> bool:
        return attempt < self._settings.max_retries and self._clock() + wait <= deadline

    @staticmethod
    def _decode(response: httpx.Response) -> KayakoResponse:
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise KayakoServerError(f"Kayako answered {response.status_code} with a non-JSON body") from exc
        if not isinstance(body, dict):
            raise KayakoServerError("Kayako answered with a JSON body that is not an object")
        return KayakoResponse(body, response.headers.get("ETag"))
