"""Run one function of template.yaml on this machine, without Docker: `sam local invoke` for ghl-sync.

    python -m sandbox.stack.invoke <LogicalId> --event events/<file>.json [--env-vars env.json]

What it does, in order:
1. reads the template and the function (Globals merged in), the event and the --env-vars file;
2. starts moto in-process, unless AWS_ENDPOINT_URL points at a running moto server, and creates
   the template's tables, queues and secrets there (sandbox.stack.aws), with fake credentials;
3. builds the function's environment like `sam local invoke`: template values (intrinsics resolved
   against the local resources), then the shell's value for a declared variable, then the
   --env-vars file ("Parameters" for every function, then the function's own section); a variable
   the template does not declare is ignored, as SAM ignores it (a warning says so);
4. imports <CodeUri>/<module>.py, calls the handler with a Lambda-like context (name, timeout and
   memory from the template) and prints the result as JSON on stdout.

The function's own output (logs, EMF metrics) goes to stderr, so stdout is only the result.
Exit status: 0 result printed; 1 the function failed (import error, exception, result that is not
JSON); 2 the invocation itself is wrong (unknown function, unreadable event or env-vars file,
template or provisioning error).
"""

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from moto import mock_aws

from sandbox.stack import moto_scale
from sandbox.stack.aws import ProvisioningError, provision
from sandbox.stack.lambda_runtime import LambdaContext, load_handler
from sandbox.stack.template import (
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    DEFAULT_TEMPLATE,
    FunctionSpec,
    Template,
    TemplateError,
    load_template,
)

EXIT_OK = 0
EXIT_FUNCTION_FAILED = 1
EXIT_USAGE = 2

# Credentials that cannot reach a real account: a local run must never touch real AWS.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class InvocationError(Exception):
    """The invocation cannot start: the message says what to fix."""


def read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InvocationError(f"{what} file not found: {path}") from error
    except OSError as error:
        raise InvocationError(f"cannot read {what} file {path}: {error.strerror}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvocationError(
            f"{what} file {path} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from error


def env_var_overrides(document: Any, logical_id: str) -> dict[str, str]:
    """The --env-vars values for one function: "Parameters" first, the function's own section wins."""
    if not isinstance(document, dict) or not all(isinstance(section, dict) for section in document.values()):
        raise InvocationError(
            'env-vars file must look like {"<LogicalId>": {"VAR": "value"}, "Parameters": {"VAR": "value"}}'
        )
    merged = {**document.get("Parameters", {}), **document.get(logical_id, {})}
    for name, value in merged.items():
        if isinstance(value, dict | list):
            raise InvocationError(f"env-vars value of {name} must be a string, number or boolean")
    return {name: _env_string(value) for name, value in merged.items()}


def function_environment(
    declared: Mapping[str, str],
    shell: Mapping[str, str],
    overrides: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    """SAM's precedence for declared variables: template < shell < env-vars file.

    Returns the environment and the override names that were ignored because the template does
    not declare them.
    """
    environment = {name: overrides.get(name, shell.get(name, value)) for name, value in declared.items()}
    ignored = sorted(set(overrides) - set(declared))
    return environment, ignored


def lambda_runtime_environment(function: FunctionSpec, region: str) -> dict[str, str]:
    """What the Lambda runtime sets; AWS_SAM_LOCAL also tells Powertools not to send traces."""
    return {
        "AWS_SAM_LOCAL": "true",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "$LATEST",
        "_HANDLER": function.handler,
    }


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the duration of one invocation; the previous environment comes back after."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def aws_backend() -> contextlib.AbstractContextManager[Any]:
    """moto in-process, unless the developer runs a moto server and points AWS_ENDPOINT_URL at it."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return contextlib.nullcontext()
    moto_scale.install()
    return mock_aws()


def invoke(
    template: Template,
    logical_id: str,
    event: Any,
    env_vars_document: Any = None,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    log: TextIO = sys.stderr,
) -> Any:
    """Provision the template locally and run one function on `event`; returns the handler's result.

    Raises InvocationError (or TemplateError / ProvisioningError) when the invocation cannot start;
    whatever the handler raises propagates unchanged.
    """
    function = template.function(logical_id)
    if not function.handler_file.is_file():
        raise InvocationError(f"{logical_id}: handler file {function.handler_file} does not exist")
    overrides = env_var_overrides(env_vars_document or {}, logical_id)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    with (
        patched_environ({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region}),
        aws_backend(),
    ):
        stack = provision(template, stack_name=stack_name)
        declared = stack.function_environment(logical_id)
        environment, ignored = function_environment(declared, os.environ, overrides)
        if ignored:
            print(
                f"warning: not declared in the template for {logical_id}, ignored: {', '.join(ignored)}",
                file=log,
            )
        with patched_environ({**environment, **lambda_runtime_environment(function, region)}):
            handler = load_handler(function.code_dir, function.handler)
            context = LambdaContext(
                function_name=logical_id,
                memory_limit_in_mb=function.memory_size,
                timeout_seconds=function.timeout,
                log_group_name=f"/aws/lambda/{logical_id}",
            )
            return handler(event, context)


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    arguments = _parser().parse_args(argv)
    try:
        template = load_template(arguments.template)
        event = read_json(arguments.event, "event")
        env_vars_document = read_json(arguments.env_vars, "env-vars") if arguments.env_vars else None
    except (InvocationError, TemplateError) as error:
        print(f"error: {error}", file=err)
        return EXIT_USAGE
    try:
        # The function writes logs and EMF metrics to stdout, as in Lambda; here stdout is the result.
        with contextlib.redirect_stdout(err):
            result = invoke(template, arguments.function, event, env_vars_document, log=err)
    except (InvocationError, TemplateError, ProvisioningError) as error:
        print(f"error: {error}", file=err)
        return EXIT_USAGE
    except Exception as error:
        traceback.print_exc(file=err)
        print(json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}), file=out)
        return EXIT_FUNCTION_FAILED
    try:
        print(json.dumps(result, indent=2), file=out)
    except (TypeError, ValueError) as error:
        print(f"error: the result is not JSON-serializable, Lambda would fail too: {error}", file=err)
        return EXIT_FUNCTION_FAILED
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.stack.invoke",
        description="Run one template.yaml function locally against moto (no Docker).",
    )
    parser.add_argument(
        "function", help="the function's logical id in the template, e.g. TokenRefreshFunction"
    )
    parser.add_argument("--event", "-e", type=Path, required=True, help="JSON event file, e.g. events/x.json")
    parser.add_argument(
        "--env-vars",
        "-n",
        type=Path,
        help='JSON overrides, as for sam local invoke: {"<LogicalId>": {...}, "Parameters": {...}}',
    )
    parser.add_argument(
        "--template", "-t", type=Path, default=DEFAULT_TEMPLATE, help="default: template.yaml"
    )
    return parser


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
