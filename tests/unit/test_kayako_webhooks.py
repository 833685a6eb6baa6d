"""Kayako connector, inbound side and configuration: token check, payload parsing, settings, errors.

No HTTP: the connector's client refuses every request, proving these paths never call Kayako.
"""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from ghlsync.apps.base import InboundRequest
from ghlsync.apps.kayako import (
    KayakoConflict,
    KayakoConnector,
    KayakoError,
    KayakoNotFound,
    KayakoRateLimited,
    KayakoServerError,
    KayakoSettings,
    KayakoValidationError,
)
from ghlsync.apps.kayako.errors import error_from_response
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook, WebhookRejected
from ghlsync.core.events import ChangeAction
from sandbox.apps.kayako import Change
from sandbox.apps.kayako.automations import payload
from tests.fixtures.kayako import KAYAKO_WEBHOOK_TOKEN, kayako_credentials

LOCATION = "loc-1"
CONNECTION = "conn-1"


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected HTTP call: {request.method} {request.url}")


@pytest.fixture
def connector() -> KayakoConnector:
    return KayakoConnector(
        httpx.Client(transport=httpx.MockTransport(refuse)),
        KayakoSettings(subdomain="acme"),
        secret=kayako_credentials(),
        location_id=LOCATION,
        connection_id=CONNECTION,
        sleep=lambda _s: None,
        clock=lambda: 0.0,
    )


def inbound(
    body: bytes | dict[str, Any],
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return InboundRequest(body=raw, headers=headers or {}, query=query or {}, path_params={})


def automation(event: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event,
        "id": 5,
        "user_id": 12,
        "updated_at": "2026-01-02T03:04:05+00:00",
        "data": {"id": 5},
    }
    body.update(overrides)
    return body


def parse(connector: KayakoConnector, body: bytes | dict[str, Any]) -> list[Any]:
    return connector.parse_webhook(inbound(body), location_id=LOCATION, connection_id=CONNECTION)


# -- verify ----------------------------------------------------------------------------------
def test_token_in_the_url_query_is_accepted(connector: KayakoConnector) -> None:
    # GIVEN an automation call whose URL carries the connection's token / WHEN verified / THEN no error
    connector.verify_webhook(inbound(b"{}", query={"token": KAYAKO_WEBHOOK_TOKEN}))


def test_token_in_the_header_is_accepted(connector: KayakoConnector) -> None:
    # GIVEN the token in X-Ghlsync-Token (header names arrive lower-cased) / WHEN verified / THEN no error
    connector.verify_webhook(inbound(b"{}", headers={"x-ghlsync-token": KAYAKO_WEBHOOK_TOKEN}))


@pytest.mark.parametrize(
    "request_parts",
    [{}, {"query": {"token": "wrong-token-wrong-token"}}, {"headers": {"x-ghlsync-token": ""}}],
)
def test_missing_or_wrong_token_is_rejected(
    connector: KayakoConnector, request_parts: dict[str, Any]
) -> None:
    # GIVEN no token, or a wrong one / WHEN verified / THEN the request is rejected (401 at ingress)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(inbound(b"{}", **request_parts))


# -- parse -----------------------------------------------------------------------------------
def test_user_update_becomes_a_contact_upsert(connector: KayakoConnector) -> None:
    # GIVEN a user.updated payload / WHEN parsed
    [event] = parse(connector, automation("user.updated", id=12))
    # THEN one contact upsert for that user, stamped with the payload's updated_at
    assert (event.entity, event.action, event.entity_id, event.parent_id) == (
        EntityKind.CONTACT,
        ChangeAction.UPSERT,
        "12",
        None,
    )
    assert event.occurred_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (event.source, event.location_id, event.connection_id, event.event_type) == (
        "kayako",
        LOCATION,
        CONNECTION,
        "user.updated",
    )


def test_case_event_becomes_a_task_under_the_requester(connector: KayakoConnector) -> None:
    # GIVEN a case.created payload / WHEN parsed / THEN a task upsert whose parent is the requester
    [event] = parse(connector, automation("case.created"))
    assert (event.entity, event.action, event.entity_id, event.parent_id) == (
        EntityKind.TASK,
        ChangeAction.UPSERT,
        "5",
        "12",
    )


def test_note_deletion_becomes_a_note_delete(connector: KayakoConnector) -> None:
    # GIVEN a note.deleted payload / WHEN parsed / THEN a note delete under the user
    [event] = parse(connector, automation("note.deleted"))
    assert (event.entity, event.action, event.parent_id) == (EntityKind.NOTE, ChangeAction.DELETE, "12")


def test_tag_change_carries_the_full_tag_list(connector: KayakoConnector) -> None:
    # GIVEN a tags.updated payload / WHEN parsed / THEN a contact TAGS event with the tag list in data
    [event] = parse(connector, automation("tags.updated", id=12, data={"tags": ["vip", "lead"]}))
    assert (event.entity, event.action, event.entity_id) == (EntityKind.CONTACT, ChangeAction.TAGS, "12")
    assert event.data == {"tags": ["vip", "lead"]}


def test_event_id_is_a_hash_of_the_exact_body(connector: KayakoConnector) -> None:
    # GIVEN the same payload twice and a different one
    body = json.dumps(automation("user.updated")).encode()
    other = json.dumps(automation("user.updated", updated_at="2026-01-02T03:04:06+00:00")).encode()
    # WHEN parsed
    first, again, different = (parse(connector, b)[0].event_id for b in (body, body, other))
    # THEN a redelivery has the same idempotency key and another change a new one
    assert first == again
    assert first != different


def test_unknown_trigger_is_acknowledged_without_events(connector: KayakoConnector) -> None:
    # GIVEN a well-formed payload for an event we do not sync / WHEN parsed / THEN no events
    assert parse(connector, automation("organization.updated")) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"event": "user.updated"}).encode(),
        json.dumps(automation("user.updated", updated_at="yesterday")).encode(),
    ],
)
def test_unreadable_payload_is_malformed(connector: KayakoConnector, body: bytes) -> None:
    # GIVEN a body that is not a Kayako automation payload / WHEN parsed / THEN MalformedWebhook (400)
    with pytest.raises(MalformedWebhook):
        parse(connector, body)


