"""GHL sandbox: the switch that makes it lower-case stored tags (GHL may; unconfirmed)."""

import httpx

from sandbox.ghl import FakeClock, GhlSandbox
from tests.fixtures.ghl import GHL_BASE_URL, GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT


def _sandbox(**switches: bool) -> tuple[GhlSandbox, httpx.Client]:
    sb = GhlSandbox(clock=FakeClock(), **switches)
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    return sb, httpx.Client(base_url=GHL_BASE_URL, transport=sb.transport(), headers=GHL_HEADERS)


def _contact(client: httpx.Client, tags: list[str]) -> str:
    created = client.post(
        "/contacts/", json={"locationId": GHL_LOCATION_ID, "firstName": "Ada", "tags": tags}
    )
    return str(created.json()["contact"]["id"])


def test_by_default_tags_are_stored_as_sent_and_removed_only_as_spelled() -> None:
    # GIVEN the default sandbox and a contact tagged `Probe-Mixed`
    _, client = _sandbox()
    contact_id = _contact(client, ["Probe-Mixed"])
    # WHEN `probe-mixed` is removed
    removed = client.request("DELETE", f"/contacts/{contact_id}/tags", json={"tags": ["probe-mixed"]})
    # THEN the tag stays, spelled as sent
    assert removed.json()["tags"] == ["Probe-Mixed"]


def test_with_the_switch_on_tags_are_stored_lower_cased_and_removed_in_any_case() -> None:
    # GIVEN a sandbox built to lower-case tags, and a contact tagged `Probe-Mixed`
    _, client = _sandbox(lowercase_tags=True)
    contact_id = _contact(client, ["Probe-Mixed"])
    added = client.post(f"/contacts/{contact_id}/tags", json={"tags": ["VIP"]})
    # WHEN `PROBE-MIXED` is removed
    removed = client.request("DELETE", f"/contacts/{contact_id}/tags", json={"tags": ["PROBE-MIXED"]})
    # THEN what was stored was lower-cased, and the removal matched it
    assert added.json()["tags"] == ["probe-mixed", "vip"]
    assert removed.json()["tags"] == ["vip"]


def test_the_admin_api_turns_the_switch_on() -> None:
    # GIVEN a default sandbox
    sb, client = _sandbox()
    # WHEN the admin API turns lower-casing on, then a tag is added
    answer = client.post("/_sandbox/tags", json={"lowercase": True})
    contact_id = _contact(client, ["Probe-Mixed"])
    # THEN it says so, and the tag is stored lower-cased
    assert answer.json() == {"lowercase": True}
    assert sb.crm.contact(GHL_LOCATION_ID, contact_id).tags == ["probe-mixed"]


def test_the_admin_api_refuses_a_switch_that_is_not_a_boolean() -> None:
    # GIVEN a default sandbox / WHEN the switch is sent as a string / THEN it is a 400
    _, client = _sandbox()
    assert client.post("/_sandbox/tags", json={"lowercase": "yes"}).status_code == 400
