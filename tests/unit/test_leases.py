"""LeaseStore: exclusive, expiring claims in the sync table (moto tables from template.yaml)."""

import pytest

from ghlsync.store.leases import LeaseStore, lease_key

TTL = 60


class FakeClock:
    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(aws):
    return aws.table


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def leases(table, clock):
    return LeaseStore(table, clock)


def test_a_free_lease_is_acquired(leases):
    # GIVEN nobody holds the lease / WHEN a worker asks / THEN it gets it
    assert leases.acquire("refresh#loc1", "worker-a", TTL)


def test_a_held_lease_is_refused_to_others(leases):
    # GIVEN worker A holds the lease
    leases.acquire("refresh#loc1", "worker-a", TTL)
    # WHEN worker B asks before it expires
    # THEN B is refused
    assert not leases.acquire("refresh#loc1", "worker-b", TTL)


def test_leases_on_different_names_are_independent(leases):
    # GIVEN worker A holds the lease of one location
    leases.acquire("refresh#loc1", "worker-a", TTL)
    # WHEN / THEN worker B can take another location's lease
    assert leases.acquire("refresh#loc2", "worker-b", TTL)


def test_an_expired_lease_can_be_taken_over_before_ttl_deletes_it(leases, clock, table):
    # GIVEN worker A took the lease and never released it (crashed)
    leases.acquire("refresh#loc1", "worker-a", TTL)
    # WHEN the lease time has passed (DynamoDB TTL has not deleted the item yet)
    clock.now += TTL
    # THEN worker B takes it over
    assert leases.acquire("refresh#loc1", "worker-b", TTL)
    assert table.get_item(Key=lease_key("refresh#loc1"))["Item"]["owner"] == "worker-b"


def test_the_holder_can_extend_its_own_lease(leases, clock, table):
    # GIVEN worker A holds the lease
    leases.acquire("refresh#loc1", "worker-a", TTL)
    # WHEN it asks again half-way through
    clock.now += TTL / 2
    # THEN it keeps it, with a later expiry
    assert leases.acquire("refresh#loc1", "worker-a", TTL)
    assert table.get_item(Key=lease_key("refresh#loc1"))["Item"]["expires_at"] == clock.now + TTL


def test_the_lease_item_carries_the_ttl_attribute_in_epoch_seconds(leases, clock, table):
    # GIVEN / WHEN a lease is taken
    leases.acquire("refresh#loc1", "worker-a", TTL)
    # THEN expires_at (the table's TTL attribute) is the expiry in whole epoch seconds
    item = table.get_item(Key=lease_key("refresh#loc1"))["Item"]
    assert item["expires_at"] == int(clock.now) + TTL


def test_releasing_frees_the_lease(leases):
    # GIVEN worker A holds the lease
    leases.acquire("refresh#loc1", "worker-a", TTL)
    # WHEN it releases it
    leases.release("refresh#loc1", "worker-a")
    # THEN worker B can take it at once
    assert leases.acquire("refresh#loc1", "worker-b", TTL)


def test_releasing_someone_elses_lease_changes_nothing(leases, clock):
    # GIVEN worker A's lease expired and worker B took it over
    leases.acquire("refresh#loc1", "worker-a", TTL)
    clock.now += TTL
    leases.acquire("refresh#loc1", "worker-b", TTL)
    # WHEN the late worker A releases "its" lease
    leases.release("refresh#loc1", "worker-a")
    # THEN B still holds it
    assert not leases.acquire("refresh#loc1", "worker-c", TTL)


def test_releasing_a_lease_nobody_holds_is_harmless(leases):
    # GIVEN no lease / WHEN it is released / THEN nothing fails and it stays free
    leases.release("refresh#loc1", "worker-a")
    assert leases.acquire("refresh#loc1", "worker-b", TTL)
