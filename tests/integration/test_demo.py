"""`make demo` in-process: the scenario runs end to end on a local stack and reports honestly."""

import dataclasses
import io
from collections.abc import Iterator

import pytest

from sandbox.demo.kayako_fixes import KayakoFixes
from sandbox.demo.scenario import OAUTH_CLIENT_ID, OAUTH_LOCATION_ID, Demo, demo_config, run_demo
from sandbox.stack.dev import DevStack

pytestmark = pytest.mark.integration

FLOWS = [
    "GHL OAuth install → tokens stored",
    "token refresh (scheduled) → rotated",
    "GHL contact created → Kayako user",
    "GHL contact updated → Kayako user",
    "echo of our own write → no write",
    "Kayako user created → GHL contact",
    "Kayako case → GHL task",
    "GHL note → Kayako note",
    "Kayako note → GHL note",
    "GHL tag → Kayako tag",
    "Kayako tag → GHL tag",
    "replayed GHL webhook → one effect",
    "transient Kayako outage → retried",
    "bad mapping → DLQ → fix → redrive",
    "mixed-case tag removed in GHL → gone",
    "two-word first name → converged",
    "GHL e-mail changed → old one freed",
    "records from before the connection → backfill plan → linked",
    "GHL contact → Payaca customer (upsert)",
    "GHL tags, one over 30 characters → Payaca",
    "Payaca customer change → GHL contact",
    "Payaca project stage move → GHL note + tag",
    "workflow API: bundle of a contact",
    "workflow API: unchanged bundle → 304",
    "workflow API: wrong key → 401",
    "workflow API: task created → GHL, no echo",
    "workflow API: task completed → GHL, no echo",
    "workflow API: note created, updated → GHL, no echo",
    "workflow API: bundle shows the writes",
    "GHL contact → Kixie PowerList",
    "GHL task + note → PowerList digest",
    "Kixie call ended → GHL note",
    "Kixie scheduled activity → GHL task",
    "Kixie caller-ID lookup → GHL contact",
    "GHL contacts → PowerList by bulk-sync",
    "GHL business, two contacts → one eKyte Person",
    "GHL task + note → eKyte task + board note",
    "eKyte task → GHL task (polled)",
    "GHL business imported, no webhooks → eKyte Person (scheduled refresh)",
    "GHL contact + tag → app (spec file, style B)",
    "GHL task + note → app",
    "app surname + tag → GHL (polled)",
    "app task done → GHL task completed (polled)",
]


@pytest.fixture
def stack() -> Iterator[DevStack]:
    """The demo's own stack (free ports, driven synchronously), stdout left to pytest."""
    with DevStack(dataclasses.replace(demo_config(), capture_stdout=False), out=io.StringIO()) as started:
        yield started


def test_demo_scenario_passes_every_flow_and_consistency_check(stack: DevStack) -> None:
    # GIVEN the local stack
    progress: list[str] = []
    # WHEN the scripted scenario runs on it
    report = run_demo(stack, log=progress.append)
    # THEN every flow ran in order and passed, GHL agrees with every app, progress was reported
    assert [s.flow for s in report.steps] == FLOWS
    assert report.ok, report.render()
    assert {c.what for c in report.checks} == {
        "contacts ⇄ users",
        "names",
        "tags",
        "notes",
        "tasks ⇄ cases",
        "contact ⇄ customer",
        "stage tag = current stage",
        "contact ⇄ PowerList entry",
        "nothing dialled or texted",
        "business ⇄ Person with its contacts",
        "contact ⇄ app contact",
    }
    assert all(s.latency_s is not None for s in report.steps)
    assert any(line.startswith("▶ ") for line in progress)
    assert "all flows and checks passed" in report.render()
    # and the report ends with the operator's view: `ghlsync status`, one contact's audit trail
    (status_command, status), (audit_command, audit) = report.operator_views
    assert status_command == "ghlsync status" and "CONNECTION_ID" in status
    # (every connection passed the connection check the demo runs before it)
    header, *rows = status.strip().splitlines()
    assert header.split()[-1] == "CHECK" and rows and all(row.split()[-1] == "ok" for row in rows), status
    assert audit_command.startswith("ghlsync audit contact ") and "applied" in audit
    assert report.render().index("$ ghlsync status") > report.render().index("consistency")


def test_a_flow_whose_effect_never_comes_is_reported_failed(stack: DevStack) -> None:
    # GIVEN the Kayako connection is disabled, so nothing reaches Kayako
    from ghlsync.store.connections import ConnectionStatus, ConnectionStore

    table = stack.session.resource("dynamodb").Table(stack.env["SYNC_TABLE_NAME"])  # type: ignore[union-attr]
    ConnectionStore(table).set_status(stack.connection_ids["kayako"], ConnectionStatus.DISABLED)
    demo = Demo(stack, log=lambda line: None, step_timeout_s=2.0)
    # WHEN the first flow runs
    demo._run_step(FLOWS[2], demo.parts["kayako"].ghl_contact_created)
    # THEN it is FAILED with what was awaited, and the report is not ok
    (step,) = demo.report.steps
    assert not step.passed
    assert "a Kayako user for Ada" in step.happened
    assert not demo.report.ok
    assert "FAILED" in demo.report.render()


def test_a_token_refresh_that_ghl_refuses_is_reported_failed(stack: DevStack) -> None:
    # GIVEN the OAuth install went through, then the location removed the app in GHL (its tokens die)
    demo = Demo(stack, log=lambda line: None, step_timeout_s=2.0)
    demo._run_step(FLOWS[0], demo.oauth_install)
    stack.ghl.uninstall(OAUTH_CLIENT_ID, OAUTH_LOCATION_ID)
    # WHEN the scheduled refresh step runs
    demo._run_step(FLOWS[1], demo.scheduled_token_refresh)
    # THEN the install passed, the refresh is FAILED with what the schedule reported
    install, refresh = demo.report.steps
    assert install.passed, install.happened
    assert not refresh.passed
    assert "'reconnect_needed': 1" in refresh.happened


def test_an_email_change_that_keeps_the_old_address_is_reported_failed(stack: DevStack) -> None:
    # GIVEN the Kayako connection keeps a changed contact's former address (replace_changed_email off)
    demo = Demo(stack, log=lambda line: None, step_timeout_s=2.0)
    part = demo.parts["kayako"]
    part._set_kayako_setting("replace_changed_email", False)
    # WHEN the changed-e-mail step runs
    demo._run_step(FLOWS[-1], KayakoFixes(part).changed_email_frees_the_old_address)
    # THEN it is FAILED, saying the new address did not become the user's only one
    (step,) = demo.report.steps
    assert not step.passed
    assert "emmy.noether@demo.example as the only address" in step.happened
