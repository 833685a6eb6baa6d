"""GHL sandbox: which writes move `dateUpdated` and fire ContactUpdate (UpdateRules), both ways."""

import httpx
import pytest

from sandbox.ghl import FakeClock, GhlSandbox
from sandbox.ghl.crm import UpdateRules
from tests.fixtures.ghl import GHL_BASE_URL, GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT

CREATED_AT = "2026-01-01T00:00:00.000Z"
A_MINUTE_LATER = "2026-01-01T00:01:00.000Z"


def _sandbox(**rules: bool) -> tuple[GhlSandbox, httpx.Client, str]:
    """A sandbox with `rules`, one contact created at CREATED_AT, and the clock a minute on."""
    clock = FakeClock()
    sb = GhlSandbox(clock=clock, updates=UpdateRules(**rules))
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    sb.register_webhook("https://receiver.example/ghl")
    contact = sb.ui_create_contact(GHL_LOCATION_ID, firstName="Ada", tags=["a"])
    clock.advance(60)
    client = httpx.Client(base_url=GHL_BASE_URL, transport=sb.transport(), headers=GHL_HEADERS)
    return sb, client, contact.id


def _events(sb: GhlSandbox) -> list[str]:
    return [d.event_type for d in sb.deliveries][1:]  # after the ContactCreate


@pytest.mark.parametrize(
    "rules", [{}, {"noop_put_moves_date_updated": False, "noop_put_emits_update": False}]
)
def test_a_put_that_changes_a_field_moves_date_updated_and_fires_update(rules) -> None:
    # GIVEN either rule set / WHEN a PUT changes the first name
    sb, client, contact_id = _sandbox(**rules)
    contact = client.put(f"/contacts/{contact_id}", json={"firstName": "Grace"}).json()["contact"]
    # THEN dateUpdated moved and ContactUpdate fired
    assert (contact["dateUpdated"], _events(sb)) == (A_MINUTE_LATER, ["ContactUpdate"])


@pytest.mark.parametrize(
    ("rules", "date_updated", "events"),
    [
        ({}, A_MINUTE_LATER, ["ContactUpdate"]),
        ({"noop_put_moves_date_updated": False}, CREATED_AT, ["ContactUpdate"]),
        ({"noop_put_emits_update": False}, A_MINUTE_LATER, []),
        ({"noop_put_moves_date_updated": False, "noop_put_emits_update": False}, CREATED_AT, []),
    ],
)
def test_a_put_of_the_values_already_stored(rules, date_updated, events) -> None:
    # GIVEN the rules for a write that changes nothing
    sb, client, contact_id = _sandbox(**rules)
    # WHEN a PUT sends the first name the contact already has
    contact = client.put(f"/contacts/{contact_id}", json={"firstName": "Ada"}).json()["contact"]
    # THEN dateUpdated and ContactUpdate follow the switches
    assert (contact["dateUpdated"], _events(sb)) == (date_updated, events)


@pytest.mark.parametrize(
    ("tags_move_date_updated", "date_updated"), [(True, A_MINUTE_LATER), (False, CREATED_AT)]
)
def test_a_tag_change_moves_date_updated_only_with_the_switch(tags_move_date_updated, date_updated) -> None:
    # GIVEN the tag rule / WHEN a tag is added
    sb, client, contact_id = _sandbox(tags_move_date_updated=tags_move_date_updated)
    client.post(f"/contacts/{contact_id}/tags", json={"tags": ["b"]})
    # THEN ContactTagUpdate fired, and dateUpdated moved only when tags move it
    contact = client.get(f"/contacts/{contact_id}").json()["contact"]
    assert (contact["dateUpdated"], _events(sb)) == (date_updated, ["ContactTagUpdate"])
