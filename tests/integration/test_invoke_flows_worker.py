"""The worker's events/ batches run by hand: `make invoke FN=SyncWorkerFunction` next to `make dev`.

A batch goes to the worker itself (no webhook, no queue), so the invoked function needs the dev GHL
sandbox's URL (events/sync_worker_dev_env.json). Its own stack: nothing of the fixtures is synced
before (see test_invoke_flows for how the invoker is run).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack.dev import DevStack
from tests.integration.test_invoke_flows import (
    ALAN,
    GRACE,
    KAYAKO_COMPLETED_STATUS,
    Terminal,
    ghl_children,
    ghl_contact,
    kayako_cases,
    kayako_notes,
    kayako_user,
    start_stack,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    shell = dict(os.environ)
    stack: DevStack = start_stack()
    try:
        yield Terminal(stack, shell, tmp_path)
    finally:
        stack.stop()


def test_worker_batch_files_apply_every_flow(terminal: Terminal) -> None:
    stack = terminal.stack
    # WHEN both batches go to the worker, with the worker's env file
    for batch in ("sync_worker_kayako_flows.json", "sync_worker_ghl_flows.json"):
        result = terminal.invoke("SyncWorkerFunction", batch, terminal.worker_env)
        # THEN no record failed
        assert result == {"batchItemFailures": []}
    # AND the tag events (first in each batch) brought each person over with the tag
    assert terminal.last_decision("tags.updated") == "applied"
    assert terminal.last_decision("ContactTagUpdate") == "applied"
    assert ghl_contact(stack, ALAN).tags == ["vip"]
    assert stack.kayako.store.tags_of(kayako_user(stack, GRACE).id) == ["lead"]
    # AND the children followed; the contact updates, last, found nothing left to do
    assert [t.title for t in ghl_children(stack, "tasks", ALAN)] == ["Cannot log in"]
    assert [n.body for n in ghl_children(stack, "notes", ALAN)] == ["Asked about the enterprise plan"]
    assert kayako_notes(stack, GRACE) == ["Met at the conference"]
    assert [(c.subject, c.status_id) for c in kayako_cases(stack, GRACE)] == [
        ("Send the quote", KAYAKO_COMPLETED_STATUS)
    ]
    assert terminal.last_decision("user.updated") == "echo"
    assert terminal.last_decision("ContactUpdate") == "echo"
