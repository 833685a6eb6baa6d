"""Every Kayako/GHL flow runs by hand: `make invoke` with an events/ file, next to a running `make dev`.

The stack runs in this process (free ports, nothing in the background). Each file goes through the
real invoker (`sandbox.stack.invoke.main`, what `make invoke` runs) the way a second terminal runs it: the
developer's shell environment (not the stack's), AWS_ENDPOINT_URL pointing at the stack's moto, the
events/ env-vars file, and a container (layer modules) of its own. The stack's queue is then
drained, so its worker runs the engine, and the effect is looked for on the other side.

The files name the dev fixtures (sandbox.stack.dev.DEV_FIXTURES): GHL contact Grace Hopper with a tag,
a completed task and a note; Kayako customer Alan Turing with a tag, a case and a note.
"""

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.apps import registered_apps
from sandbox.stack import invoke
from sandbox.stack.dev import DEV_FIXTURES, DevConfig, DevStack
from sandbox.stack.functions import cold_start

pytestmark = pytest.mark.integration

# The Kayako dev connection the events/ files name (DESIGN.md §5 "Dev stack fixtures").
DEV_CONNECTION_ID = "conn-dev-kayako"
DEV_KAYAKO_WEBHOOK_TOKEN = "dev-kayako-webhook-token"

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
GHL_ENV = EVENTS / "ghl_webhook_dev_env.json"
WORKER_ENV = EVENTS / "sync_worker_dev_env.json"
ALAN = "alan.turing@dev.example"
GRACE = "grace.hopper@dev.example"
MARIE = "marie.curie@dev.example"  # the Payaca dev customer
KAYAKO_COMPLETED_STATUS = 4


def start_stack() -> DevStack:
    config = DevConfig(
        gateway_port=0,
        moto_port=0,
        ghl_port=0,
        app_ports={app.app: 0 for app in registered_apps()},
        background=False,
    )
    return DevStack(config, out=io.StringIO()).start()


class Terminal:
    """A developer's second terminal next to `make dev`: runs the invoker, then lets the stack work."""

    def __init__(self, stack: DevStack, shell: dict[str, str], tmp: Path) -> None:
        self.stack = stack
        self.shell = shell
        # The committed file names `make dev`'s GHL sandbox port; this stack's port is a free one.
        worker_env = json.loads(WORKER_ENV.read_text())
        worker_env["SyncWorkerFunction"]["GHL_API_BASE_URL"] = stack.ghl_url
        self.worker_env = tmp / "sync_worker_env.json"
        self.worker_env.write_text(json.dumps(worker_env))

    def invoke(self, function: str, event: str, env_vars: Path | None = None) -> Any:
        """`AWS_ENDPOINT_URL=<moto> make invoke FN=function EVENT=events/event [ENV_VARS=env_vars]`."""
        argv = [function, "--event", str(EVENTS / event)]
        if env_vars is not None:
            argv += ["--env-vars", str(env_vars)]
        stdout, stderr = io.StringIO(), io.StringIO()
        stack_environ = dict(os.environ)
        os.environ.clear()
        os.environ.update({**self.shell, "AWS_ENDPOINT_URL": self.stack.moto_url})
        restore_modules = cold_start()
        try:
            status = invoke.main(argv, stdout=stdout, stderr=stderr)
        finally:
            restore_modules()
            os.environ.clear()
            os.environ.update(stack_environ)
        assert status == invoke.EXIT_OK, stderr.getvalue()[-4000:]
        return json.loads(stdout.getvalue())

    def webhook(self, function: str, event: str, env_vars: Path | None = None) -> dict[str, Any]:
        """Invoke a webhook file, check API Gateway got 202, let the stack's worker run the event."""
        result = self.invoke(function, event, env_vars)
        assert result["statusCode"] == 202, result
        answer: dict[str, Any] = json.loads(result["body"])
        assert answer["status"] == "queued", answer
        # An app delivery may carry several events (a Payaca project event: note, tags, task).
        assert self.stack.drain() == answer.get("queued", 1)
        return answer

    def last_decision(self, event_type: str) -> str:
        from ghlsync.store.audit import AuditStore

        table = self.stack.session.resource("dynamodb").Table(self.stack.env["SYNC_TABLE_NAME"])  # type: ignore[union-attr]
        rows = [r for r in AuditStore(table).for_connection(DEV_CONNECTION_ID) if r.event_type == event_type]
        assert rows, f"no audit row for {event_type}"
        return str(rows[-1].decision)


# ---- the two sides, as a person would look at them ------------------------------------------------


def ghl_contact(stack: DevStack, email: str) -> Any:
    found = [c for c in stack.ghl.store.contacts(stack.config.location_id) if c.fields.get("email") == email]
    assert len(found) <= 1, f"{len(found)} GHL contacts for {email}"
    return found[0] if found else None


