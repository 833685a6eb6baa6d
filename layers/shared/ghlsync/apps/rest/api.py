"""The requests of a spec on the shared send loop: templates filled in, lists paged, records picked.

Everything HTTP is `ghlsync.http` (RestClient, the spec's authenticator and budgets, the default
error map, the paginators); this module only reads the spec. A success answer that is not JSON, or
whose envelope does not hold a record where the spec says, is `UnreadableRecord`: permanent, with
the request and the path in its message, so it dead-letters with a readable reason instead of
being retried.
"""

import random
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from ghlsync.apps.rest.model import (
    AppSpec,
    CursorPaging,
    LinkPaging,
    NoPaging,
    OffsetPaging,
    PageNumberPaging,
    PagingSpec,
    RecordSpec,
    RequestSpec,
)
from ghlsync.apps.rest.transforms import UnreadableRecord
from ghlsync.http.auth import Authenticator
from ghlsync.http.budget import Budget
from ghlsync.http.client import RestClient, RetryPolicy, segment
from ghlsync.http.errors import ErrorMap, value_at
from ghlsync.http.paging import (
    Page,
    PageData,
    body_cursor_pages,
    link_header_pages,
    offset_pages,
    page_number_pages,
)
from ghlsync.observability import logger
from ghlsync.observability.calls import CallMetrics

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 20.0


def _origin(url: str) -> tuple[str, str]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.netloc.decode()


def _number(cursor: str | None, default: int) -> int:
    """An offset or page number kept as a listing's cursor."""
    if cursor is None:
        return default
    if not cursor.isdigit():
        raise ValueError(f"not a page cursor: {cursor!r}")
    return int(cursor)


