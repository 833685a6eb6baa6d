"""The Payaca connector's pure parts: error map, capabilities per settings, signed webhooks, and
the busy answer it declares for ingress. No request is sent (the HTTP client is never called)."""

import hashlib
import hmac
import json

import httpx
import pytest

from ghlsync.apps.base import Flow, Inbound, InboundRequest, Operation, TagWrites
from ghlsync.apps.payaca import PAYACA_ERRORS, PayacaConnector, PayacaCredentials, PayacaSettings
from ghlsync.apps.payaca.connector import capabilities_for
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import (
    Forbidden,
    MalformedWebhook,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    Validation,
    WebhookRejected,
)
from ghlsync.core.events import ChangeAction
from ghlsync.ingress import answer_for, declared_busy_status
from ghlsync.mapping.canonical import CanonicalNote, CanonicalTask

SECRET = "webhook-secret-0123"


def connector(**settings: object) -> PayacaConnector:
    credentials = PayacaCredentials(client_id="id", client_secret="secret", webhook_secret=SECRET)  # type: ignore[arg-type]
    return PayacaConnector(
        httpx.Client(),
        PayacaSettings.model_validate(settings),
        secret=credentials,
        location_id="loc-1",
        connection_id="conn-1",
        sleep=lambda s: None,
        clock=lambda: 0.0,
    )


def delivery(
    body: dict[str, object] | bytes, event: str | None = "customer.updated", secret: str = SECRET
) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"x-payaca-signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}
    if event is not None:
        headers["x-payaca-event"] = event
    return InboundRequest(body=raw, headers=headers, query={}, path_params={})


PROJECT = {
    "project": {
        "id": "prj_1",
        "reference": "ABC123",
        "pipeline": {"title": "Sales"},
        "pipelineStage": {"title": "Install"},
        "customer": {"id": "cus_1", "contacts": []},
        "assignedTo": {"fullName": "Johanna", "email": "johanna@payaca.com"},
        "updatedAt": "2026-05-01T12:00:00Z",
    }
}


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "kind", "transient"),
    [
        (400, Validation, False),
        (401, Unauthorized, False),
        (403, Forbidden, False),
        (404, NotFound, False),
        (422, Validation, False),
        (429, RateLimited, True),
        (500, ServerError, True),
        (503, ServerError, True),
    ],
)
def test_429_and_5xx_are_transient_and_other_4xx_final(status: int, kind: type, transient: bool) -> None:
    # GIVEN an answer in the proposed error envelope WHEN classified
    body = {"error": {"code": "X", "message": "it went wrong", "details": []}}
    error = PAYACA_ERRORS.error_for(httpx.Response(status, json=body, headers={"Retry-After": "7"}))
    # THEN the family class, its transience, and the envelope's message
    assert isinstance(error, kind) and error.transient is transient
    assert str(error).startswith(f"Payaca {status}: it went wrong")


def test_a_success_is_no_error() -> None:
    assert PAYACA_ERRORS.error_for(httpx.Response(200, json={"customer": {}})) is None


def test_a_429_carries_its_retry_after() -> None:
    error = PAYACA_ERRORS.error_for(httpx.Response(429, headers={"Retry-After": "7"}))
    assert error is not None and error.retry_after == 7


# -- capabilities --------------------------------------------------------------------------------
def test_by_default_contacts_flow_both_ways_tags_are_add_only_and_notes_only_come_from_payaca() -> None:
    capabilities = capabilities_for(PayacaSettings())
    contact = capabilities.support(EntityKind.CONTACT)
    note = capabilities.support(EntityKind.NOTE)
    task = capabilities.support(EntityKind.TASK)
    assert contact is not None and contact.flow is Flow.BOTH and not contact.can(Operation.DELETE)
    assert capabilities.tags.writes is TagWrites.ADD_ONLY
    assert note is not None and (note.flow, note.rereadable, note.operations) == (
        Flow.FROM_APP,
        False,
        frozenset(),
    )
    assert task is not None and task.flow is Flow.FROM_APP
    assert (capabilities.inbound.webhooks, capabilities.inbound.feed, capabilities.inbound.busy_status) == (
        True,
        None,
        503,
    )


def test_the_proposal_settings_switch_on_removal_notes_and_tasks_to_payaca() -> None:
    capabilities = capabilities_for(
        PayacaSettings(tag_removal=True, notes_to_payaca=True, tasks_to_payaca=True)
    )
    assert capabilities.tags.writes is TagWrites.ADD_REMOVE
    assert capabilities.can(EntityKind.NOTE, Operation.CREATE)
    task = capabilities.support(EntityKind.TASK)
    assert task is not None and task.flow is Flow.BOTH and task.can(Operation.UPDATE)


def test_without_assignee_tasks_or_the_task_proposal_tasks_are_not_synced() -> None:
    assert capabilities_for(PayacaSettings(assignee_tasks=False)).support(EntityKind.TASK) is None


# -- webhooks ------------------------------------------------------------------------------------
def test_a_body_signed_with_the_secret_verifies() -> None:
    connector().verify_webhook(delivery({"customer": {"id": "cus_1"}}))


