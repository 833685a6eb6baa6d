"""Cold start: what each handler's import costs beyond its third-party dependencies.

For every function in template.yaml whose handler file exists:
1. discover, in a fresh interpreter, which modules importing the handler adds whose top-level
   package is third-party (not the standard library, not ghlsync, not the handler itself);
2. time, each in a fresh interpreter and `repeats` times (alternating), the import of the handler
   and the import of those third-party modules alone, in the order the handler imported them;
3. report the medians and ratio = handler / dependencies. Goal: ratio <= 1.15 (our code,
   module-level setup included, adds at most 15 % to what the dependencies cost anyway).

The figures are CPU time of the import (time.process_time): an import is CPU-bound, and CPU time
is far less disturbed than wall time by other work on a shared machine. The handler's median wall
time is reported beside them.

The baseline imports the exact third-party modules (not just top-level packages): packages like
Powertools load submodules lazily, so importing only `aws_lambda_powertools` would understate
the dependencies and overstate our share. Interpreter start-up is excluded from both timings.
The interpreter runs with the function's environment as in Lambda (tracing on, as `Tracing:
Active` makes it), against names provisioned in moto; nothing is contacted at import time.
"""

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from moto import mock_aws

from sandbox.aws import provision
from sandbox.invoke import FAKE_CREDENTIALS, lambda_runtime_environment
from sandbox.lambda_runtime import LAYER_DIR
from sandbox.template import DEFAULT_REGION, FunctionSpec, Template, load_template

GOAL_RATIO = 1.15
OWN_TOP_LEVEL = frozenset({"ghlsync", "__main__"})

# Runs in the fresh interpreter: imports the listed modules (skipping those an earlier one already
# loaded), reports the time, the modules added, and the absolute imports made by `own` packages.
_CHILD = """
import builtins, importlib, json, sys, time
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["path"]
own, imported_by_own = set(spec["own"]), []
plain_import = builtins.__import__
def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
    module = plain_import(name, globals, locals, fromlist, level)
    if level == 0 and (globals or {}).get("__name__", "").split(".")[0] in own:
        imported_by_own.append(name)
        imported_by_own.extend(f"{name}.{item}" for item in fromlist or () if f"{name}.{item}" in sys.modules)
    return module
if own:
    builtins.__import__ = recording_import
before = set(sys.modules)
start, start_cpu = time.perf_counter(), time.process_time()
for name in spec["imports"]:
    if name not in sys.modules:
        importlib.import_module(name)
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
added = [
    n for n, m in list(sys.modules.items()) if n not in before and getattr(m, "__spec__", None) is not None
]
report = {"seconds": seconds, "cpu_seconds": cpu_seconds, "added": added, "imported_by_own": imported_by_own}
print(json.dumps(report))
"""


@dataclass(frozen=True)
class ImportRun:
    seconds: float
    cpu_seconds: float
    added: list[str]
    imported_by_own: list[str]


def run(repeats: int = 5) -> dict[str, Any]:
    template = load_template()
    functions = [function for function in template.functions() if function.handler_file.is_file()]
    environments = _function_environments(template, functions)
    results = {
        function.logical_id: _measure(function, environments[function.logical_id], repeats)
        for function in functions
    }
    return {"goal_ratio": GOAL_RATIO, "repeats": repeats, "functions": results}


def dependency_imports(discovery: ImportRun, handler_module: str) -> list[str]:
    """The third-party modules to import for the baseline, in an order that imports cleanly.

    First what our code imports itself (each pulls in its own dependencies the way it does under
    the handler), then any third-party module still missing: those loaded lazily by calls our
    module-level code makes (the tracer loads the X-Ray SDK), in the order they were loaded.
    Replaying sys.modules alone is not enough: its order breaks on circular imports.
    """
    excluded = {*sys.stdlib_module_names, *OWN_TOP_LEVEL, handler_module.split(".")[0]}
    third_party = [
        name for name in [*discovery.imported_by_own, *discovery.added] if name.split(".")[0] not in excluded
    ]
    return list(dict.fromkeys(third_party))


def _measure(function: FunctionSpec, environment: dict[str, str], repeats: int) -> dict[str, Any]:
    module = function.handler.rpartition(".")[0]
    path = [str(function.code_dir), str(LAYER_DIR)]
    own = [*OWN_TOP_LEVEL, module.split(".")[0]]
    discovery = _import_in_fresh_interpreter([module], path, environment, record_imports_of=own)
    dependencies = dependency_imports(discovery, module)
    # One untimed run of the dependencies too, so both sides start with compiled bytecode on disk.
    _import_in_fresh_interpreter(dependencies, path, environment)
    handler_runs, dependency_runs = [], []
    for _ in range(repeats):
        handler_runs.append(_import_in_fresh_interpreter([module], path, environment))
        dependency_runs.append(_import_in_fresh_interpreter(dependencies, path, environment))
    handler = statistics.median(run.cpu_seconds for run in handler_runs)
    baseline = statistics.median(run.cpu_seconds for run in dependency_runs)
    ratio = handler / baseline
    return {
        "handler_ms": handler * 1000,
        "dependencies_ms": baseline * 1000,
        "own_ms": (handler - baseline) * 1000,
        "ratio": ratio,
        "within_goal": ratio <= GOAL_RATIO,
        "handler_wall_ms": statistics.median(run.seconds for run in handler_runs) * 1000,
        "third_party_modules": len(dependencies),
    }


def _import_in_fresh_interpreter(
    imports: list[str],
    path: list[str],
    environment: dict[str, str],
    record_imports_of: list[str] | None = None,
) -> ImportRun:
    spec = {"imports": imports, "path": path, "own": record_imports_of or []}
    completed = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", _CHILD, json.dumps(spec)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {imports[:3]}... failed:\n{completed.stderr}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return ImportRun(
        seconds=float(report["seconds"]),
        cpu_seconds=float(report["cpu_seconds"]),
        added=list(report["added"]),
        imported_by_own=list(report["imported_by_own"]),
    )


def _function_environments(template: Template, functions: list[FunctionSpec]) -> dict[str, dict[str, str]]:
    """Each function's Lambda environment, with resource names provisioned in (throwaway) moto."""
    base = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    base.update(FAKE_CREDENTIALS)
    with mock_aws():
        stack = provision(template)
        environments = {}
        for function in functions:
            runtime = lambda_runtime_environment(function, DEFAULT_REGION)
            # In Lambda, tracing is on (Tracing: Active): keep the tracer's import cost in the figure.
            del runtime["AWS_SAM_LOCAL"]
            runtime["LAMBDA_TASK_ROOT"] = str(function.code_dir)
            environments[function.logical_id] = {
                **base,
                **stack.function_environment(function.logical_id),
                **runtime,
            }
    return environments
