"""`make invoke` end to end: `python -m sandbox.stack.invoke` in its own process, on a real function."""

import json
import os
import subprocess
import sys

import pytest

from sandbox.stack.template import REPO_ROOT

pytestmark = pytest.mark.integration


def test_make_invoke_runs_token_refresh_on_its_scheduled_event() -> None:
    # GIVEN the command `make invoke FN=TokenRefreshFunction EVENT=events/token_refresh_scheduled.json` runs
    environment = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    # WHEN it runs in a fresh process (in-process moto, fake credentials)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.stack.invoke",
            "TokenRefreshFunction",
            "--event",
            "events/token_refresh_scheduled.json",
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN it exits 0, stdout is the handler's JSON result and the function's logs are on stderr
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), dict)
    assert '"function_name":"TokenRefreshFunction"' in result.stderr
