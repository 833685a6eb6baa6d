"""sandbox.stack.invoke: run a template function locally, like `sam local invoke`, against in-process moto.

The functions live in tests/template/fixtures (a small template of their own), so these tests do
not depend on the project's functions.
"""

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import invoke

FIXTURES = Path(__file__).resolve().parent.parent / "template" / "fixtures"
TEMPLATE = FIXTURES / "template.yaml"
EVENT = FIXTURES / "event.json"


@pytest.fixture(autouse=True)
def _in_process_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    # A moto server a developer left running must not change what these tests see.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in ("GREETING", "ECHO_ONLY", "UNDECLARED"):
        monkeypatch.delenv(name, raising=False)


def run(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = invoke.main([*argv, "--template", str(TEMPLATE)], stdout=stdout, stderr=stderr)
    return status, stdout.getvalue(), stderr.getvalue()


def run_echo(*extra: str) -> dict[str, Any]:
    status, stdout, stderr = run("EchoFunction", "--event", str(EVENT), *extra)
    assert status == invoke.EXIT_OK, stderr
    result: dict[str, Any] = json.loads(stdout)
    return result


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_prints_the_handler_result_for_the_event() -> None:
    # GIVEN an event file WHEN the function is invoked THEN stdout is its result, with the event in it
    result = run_echo()
    assert result["event"] == json.loads(EVENT.read_text())


def test_environment_holds_the_provisioned_resources() -> None:
    # GIVEN Globals variables with !Ref / !GetAtt / !Sub WHEN invoked THEN they hold moto's ids
    environment = run_echo()["environment"]
    assert environment["TABLE_NAME"] == "ghl-sync-Table"
    assert environment["QUEUE_URL"].endswith("/123456789012/ghl-sync-Queue.fifo")
    assert environment["QUEUE_ARN"] == "arn:aws:sqs:us-east-1:123456789012:ghl-sync-Queue.fifo"
    assert environment["SECRET_ID"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ghl-sync/app-"
    )
    assert environment["THINGS_PREFIX"] == "ghl-sync/things/"


def test_handler_reaches_the_provisioned_resources() -> None:
    # GIVEN a handler that writes to the table and reads the generated secret WHEN invoked THEN both exist
    result = run_echo()
    assert result["items_in_table"] == 1
    assert result["secret_keys"] == ["client_id", "signing_key"]


def test_globals_merge_with_the_function_environment() -> None:
    # GIVEN a parameter default, a boolean and a function-only variable THEN all reach the handler as strings
    environment = run_echo()["environment"]
    assert environment["GREETING"] == "hello"
    assert environment["DEBUG_ENABLED"] == "false"
    assert environment["ECHO_ONLY"] == "yes"


def test_context_carries_the_function_settings() -> None:
    # GIVEN Timeout 7 on the function and MemorySize 256 in Globals THEN the context says so
    assert run_echo()["context"] == {
        "function_name": "EchoFunction",
        "timeout_ms": 7000,
        "memory_limit_in_mb": 256,
    }


def test_env_vars_parameters_section_applies_to_every_function(tmp_path: Path) -> None:
    # GIVEN an env-vars file with a "Parameters" section WHEN invoked THEN its value wins over the template
    env_vars = write_json(tmp_path / "env.json", {"Parameters": {"GREETING": "hi"}})
    assert run_echo("--env-vars", str(env_vars))["environment"]["GREETING"] == "hi"


def test_env_vars_function_section_wins_over_parameters(tmp_path: Path) -> None:
    # GIVEN the same variable in "Parameters" and in the function's section THEN the function's wins
    env_vars = write_json(
        tmp_path / "env.json", {"Parameters": {"ECHO_ONLY": "all"}, "EchoFunction": {"ECHO_ONLY": "mine"}}
    )
    assert run_echo("--env-vars", str(env_vars))["environment"]["ECHO_ONLY"] == "mine"


def test_env_vars_section_of_another_function_is_not_applied(tmp_path: Path) -> None:
    env_vars = write_json(tmp_path / "env.json", {"FailingFunction": {"GREETING": "not for echo"}})
    assert run_echo("--env-vars", str(env_vars))["environment"]["GREETING"] == "hello"


def test_env_vars_non_string_values_are_stringified_like_sam(tmp_path: Path) -> None:
    env_vars = write_json(tmp_path / "env.json", {"EchoFunction": {"DEBUG_ENABLED": True, "GREETING": 42}})
    environment = run_echo("--env-vars", str(env_vars))["environment"]
    assert (environment["DEBUG_ENABLED"], environment["GREETING"]) == ("true", "42")


def test_undeclared_env_var_is_ignored_with_a_warning(tmp_path: Path) -> None:
    # GIVEN an override for a variable the template does not declare THEN SAM ignores it; we say so
    env_vars = write_json(tmp_path / "env.json", {"EchoFunction": {"UNDECLARED": "x"}})
    status, stdout, stderr = run("EchoFunction", "--event", str(EVENT), "--env-vars", str(env_vars))
    assert status == invoke.EXIT_OK
    assert json.loads(stdout)["environment"]["UNDECLARED"] is None
    assert "ignored: UNDECLARED" in stderr


def test_shell_value_of_a_declared_variable_wins_over_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN GREETING exported in the shell (as with sam local invoke) THEN it replaces the template value
    monkeypatch.setenv("GREETING", "from the shell")
    assert run_echo()["environment"]["GREETING"] == "from the shell"


def test_env_vars_file_wins_over_the_shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GREETING", "from the shell")
    env_vars = write_json(tmp_path / "env.json", {"Parameters": {"GREETING": "from the file"}})
    assert run_echo("--env-vars", str(env_vars))["environment"]["GREETING"] == "from the file"


def test_function_output_goes_to_stderr_not_to_the_result() -> None:
    # GIVEN a handler that prints a log line THEN stdout stays pure JSON and the line is on stderr
    status, stdout, stderr = run("EchoFunction", "--event", str(EVENT))
    assert status == invoke.EXIT_OK
    json.loads(stdout)
    assert "a line the function logs" in stderr


def test_environment_is_restored_after_the_invocation() -> None:
    # GIVEN an invocation WHEN it returns THEN none of its variables is left in this process
    before = dict(os.environ)
    run_echo()
    assert dict(os.environ) == before


def test_unknown_function_is_a_usage_error_listing_the_functions() -> None:
    status, stdout, stderr = run("NoSuchFunction", "--event", str(EVENT))
    assert status == invoke.EXIT_USAGE
    assert stdout == ""
    assert "no function 'NoSuchFunction'" in stderr
    assert "EchoFunction" in stderr


def test_missing_event_file_is_a_usage_error(tmp_path: Path) -> None:
    status, _, stderr = run("EchoFunction", "--event", str(tmp_path / "absent.json"))
    assert status == invoke.EXIT_USAGE
    assert "event file not found" in stderr


def test_event_that_is_not_json_is_a_usage_error_with_its_position(tmp_path: Path) -> None:
    event = tmp_path / "broken.json"
    event.write_text('{"a": 1,\n  oops}', encoding="utf-8")
    status, _, stderr = run("EchoFunction", "--event", str(event))
    assert status == invoke.EXIT_USAGE
    assert "is not valid JSON" in stderr
    assert "line 2" in stderr


def test_env_vars_file_of_the_wrong_shape_is_a_usage_error(tmp_path: Path) -> None:
    env_vars = write_json(tmp_path / "env.json", {"GREETING": "top-level values are not sections"})
    status, _, stderr = run("EchoFunction", "--event", str(EVENT), "--env-vars", str(env_vars))
    assert status == invoke.EXIT_USAGE
    assert "env-vars file must look like" in stderr


def test_env_vars_value_that_is_an_object_is_a_usage_error(tmp_path: Path) -> None:
    env_vars = write_json(tmp_path / "env.json", {"EchoFunction": {"GREETING": {"nested": 1}}})
    status, _, stderr = run("EchoFunction", "--event", str(EVENT), "--env-vars", str(env_vars))
    assert status == invoke.EXIT_USAGE
    assert "GREETING must be a string" in stderr


def test_missing_handler_file_is_a_usage_error() -> None:
    status, _, stderr = run("MissingCodeFunction", "--event", str(EVENT))
    assert status == invoke.EXIT_USAGE
    assert "no_such_folder" in stderr


def test_handler_exception_exits_non_zero_with_lambda_style_error() -> None:
    # GIVEN a handler that raises WHEN invoked THEN exit 1, the error as JSON on stdout, traceback on stderr
    status, stdout, stderr = run("FailingFunction", "--event", str(EVENT))
    assert status == invoke.EXIT_FUNCTION_FAILED
    assert json.loads(stdout) == {"errorType": "ValueError", "errorMessage": "the handler gave up"}
    assert "Traceback" in stderr


def test_result_that_is_not_json_fails_like_lambda() -> None:
    status, stdout, stderr = run("NotJsonFunction", "--event", str(EVENT))
    assert status == invoke.EXIT_FUNCTION_FAILED
    assert stdout == ""
    assert "not JSON-serializable" in stderr


def test_unreadable_template_is_a_usage_error(tmp_path: Path) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = invoke.main(
        ["EchoFunction", "--event", str(EVENT), "--template", str(tmp_path / "none.yaml")],
        stdout=stdout,
        stderr=stderr,
    )
    assert status == invoke.EXIT_USAGE
    assert "cannot read template" in stderr.getvalue()
