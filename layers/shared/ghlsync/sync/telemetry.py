"""Sync metrics, per location and connection (DESIGN §4 rule 8).

Each count is one EMF record with `location` and `connection` dimensions (Powertools
`single_metric`): the shared `Metrics` object carries one dimension set per flush, which cannot
tell connections apart within a batch. The namespace comes from POWERTOOLS_METRICS_NAMESPACE.
"""

import os
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ghlsync.observability import logger

DEFAULT_NAMESPACE = "GhlSync"


class SyncMetrics(Protocol):
    def count(self, name: str, *, location_id: str, connection_id: str | None, value: int = 1) -> None: ...


class PowertoolsSyncMetrics:
    def __init__(self, namespace: str | None = None) -> None:
        self._namespace = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE

    def count(self, name: str, *, location_id: str, connection_id: str | None, value: int = 1) -> None:
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=self._namespace,
            default_dimensions={"location": location_id, "connection": connection_id or "none"},
        ):
            pass
        logger.debug(
            "metric",
            extra={
                "metric": name,
                "value": value,
                "location_id": location_id,
                "connection_id": connection_id,
            },
        )
