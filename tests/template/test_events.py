"""events/: one JSON per trigger, named `<function_dir>_<case>.json` after the function it feeds.

`make invoke FN=<LogicalId> EVENT=events/<file>.json` runs these by hand; the checks keep every
file invocable: valid JSON, and a function directory (and template function) it belongs to.
"""

import json
from pathlib import Path

import pytest

from sandbox.stack.template import REPO_ROOT, load_template

EVENTS = sorted((REPO_ROOT / "events").glob("*.json"))
FUNCTION_DIRS = sorted(path.name for path in (REPO_ROOT / "functions").iterdir() if path.is_dir())


def function_dir_of(event: Path, function_dirs: list[str] = FUNCTION_DIRS) -> str | None:
    """The longest function directory name that prefixes the file name, followed by `_`."""
    matches = [name for name in function_dirs if event.stem.startswith(f"{name}_")]
    return max(matches, key=len, default=None)


@pytest.mark.parametrize("event", EVENTS, ids=lambda path: path.name)
def test_event_is_a_json_object(event: Path) -> None:
    # GIVEN an event file THEN it parses as a JSON object (every Lambda trigger sends one)
    assert isinstance(json.loads(event.read_text(encoding="utf-8")), dict)


@pytest.mark.parametrize("event", EVENTS, ids=lambda path: path.name)
def test_event_names_an_existing_function_directory(event: Path) -> None:
    # GIVEN an event file THEN its name starts with `<function_dir>_` for a folder under functions/
    assert function_dir_of(event) is not None, f"{event.name}: no functions/<dir> matches its prefix"


@pytest.mark.parametrize("event", EVENTS, ids=lambda path: path.name)
def test_event_function_is_declared_in_the_template(event: Path) -> None:
    # GIVEN an event's function directory THEN a template function uses it as CodeUri (so it can be invoked)
    code_dirs = {function.code_dir.name for function in load_template().functions()}
    assert function_dir_of(event) in code_dirs


def test_prefix_matching_prefers_the_longest_function_directory() -> None:
    # GIVEN function dirs `sync` and `sync_worker` THEN sync_worker_x belongs to sync_worker, sync_x to sync
    function_dirs = ["sync", "sync_worker"]
    assert function_dir_of(Path("sync_worker_batch.json"), function_dirs) == "sync_worker"
    assert function_dir_of(Path("sync_manual.json"), function_dirs) == "sync"
