"""The sweep end to end, in-process: the scheduled event -> sweep handler -> SQS FIFO (moto, from the
template) -> sync_worker handler (Lambda-like poller) -> sync engine -> GHL and Kayako sandboxes.

Every webhook and automation is lost on purpose (none is registered): only the sweep can notice.
Both handlers are the real ones; their per-container builders are replaced by the same wiring
(`ghlsync.sync.wiring.ConnectorCache`, `ghlsync.sweep.build_sweeper`) over an HTTP client that
routes to the sandboxes, so no socket is opened.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghlsync import queue
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.observability import metrics
from ghlsync.store import dynamo, tokens
from ghlsync.store.connections import (
    Connection,
    ConnectionSecrets,
    ConnectionSettings,
    ConnectionStore,
    DeletePolicy,
)
from ghlsync.store.links import LinkState, LinkStore, Side
from ghlsync.store.tokens import PrivateIntegrationToken, TokenStore
from ghlsync.sweep import build_sweeper
from ghlsync.sync.wiring import ConnectorCache, build_engine
from ghlsync.worker import SyncWorker
from sandbox.apps.kayako import KayakoSandbox
from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.ghl.crm import UpdateRules
from sandbox.stack.lambda_runtime import LambdaContext, load_handler, load_module
from sandbox.stack.poller import SqsPoller
from tests.fixtures.aws import AwsResources

pytestmark = pytest.mark.integration

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "sweep_scheduled.json").read_text())
LOCATION = "sweepLocation0000001"
PIT = "pit-sweep-location-token"
GHL_BASE_URL = "https://ghl.sandbox"
KAYAKO_BASE_URL = "https://sweep.kayako.test/api/v1"
AGENT = {"email": "sync-agent@sweep.test", "password": "agent-password", "webhook_token": "t" * 24}
CONNECTION = "conn_sweep"
DAY = 24 * 3600  # the connections' default delete_scan_hours
LAZY_BUILDERS = [
    get_settings,
    queue.sqs_client,
    dynamo.sync_table,
    dynamo.secrets_client,
    tokens.default_token_store,
    tokens.default_tenant_store,
    tokens.default_token_provider,
]


@dataclass
class Stack:
    aws: AwsResources
    clock: FakeClock
    ghl: GhlSandbox
    kayako: KayakoSandbox
    links: LinkStore
    calls: list[tuple[str, str, str]]  # (host, method, path) of every sandbox request

    def sweep(self) -> dict[str, Any]:
        """One scheduled run of the sweep function (10 minutes of invocation time)."""
        handler = load_handler("functions/sweep")
        result: dict[str, Any] = handler(EVENT, LambdaContext(timeout_seconds=600))
        return result

    def drain(self) -> int:
        """Run sync_worker over the queue until it is empty; returns the records handled."""
        handler = load_handler("functions/sync_worker")
        poller = SqsPoller(self.aws.sqs, self.aws.queue_url, lambda event: handler(event, LambdaContext()))
        handled = 0
        for _ in range(20):
            result = poller.poll_once(wait_seconds=0)
            assert result.failed_ids == [], "a sync event failed"
            if result.received == 0:
                return handled
            handled += result.received
        raise AssertionError("the queue did not drain")

    def link_of_ghl_contact(self, ghl_id: str) -> Any:
        return self.links.get(CONNECTION, EntityKind.CONTACT, Side.GHL, ghl_id)

    def link_of_kayako_user(self, user_id: int) -> Any:
        return self.links.get(CONNECTION, EntityKind.CONTACT, Side.APP, str(user_id))


class _Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, calls: list[tuple[str, str, str]]) -> None:
        self._inner, self._calls = inner, calls

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._calls.append((request.url.host, request.method, request.url.path))
        return self._inner.handle_request(request)


def _setup(
    aws: AwsResources, monkeypatch: pytest.MonkeyPatch, delete_policy: DeletePolicy
) -> Iterator[Stack]:
    for function in ("SweepFunction", "SyncWorkerFunction"):
        for name, value in aws.stack.function_environment(function).items():
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("GHL_API_BASE_URL", GHL_BASE_URL)
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    for builder in LAZY_BUILDERS:
        builder.cache_clear()
    settings = get_settings()

    clock = FakeClock()
    ghl = GhlSandbox(clock=clock, sleep=clock.sleep)
    ghl.add_location(LOCATION, token=PIT)
    kayako = KayakoSandbox(clock=clock, seed=0, base_url=KAYAKO_BASE_URL)
    kayako.add_agent(AGENT["email"], AGENT["password"])
    calls: list[tuple[str, str, str]] = []
    http = httpx.Client(
        mounts={
            GHL_BASE_URL: _Recording(ghl.transport(), calls),
            "https://sweep.kayako.test": _Recording(kayako.transport(), calls),
        }
    )

    TokenStore(aws.secrets, settings.token_secret_prefix).put(
        LOCATION, PrivateIntegrationToken(access_token=PIT)
    )
    ConnectionSecrets(aws.secrets, settings.connection_secret_prefix).put(CONNECTION, AGENT)
    started = datetime.fromtimestamp(clock(), UTC)
    ConnectionStore(aws.table).put(
        Connection(
            connection_id=CONNECTION,
            location_id=LOCATION,
            app="kayako",
            settings=ConnectionSettings(
                delete_policy=delete_policy, app={"base_url": KAYAKO_BASE_URL, "due_date_field": "ghl_due"}
            ),
            created_at=started,
            updated_at=started,
        )
    )

    # The production wiring, over the sandbox-routed client.
    connectors = ConnectorCache(http, settings)
    now = lambda: datetime.fromtimestamp(clock(), UTC)  # noqa: E731 - the sandboxes' clock, as instants
    engine = build_engine(connectors, clock=now)
    worker = SyncWorker.from_settings(engine, settings)
    sweeper = build_sweeper(connectors.hub_for, connectors.app_for, settings, clock=now)
    monkeypatch.setattr(load_module("functions/sync_worker"), "worker", lambda: worker)
    monkeypatch.setattr(load_module("functions/sweep"), "sweeper", lambda: sweeper)
    yield Stack(aws, clock, ghl, kayako, LinkStore(aws.table), calls)
    http.close()
    for builder in LAZY_BUILDERS:
        builder.cache_clear()


@pytest.fixture
def stack(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """GIVEN a Kayako connection (delete policy `tag`) of a GHL PIT location; no webhook reaches us."""
    yield from _setup(aws, monkeypatch, DeletePolicy.TAG)


@pytest.fixture
def deleting_stack(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The same with delete policy `delete`."""
    yield from _setup(aws, monkeypatch, DeletePolicy.DELETE)


