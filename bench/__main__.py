"""`python -m bench [name ...]`: run the benchmark modules of this package and print their figures.

A benchmark is a module of `bench` with `run() -> dict`. Nested dicts whose values are all dicts
print as a table (one row per key); other values print as `name: value`.
"""

import importlib
import pkgutil
import sys
import traceback
from collections.abc import Mapping
from typing import Any

import bench


def benchmark_names() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules(bench.__path__)
        if not module.name.startswith("_")
        and callable(getattr(importlib.import_module(f"bench.{module.name}"), "run", None))
    )


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(column for row in rows.values() for column in row))
    cells = [["", *columns]] + [
        [name, *(format_value(row[column]) if column in row else "-" for column in columns)]
        for name, row in rows.items()
    ]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns) + 1)]
    lines = []
    for number, line in enumerate(cells):
        # Names left-aligned, figures right-aligned, a rule under the header.
        lines.append(
            "  ".join(
                cell.ljust(width) if index == 0 else cell.rjust(width)
                for index, (cell, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def format_result(name: str, result: Mapping[str, Any]) -> str:
    lines = [f"== {name} =="]
    for key, value in result.items():
        if isinstance(value, Mapping) and value and all(isinstance(row, Mapping) for row in value.values()):
            lines.append(f"{key}:")
            lines.extend(f"  {line}" for line in format_table(value))
        else:
            lines.append(f"{key}: {format_value(value)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    available = benchmark_names()
    selected = argv or available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr
        )
        return 2
    failed = False
    for name in selected:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            failed = True
            continue
        print(format_result(name, result), flush=True)
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
