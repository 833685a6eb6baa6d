"""GhlClient under each `GHL_API_VERSION` it supports, against the GHL sandbox: the contact
lifecycle with the fields whose names differ in v3 (DND channels, custom-field values)."""

import httpx
import pytest

from ghlsync.config import Settings
from ghlsync.ghl.auth import StaticTokenProvider
from ghlsync.ghl.client import GhlClient
from ghlsync.ghl.models import (
    ContactCreate,
    ContactUpdate,
    CustomFieldWrite,
    DndChannelWrite,
    DndSettingsWrite,
)
from sandbox.ghl.custom_fields import define_field
from tests.fixtures.ghl import GHL_BASE_URL, GHL_LOCATION_ID, GHL_PIT


def _client(ghl_sandbox, ghl_clock, version: str, sent: list[str] | None = None) -> GhlClient:
    """`sent` collects the Version header of every request."""
    hooks = {
        "request": [lambda request: (sent if sent is not None else []).append(request.headers["Version"])]
    }
    return GhlClient(
        httpx.Client(transport=ghl_sandbox.transport(), event_hooks=hooks), StaticTokenProvider(GHL_PIT),
        GHL_LOCATION_ID, base_url=GHL_BASE_URL, version=version, clock=ghl_clock, sleep=ghl_clock.sleep,
    )  # fmt: skip


@pytest.mark.parametrize("version", ["2021-07-28", "v3"])
def test_the_contact_lifecycle_works_in_each_supported_version(ghl_sandbox, ghl_clock, version):
    # GIVEN a client speaking `version`
    sent: list[str] = []
    client = _client(ghl_sandbox, ghl_clock, version, sent)
    tier = define_field(ghl_sandbox, GHL_LOCATION_ID, "Tier", "TEXT").id
    # WHEN it creates a contact with DND settings and a custom field, updates and deletes it
    created = client.create_contact(
        ContactCreate(
            email="versions@example.com",
            dnd_settings=DndSettingsWrite(sms=DndChannelWrite(status="active")),
            custom_fields=[CustomFieldWrite(id=tier, field_value="gold")],
        )
    )
    updated = client.update_contact(created.id, ContactUpdate(city="Porto"))
    stored = ghl_sandbox.store.find_contact(created.id)
    client.delete_contact(created.id)
    # THEN GHL stored what was sent, read back in the version's names, and every call said `version`
    assert stored is not None and stored.fields["dndSettings"] == {"SMS": {"status": "active"}}
    assert stored.fields["customFields"] == {tier: "gold"}
    assert updated.city == "Porto" and updated.dnd_settings is not None
    assert set(updated.dnd_settings) == {"sms" if version == "v3" else "SMS"}
    assert ghl_sandbox.store.find_contact(created.id) is None
    assert sent == [version] * 3


def test_an_unsupported_version_is_refused_at_construction(ghl_sandbox, ghl_clock):
    # GIVEN / WHEN a client is built for a version it was not built for
    # THEN it refuses at once, not at the first 401 or misread body
    with pytest.raises(ValueError, match="2023-02-21"):
        _client(ghl_sandbox, ghl_clock, "2023-02-21")


def test_the_setting_defaults_to_2021_07_28_and_accepts_only_supported_versions(monkeypatch):
    # GIVEN no GHL_API_VERSION / WHEN settings load / THEN 2021-07-28
    monkeypatch.delenv("GHL_API_VERSION", raising=False)
    assert Settings().ghl_api_version == "2021-07-28"
    # AND v3 is accepted, anything else refused
    monkeypatch.setenv("GHL_API_VERSION", "v3")
    assert Settings().ghl_api_version == "v3"
    monkeypatch.setenv("GHL_API_VERSION", "2020-01-01")
    with pytest.raises(ValueError):
        Settings()
