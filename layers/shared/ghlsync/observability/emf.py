"""EMF records for the catalog's metrics: several dimension sets, value lists, properties.

Powertools' `Metrics` carries one dimension set per flush; an operator's metric needs two (by app
for the widgets, stack-wide for the alarms) and the ids that must not be dimensions as properties
(catalog module docstring). One record is one JSON line on stdout, which Lambda sends to
CloudWatch Logs, where EMF turns it into metrics; a list of values is a distribution, from which
CloudWatch computes percentiles (p50/p95/p99).
"""

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ghlsync.observability.catalog import CATALOG

DEFAULT_NAMESPACE = "GhlSync"


def namespace() -> str:
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE


def service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or "ghl-sync"


def emf_record(
    values: Mapping[str, float | Sequence[float]],
    *,
    dimensions: Mapping[str, str],
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The EMF document for catalog metrics sharing `dimensions` (`service` is added). Raises
    KeyError for a name not in the catalog and ValueError for a dimension its spec lacks."""
    dims = {"service": service(), **dimensions}
    directives = []
    for name in values:
        spec = CATALOG[name]
        wanted = {d for dims_set in spec.dimension_sets for d in dims_set}
        if wanted != set(dims):
            raise ValueError(f"{name} is emitted with dimensions {sorted(wanted)}, not {sorted(dims)}")
        metric: dict[str, Any] = {"Name": name, "Unit": spec.unit}
        if spec.high_resolution:
            metric["StorageResolution"] = 1
        sets = [list(s) for s in spec.dimension_sets]
        directives.append({"Namespace": namespace(), "Dimensions": sets, "Metrics": [metric]})
    document: dict[str, Any] = {
        **(properties or {}),
        **dims,
        **{name: list(v) if isinstance(v, Sequence) else v for name, v in values.items()},
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": directives,
        },
    }
    return document


def emit(
    values: Mapping[str, float | Sequence[float]],
    *,
    dimensions: Mapping[str, str],
    properties: Mapping[str, Any] | None = None,
) -> None:
    """Write one EMF record (see `emf_record`) to stdout, where Lambda's log capture takes it."""
    record = emf_record(values, dimensions=dimensions, properties=properties)
    sys.stdout.write(json.dumps(record, default=str) + "\n")
