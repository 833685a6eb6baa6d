"""TenantStore: tenant rows and the token-expiry index (moto tables from template.yaml)."""

from datetime import UTC, datetime, timedelta

import pytest

from ghlsync.store.tenants import (
    AuthKind,
    Tenant,
    TenantNotFound,
    TenantStatus,
    TenantStore,
    tenant_key,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def table(aws):
    return aws.table


@pytest.fixture
def tenants(table):
    return TenantStore(table, clock=NOW.timestamp)


def oauth_tenant(location_id: str, expires_in: timedelta | None = timedelta(hours=24)) -> Tenant:
    return Tenant(
        location_id=location_id,
        company_id="co1",
        installed_at=NOW,
        auth_kind=AuthKind.OAUTH,
        token_expires_at=NOW + expires_in if expires_in is not None else None,
    )


def expiring(tenants: TenantStore, within: timedelta) -> list[str]:
    return [tenant.location_id for tenant in tenants.expiring_before(NOW + within)]


def test_a_registered_tenant_reads_back_the_same(tenants):
    # GIVEN a tenant registered at install
    tenant = oauth_tenant("loc1")
    tenants.register(tenant)
    # WHEN / THEN it reads back unchanged
    assert tenants.get("loc1") == tenant


def test_an_unknown_location_has_no_tenant(tenants):
    # GIVEN / WHEN / THEN
    assert tenants.get("nowhere") is None


def test_expiring_before_lists_only_tokens_expiring_in_the_window_soonest_first(tenants):
    # GIVEN tenants whose tokens expire in 3 h, 1 h and 10 h
    for location_id, hours in [("loc3h", 3), ("loc1h", 1), ("loc10h", 10)]:
        tenants.register(oauth_tenant(location_id, timedelta(hours=hours)))
    # WHEN asking for tokens that expire within 4 hours
    # THEN the 1 h and 3 h tenants come back, soonest first
    assert expiring(tenants, timedelta(hours=4)) == ["loc1h", "loc3h"]


def test_private_integration_tenants_are_never_due_for_refresh(tenants):
    # GIVEN a PIT tenant
    tenants.register(Tenant(location_id="pit1", installed_at=NOW, auth_kind=AuthKind.PIT))
    # WHEN / THEN it is not in the expiry index
    assert expiring(tenants, timedelta(days=365)) == []


def test_reconnect_needed_takes_the_tenant_out_of_the_refresh_index(tenants):
    # GIVEN an OAuth tenant due for refresh
    tenants.register(oauth_tenant("loc1", timedelta(hours=1)))
    # WHEN its refresh token is found dead
    tenants.set_status("loc1", TenantStatus.RECONNECT_NEEDED, reason="invalid_grant")
    # THEN it keeps the reason and is no longer scheduled for refresh
    tenant = tenants.get("loc1")
    assert tenant is not None
    assert (tenant.status, tenant.status_reason) == (TenantStatus.RECONNECT_NEEDED, "invalid_grant")
    assert expiring(tenants, timedelta(hours=4)) == []


def test_reactivating_a_tenant_puts_it_back_in_the_refresh_index(tenants):
    # GIVEN a tenant marked reconnect_needed
    tenants.register(oauth_tenant("loc1", timedelta(hours=1)))
    tenants.set_status("loc1", TenantStatus.RECONNECT_NEEDED)
    # WHEN an operator reactivates it
    tenants.set_status("loc1", TenantStatus.ACTIVE)
    # THEN it is scheduled for refresh again
    assert expiring(tenants, timedelta(hours=4)) == ["loc1"]


def test_setting_the_status_of_an_unknown_tenant_fails_without_creating_it(tenants, table):
    # GIVEN no tenant / WHEN its status is set / THEN TenantNotFound, and no half row appears
    with pytest.raises(TenantNotFound):
        tenants.set_status("ghost", TenantStatus.RECONNECT_NEEDED)
    assert "Item" not in table.get_item(Key=tenant_key("ghost"))


def test_uninstalling_keeps_the_row_until_its_retention_ends(tenants, table):
    # GIVEN an active tenant
    tenants.register(oauth_tenant("loc1", timedelta(hours=1)))
    # WHEN the app is uninstalled with 30 days of retention
    tenants.mark_uninstalled("loc1", retain_days=30)
    # THEN it is uninstalled, leaves the refresh index, and TTL removes it after 30 days
    tenant = tenants.get("loc1")
    assert tenant is not None
    assert tenant.status is TenantStatus.UNINSTALLED
    assert (tenant.uninstalled_at, tenant.retain_until) == (NOW, NOW + timedelta(days=30))
    assert table.get_item(Key=tenant_key("loc1"))["Item"]["expires_at"] == int(
        (NOW + timedelta(days=30)).timestamp()
    )
    assert expiring(tenants, timedelta(hours=4)) == []


def test_uninstalling_an_unknown_tenant_fails(tenants):
    # GIVEN / WHEN / THEN
    with pytest.raises(TenantNotFound):
        tenants.mark_uninstalled("ghost", retain_days=30)


def test_reinstalling_clears_the_uninstall_and_its_ttl(tenants, table):
    # GIVEN an uninstalled tenant
    tenants.register(oauth_tenant("loc1"))
    tenants.mark_uninstalled("loc1", retain_days=30)
    # WHEN it installs again
    tenants.register(oauth_tenant("loc1"))
    # THEN it is active, with no uninstall data and no TTL
    item = table.get_item(Key=tenant_key("loc1"))["Item"]
    assert item["status"] == "active"
    assert not {"uninstalled_at", "retain_until", "expires_at"} & item.keys()


def test_registering_without_a_token_expiry_keeps_the_known_one(tenants):
    # GIVEN the OAuth callback registered the tenant with its token expiry
    tenants.register(oauth_tenant("loc1", timedelta(hours=1)))
    # WHEN the INSTALL webhook registers the same location without one
    tenants.register(oauth_tenant("loc1", expires_in=None))
    # THEN the expiry and the refresh schedule survive
    tenant = tenants.get("loc1")
    assert tenant is not None and tenant.token_expires_at == NOW + timedelta(hours=1)
    assert expiring(tenants, timedelta(hours=4)) == ["loc1"]


def test_recording_a_refreshed_expiry_moves_the_tenant_along_the_index(tenants):
    # GIVEN a tenant due within the hour
    tenants.register(oauth_tenant("loc1", timedelta(hours=1)))
    # WHEN its token is refreshed for another 24 h
    recorded = tenants.record_token_expiry("loc1", NOW + timedelta(hours=24))
    # THEN it is no longer due within 4 hours, but is within 25
    assert recorded
    assert expiring(tenants, timedelta(hours=4)) == []
    assert expiring(tenants, timedelta(hours=25)) == ["loc1"]


def test_recording_an_expiry_for_an_inactive_tenant_writes_nothing(tenants):
    # GIVEN a tenant that needs a reconnect
    tenants.register(oauth_tenant("loc1", timedelta(hours=1)))
    tenants.set_status("loc1", TenantStatus.RECONNECT_NEEDED)
    # WHEN / THEN recording an expiry is refused and it stays out of the index
    assert not tenants.record_token_expiry("loc1", NOW + timedelta(hours=2))
    assert expiring(tenants, timedelta(hours=4)) == []


def test_recording_an_expiry_for_an_unknown_tenant_creates_nothing(tenants, table):
    # GIVEN / WHEN / THEN
    assert not tenants.record_token_expiry("ghost", NOW)
    assert "Item" not in table.get_item(Key=tenant_key("ghost"))


def test_expiring_before_follows_pages(tenants, table, monkeypatch):
    # GIVEN more due tenants than one query page returns (a page of 2 forced here)
    for index in range(5):
        tenants.register(oauth_tenant(f"loc{index}", timedelta(minutes=10 + index)))
    query = table.query
    monkeypatch.setattr(table, "query", lambda **kwargs: query(**kwargs, Limit=2))
    # WHEN / THEN every one of them comes back
    assert expiring(tenants, timedelta(hours=1)) == [f"loc{index}" for index in range(5)]
