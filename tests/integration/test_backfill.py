"""`connections_cli backfill` end to end in-process (moto, the GHL sandbox, the Kayako fake): the
plan, the job's pages through the real sync_worker, matching, creates per direction, resuming,
concurrency, the GHL daily budget and live webhooks during a job."""

from tests.fixtures.backfill import BackfillWorld


def test_pairs_are_linked_by_email_and_by_phone_without_a_write(backfill_world: BackfillWorld) -> None:
    # GIVEN a GHL contact and a Kayako user with the same email, and another pair sharing a phone
    bw = backfill_world
    by_email = bw.hub_contact("Ada", email="ada@example.test")
    ada = bw.app_user("Ada", email="ada@example.test")
    by_phone = bw.hub_contact("Bob", phone="+14155550101")
    bob = bw.app_user("Bob", phone="+14155550101")
    mark = bw.world.mark()

    # WHEN the backfill runs
    bw.run()

    # THEN both pairs are linked, and neither side got a write
    assert (bw.linked_app_id(by_email), bw.linked_app_id(by_phone)) == (ada, bob)
    assert bw.world.ghl_writes(since=mark) == [] and bw.world.app_writes("kayako", since=mark) == []
    job = bw.job()
    assert (job.status.value, job.counts.get("linked_by_email"), job.counts.get("linked_by_phone")) == (
        "finished",
        1,
        1,
    )


def test_email_and_phone_naming_different_users_is_recorded_and_nothing_is_merged(
    backfill_world: BackfillWorld,
) -> None:
    # GIVEN a GHL contact whose email is one Kayako user's and whose phone is another's
    bw = backfill_world
    contact = bw.hub_contact("Cy", email="cy@example.test", phone="+14155550102")
    bw.app_user("Cy One", email="cy@example.test")
    bw.app_user("Cy Two", phone="+14155550102")
    before = len(bw.world.ghl_contact_ids())

    # WHEN the backfill runs
    bw.run()

    # THEN nothing is linked or created, and the conflict is an audit row naming both users
    assert bw.linked_app_id(contact) is None
    assert len(bw.world.ghl_contact_ids()) == before
    [row] = [r for r in bw.world.audit() if r.decision == "conflict"]
    assert row.reason.startswith("ambiguous identity: email matches") and row.source_id == contact
    assert bw.job().counts.get("ambiguous") == 1
