"""Schedule ticks of the dev stack: ScheduleV2 events of the template, at their rate or faster."""

from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.stack.schedules import Schedule, ScheduleTicker, scheduler_event, schedules_from_template
from sandbox.stack.template import load_template

TEMPLATE = {
    "Parameters": {"Every": {"Type": "String", "Default": "rate(30 minutes)"}},
    "Resources": {
        "Refresh": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Events": {
                    "Tick": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": {"Ref": "Every"}}},
                    "Hook": {"Type": "Api", "Properties": {"Path": "/x", "Method": "get"}},
                }
            },
        },
        "Nightly": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Events": {
                    "Run": {
                        "Type": "ScheduleV2",
                        "Properties": {
                            "ScheduleExpression": "cron(0 3 * * ? *)",
                            "Input": '{"mode": "full"}',
                        },
                    },
                    "Off": {
                        "Type": "ScheduleV2",
                        "Properties": {"ScheduleExpression": "rate(1 minute)", "State": "DISABLED"},
                    },
                }
            },
        },
    },
}


def resolve_defaults(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return TEMPLATE["Parameters"][value["Ref"]]["Default"]  # type: ignore[index]
    if isinstance(value, dict):
        return {k: resolve_defaults(v) for k, v in value.items()}
    return value


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_every_enabled_schedulev2_event_is_found_with_its_resolved_expression() -> None:
    schedules = schedules_from_template(TEMPLATE, resolve_defaults)
    assert [(s.function, s.name, s.expression) for s in schedules] == [
        ("Refresh", "Tick", "rate(30 minutes)"),
        ("Nightly", "Run", "cron(0 3 * * ? *)"),
    ]


def test_the_real_template_schedules_token_refresh() -> None:
    template = load_template()
    schedules = schedules_from_template(template.document, lambda v: resolve_with(template, v))
    assert any(s.function == "TokenRefreshFunction" and s.period_seconds for s in schedules)


def resolve_with(template: Any, value: Any) -> Any:
    from sandbox.stack.template import Intrinsics

    return Intrinsics(parameters=template.parameter_defaults(), resources={}).resolve(value)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60.0),
        ("rate(30 minutes)", 1800.0),
        ("rate(2 hours)", 7200.0),
        ("rate(1 day)", 86400.0),
    ],
)
def test_rate_expressions_become_periods(expression: str, seconds: float) -> None:
    assert Schedule("F", "E", expression).period_seconds == seconds


def test_cron_is_not_ticked_locally() -> None:
    assert Schedule("F", "E", "cron(0 3 * * ? *)").period_seconds is None


def test_event_without_input_is_the_schedulers_envelope() -> None:
    event = scheduler_event(
        Schedule("Refresh", "Tick", "rate(30 minutes)"), now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    assert event["source"] == "aws.scheduler"
    assert event["detail-type"] == "Scheduled Event"
    assert event["detail"] == "{}"
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["resources"][0].startswith("arn:aws:scheduler:us-east-1:")
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }


def test_event_with_input_is_that_input() -> None:
    assert scheduler_event(Schedule("N", "Run", "cron(0 3 * * ? *)", '{"mode": "full"}')) == {"mode": "full"}


def test_ticker_fires_at_the_accelerated_rate() -> None:
    # GIVEN a 30-minute schedule run 60 times faster, on a fake clock
    clock = FakeClock()
    fired: list[str] = []
    ticker = ScheduleTicker(
        [Schedule("Refresh", "Tick", "rate(30 minutes)")],
        lambda function, event: fired.append(function),
        speed=60,
        clock=clock,
    )
    ticker.arm()
    # WHEN 29 s pass, then 30 s, then another 30 s
    clock.now += 29
    ticker.run_due()
    assert fired == []
    clock.now += 1
    ticker.run_due()
    clock.now += 30
    ticker.run_due()
    # THEN it fired once per 30 s
    assert fired == ["Refresh", "Refresh"]


def test_a_failing_tick_is_logged_and_the_ticker_goes_on() -> None:
    logged: list[str] = []

    def boom(function: str, event: dict[str, Any]) -> None:
        raise RuntimeError("refresh failed")

    ticker = ScheduleTicker([Schedule("Refresh", "Tick", "rate(1 minute)")], boom, log=logged.append)
    assert ticker.tick(ticker.find("Refresh")) is None
    assert any("tick failed: RuntimeError: refresh failed" in line for line in logged)
