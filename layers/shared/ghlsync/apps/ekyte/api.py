"""eKyte's three HTTP surfaces on the shared send loop (target-apps.md §2.1-2.3).

- Surface A, the integration API (`base_url`, `/n8n` or `/zapier`): `apiKey` + `CompanyId` in the
  query of every call (ApiKeyAuth); writes are POSTs with a PascalCase body and the acting user's
  `UserEmail` in the query too. eKyte's POSTs are not idempotent, so they are never retried after
  the request may have arrived (the client's rule for POSTs); a create that timed out is found by
  re-reading before it is made again (see the connector).
- Surface B, the BI read API (`bi_base_url`): `apiKey` + `page`, the `{data, paging}` envelope,
  last page at `paging.totalPages`.
- Surface C, the MCP server (`mcp_url?token=`): JSON-RPC 2.0 `tools/call`; a JSON-RPC error is a
  permanent Validation error.
"""

import itertools
import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from ghlsync.apps.ekyte.errors import EKYTE_ERRORS
from ghlsync.apps.ekyte.settings import EkyteCredentials, EkyteSettings
from ghlsync.core.errors import UnexpectedResponse, Validation
from ghlsync.http.auth import ApiKeyAuth
from ghlsync.http.client import RestClient, RetryPolicy
from ghlsync.http.errors import json_body
from ghlsync.http.paging import PageData, items_of, page_number_pages
from ghlsync.observability import logger
from ghlsync.observability.calls import CallMetrics

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 20.0


class EkyteApi:
    def __init__(
        self,
        http: httpx.Client,
        settings: EkyteSettings,
        credentials: EkyteCredentials,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
    ) -> None:
        """`clock` is epoch seconds: it bounds each call's waits."""
        self.user_email = settings.user_email
        key = credentials.api_key.get_secret_value()
        retry = RetryPolicy.within(settings, backoff_base_s=_BACKOFF_BASE_S, backoff_cap_s=_BACKOFF_CAP_S)

        def client(base_url: str, auth: ApiKeyAuth, name: str) -> RestClient:
            return RestClient(
                http,
                base_url=base_url.rstrip("/"),
                errors=EKYTE_ERRORS,
                authenticator=auth,
                headers={"Accept": "application/json"},
                retry=retry,
                sleep=sleep,
                clock=clock,
                wall_clock=clock,
                rng=rng,
                observers=(CallMetrics("ekyte"),),
                name=name,
                log=logger,
            )

        self._rest = client(
            settings.base_url, ApiKeyAuth("apiKey", key, extra={"CompanyId": credentials.company_id}), "eKyte"
        )
        bi_key = credentials.bi_api_key.get_secret_value() if credentials.bi_api_key else key
        self._bi = client(settings.bi_base_url, ApiKeyAuth("apiKey", bi_key), "eKyte BI")
        self._mcp_url = settings.mcp_url
        self._mcp: RestClient | None = None
        if credentials.mcp_token is not None:
            token = ApiKeyAuth("token", credentials.mcp_token.get_secret_value())
            self._mcp = client(settings.mcp_url, token, "eKyte MCP")
        self._rpc_ids = itertools.count(1)

    @property
    def has_mcp(self) -> bool:
        return self._mcp is not None

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """A Surface A read: the decoded JSON (a bare array for lists, an object for one record)."""
        return json_body(self._rest.request("GET", path, params=params))

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A Surface A create, made as the acting user; never retried once it may have arrived."""
        response = self._rest.request("POST", path, params={"UserEmail": self.user_email}, json=dict(body))
        answer = json_body(response)
        return answer if isinstance(answer, dict) else {}

    def bi_items(self, path: str, params: Mapping[str, str | int]) -> Iterator[dict[str, Any]]:
        """Every item of a BI listing, one page in memory at a time."""

        def fetch(page: int) -> PageData:
            return PageData(json_body(self._bi.request("GET", path, params={**params, "page": page})))

        # The BI page size is not documented: only an empty page or `totalPages` ends the listing.
        pages = page_number_pages(fetch, page_size=1, items="data", total_pages_path="paging.totalPages")
        return (item for item in items_of(pages) if isinstance(item, dict))

    def call_tool(self, name: str, arguments: Mapping[str, Any], *, repeatable: bool) -> Any:
        """One MCP `tools/call`; its `result`, or Validation when the server answers an error.
        `repeatable`: the tool sets values (an update), so a timed-out call may be sent again."""
        if self._mcp is None:
            raise Validation("eKyte MCP token not configured: updates and comments need it")
        request = {
            "jsonrpc": "2.0",
            "id": next(self._rpc_ids),
            "method": "tools/call",
            "params": {"name": name, "arguments": dict(arguments)},
        }
        headers = {"Accept": "application/json, text/event-stream"}
        answer = json_body(
            self._mcp.request("POST", self._mcp_url, json=request, headers=headers, retry_safe=repeatable)
        )
        if not isinstance(answer, dict):
            raise UnexpectedResponse("eKyte MCP answered without a JSON-RPC object")
        error = answer.get("error")
        if isinstance(error, dict):
            raise Validation(f"eKyte MCP {name}: {error.get('message', 'error')}")
        result = answer.get("result")
        if isinstance(result, dict) and result.get("isError"):
            raise Validation(f"eKyte MCP {name}: {_tool_text(result) or 'tool error'}")
        return result


def _tool_text(result: Mapping[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, list):
        return " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict)).strip()
    return ""
