"""Sync metrics, by app; the location and the connection ride along as properties (DESIGN §4 rule 8).

Dimensions stay bounded with thousands of locations (ghlsync.observability.catalog): a count is one
EMF record (Powertools `single_metric`) with the `app` dimension and the ids as metadata, which
CloudWatch Logs Insights can group by; the catalog's metrics (latency, conflicts) go through
`ghlsync.observability.emf` with their declared dimension sets. The namespace comes from
POWERTOOLS_METRICS_NAMESPACE.
"""

import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ghlsync.observability import emf, logger

DEFAULT_NAMESPACE = "GhlSync"


class SyncMetrics(Protocol):
    def count(
        self, name: str, *, app: str, location_id: str, connection_id: str | None, value: int = 1
    ) -> None: ...

    def emit(
        self,
        values: Mapping[str, float | Sequence[float]],
        *,
        dimensions: Mapping[str, str],
        location_id: str,
        connection_id: str | None,
    ) -> None:
        """Catalog metrics (`MetricName`) with the dimensions the catalog declares for them."""
        ...


class PowertoolsSyncMetrics:
    def __init__(self, namespace: str | None = None) -> None:
        self._namespace = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE

    def count(
        self, name: str, *, app: str, location_id: str, connection_id: str | None, value: int = 1
    ) -> None:
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=self._namespace,
            default_dimensions={"app": app},
        ) as metric:
            metric.add_metadata(key="location_id", value=location_id)
            metric.add_metadata(key="connection_id", value=connection_id or "none")
        logger.debug(
            "metric",
            extra={
                "metric": name,
                "value": value,
                "app": app,
                "location_id": location_id,
                "connection_id": connection_id,
            },
        )

    def emit(
        self,
        values: Mapping[str, float | Sequence[float]],
        *,
        dimensions: Mapping[str, str],
        location_id: str,
        connection_id: str | None,
    ) -> None:
        emf.emit(
            values,
            dimensions=dimensions,
            properties={"location_id": location_id, "connection_id": connection_id or "none"},
        )