def fill(template: Any, values: Mapping[str, Any], *, in_path: bool = False) -> Any:
    """The template with its placeholders replaced: a string that is one placeholder becomes the
    value itself (a list stays a list); in a path each value is one percent-encoded segment."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    if not isinstance(template, str):
        return template
    whole = _PLACEHOLDER.fullmatch(template)
    if whole is not None and not in_path:
        return values.get(whole.group(1))

    def one(match: re.Match[str]) -> str:
        value = str(values.get(match.group(1), ""))
        return segment(value, match.group(1)) if in_path else value

    return _PLACEHOLDER.sub(one, template)


def select(body: Any, path: str) -> Any:
    return body if not path else value_at(body, path)


class SpecApi:
    def __init__(
        self,
        http: httpx.Client,
        spec: AppSpec,
        *,
        authenticator: Authenticator,
        budgets: list[Budget],
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._spec = spec
        self._rest = RestClient(
            http,
            base_url=spec.base_url,
            errors=ErrorMap(app=spec.name),
            authenticator=authenticator,
            headers={"Accept": "application/json", **spec.headers},
            retry=RetryPolicy.within(
                spec.rate_limits, backoff_base_s=_BACKOFF_BASE_S, backoff_cap_s=_BACKOFF_CAP_S
            ),
            budgets=budgets,
            sleep=sleep,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
            observers=(CallMetrics("generic"),),
            name=spec.name,
            log=logger,
            retry_after_header=spec.rate_limits.retry_after_header,
        )

    def call(
        self,
        request: RequestSpec,
        values: Mapping[str, Any],
        *,
        record: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """Send one request: `record` is merged into the body template (at `record_key`); `url`
        replaces the path and query (a Link header's next page)."""
        body = fill(request.body, values) if request.body is not None else None
        if record is not None:
            body = dict(body or {})
            if request.record_key:
                body[request.record_key] = {**body.get(request.record_key, {}), **record}
            else:
                body.update(record)
        query = {} if url is not None else {k: fill(v, values) for k, v in request.query.items()}
        query = {k: v for k, v in {**query, **(params or {})}.items() if v is not None}
        return self._rest.request(
            request.method,
            url if url is not None else fill(request.path, values, in_path=True),
            params=query,
            json=body,
            retry_safe=request.retry_safe,
        )

    def decoded(self, response: httpx.Response, request: RequestSpec) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise UnreadableRecord(
                f"{self._spec.name} answered {request.method} {request.path} with a non-JSON body"
            ) from None

    def one(
        self, request: RequestSpec, values: Mapping[str, Any], shape: RecordSpec, **kw: Any
    ) -> dict[str, Any]:
        """The record the answer holds at `shape.single`."""
        found = select(self.decoded(self.call(request, values, **kw), request), shape.single)
        if not isinstance(found, dict):
            where = shape.single or "the body"
            raise UnreadableRecord(
                f"{self._spec.name} answered {request.method} {request.path} without a record at {where}"
            )
        return found

    def many(
        self, request: RequestSpec, values: Mapping[str, Any], shape: RecordSpec, **kw: Any
    ) -> Iterator[dict[str, Any]]:
        """Every record of a listing, page after page (the request's paging, else the spec's)."""
        for page in self.pages(request, values, shape, params=kw.get("params") or {}):
            yield from page.items

    def pages(
        self,
        request: RequestSpec,
        values: Mapping[str, Any],
        shape: RecordSpec,
        *,
        params: Mapping[str, Any],
        start: str | None = None,
    ) -> Iterator[Page[Any]]:
        """A listing a page at a time, from `start` (a page's `next_cursor` as a string: an offset,
        a page number, the app's cursor or its next link; None: the first page). Every item is an
        object, or UnreadableRecord."""
        for page in self._pages(request, values, shape, request.paging or self._spec.paging, params, start):
            if not all(isinstance(item, dict) for item in page.items):
                raise UnreadableRecord(f"{self._spec.name} listed a non-object under {request.path}")
            yield page

    def _items(self, shape: RecordSpec, request: RequestSpec) -> Callable[[Any], list[Any]]:
        def items(body: Any) -> list[Any]:
            found = select(body, shape.list)
            if not isinstance(found, list):
                where = shape.list or "the body"
                raise UnreadableRecord(
                    f"{self._spec.name} answered {request.method} {request.path} without a list at {where}"
                )
            return found

        return items

    def _next_link(self, url: str) -> str:
        """A next-page link must stay on the spec's origin: the app's answer is not trusted to send
        our credentials elsewhere."""
        if _origin(url) != _origin(self._spec.base_url):
            raise UnreadableRecord(f"{self._spec.name} gave a next-page link off its base URL: {url}")
        return url

    def _pages(
        self,
        request: RequestSpec,
        values: Mapping[str, Any],
        shape: RecordSpec,
        paging: PagingSpec,
        params: Mapping[str, Any],
        start: str | None,
    ) -> Iterator[Page[Any]]:
        items = self._items(shape, request)

        def fetch(extra: Mapping[str, Any] | None = None, url: str | None = None) -> PageData:
            response = self.call(request, values, params={**params, **(extra or {})}, url=url)
            return PageData(self.decoded(response, request), response.headers)

        match paging:
            case OffsetPaging():
                return offset_pages(
                    lambda offset, limit: fetch({paging.offset_param: offset, paging.limit_param: limit}),
                    limit=paging.page_size,
                    items=items,
                    total_path=paging.total_path,
                    start=_number(start, 0),
                )
            case PageNumberPaging():
                return page_number_pages(
                    lambda number: fetch({paging.page_param: number, paging.size_param: paging.page_size}),
                    page_size=paging.page_size,
                    items=items,
                    total_pages_path=paging.total_pages_path,
                    first_page=paging.first_page,
                    start=None if start is None else _number(start, paging.first_page),
                )
            case CursorPaging():
                limit = {paging.limit_param: paging.page_size} if paging.limit_param else {}
                return body_cursor_pages(
                    lambda cursor: fetch({**limit, paging.cursor_param: cursor}),
                    items=items,
                    cursor_path=paging.cursor_path,
                    start=start,
                )
            case LinkPaging():
                first = {paging.limit_param: paging.page_size} if paging.limit_param else {}
                return link_header_pages(
                    lambda url: fetch(first) if url is None else fetch(url=self._next_link(url)),
                    items=items,
                    start=start,
                )
            case NoPaging():
                return iter([Page(items(fetch().body), None)])
