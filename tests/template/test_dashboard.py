"""The dashboard and the alarms name only metrics the code emits (ghlsync.observability.catalog),
in the namespace the functions emit into and with dimensions the code gives them."""

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghlsync.observability.catalog import CATALOG, DECISIONS, MetricName, sync_outcome_metric
from ghlsync.sync.outcome import Decision
from sandbox.stack.template import REPO_ROOT, load_template

TEMPLATE = load_template(REPO_ROOT / "template.yaml")
NAMESPACE = TEMPLATE.global_function_properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = TEMPLATE.global_function_properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s+MetricName=\"([^\"]+)\"")
CODE = [REPO_ROOT / "layers" / "shared" / "ghlsync", REPO_ROOT / "functions"]
CATALOG_MODULE = REPO_ROOT / "layers" / "shared" / "ghlsync" / "observability" / "catalog.py"


def _dashboard() -> dict[str, Any]:
    [dashboard] = TEMPLATE.resources_of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    # Placeholders become numbers (thresholds) or strings (ARNs, names); only the JSON shape matters.
    return json.loads(
        re.sub(r'"\$\{[^}]+\}"|\$\{[^}]+\}', lambda m: '"x"' if m[0].startswith('"') else "1", body)
    )


def _named_metrics() -> Iterator[tuple[str, str, str, frozenset[str]]]:
    """(where, namespace, metric name, dimension names) of every metric a widget or alarm names."""
    for index, widget in enumerate(_dashboard()["widgets"]):
        for row in widget["properties"].get("metrics", []):
            where = f"widget {index} ({widget['properties'].get('title')})"
            if isinstance(row[0], dict):
                [(dims, name)] = SEARCH.findall(row[0]["expression"])
                namespace, *dimensions = (part.strip() for part in dims.split(","))
                yield where, namespace, name, frozenset(dimensions)
            else:
                namespace, name, *rest = [item for item in row if not isinstance(item, dict)]
                yield where, namespace, name, frozenset(rest[0::2])
    for logical_id, alarm in TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        dimensions = frozenset(d["Name"] for d in props.get("Dimensions", []))
        yield f"alarm {logical_id}", props["Namespace"], props["MetricName"], dimensions


OURS = [m for m in _named_metrics() if not m[1].startswith("AWS/")]


def test_the_stack_has_one_dashboard_with_the_operators_widgets() -> None:
    # GIVEN the template's dashboard
    widgets = _dashboard()["widgets"]
    # WHEN the metrics its widgets name are collected
    named = {name for where, _, name, _ in _named_metrics() if where.startswith("widget")}
    # THEN latency, API usage, budget, queue age, DLQ depth, sweep lag, conflicts, tokens, connection
    # checks and bulk syncs are there
    assert len(TEMPLATE.resources_of_type("AWS::CloudWatch::Dashboard")) == 1
    assert widgets[0]["type"] == "alarm"
    assert {
        MetricName.SYNC_LATENCY_FROM_SOURCE,
        MetricName.SYNC_LATENCY_FROM_RECEIPT,
        MetricName.OUTBOUND_CALLS,
        MetricName.API_DAILY_HEADROOM,
        MetricName.SWEEP_LAG,
        MetricName.CONFLICTS_OPENED,
        MetricName.CONFLICTS_RESOLVED,
        MetricName.TOKEN_REFRESH_FAILED,
        MetricName.TOKEN_RECONNECT_NEEDED,
        MetricName.CONNECTION_CHECK_FAILED,
        MetricName.BULK_SYNC_IDLE,
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
    } <= named


@pytest.mark.parametrize(("where", "namespace", "name", "dimensions"), OURS, ids=[m[0] for m in OURS])
def test_a_named_metric_is_one_the_code_emits(
    where: str, namespace: str, name: str, dimensions: frozenset[str]
) -> None:
    # GIVEN a metric a widget or an alarm names in the stack's own namespace
    # WHEN it is looked up in the catalog the code emits from
    spec = CATALOG.get(name)
    # THEN it is there, in the functions' namespace, with one of the dimension sets it is emitted with
    assert namespace == NAMESPACE
    assert spec is not None, f"{where} names {name}, which no code emits"
    assert dimensions in {frozenset(s) for s in spec.dimension_sets}, (
        f"{where}: {name} by {sorted(dimensions)}"
    )


def test_alarms_and_widgets_filter_on_the_functions_service_name() -> None:
    # GIVEN every explicit `service` dimension value in the alarms
    values = {
        d["Value"]
        for alarm in TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm").values()
        for d in alarm["Properties"].get("Dimensions", [])
        if d["Name"] == "service"
    }
    # THEN it is the service name the functions emit with
    assert values == {SERVICE}


def _names_used_in_code() -> set[str]:
    """`MetricName.X` attributes used by modules other than the catalog itself."""
    used: set[str] = set()
    for root in CODE:
        for path in Path(root).rglob("*.py"):
            if path == CATALOG_MODULE:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                if named and node.value.id == "MetricName":  # type: ignore[attr-defined]
                    used.add(node.attr)  # type: ignore[attr-defined]
    return used


def test_every_catalog_name_is_emitted_by_some_module() -> None:
    # GIVEN the catalog's names and the modules of the layer and the functions
    # WHEN the names the code emits through are collected
    used = _names_used_in_code()
    # THEN no catalog entry is a name nothing emits
    assert {member.name for member in MetricName} - used == set()


def test_the_workers_outcome_counts_are_the_engines_decisions() -> None:
    # GIVEN the engine's decisions, less `failed` (a failure is retried or dead-lettered, not counted)
    handled = {d.value for d in Decision} - {Decision.FAILED.value}
    # THEN the catalog's outcome counts are exactly those
    assert set(DECISIONS) == handled
    assert {sync_outcome_metric(d) for d in DECISIONS} <= set(CATALOG)
