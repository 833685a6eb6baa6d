"""Outbound calls as metrics: endpoint families without ids, outcomes by error class."""

import json

import httpx
import pytest

from ghlsync.core.errors import ConnectorError, RateLimited, ServerError
from ghlsync.http.call import Call
from ghlsync.observability.calls import CallMetrics, Headroom, endpoint_family, outcome_of


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/contacts/ve9EPM428h8vShlRW1KT/tasks/3Bq9x7Yk2mW8", "contacts/tasks"),
        ("/contacts/search", "contacts/search"),
        ("/api/v1/users/42.json", "api/users"),
        ("/customers/5f0c6b1e-8a7d-4c1e-9f2a-1b2c3d4e5f60", "customers"),
        ("/", "root"),
    ],
)
def test_an_endpoint_family_keeps_resource_names_and_drops_ids(path: str, family: str) -> None:
    # GIVEN a request path WHEN its family is taken THEN only its resource names remain
    assert endpoint_family(path) == family


@pytest.mark.parametrize(
    ("response", "error", "outcome"),
    [
        (httpx.Response(200), None, "success"),
        (httpx.Response(429), RateLimited("slow down"), "rate_limited"),
        (httpx.Response(503), ServerError("down"), "server_error"),
        (httpx.Response(404), ConnectorError("missing"), "client_error"),
        (None, ConnectorError("reset"), "transport_error"),
    ],
)
def test_an_outcome_names_the_kind_of_answer(
    response: httpx.Response | None, error: ConnectorError | None, outcome: str
) -> None:
    # GIVEN an attempt's answer WHEN its outcome is named THEN it is the bounded label
    assert outcome_of(response, error) == outcome


def test_an_observed_call_is_one_record_by_app_family_outcome_and_headroom_by_app(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a GHL call observer whose budget shows 40 % of the day left
    observer = CallMetrics("ghl", context={"location_id": "loc1"}, headroom=lambda: Headroom(None, 40.0))
    # WHEN a contact read is answered 200
    observer.observed(Call(method="GET", path="/contacts/abcDEF1234567890xyz"), httpx.Response(200), None)
    # THEN one call is counted by app, family and outcome, and the headroom by app, the location a property
    calls, headroom = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (calls["OutboundCalls"], calls["app"], calls["family"], calls["outcome"]) == (
        1,
        "ghl",
        "contacts",
        "success",
    )
    assert headroom["ApiDailyHeadroomPercent"] == 40.0 and "ApiWindowHeadroomPercent" not in headroom
    assert calls["location_id"] == "loc1" and headroom["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["service", "app"]
    ]