def _ghl_contact_by_email(stack: Stack, email: str) -> Any:
    found = [c for c in stack.ghl.store.contacts(LOCATION) if c.fields.get("email") == email]
    return found[0] if found else None


def test_a_kayako_user_whose_automation_was_lost_reaches_ghl_after_a_sweep(stack: Stack) -> None:
    # GIVEN a user created in Kayako, its automation never delivered
    user = stack.kayako.ui_create_user("Grace Hopper", email="grace@example.com")
    stack.clock.advance(60)
    # WHEN the scheduled sweep runs and the worker handles what it queued
    summary = stack.sweep()
    stack.drain()
    # THEN GHL has the contact, linked to the user
    assert summary["enqueued"] >= 1 and summary["failed"] == []
    contact = _ghl_contact_by_email(stack, "grace@example.com")
    assert contact is not None
    link = stack.link_of_kayako_user(user.id)
    assert link is not None and link.ghl.id == contact.id


def test_a_contact_deleted_in_ghl_without_a_webhook_is_found_by_the_daily_diff_and_tagged_in_kayako(
    stack: Stack,
) -> None:
    # GIVEN a GHL contact synced to Kayako by a sweep, then deleted in GHL (the webhook lost)
    contact = stack.ghl.ui_create_contact(LOCATION, firstName="Ada", email="ada@example.com")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    link = stack.link_of_ghl_contact(contact.id)
    assert link is not None
    stack.clock.advance(60)
    stack.ghl.ui_delete_contact(LOCATION, contact.id)
    # WHEN sweeps run within the day, and then the first one a day after the connection was made
    within = stack.sweep()
    stack.clock.advance(DAY)
    summary = stack.sweep()
    stack.drain()
    # THEN the day's diff of id listings found it (sweeps before it read nothing for deletes), the
    # Kayako user carries the policy's tag, and the link is a tombstone
    assert (within["deletes_found"], within["ids_listed"]) == (0, 0)
    assert summary["deletes_found"] == 1 and summary["links_checked"] == 0
    assert "deleted-in-ghl" in {tag.lower() for tag in stack.kayako.store.tags_of(int(link.app.id))}
    tomb = stack.link_of_ghl_contact(contact.id)
    assert tomb is not None and tomb.state is LinkState.DELETED


