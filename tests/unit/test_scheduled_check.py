"""The scheduled check's bookkeeping without an app: which connections it checks, and a connection
whose connector cannot be built (its stored settings or secret are broken)."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ghlsync.apps.registry import spec_for
from ghlsync.observability.catalog import MetricName
from ghlsync.scheduled_check import ScheduledCheck, last_verdict
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.connections import Connection, ConnectionStatus, ConnectionStore
from ghlsync.store.tenants import Tenant, TenantStatus, TenantStore
from tests.unit.test_engine_fakes import aws_env, table

__all__ = ["aws_env", "table"]

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class SecretGone(Exception):
    """What building the connector raises when the connection's secret was deleted."""


def _check(table: Any, built: list[str]) -> ScheduledCheck:
    def app_for(connection: Connection) -> Any:
        built.append(connection.connection_id)
        raise SecretGone("no secret for the connection (token tok-123 was in it)")

    return ScheduledCheck(
        connections=ConnectionStore(table),
        tenants=TenantStore(table),
        checkpoints=CheckpointStore(table),
        app_for=app_for,
        credentials_for=lambda _connection_id: {},
        spec_for=spec_for,
        clock=lambda: NOW,
    )


def _connection(table: Any, connection_id: str, location_id: str = "loc1") -> None:
    ConnectionStore(table).put(Connection(connection_id=connection_id, location_id=location_id, app="kayako"))


def test_a_connection_that_cannot_be_built_fails_at_setup_and_the_run_goes_on(
    table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two connections whose connectors cannot be built
    _connection(table, "conn1")
    _connection(table, "conn2")
    built: list[str] = []
    # WHEN the check runs
    summary = _check(table, built).run(lambda: 300_000)
    # THEN both were tried and failed at setup, each verdict is stored and each counts 1 for the alarm
    assert sorted(built) == sorted(summary.failed) == ["conn1", "conn2"]
    verdict = last_verdict(CheckpointStore(table), "conn1")
    assert verdict is not None and verdict.checked_at == NOW and list(verdict.failed) == ["setup"]
    assert verdict.summary == "failed: setup" and "SecretGone" in verdict.failed["setup"]
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [
        r[MetricName.CONNECTION_CHECK_FAILED] for r in records if MetricName.CONNECTION_CHECK_FAILED in r
    ] == [1, 1]


def test_disabled_connections_and_tenants_not_active_are_not_checked(table: Any) -> None:
    # GIVEN a disabled connection, and one of a tenant that must reconnect
    _connection(table, "conn-off")
    ConnectionStore(table).set_status("conn-off", ConnectionStatus.DISABLED)
    TenantStore(table).register(Tenant(location_id="loc2", installed_at=NOW))
    TenantStore(table).set_status("loc2", TenantStatus.RECONNECT_NEEDED)
    _connection(table, "conn-reconnect", location_id="loc2")
    built: list[str] = []
    # WHEN the check runs
    summary = _check(table, built).run(lambda: 300_000)
    # THEN neither was called, and no verdict was written
    assert (built, summary.checked, summary.skipped) == ([], 0, 2)
    assert last_verdict(CheckpointStore(table), "conn-off") is None


def test_connections_left_when_time_runs_out_are_not_reached(table: Any) -> None:
    # GIVEN a connection and an invocation with less time left than the reserve
    _connection(table, "conn1")
    built: list[str] = []
    # WHEN the check runs
    summary = _check(table, built).run(lambda: 1_000)
    # THEN it is left for the next run
    assert (built, summary.not_reached) == ([], 1)
