"""Cold start: what each handler's import costs beyond its third-party dependencies.

For every function in template.yaml whose handler file exists:
1. discover, in a fresh interpreter, which modules importing the handler adds whose top-level
   package is third-party (not the standard library, not ghlsync, not the handler itself);
2. time, each in a fresh interpreter and `repeats` times, a pair of imports back to back: the
   handler and those third-party modules alone (in the order the handler imported them), which
   one goes first alternating from pair to pair;
3. report ratio = handler / dependencies, the median over the pairs. Goal: ratio <= 1.15 (our
   code, module-level setup included, adds at most 15 % to what the dependencies cost anyway).

The figures are CPU time of the import (time.process_time): an import is CPU-bound, and CPU time
is far less disturbed than wall time by other work on a shared machine. Far less, not immune: on a
busy (virtual) machine a run can cost 1.5x the CPU of a quiet one, and that factor drifts. Both
runs of a pair see about the same factor, so the ratio is taken within each pair; ratio_iqr (the
pair ratios' interquartile range) shows how far to trust it: wider than a few hundredths means the
machine was too busy, measure again. handler_ms and dependencies_ms are each side's median,
own_ms the median of the pairs' differences; the handler's median wall time is reported beside.

The baseline imports the exact third-party modules (not just top-level packages): packages like
Powertools load submodules lazily, so importing only `aws_lambda_powertools` would understate
the dependencies and overstate our share. Only what the handler loads at import counts, on both
sides: a module our code imports at its first call (a deferred import) is in neither. Each run
checks that the baseline loaded exactly the non-own modules the handler did (standard library
included), so neither side pays for a module the other skips. Interpreter start-up is excluded.
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

from sandbox.stack.aws import provision
from sandbox.stack.invoke import FAKE_CREDENTIALS, lambda_runtime_environment
from sandbox.stack.lambda_runtime import LAYER_DIR
from sandbox.stack.template import DEFAULT_REGION, FunctionSpec, Template, load_template

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
# Only modules under their own name: aliases (requests.packages.urllib3.* are the urllib3 modules)
# cost nothing, and which ones exist depends on import order.
added = [
    n for n, m in list(sys.modules.items())
    if n not in before and getattr(m, "__spec__", None) is not None and m.__spec__.name == n
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


def run(repeats: int = 7) -> dict[str, Any]:
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
    pairs = []
    for index in range(repeats):
        if index % 2 == 0:
            handler_run = _import_in_fresh_interpreter([module], path, environment)
            dependency_run = _import_in_fresh_interpreter(dependencies, path, environment)
        else:
            dependency_run = _import_in_fresh_interpreter(dependencies, path, environment)
            handler_run = _import_in_fresh_interpreter([module], path, environment)
        _check_same_dependencies(handler_run, dependency_run, own)
        pairs.append((handler_run, dependency_run))
    ratios = [handler.cpu_seconds / baseline.cpu_seconds for handler, baseline in pairs]
    ratio = statistics.median(ratios)
    first_quartile, _, third_quartile = statistics.quantiles(ratios, n=4)
    return {
        "handler_ms": statistics.median(handler.cpu_seconds for handler, _ in pairs) * 1000,
        "dependencies_ms": statistics.median(baseline.cpu_seconds for _, baseline in pairs) * 1000,
        "own_ms": statistics.median(handler.cpu_seconds - baseline.cpu_seconds for handler, baseline in pairs)
        * 1000,
        "ratio": ratio,
        "ratio_iqr": f"{first_quartile:.2f}-{third_quartile:.2f}",
        "within_goal": ratio <= GOAL_RATIO,
        "handler_wall_ms": statistics.median(handler.seconds for handler, _ in pairs) * 1000,
        "third_party_modules": len(dependencies),
    }


def _check_same_dependencies(handler: ImportRun, baseline: ImportRun, own: list[str]) -> None:
    """The baseline is only a fair denominator if it loads what the handler loads, minus our code."""
    loaded_by_handler = {name for name in handler.added if name.split(".")[0] not in own}
    if loaded_by_handler != set(baseline.added):
        only_handler = sorted(loaded_by_handler - set(baseline.added))
        only_baseline = sorted(set(baseline.added) - loaded_by_handler)
        raise RuntimeError(
            f"the baseline does not load the handler's dependencies: only the handler loaded "
            f"{only_handler[:10]}, only the baseline {only_baseline[:10]}"
        )


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
