"""bench: the runner's table output and the cold-start baseline's choice of modules."""

from bench.__main__ import benchmark_names, format_result, format_table
from bench.cold_start import ImportRun, dependency_imports


def test_runner_finds_benchmark_modules_with_run() -> None:
    # GIVEN the bench package THEN cold_start is a benchmark and the runner itself is not
    names = benchmark_names()
    assert "cold_start" in names
    assert "sweep_cost" in names
    assert "__main__" not in names


def test_nested_results_print_as_an_aligned_table() -> None:
    # GIVEN rows of figures WHEN formatted THEN one header, one rule and one right-aligned line per row
    lines = format_table({"A": {"ms": 1234.5, "ok": True}, "Longer": {"ms": 2.0, "ok": False}})
    assert lines == [
        "              ms   ok",
        "------  --------  ---",
        "A       1,234.50  yes",
        "Longer      2.00   no",
    ]


def test_scalar_results_print_as_name_value_lines() -> None:
    assert (
        format_result("demo", {"goal_ratio": 1.15, "repeats": 5})
        == "== demo ==\ngoal_ratio: 1.15\nrepeats: 5"
    )


def test_baseline_imports_what_our_code_imports_first_then_lazily_loaded_modules() -> None:
    # GIVEN a handler run: our code imported httpx and botocore.exceptions; the tracer later loaded xray
    discovery = ImportRun(
        seconds=1.0,
        cpu_seconds=1.0,
        added=["app", "ghlsync", "json", "httpx", "botocore", "botocore.exceptions", "aws_xray_sdk"],
        imported_by_own=["json", "httpx", "ghlsync.config", "botocore.exceptions"],
    )
    # WHEN the baseline is chosen THEN it is third-party only, entry points first, without duplicates
    assert dependency_imports(discovery, "app") == [
        "httpx",
        "botocore.exceptions",
        "botocore",
        "aws_xray_sdk",
    ]