def test_the_sandbox_payload_parses(connector: KayakoConnector) -> None:
    # GIVEN the exact bytes the Kayako fake sends for a case change
    change = Change(
        event="case.updated", id=9, user_id=3, updated_at="2026-03-01T00:00:00+00:00", data={"id": 9}
    )
    # WHEN parsed / THEN the connector understands the fake's documented shape
    [event] = parse(connector, payload(change))
    assert (event.entity_id, event.parent_id, event.event_type) == ("9", "3", "case.updated")


# -- settings --------------------------------------------------------------------------------
def test_subdomain_gives_the_production_api_base() -> None:
    # GIVEN a subdomain / WHEN the API base is derived / THEN it is the tenant's v1 URL
    assert KayakoSettings(subdomain="acme").api_base == "https://acme.kayako.com/api/v1"


def test_base_url_overrides_the_subdomain() -> None:
    # GIVEN an explicit base URL (the sandbox) / THEN it wins, without a trailing slash
    settings = KayakoSettings(subdomain="acme", base_url="http://127.0.0.1:8082/api/v1/")
    assert settings.api_base == "http://127.0.0.1:8082/api/v1"


@pytest.mark.parametrize("data", [{}, {"subdomain": "acme.evil.example"}, {"base_url": "ftp://x"}])
def test_settings_without_a_valid_location_are_rejected(data: dict[str, Any]) -> None:
    # GIVEN no instance, a subdomain that is not a DNS label, or a non-HTTP URL / THEN refused
    with pytest.raises(ValidationError):
        KayakoSettings.model_validate(data)


# -- error mapping ---------------------------------------------------------------------------
def error_answer(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"status": status, "errors": [{"code": code, "message": "m", **extra}]}
    return httpx.Response(status, json=body, headers={"Retry-After": "7"})


@pytest.mark.parametrize(
    ("status", "code", "kind", "transient"),
    [
        (400, "FIELD_REQUIRED", KayakoValidationError, False),
        (404, "RESOURCE_NOT_FOUND", KayakoNotFound, False),
        (412, "PRECONDITION_FAILED", KayakoConflict, True),
        (429, "RATE_LIMIT_REACHED", KayakoRateLimited, True),
        (500, "INTERNAL_SERVER_ERROR", KayakoServerError, True),
        (405, "RESOURCE_ACTION_NOT_AVAILABLE", KayakoError, False),
    ],
)
def test_error_answers_map_to_typed_errors(
    status: int, code: str, kind: type[KayakoError], transient: bool
) -> None:
    # GIVEN an error answer / WHEN mapped / THEN the typed error says whether a retry can help
    error = error_from_response(error_answer(status, code))
    assert type(error) is kind
    assert error.transient is transient
    assert error.code == code


def test_field_errors_keep_the_parameter() -> None:
    # GIVEN FIELD_REQUIRED for role_id / WHEN mapped / THEN the parameter is kept for the DLQ reason
    error = error_from_response(error_answer(400, "FIELD_REQUIRED", parameter="role_id"))
    assert error.parameter == "role_id"
    assert "role_id" in str(error)


def test_rate_limit_error_keeps_retry_after() -> None:
    # GIVEN a 429 with Retry-After: 7 / WHEN mapped / THEN the wait is kept for the queue
    error = error_from_response(error_answer(429, "RATE_LIMIT_REACHED"))
    assert isinstance(error, KayakoRateLimited)
    assert error.retry_after == 7.0


def test_non_json_error_body_still_maps() -> None:
    # GIVEN a proxy's HTML 502 / WHEN mapped / THEN a transient server error, not a crash
    error = error_from_response(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert isinstance(error, KayakoServerError)
