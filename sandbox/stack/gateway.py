"""A local API Gateway (REST API, Lambda proxy integration) for the routes in template.yaml.

Each HTTP request becomes the same version-1.0 proxy event API Gateway would send, the matching
function's handler runs in-process, and its proxy response becomes the HTTP response. What API
Gateway does at the edges is reproduced too: an unknown route or method answers 403
`{"message":"Missing Authentication Token"}`, a handler that raises or returns something that is
not a proxy response answers 502 `{"message": "Internal server error"}`, and a body shorter than
its `Content-Length` (the client went away) answers 400 `{"message": ...}` without invoking anything.

Paths are served without the stage prefix (as `sam local start-api` does); the stage still appears
in `requestContext.stage` and `requestContext.path`, as it would behind the real endpoint.
"""

import base64
import binascii
import json
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

API_ID = "localapi01"
TRUNCATED_BODY = "Request body is shorter than its Content-Length"
ACCOUNT_ID = "123456789012"

# Content types whose bodies API Gateway passes as text; anything else arrives base64-encoded.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/graphql",
    }
)

Pairs = Iterable[tuple[str, str]]
Invoke = Callable[["Route", dict[str, Any]], Any]


@dataclass(frozen=True)
class Route:
    """One `Type: Api` event of one function: method + resource path template."""

    function: str  # the function's logical id in template.yaml
    method: str  # upper case; ANY matches every method
    resource: str  # the path template, e.g. /webhooks/{app}/{connectionId}

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route serves `method path`, else None."""
        if self.method not in ("ANY", method.upper()):
            return None
        found = _pattern(self.resource).fullmatch(path)
        return None if found is None else dict(found.groupdict())

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers literal segments over `{param}`, and `{param}` over `{proxy+}`."""
        segments = [s for s in self.resource.split("/") if s]
        literal = sum(1 for s in segments if not s.startswith("{"))
        greedy = sum(1 for s in segments if s.endswith("+}"))
        return (-greedy, literal, len(segments))


def _pattern(resource: str) -> re.Pattern[str]:
    parts: list[str] = []
    for segment in resource.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{_group(segment[1:-2])}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{_group(segment[1:-1])}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts) if parts != [""] else "/")


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"path parameter {{{name}}} is not a usable name")
    return name


def routes_from_template(template: Mapping[str, Any]) -> list[Route]:
    """Every Api event of every AWS::Serverless::Function, most specific first."""
    routes: list[Route] = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties", {})
            method = str(props["Method"]).upper()
            routes.append(Route(logical_id, "ANY" if method == "ANY" else method, str(props["Path"])))
    return sorted(routes, key=lambda r: r.specificity, reverse=True)


def find_route(routes: Sequence[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


def is_binary(content_type: str | None, body: bytes) -> bool:
    """Whether API Gateway would hand this body to the function base64-encoded."""
    media = (content_type or "").split(";")[0].strip().lower()
    textual = (
        not media
        or media.startswith("text/")
        or media in _TEXT_TYPES
        or media.endswith("+json")
        or media.endswith("+xml")
    )
    if not textual:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _pairs(items: Pairs | Mapping[str, str] | None) -> list[tuple[str, str]]:
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [(str(k), str(v)) for k, v in items.items()]
    return [(str(k), str(v)) for k, v in items]


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views: last value wins, and every value in order; null when empty."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def build_proxy_event(
    method: str,
    path: str,
    headers: Pairs | Mapping[str, str] | None,
    query: Pairs | Mapping[str, str] | None,
    body_bytes: bytes,
    route: Route,
    *,
    path_params: Mapping[str, str] | None = None,
    stage: str = "dev",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST API (v1.0) Lambda proxy event for one request on `route`.

    Headers and query parameters keep their order and repeats (`multiValue*`); the single-value
    maps keep the last value, as API Gateway does. The body is text when it is UTF-8 of a text
    content type, base64 otherwise.
    """
    method = method.upper()
    params = dict(path_params) if path_params is not None else (route.match(method, path) or {})
    header_pairs = _pairs(headers)
    single_headers, multi_headers = _single_and_multi(header_pairs)
    single_query, multi_query = _single_and_multi(_pairs(query))
    content_type = next((v for k, v in reversed(header_pairs) if k.lower() == "content-type"), None)
    user_agent = next((v for k, v in reversed(header_pairs) if k.lower() == "user-agent"), None)
    encoded = bool(body_bytes) and is_binary(content_type, body_bytes)
    body: str | None
    if not body_bytes:
        body = None
    elif encoded:
        body = base64.b64encode(body_bytes).decode("ascii")
    else:
        body = body_bytes.decode("utf-8")
    instant = now or datetime.now(UTC)
    return {
        "body": body,
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "isBase64Encoded": encoded,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": params or None,
        "stageVariables": None,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "resourceId": _resource_id(route.resource),
            "stage": stage,
            "requestId": request_id or str(uuid.uuid4()),
            "requestTime": instant.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(instant.timestamp() * 1000),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "accessKey": None,
                "sourceIp": source_ip,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "path": f"/{stage}{path}",
            "resourcePath": route.resource,
            "httpMethod": method,
            "apiId": API_ID,
            "protocol": "HTTP/1.1",
        },
    }


def _resource_id(resource: str) -> str:
    """A stable six-character id per resource path, like API Gateway's."""
    return format(binascii.crc32(resource.encode()) & 0xFFFFFF, "06x")


class BadProxyResponse(Exception):
    """The handler returned something API Gateway cannot turn into an HTTP response."""


def response_from_proxy(result: Any) -> Response:
    """The HTTP response API Gateway builds from a Lambda proxy integration result."""
    if not isinstance(result, dict):
        raise BadProxyResponse(f"handler returned {type(result).__name__}, not a proxy response dict")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise BadProxyResponse(f"statusCode {status!r} is not an HTTP status")
    raw_body = result.get("body") or ""
    if not isinstance(raw_body, str):
        raise BadProxyResponse("body must be a string")
    try:
        body = base64.b64decode(raw_body, validate=True) if result.get("isBase64Encoded") else raw_body
    except binascii.Error as exc:
        raise BadProxyResponse(f"isBase64Encoded body is not base64: {exc}") from exc
    response = Response(body, status=status)
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[str(name)] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.pop(str(name), None)
        for value in values:
            response.headers.add(str(name), str(value))
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response


def _message(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


class LocalGateway:
    """WSGI app: request → proxy event → handler (in-process) → HTTP response."""

    def __init__(
        self,
        routes: Sequence[Route],
        invoke: Invoke,
        *,
        stage: str = "dev",
        log: Callable[[str], None] = lambda _: None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.routes = list(routes)
        self._invoke = invoke
        self._stage = stage
        self._log = log
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = self._clock()
        response = self._respond(request)
        elapsed_ms = (self._clock() - started) * 1000
        self._log(f"{request.method} {request.path} {response.status_code} {elapsed_ms:.0f}ms")
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        found = find_route(self.routes, request.method, request.path)
        if found is None:
            return _message(403, "Missing Authentication Token")
        route, params = found
        try:
            body = request.get_data(cache=False)
        except ClientDisconnected:
            # The client closed before sending all it announced: API Gateway answers 400, no Lambda runs.
            return _message(400, TRUNCATED_BODY)
        event = build_proxy_event(
            request.method,
            request.path,
            list(request.headers.items()),
            list(request.args.items(multi=True)),
            body,
            route,
            path_params=params,
            stage=self._stage,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        try:
            return response_from_proxy(self._invoke(route, event))
        except Exception as exc:
            self._log(f"{route.function} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            return _message(502, "Internal server error")
