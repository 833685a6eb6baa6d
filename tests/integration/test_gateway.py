"""The local API gateway: proxy events shaped like API Gateway's, responses mapped back like it does."""

import base64
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.fakes.server import ServerThread
from sandbox.stack.gateway import LocalGateway, Route, build_proxy_event, routes_from_template

REPO = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).parent / "sam"

# Maps of request data (whatever keys the request had), compared by type only.
DATA_MAPS = {
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
}

WEBHOOK = Route("AppWebhookFunction", "POST", "/webhooks/{app}/{connectionId}")


@pytest.fixture(scope="module")
def sam_event() -> dict[str, Any]:
    """The reference event from `sam local generate-event apigateway aws-proxy`."""
    sam = str(SAM) if SAM.exists() else shutil.which("sam")
    if sam is None:
        pytest.skip("sam CLI not installed")
    completed = subprocess.run(  # noqa: S603 - the sam CLI from this venv, fixed arguments
        [sam, "local", "generate-event", "apigateway", "aws-proxy"],
        capture_output=True,
        check=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=120,
    )
    event: dict[str, Any] = json.loads(completed.stdout)
    return event


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of the fixed-schema parts of an event (request-data maps are leaves)."""
    if not isinstance(value, dict):
        return set()
    paths: set[str] = set()
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else key
        paths.add(path)
        if key not in DATA_MAPS:
            paths |= key_paths(item, path)
    return paths


def an_event(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": "POST",
        "path": "/webhooks/kayako/conn-1",
        "headers": [("Content-Type", "application/json"), ("User-Agent", "curl/8")],
        "query": [("token", "s3cret")],
        "body_bytes": b'{"a":1}',
        "route": WEBHOOK,
    }
    request.update(overrides)
    return build_proxy_event(**request)


def test_event_has_the_same_keys_as_api_gateway_at_every_level(sam_event: dict[str, Any]) -> None:
    # GIVEN a request on a templated route
    # WHEN it becomes a proxy event
    event = an_event()
    # THEN its keys match SAM's reference aws-proxy event at every level
    assert key_paths(event) == key_paths(sam_event)


def test_text_body_is_passed_as_text(sam_event: dict[str, Any]) -> None:
    # GIVEN a JSON body
    event = an_event(body_bytes=b'{"name":"J\xc3\xa9r\xc3\xb4me"}')
    # THEN it arrives as a string, not base64, with the same types as the reference
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"name":"Jérôme"}'
    assert type(event["requestContext"]["requestTimeEpoch"]) is type(
        sam_event["requestContext"]["requestTimeEpoch"]
    )


def test_binary_content_type_is_base64_encoded() -> None:
    # GIVEN a body declared as octet-stream
    raw = b"\x00\x01binary\xff"
    event = an_event(headers=[("Content-Type", "application/octet-stream")], body_bytes=raw)
    # THEN it arrives base64-encoded and decodes to the exact bytes
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_invalid_utf8_under_a_text_type_is_base64_encoded() -> None:
    # GIVEN a "JSON" body that is not UTF-8
    raw = b'{"a":"\xff\xfe"}'
    event = an_event(body_bytes=raw)
    # THEN the gateway cannot pass it as text and encodes it
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_empty_body_and_no_query_are_null() -> None:
    # GIVEN a GET with neither body nor query string
    event = an_event(method="GET", query=[], body_bytes=b"")
    # THEN body and both query maps are null, as API Gateway sends them
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_repeated_query_and_headers_keep_every_value_and_the_last_wins() -> None:
    # GIVEN repeated query parameters and headers
    event = an_event(query=[("tag", "a"), ("tag", "b")], headers=[("X-Tag", "1"), ("X-Tag", "2")])
    # THEN the multi-value maps keep both, the single-value maps the last
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["queryStringParameters"] == {"tag": "b"}
    assert event["multiValueHeaders"]["X-Tag"] == ["1", "2"]
    assert event["headers"]["X-Tag"] == "2"


def test_path_parameters_and_resource_come_from_the_route_template() -> None:
    event = an_event(stage="dev")
    assert event["resource"] == "/webhooks/{app}/{connectionId}"
    assert event["pathParameters"] == {"app": "kayako", "connectionId": "conn-1"}
    assert event["requestContext"]["resourcePath"] == "/webhooks/{app}/{connectionId}"
    assert event["requestContext"]["path"] == "/dev/webhooks/kayako/conn-1"
    assert event["requestContext"]["identity"]["userAgent"] == "curl/8"


def test_routes_are_read_from_every_api_event_of_the_template() -> None:
    # GIVEN a template with literal, templated and greedy paths on two functions
    template = {
        "Resources": {
            "A": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Greedy": {"Type": "Api", "Properties": {"Path": "/files/{proxy+}", "Method": "any"}},
                        "Param": {"Type": "Api", "Properties": {"Path": "/contacts/{id}", "Method": "get"}},
                        "Tick": {
                            "Type": "ScheduleV2",
                            "Properties": {"ScheduleExpression": "rate(1 minute)"},
                        },
                    }
                },
            },
            "B": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Lit": {"Type": "Api", "Properties": {"Path": "/contacts/search", "Method": "get"}}
                    }
                },
            },
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
        }
    }
    # WHEN routes are read
    routes = routes_from_template(template)
    # THEN every Api event is a route, the literal one ahead of the templated one
    assert [(r.function, r.method, r.resource) for r in routes] == [
        ("B", "GET", "/contacts/search"),
        ("A", "GET", "/contacts/{id}"),
        ("A", "ANY", "/files/{proxy+}"),
    ]
    assert routes[2].match("DELETE", "/files/a/b") == {"proxy": "a/b"}


# -- the HTTP side ----------------------------------------------------------------------------


def gateway_client(handler: Callable[[Route, dict[str, Any]], Any]) -> httpx.Client:
    routes = [WEBHOOK, Route("OAuthCallbackFunction", "GET", "/oauth/callback")]
    app = LocalGateway(routes, handler)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://gateway.local")


def test_unknown_route_answers_403_missing_authentication_token() -> None:
    client = gateway_client(lambda route, event: pytest.fail("no handler should run"))
    response = client.get("/nowhere")
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_known_path_with_another_method_answers_403_too() -> None:
    client = gateway_client(lambda route, event: pytest.fail("no handler should run"))
    response = client.delete("/oauth/callback")
    assert response.status_code == 403


def test_handler_exception_answers_502_internal_server_error() -> None:
    def boom(route: Route, event: dict[str, Any]) -> Any:
        raise RuntimeError("handler bug")

    response = gateway_client(boom).post("/webhooks/kayako/c1", content=b"{}")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_response_that_is_not_a_proxy_response_answers_502() -> None:
    response = gateway_client(lambda route, event: {"ok": True}).post("/webhooks/kayako/c1", content=b"{}")
    assert response.status_code == 502


def test_handler_gets_the_raw_body_and_its_response_is_mapped_back() -> None:
    # GIVEN a handler that echoes the request as a base64 body with multi-value headers
    seen: list[dict[str, Any]] = []

    def handler(route: Route, event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {
            "statusCode": 202,
            "headers": {"Content-Type": "application/octet-stream"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00raw").decode(),
            "isBase64Encoded": True,
        }

    # WHEN a request comes in with a query string
    response = gateway_client(handler).post(
        "/webhooks/kayako/c1?token=t", content=b'{"x": 1}', headers={"Content-Type": "application/json"}
    )
    # THEN the handler saw the exact body and parameters, and the client the decoded response
    assert seen[0]["body"] == '{"x": 1}'
    assert seen[0]["queryStringParameters"] == {"token": "t"}
    assert seen[0]["pathParameters"] == {"app": "kayako", "connectionId": "c1"}
    assert response.status_code == 202
    assert response.content == b"\x00raw"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_body_shorter_than_its_content_length_answers_400_and_logs_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the gateway served on a real socket as `make dev` serves it, logging to a list
    lines: list[str] = []
    gateway = LocalGateway(
        [WEBHOOK], lambda route, event: pytest.fail("no handler should run"), log=lines.append
    )
    server = ServerThread("gateway", "127.0.0.1", 0)
    server.serve(gateway)
    try:
        # WHEN a client announces 100 bytes, sends 10 and closes its side
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(
                b"POST /webhooks/kayako/c1 HTTP/1.1\r\nHost: gateway.local\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                b'{"x": 1, "'
            )
            client.shutdown(socket.SHUT_WR)
            raw = b"".join(iter(lambda: client.recv(4096), b""))
    finally:
        server.stop()
    # THEN it answers 400 with API Gateway's JSON message, and logs one line without a traceback
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"400"
    assert json.loads(body) == {"message": "Request body is shorter than its Content-Length"}
    assert len(lines) == 1
    assert lines[0].startswith("POST /webhooks/kayako/c1 400 ")
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