def ghl_children(stack: DevStack, kind: str, email: str) -> list[Any]:
    contact = ghl_contact(stack, email)
    if contact is None:
        return []
    return list(
        getattr(stack.ghl.store.location(stack.config.location_id), kind).get(contact.id, {}).values()
    )


def kayako_user(stack: DevStack, email: str) -> Any:
    identity = stack.kayako.store.find_identity("email", email)
    return None if identity is None else stack.kayako.store.users.get(identity.user_id)


def kayako_cases(stack: DevStack, email: str) -> list[Any]:
    user = kayako_user(stack, email)
    return [] if user is None else stack.kayako.store.list_cases(requester_id=user.id, since=None)


def kayako_notes(stack: DevStack, email: str) -> list[str]:
    user = kayako_user(stack, email)
    return [] if user is None else [n.body_text for n in stack.kayako.store.notes_of(user.id)]


# ---- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shell() -> dict[str, str]:
    """The environment a developer's terminal has: this process's, before any stack changed it."""
    return dict(os.environ)


@pytest.fixture(scope="module")
def shared_stack(shell: dict[str, str]) -> Iterator[DevStack]:
    """One `make dev` for the webhook files of both sides (they touch different fixture records).

    In-process stacks share moto's state: no other stack may run while this module's does.
    """
    stack = start_stack()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def terminal(shared_stack: DevStack, shell: dict[str, str], tmp_path: Path) -> Terminal:
    return Terminal(shared_stack, shell, tmp_path)


# ---- the files and the stack agree -----------------------------------------------------------------


def test_the_stack_seeds_the_records_the_files_name(shared_stack: DevStack) -> None:
    # GIVEN a started dev stack THEN it has the documented connection, token and fixtures
    assert shared_stack.connection_ids["kayako"] == DEV_CONNECTION_ID
    assert shared_stack.fixtures == DEV_FIXTURES
    assert shared_stack.kayako.automations.endpoints[1].url.endswith(
        f"/webhooks/kayako/{DEV_CONNECTION_ID}?token={DEV_KAYAKO_WEBHOOK_TOKEN}"
    )
    # AND nothing of them is synced yet (they were made before any webhook target existed)
    assert ghl_contact(shared_stack, ALAN) is None
    assert kayako_user(shared_stack, GRACE) is None


def test_committed_worker_env_file_points_at_the_dev_ghl_sandbox() -> None:
    # GIVEN the worker's env-vars file THEN it names the GHL sandbox port `make dev` uses by default
    document = json.loads(WORKER_ENV.read_text())
    assert document == {"SyncWorkerFunction": {"GHL_API_BASE_URL": f"http://127.0.0.1:{DevConfig.ghl_port}"}}


# ---- Kayako → GHL ---------------------------------------------------------------------------------


def test_kayako_webhook_files_reach_ghl_in_catalogue_order(terminal: Terminal) -> None:
    stack = terminal.stack
    # WHEN the user.updated delivery is invoked THEN Alan becomes a GHL contact
    assert terminal.webhook("AppWebhookFunction", "app_webhook_kayako_user_updated.json")["queued"] == 1
    contact = ghl_contact(stack, ALAN)
    assert (contact.fields["firstName"], contact.fields["lastName"]) == ("Alan", "Turing")
    # WHEN case.created THEN his case is a GHL task
    terminal.webhook("AppWebhookFunction", "app_webhook_kayako_case_created.json")
    assert [t.title for t in ghl_children(stack, "tasks", ALAN)] == ["Cannot log in"]
    # WHEN note.created THEN his note is a GHL note
    terminal.webhook("AppWebhookFunction", "app_webhook_kayako_note_created.json")
    assert [n.body for n in ghl_children(stack, "notes", ALAN)] == ["Asked about the enterprise plan"]
    # WHEN tags.updated THEN the tags he already carries are recognised as synced: no second write
    terminal.webhook("AppWebhookFunction", "app_webhook_kayako_tags_updated.json")
    assert terminal.last_decision("tags.updated") == "echo"
    assert ghl_contact(stack, ALAN).tags == ["vip"]


# ---- Payaca → GHL ---------------------------------------------------------------------------------


