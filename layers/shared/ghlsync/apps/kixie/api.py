"""Kixie's API on the shared send loop (target-apps.md §3.1, §3.5).

Everything HTTP is `ghlsync.http`; this module only configures it for Kixie:

- the Event API is one endpoint, `POST /app/event?apikey=…&businessid=…`, with `apikey` and
  `businessid` in the JSON body too, the operation named by `eventname`; webhook management is
  `POST /app/v1/api/<path>` with the credentials in the body and the operation named by `call`;
- errors: KIXIE_ERRORS (an HTTP 200 `{"success": false, "error": …}` is a permanent failure);
- retries (RetryPolicy from the settings): `updatepowerlist` / `removefrompowerlist` and webhook
  reads and updates are safe to repeat; `call`, `sms` and `bizsms` have no idempotency key (a
  repeat dials or texts the customer again), so they go through a client that never retries;
- the daily quota (10,000 calls per account, reset 00:00 UTC) is counted locally by one
  `DailyQuota` shared by every call of the connection: a call that would exceed it is refused
  before it is sent (RateLimited until midnight UTC, metric `KixieQuotaRefused`).

Bodies are never logged: Kixie's own examples carry the API key.
"""

import random
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from aws_lambda_powertools.metrics import MetricUnit

from ghlsync.apps.kixie.errors import KIXIE_ERRORS
from ghlsync.apps.kixie.settings import KixieCredentials, KixieSettings
from ghlsync.http.auth import ApiKeyAuth, Placement
from ghlsync.http.budget import DailyQuota
from ghlsync.http.client import RestClient, RetryPolicy
from ghlsync.http.errors import object_body
from ghlsync.observability import logger, metrics
from ghlsync.observability.calls import CallMetrics, Headroom
from ghlsync.observability.catalog import MetricName

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 10.0
# Repeating these dials or texts a customer again: never retried, whatever failed.
NEVER_REPEATED = frozenset({"call", "sms", "bizsms"})
# Upserts with merge and removals: a repeat changes nothing.
REPEATABLE = frozenset({"updatepowerlist", "removefrompowerlist"})


def _count_refusal() -> None:
    metrics.add_metric(name=MetricName.KIXIE_QUOTA_REFUSED, unit=MetricUnit.Count, value=1)


class KixieApi:
    def __init__(
        self,
        http: httpx.Client,
        settings: KixieSettings,
        credentials: KixieCredentials,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
        on_quota_refused: Callable[[], None] = _count_refusal,
    ) -> None:
        """`clock` bounds each call's waits; `wall_clock` (epoch seconds) tells the UTC day."""
        self._settings = settings
        self.quota = DailyQuota(
            settings.daily_quota, wall_clock=wall_clock, app="Kixie", on_refused=on_quota_refused
        )
        key = credentials.api_key.get_secret_value()
        ids = {"businessid": credentials.business_id}
        retrying = RetryPolicy.within(settings, backoff_base_s=_BACKOFF_BASE_S, backoff_cap_s=_BACKOFF_CAP_S)

        quota = self.quota
        observed = CallMetrics("kixie", headroom=lambda: Headroom(daily_percent=quota.headroom_percent()))

        def client(auth: ApiKeyAuth, retry: RetryPolicy) -> RestClient:
            return RestClient(
                http,
                base_url=settings.api_base,
                errors=KIXIE_ERRORS,
                authenticator=auth,
                headers={"Accept": "application/json"},
                retry=retry,
                budgets=(self.quota,),
                observers=(observed,),
                sleep=sleep,
                clock=clock,
                wall_clock=wall_clock,
                rng=rng,
                name="Kixie",
                log=logger,
            )

        in_body: tuple[Placement, ...] = ("body",)
        event_auth = ApiKeyAuth("apikey", key, places=("query", *in_body), extra=ids)
        self._events = client(event_auth, retrying)
        self._unrepeated = client(event_auth, RetryPolicy(max_retries=0))
        self._management = client(ApiKeyAuth("apikey", key, places=in_body, extra=ids), retrying)

    def event(self, eventname: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """One Event API operation; the decoded answer, or a ConnectorError."""
        rest = self._unrepeated if eventname in NEVER_REPEATED else self._events
        body = {**fields, "eventname": eventname}
        response = rest.request(
            "POST", self._settings.event_path, json=body, retry_safe=eventname in REPEATABLE
        )
        return object_body(response, "Kixie")

    def manage(self, path: str, call: str, fields: Mapping[str, Any], *, retry_safe: bool) -> dict[str, Any]:
        """One webhook-management call (`call` names it; `retry_safe` unless it creates)."""
        response = self._management.request(
            "POST", path, json={**fields, "call": call}, retry_safe=retry_safe
        )
        return object_body(response, "Kixie")