def test_a_contact_deleted_in_ghl_without_a_webhook_is_deleted_in_kayako_under_the_delete_policy(
    deleting_stack: Stack,
) -> None:
    # GIVEN a GHL contact synced to Kayako, then deleted in GHL (the webhook lost); policy `delete`
    stack = deleting_stack
    contact = stack.ghl.ui_create_contact(LOCATION, firstName="Ada", email="ada@example.com")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    link = stack.link_of_ghl_contact(contact.id)
    assert link is not None
    stack.ghl.ui_delete_contact(LOCATION, contact.id)
    # WHEN the sweep a day later and the worker run
    stack.clock.advance(DAY)
    stack.sweep()
    stack.drain()
    # THEN the Kayako user is gone too
    users = [u.id for u in stack.kayako.store.list_users(None)]
    assert int(link.app.id) not in users


def test_a_case_deleted_in_kayako_is_found_by_the_diff_and_deleted_in_ghl(deleting_stack: Stack) -> None:
    # GIVEN a GHL contact with a task, synced to Kayako (a user and a case), then the case deleted in
    # Kayako with its automation lost; policy `delete`
    stack = deleting_stack
    contact = stack.ghl.ui_create_contact(LOCATION, firstName="Ada", email="ada@example.com")
    task = stack.ghl.ui_create_task(LOCATION, contact.id, title="Call back", dueDate="2026-03-01T09:00:00Z")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    stack.sweep()
    stack.drain()
    task_link = stack.links.get(CONNECTION, EntityKind.TASK, Side.GHL, task.id)
    assert task_link is not None
    stack.kayako.ui_delete_case(int(task_link.app.id))
    # WHEN the sweep a day later and the worker run
    stack.clock.advance(DAY)
    summary = stack.sweep()
    stack.drain()
    # THEN the diff of Kayako's case listing found it and the GHL task is gone
    assert summary["deletes_found"] == 1
    assert stack.ghl.store.location(LOCATION).tasks.get(contact.id, {}).get(task.id) is None


def test_a_quiet_sweep_makes_only_the_change_feed_calls(stack: Stack) -> None:
    # GIVEN a converged pair (a GHL contact synced to Kayako by an earlier sweep)
    stack.ghl.ui_create_contact(LOCATION, firstName="Ada", email="ada@example.com")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    stack.clock.advance(900)
    stack.calls.clear()
    # WHEN the next sweep finds nothing changed
    summary = stack.sweep()
    # THEN nothing is queued (the overlap's re-reads match the shadows), and it cost one page per
    # feed: GHL's contact search and task search, Kayako's users and cases; no record was read
    assert (summary["enqueued"], summary["deletes_found"], summary["links_checked"]) == (0, 0, 0)
    assert summary["already_synced"] == 2
    assert sorted(stack.calls) == sorted(
        [
            ("ghl.sandbox", "POST", "/contacts/search"),
            ("ghl.sandbox", "POST", f"/locations/{LOCATION}/tasks/search"),
            ("sweep.kayako.test", "GET", "/api/v1/users"),
            ("sweep.kayako.test", "GET", "/api/v1/cases"),
        ]
    )


def test_a_task_retitled_and_re_dated_in_ghl_reaches_kayako_through_the_sweep(stack: Stack) -> None:
    # GIVEN a GHL contact with a task, both synced to Kayako by sweeps
    contact = stack.ghl.ui_create_contact(LOCATION, firstName="Ada", email="ada@example.com")
    task = stack.ghl.ui_create_task(LOCATION, contact.id, title="Call back", dueDate="2026-03-01T09:00:00Z")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    stack.sweep()
    stack.drain()
    link = stack.links.get(CONNECTION, EntityKind.TASK, Side.GHL, task.id)
    assert link is not None
    # WHEN the task is retitled and re-dated in GHL (GHL sends no TaskUpdate webhook) and sweeps run
    stack.clock.advance(60)
    stack.ghl.ui_update_task(LOCATION, contact.id, task.id, title="Call Ada", dueDate="2026-04-02T10:00:00Z")
    stack.clock.advance(300)
    first = stack.sweep()
    stack.drain()
    later = []
    for _ in range(2):
        stack.clock.advance(300)
        later.append(stack.sweep()["enqueued"])
        stack.drain()
    # THEN the first sweep queued it once and the Kayako case carries the new title and due date;
    # no later sweep queues anything (Kayako's copy of our write is already synced)
    assert (first["enqueued"], later) == (1, [0, 0])
    case = stack.kayako.store.case(int(link.app.id))
    assert case.subject == "Call Ada"
    assert case.custom_fields.get("ghl_due", "").startswith("2026-04-02T10:00")