def test_payaca_webhook_files_reach_ghl_in_catalogue_order(terminal: Terminal) -> None:
    stack = terminal.stack
    # WHEN the signed customer.updated delivery is invoked THEN Marie becomes a GHL contact
    assert terminal.webhook("AppWebhookFunction", "app_webhook_payaca_customer_updated.json")["queued"] == 1
    contact = ghl_contact(stack, MARIE)
    assert (contact.fields["firstName"], contact.fields["companyName"]) == ("Marie", "Curie Heat Pumps")
    # WHEN project.created THEN its note, its stage's tag and the assignee's task are on her contact
    assert terminal.webhook("AppWebhookFunction", "app_webhook_payaca_project_created.json")["queued"] == 3
    assert [n.body for n in ghl_children(stack, "notes", MARIE)] == ["Project ABC123 created in New lead"]
    assert ghl_contact(stack, MARIE).tags == ["payaca-stage-new-lead"]
    assert [t.title for t in ghl_children(stack, "tasks", MARIE)] == ["Project ABC123"]


# ---- Kixie → GHL ----------------------------------------------------------------------------------


def test_kixie_webhook_files_reach_ghl_in_catalogue_order(terminal: Terminal) -> None:
    stack = terminal.stack
    # WHEN an ended call to Grace's number is invoked THEN it is a GHL note on her contact
    terminal.webhook("AppWebhookFunction", "app_webhook_kixie_endcall.json")
    [note] = [n.body for n in ghl_children(stack, "notes", GRACE) if n.body.startswith("Kixie call")]
    assert "Duration: 1m 55s" in note and "Recording: https://calls.kixie.com/" in note
    # WHEN the follow-up she asked for is invoked THEN it is a GHL task due Friday 10:00 New York
    terminal.webhook("AppWebhookFunction", "app_webhook_kixie_scheduledactivity.json")
    [task] = [t for t in ghl_children(stack, "tasks", GRACE) if t.title == "Call Grace back about the quote"]
    assert task.due_date.startswith("2026-01-16T15:00:00")
    # WHEN the same call arrives with a wrong token THEN it is refused and nothing more is written
    result = terminal.invoke("AppWebhookFunction", "app_webhook_kixie_bad_token.json")
    assert result["statusCode"] == 401
    assert len([n for n in ghl_children(stack, "notes", GRACE) if n.body.startswith("Kixie call")]) == 1


# ---- GHL → Kayako ---------------------------------------------------------------------------------


def test_ghl_webhook_files_reach_kayako_in_catalogue_order(terminal: Terminal) -> None:
    stack = terminal.stack
    # WHEN the signed ContactUpdate is invoked with the dev env file THEN Grace becomes a Kayako user
    answer = terminal.webhook("GhlWebhookFunction", "ghl_webhook_contact_update.json", GHL_ENV)
    assert answer["id"] == "7b1f0c62-2a67-4d84-a7a4-9f2a0f3f0c01"
    assert kayako_user(stack, GRACE).full_name == "Grace Hopper"
    # WHEN ContactTagUpdate THEN her tags, already there, are recognised as synced
    terminal.webhook("GhlWebhookFunction", "ghl_webhook_contact_tag_update.json", GHL_ENV)
    assert terminal.last_decision("ContactTagUpdate") == "echo"
    assert stack.kayako.store.tags_of(kayako_user(stack, GRACE).id) == ["lead"]
    # WHEN NoteCreate THEN her note is on Kayako
    terminal.webhook("GhlWebhookFunction", "ghl_webhook_note_create.json", GHL_ENV)
    assert kayako_notes(stack, GRACE) == ["Met at the conference"]
    # WHEN TaskComplete THEN her completed task is a completed Kayako case
    terminal.webhook("GhlWebhookFunction", "ghl_webhook_task_complete.json", GHL_ENV)
    assert [(c.subject, c.status_id) for c in kayako_cases(stack, GRACE)] == [
        ("Send the quote", KAYAKO_COMPLETED_STATUS)
    ]


def test_ghl_file_without_the_dev_env_file_is_refused(terminal: Terminal) -> None:
    # GIVEN the template's own settings (GHL's published key, 90-minute freshness)
    # WHEN a dev-signed file is invoked without ENV_VARS THEN it is refused and nothing is queued
    result = terminal.invoke("GhlWebhookFunction", "ghl_webhook_note_create.json")
    assert result["statusCode"] == 401
    assert terminal.stack.drain() == 0


def test_live_sandbox_webhooks_still_flow_next_to_the_files(terminal: Terminal) -> None:
    # GIVEN the stack trusts its GHL sandbox's signing key (the files' dev key is the invoker's concern)
    stack = terminal.stack
    grace = DEV_FIXTURES.ghl_contact_id
    # WHEN a user tags Grace in the GHL sandbox and the sandbox delivers the signed webhook
    stack.ghl.ui_add_tags(stack.config.location_id, grace, ["live"])
    while stack.deliver_webhooks() + stack.drain():
        pass  # also delivers what the earlier flows' writes reported back (echoes)
    # THEN the gateway accepted it and the tag reached Kayako
    assert "live" in stack.kayako.store.tags_of(kayako_user(stack, GRACE).id)
