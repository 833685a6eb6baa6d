"""Payaca API v1 on the shared send loop: HTTP Basic, JSON, offset/limit paging, typed errors.

Everything HTTP is `ghlsync.http`; this module only configures it for Payaca (target-apps.md §4):

- auth: `Authorization: Basic base64(client_id:client_secret)` on every call (BasicAuth); a 401 is
  final;
- retries (RetryPolicy from the settings): 429 after `Retry-After` for every method; 5xx and
  timeouts for GET/PUT/PATCH/DELETE and for POSTs the caller marks safe (the customer upsert, tag
  adds); connection failures (nothing sent) for all; full-jitter backoff, one deadline per call;
- errors: PAYACA_ERRORS (429/5xx transient, other 4xx permanent);
- paging: `offset`/`limit` (the one convention documented), `totalCount` when the body has it.

Paths are settings templates with `{id}`; ids are opaque strings, put in as one encoded segment.
"""

import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from ghlsync.apps.payaca.errors import PAYACA_ERRORS
from ghlsync.apps.payaca.settings import PayacaCredentials, PayacaSettings
from ghlsync.http.auth import BasicAuth
from ghlsync.http.client import RestClient, RetryPolicy, segment
from ghlsync.http.errors import object_body
from ghlsync.http.paging import Page, PageData, items_of, offset_pages
from ghlsync.observability import logger
from ghlsync.observability.calls import CallMetrics

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 20.0


def path_for(template: str, record_id: str) -> str:
    return template.replace("{id}", segment(record_id, "Payaca id"))


class PayacaApi:
    def __init__(
        self,
        http: httpx.Client,
        settings: PayacaSettings,
        credentials: PayacaCredentials,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
    ) -> None:
        """`clock` is epoch seconds: it bounds each call's waits and reads Retry-After dates."""
        self._settings = settings
        self._rest = RestClient(
            http,
            base_url=settings.api_base,
            errors=PAYACA_ERRORS,
            authenticator=BasicAuth(credentials.client_id, credentials.client_secret.get_secret_value()),
            headers={"Accept": "application/json"},
            retry=RetryPolicy.within(settings, backoff_base_s=_BACKOFF_BASE_S, backoff_cap_s=_BACKOFF_CAP_S),
            sleep=sleep,
            clock=clock,
            wall_clock=clock,
            rng=rng,
            observers=(CallMetrics("payaca"),),
            name="Payaca",
            log=logger,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        retry_safe: bool | None = None,
    ) -> dict[str, Any]:
        """One API call; the decoded JSON object, or a ConnectorError for any error answer."""
        response = self._rest.request(
            method,
            path,
            params=params,
            json=dict(body) if body is not None else None,
            retry_safe=retry_safe,
        )
        if not response.content:
            return {}
        return object_body(response, "Payaca")

    def pages(
        self,
        path: str,
        items: str,
        params: Mapping[str, str | int] | None = None,
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> Iterator[Page[int]]:
        """An offset/limit collection a page at a time from offset `start` (`items` names the list
        in the body); each page's `next_cursor` is the offset after it."""

        def fetch(offset: int, size: int) -> PageData:
            return PageData(
                self.call("GET", path, params={**(params or {}), "offset": offset, "limit": size})
            )

        size = limit or self._settings.page_size
        return offset_pages(fetch, limit=size, items=items, total_path="totalCount", start=start)

    def paginate(
        self, path: str, items: str, params: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of an offset/limit collection."""
        return (item for item in items_of(self.pages(path, items, params)) if isinstance(item, dict))