def test_our_own_update_is_never_queued_by_a_later_sweep(stack: Stack) -> None:
    # GIVEN a pair synced by a sweep, then a GHL change the next sweep carried to Kayako
    contact = stack.ghl.ui_create_contact(
        LOCATION, firstName="Ada", lastName="Byron", email="ada@example.com"
    )
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    stack.clock.advance(60)
    stack.ghl.ui_update_contact(LOCATION, contact.id, lastName="King")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    # WHEN the sweeps after it see Kayako's copy of our write (newer than what we read before it)
    stack.clock.advance(900)
    first = stack.sweep()
    stack.drain()
    stack.clock.advance(900)
    second = stack.sweep()
    # THEN neither queues it: the link's shadow holds the time of our write
    assert (first["enqueued"], second["enqueued"]) == (0, 0)


@pytest.mark.parametrize(
    "tags_move_date_updated",
    [
        True,
        pytest.param(
            False,
            marks=pytest.mark.xfail(
                strict=True,
                reason="the GHL feed is a dateUpdated search: were GHL's tag changes not to move "
                "dateUpdated (unconfirmed), a tag change whose webhook was lost would never be swept",
            ),
        ),
    ],
)
def test_a_ghl_tag_change_whose_webhook_was_lost_reaches_kayako_after_a_sweep(
    stack: Stack, tags_move_date_updated: bool
) -> None:
    # GIVEN a GHL contact synced to Kayako, then tagged in GHL with the webhook lost
    stack.ghl.crm.updates = UpdateRules(tags_move_date_updated=tags_move_date_updated)
    contact = stack.ghl.ui_create_contact(LOCATION, firstName="Ada", email="ada@example.com")
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    stack.clock.advance(60)
    stack.ghl.ui_add_tags(LOCATION, contact.id, ["vip"])
    stack.clock.advance(60)
    # WHEN the next sweep runs and the worker handles what it queued
    stack.sweep()
    stack.drain()
    # THEN the Kayako user carries the tag
    link = stack.link_of_ghl_contact(contact.id)
    assert link is not None
    assert "vip" in {tag.lower() for tag in stack.kayako.store.tags_of(int(link.app.id))}


SEARCH_LAG_S = 30  # longer than the gap between a write and the next sweep below, shorter than the overlap


def test_a_ghl_change_search_did_not_show_yet_is_swept_by_the_next_run(stack: Stack) -> None:
    # GIVEN GHL's search trailing writes, a pair synced by a sweep, then a GHL edit (webhook lost)
    # that a sweep runs too soon to see: search still shows the contact as it was
    stack.ghl.crm.index.set_lag(SEARCH_LAG_S)
    contact = stack.ghl.ui_create_contact(
        LOCATION, firstName="Ada", lastName="Byron", email="ada@example.com"
    )
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    stack.clock.advance(60)
    stack.ghl.ui_update_contact(LOCATION, contact.id, lastName="King")
    stack.clock.advance(5)
    too_soon = stack.sweep()
    stack.drain()
    # WHEN the next scheduled sweep runs after the index caught up
    stack.clock.advance(60)
    stack.sweep()
    stack.drain()
    # THEN the early run queued nothing and did not skip past the edit: Kayako has the new name
    assert too_soon["enqueued"] == 0
    link = stack.link_of_ghl_contact(contact.id)
    assert link is not None
    assert stack.kayako.store.users[int(link.app.id)].full_name == "Ada King"


def test_an_app_user_matching_a_ghl_contact_search_cannot_see_yet_is_linked_not_duplicated(
    stack: Stack,
) -> None:
    # GIVEN GHL's search trailing writes, a GHL contact created a second ago (webhook lost), and a
    # Kayako user with the same e-mail
    stack.ghl.crm.index.set_lag(SEARCH_LAG_S)
    contact = stack.ghl.ui_create_contact(LOCATION, firstName="Grace", email="grace@example.com")
    stack.clock.advance(1)
    user = stack.kayako.ui_create_user("Grace Hopper", email="grace@example.com")
    stack.clock.advance(1)
    # WHEN a sweep carries the Kayako user to GHL while search cannot see the contact
    stack.sweep()
    stack.drain()
    # THEN identity (GHL's immediate duplicate lookup) found the contact: one contact, linked
    emails = [c.fields.get("email") for c in stack.ghl.store.contacts(LOCATION)]
    assert emails == ["grace@example.com"]
    link = stack.link_of_kayako_user(user.id)
    assert link is not None and link.ghl.id == contact.id
