"""Kayako REST v1 on the shared send loop: session auth, the envelope, offset paging, typed errors.

Everything HTTP is `ghlsync.http`; this module only configures it for Kayako:

- auth (target-apps.md §1.3): one Basic `GET session` opens a session whose `session_id` and
  `X-CSRF-Token` ride on every later call (the token only on POST/PUT/DELETE); on 401 or 454 Session
  Not Found the session is dropped and the call is made once more after a fresh login (SessionAuth);
- retries (RetryPolicy from the settings): 429 after `Retry-After` for every method, up to
  `max_retries`; 5xx and timeouts only for GET/PUT/DELETE; connection failures (nothing sent) for all;
  full-jitter backoff; a Retry-After above `max_retry_after_s`, or a wait that would pass
  `max_total_wait_s` for the call, raises a transient error instead, so the queue retries later;
- errors: `KayakoErrorMap` (errors[0].code / parameter / message);
- paging: offset/limit with `total_count` (offset_pages).
"""

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ghlsync.apps.kayako.errors import (
    KayakoAuthError,
    KayakoError,
    KayakoErrorMap,
    KayakoRateLimited,
    KayakoServerError,
    KayakoTransportError,
)
from ghlsync.apps.kayako.settings import KayakoCredentials, KayakoSettings
from ghlsync.http.auth import Session, SessionAuth, basic_header
from ghlsync.http.call import Call, Send
from ghlsync.http.client import RestClient, RetryPolicy
from ghlsync.http.errors import json_object, object_body
from ghlsync.http.paging import PageData, items_of, offset_pages
from ghlsync.observability import logger
from ghlsync.observability.calls import CallMetrics

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 30.0


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
        rng: Callable[[], float] = random.random,
    ) -> None:
        """`clock` is epoch seconds: it bounds each call's waits and reads Retry-After dates."""
        self._settings = settings
        password = credentials.password.get_secret_value()
        self._basic = basic_header(credentials.email, password)
        self._rest = RestClient(
            http,
            base_url=settings.api_base,
            errors=KayakoErrorMap(),
            authenticator=SessionAuth(
                self._login, login_secrets=(password, self._basic.removeprefix("Basic "))
            ),
            headers={"Accept": "application/json"},
            retry=RetryPolicy.within(settings, backoff_base_s=_BACKOFF_BASE_S, backoff_cap_s=_BACKOFF_CAP_S),
            sleep=sleep,
            clock=clock,
            wall_clock=clock,
            rng=rng,
            observers=(CallMetrics("kayako"),),
            name="Kayako",
            log=logger,
        )

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
        headers = {"If-Match": if_match} if if_match else None
        response = self._rest.request(
            method, path, params=params, json=dict(body) if body is not None else None, headers=headers
        )
        return _decode(response)

    def paginate(self, path: str, params: Mapping[str, str | int] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of an offset-paged collection, one page in memory at a time."""

        def fetch(offset: int, limit: int) -> PageData:
            page_params = {**(params or {}), "offset": offset, "limit": limit}
            return PageData(self.call("GET", path, params=page_params).body)

        return items_of(offset_pages(fetch, limit=self._settings.page_size, total_path="total_count"))

    def _login(self, send: Send) -> Session:
        try:
            response = send(Call("GET", "session", headers={"Authorization": self._basic}, retry_safe=True))
        except (KayakoAuthError, KayakoRateLimited, KayakoServerError, KayakoTransportError):
            raise
        except KayakoError as error:
            raise KayakoAuthError(
                f"Kayako login failed: {error}", status=error.status, code=error.code
            ) from None
        session_id = json_object(response).get("session_id")
        if not isinstance(session_id, str) or not session_id:
            raise KayakoAuthError("Kayako login answered without a session_id", status=response.status_code)
        return Session(session_id, response.headers.get("X-CSRF-Token"))


def _decode(response: httpx.Response) -> KayakoResponse:
    return KayakoResponse(object_body(response, "Kayako", KayakoServerError), response.headers.get("ETag"))