@pytest.mark.parametrize("secret", ["another-secret-0000", ""])
def test_a_wrong_or_missing_signature_is_rejected(secret: str) -> None:
    request = delivery({"customer": {"id": "cus_1"}}, secret=secret or SECRET)
    headers = (
        dict(request.headers)
        if secret
        else {k: v for k, v in request.headers.items() if k != "x-payaca-signature"}
    )
    with pytest.raises(WebhookRejected):
        connector().verify_webhook(InboundRequest(request.body, headers, {}, {}))


def test_a_customer_event_is_an_upsert_of_that_customer() -> None:
    [event] = connector().parse_webhook(
        delivery({"customer": {"id": "cus_1", "updatedAt": "2026-05-01T12:00:00Z"}}),
        location_id="loc-1",
        connection_id="conn-1",
    )
    assert (event.entity, event.action, event.entity_id, event.source) == (
        EntityKind.CONTACT,
        ChangeAction.UPSERT,
        "cus_1",
        "payaca",
    )
    assert event.record is None  # customers are re-read


def test_a_stage_move_is_a_carried_note_the_customers_tags_and_the_assignees_task() -> None:
    # GIVEN a signed project.pipelineStageChanged WHEN parsed
    note, tags, task = connector().parse_webhook(
        delivery(PROJECT, "project.pipelineStageChanged"), location_id="loc-1", connection_id="conn-1"
    )
    # THEN a note under the customer carrying its text (notes cannot be re-read), a tag event for
    # the customer, and the assignee's task with an id stable per project
    assert (note.entity, note.parent_id) == (EntityKind.NOTE, "cus_1")
    assert CanonicalNote.model_validate(note.record).body == "Project ABC123 moved to Install"
    assert (tags.entity, tags.action, tags.entity_id) == (EntityKind.CONTACT, ChangeAction.TAGS, "cus_1")
    assert (task.entity, task.entity_id) == (EntityKind.TASK, "prj_1:task")
    assert CanonicalTask.model_validate(task.record).assignee == "johanna@payaca.com"
    assert len({note.event_id, tags.event_id, task.event_id}) == 3


def test_the_same_body_gives_the_same_event_ids() -> None:
    # Payaca sends no delivery id: the body's hash is the de-duplication key.
    first = connector().parse_webhook(
        delivery(PROJECT, "project.created"), location_id="l", connection_id="c"
    )
    again = connector().parse_webhook(
        delivery(PROJECT, "project.created"), location_id="l", connection_id="c"
    )
    assert [e.event_id for e in first] == [e.event_id for e in again]


def test_without_a_stage_prefix_or_assignee_tasks_a_stage_move_is_only_the_note() -> None:
    events = connector(stage_tag_prefix="", assignee_tasks=False).parse_webhook(
        delivery(PROJECT, "project.pipelineStageChanged"), location_id="l", connection_id="c"
    )
    assert [e.entity for e in events] == [EntityKind.NOTE]


def test_the_customer_event_names_are_a_setting() -> None:
    # GIVEN a connection told Payaca names customer changes "customer.changed" (names are inferred)
    renamed = connector(customer_events=["customer.changed"])
    request = delivery({"customer": {"id": "cus_1"}}, "customer.changed")
    # THEN that event is the customer's upsert, and the default name is no longer one
    assert [e.entity_id for e in renamed.parse_webhook(request, location_id="l", connection_id="c")] == [
        "cus_1"
    ]
    default_name = delivery({"customer": {"id": "cus_1"}}, "customer.updated")
    assert renamed.parse_webhook(default_name, location_id="l", connection_id="c") == []


def test_an_event_we_do_not_sync_parses_to_nothing() -> None:
    assert (
        connector().parse_webhook(
            delivery({"invoice": {}}, "invoice.fullyPaid"), location_id="l", connection_id="c"
        )
        == []
    )


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (b"{not json", "customer.updated"),
        (b"[]", "customer.updated"),
        ({"customer": {}}, "customer.updated"),
        ({"x": 1}, None),
    ],
)
def test_an_unreadable_delivery_is_malformed(body: dict[str, object] | bytes, event: str | None) -> None:
    with pytest.raises(MalformedWebhook):
        connector().parse_webhook(delivery(body, event), location_id="l", connection_id="c")


# -- the busy answer (kit: Inbound.busy_status, read by ingress) ------------------------------------
def test_ingress_answers_the_apps_busy_status_when_it_cannot_queue() -> None:
    assert answer_for(RuntimeError("queue down"), busy_status=503).status == 503
    assert answer_for(RuntimeError("queue down")).status == 429  # GHL's default


def test_a_refusal_keeps_its_own_answer_whatever_the_busy_status() -> None:
    assert answer_for(WebhookRejected("bad"), busy_status=503).status == 401


def test_each_app_declares_its_busy_status() -> None:
    assert (declared_busy_status("payaca"), declared_busy_status("kayako"), declared_busy_status("nope")) == (
        503,
        429,
        429,
    )


def test_a_busy_status_must_be_an_error_status() -> None:
    with pytest.raises(ValueError):
        Inbound(busy_status=202)


def test_settings_paths_must_name_the_id() -> None:
    with pytest.raises(ValueError, match="customer_path"):
        PayacaSettings(customer_path="customers")
