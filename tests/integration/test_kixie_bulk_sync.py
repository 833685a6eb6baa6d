"""`connections_cli bulk-sync` end to end in-process: moto, the GHL sandbox and the Kixie fake
(issue 11 flow 3): selection, skips, the digest in the one write, resuming, the daily quota, and
what a later live edit does."""

import json

import pytest

from ghlsync import connections_cli
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.store.connections import Connection, ConnectionSecrets, ConnectionSettings
from ghlsync.store.links import Side
from tests.fixtures.kixie_bulk import DAY_ONE, DAY_TWO, BulkWorld, InterruptedAfter


def test_all_sends_every_contact_with_a_phone_once_with_its_digest(bulk_world: BulkWorld) -> None:
    # GIVEN three GHL contacts the connection never saw, one with an open task and a note
    ids = bulk_world.existing_contacts(3)
    world = bulk_world.world
    world.ghl.ui_create_task(world.location_id, ids[0], title="Call back", dueDate="2026-12-09T10:00:00.000Z")
    world.ghl.ui_create_note(world.location_id, ids[0], body="Asked about pricing")
    world.capture_webhooks()
    mark = world.mark()

    # WHEN the operator bulk-syncs every contact
    run = bulk_world.bulk("--all")

    # THEN each reached the PowerList with ONE updatepowerlist carrying its fields and its digest
    assert run.status == 0, run.err
    writes = bulk_world.powerlist_writes(since=mark)
    assert sorted(w["crmContactId"] for w in writes) == sorted(ids)
    held = bulk_world.powerlist()
    assert len(held) == 3
    digest = next(w["nextCallRefresher"] for w in writes if w["crmContactId"] == ids[0])
    assert "Call back" in digest and "Asked about pricing" in digest
    assert "bulk sync finished: 3 of 3 contacts" in run.out


def test_tag_selects_only_the_contacts_with_that_tag(bulk_world: BulkWorld) -> None:
    # GIVEN two contacts tagged vip among three others
    vips = bulk_world.existing_contacts(2, tags=["vip"])
    bulk_world.existing_contacts(3)
    mark = bulk_world.world.mark()

    # WHEN the operator bulk-syncs --tag vip
    run = bulk_world.bulk("--tag", "vip")

    # THEN only the two reached Kixie
    assert run.status == 0, run.err
    assert sorted(w["crmContactId"] for w in bulk_world.powerlist_writes(since=mark)) == sorted(vips)


def test_contacts_without_a_phone_are_skipped_and_counted(bulk_world: BulkWorld) -> None:
    # GIVEN one contact with a phone and two without
    bulk_world.existing_contacts(1)
    bulk_world.existing_contacts(2, phone=False)

    # WHEN the operator bulk-syncs --all --json
    run = bulk_world.bulk("--all", "--json")

    # THEN one is on the PowerList and the summary counts the two skips with the reason
    summary = json.loads(run.out)
    assert (run.status, summary["status"], summary["synced"], summary["done"]) == (0, "finished", 1, 3)
    assert summary["skipped"] == {"no phone: Kixie keys PowerList contacts by phone number": 2}
    assert len(bulk_world.powerlist()) == 1


def test_json_mode_shows_no_progress_and_prints_only_the_summary(bulk_world: BulkWorld) -> None:
    # GIVEN two contacts
    bulk_world.existing_contacts(2)

    # WHEN the operator bulk-syncs with --json, one contact per page
    run = bulk_world.bulk("--all", "--json", "--page-size", "1")

    # THEN stderr is quiet and stdout is one JSON object
    assert run.err == ""
    assert json.loads(run.out)["done"] == 2


def test_progress_is_shown_on_stderr_while_it_runs(bulk_world: BulkWorld) -> None:
    # GIVEN three contacts
    bulk_world.existing_contacts(3)

    # WHEN the operator bulk-syncs two per page
    run = bulk_world.bulk("--all", "--page-size", "2")

    # THEN one progress line per page, with counts and a rate
    lines = run.err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "bulk-sync: 2 of 3 contacts",
        "bulk-sync: 3 of 3 contacts",
    ]
    assert all(line.endswith("/s") for line in lines)


def test_a_run_stopped_mid_way_resumes_without_writing_anything_twice(bulk_world: BulkWorld) -> None:
    # GIVEN five contacts and a run interrupted (Ctrl-C) after its first page of two
    ids = bulk_world.existing_contacts(5)
    mark = bulk_world.world.mark()
    with pytest.raises(KeyboardInterrupt):
        bulk_world.bulk("--all", "--page-size", "2", err=InterruptedAfter(1))
    assert len(bulk_world.powerlist_writes(since=mark)) == 2

    # WHEN the operator runs it again
    run = bulk_world.bulk("--all", "--page-size", "2")

    # THEN it continued after the first page: each contact was written exactly once
    assert run.status == 0, run.err
    assert sorted(w["crmContactId"] for w in bulk_world.powerlist_writes(since=mark)) == sorted(ids)
    assert "bulk sync finished: 5 of 5 contacts" in run.out


def test_a_spent_quota_stops_the_run_and_the_next_utc_day_resumes_it(bulk_world: BulkWorld) -> None:
    # GIVEN five contacts and a Kixie account with 3 calls a day
    ids = bulk_world.existing_contacts(5)
    bulk_world.set_daily_quota(3)
    mark = bulk_world.world.mark()

    # WHEN the operator runs the bulk sync, again the same day, then after midnight UTC
    first = bulk_world.bulk("--all", now=DAY_ONE)
    same_day = bulk_world.bulk("--all", now=DAY_ONE)
    after_writes = len(bulk_world.powerlist_writes(since=mark))
    next_day = bulk_world.bulk("--all", now=DAY_TWO)

    # THEN the first stops at the quota with the message, the second sends nothing, the third ends it
    message = "Kixie's daily quota is spent: 3 of 5 done; run again after 00:00 UTC to resume"
    assert (first.status, first.out.splitlines()[0]) == (1, message)
    assert (same_day.status, same_day.out.splitlines()[0], after_writes) == (1, message, 3)
    assert next_day.status == 0, next_day.err
    assert sorted(w["crmContactId"] for w in bulk_world.powerlist_writes(since=mark)) == sorted(ids)


def test_a_later_live_edit_of_a_bulk_synced_contact_is_one_write(bulk_world: BulkWorld) -> None:
    # GIVEN a contact bulk-synced to Kixie
    [contact_id] = bulk_world.existing_contacts(1)
    assert bulk_world.bulk("--all").status == 0
    world = bulk_world.world
    mark = world.mark()

    # WHEN the contact's name changes in GHL and the webhook is synced live
    world.ghl.ui_update_contact(world.location_id, contact_id, firstName="Renamed")
    world.settle()

    # THEN Kixie got exactly one write, of the change, and the link still points at the number
    writes = bulk_world.powerlist_writes(since=mark)
    assert [(w["firstName"], w["crmContactId"]) for w in writes] == [("Renamed", contact_id)]
    link = world.link(EntityKind.CONTACT, Side.GHL, contact_id, app="kixie")
    assert link is not None and link.app.id in bulk_world.powerlist()


def test_a_finished_run_repeated_sends_nothing(bulk_world: BulkWorld) -> None:
    # GIVEN two contacts bulk-synced
    bulk_world.existing_contacts(2)
    assert bulk_world.bulk("--all").status == 0
    mark = bulk_world.world.mark()

    # WHEN the operator runs it again
    run = bulk_world.bulk("--all", "--json")

    # THEN both are counted unchanged and Kixie got no call
    assert json.loads(run.out)["unchanged"] == 2
    assert bulk_world.powerlist_writes(since=mark) == []


def test_another_selection_while_one_is_unfinished_is_refused(bulk_world: BulkWorld) -> None:
    # GIVEN a --all run stopped by the quota
    bulk_world.existing_contacts(2)
    bulk_world.set_daily_quota(1)
    assert bulk_world.bulk("--all").status == 1

    # WHEN the operator starts a --tag run without --restart
    run = bulk_world.bulk("--tag", "vip")

    # THEN it is refused with exit status 2, naming the unfinished one
    assert run.status == 2
    assert "unfinished bulk sync of all" in run.err and "--restart" in run.err


@pytest.mark.parametrize(
    "argv",
    [
        ["bulk-sync", "CONN"],
        ["bulk-sync", "CONN", "--all", "--tag", "vip"],
        ["bulk-sync", "CONN", "--tag", " "],
        ["bulk-sync", "CONN", "--all", "--page-size", "500"],
    ],
    ids=["no-selection", "both-selections", "empty-tag", "page-too-big"],
)
def test_bad_arguments_exit_2_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the bulk-sync command line with a mistake
    # WHEN it is parsed (before any store or app is touched)
    with pytest.raises(SystemExit) as exited:
        connections_cli.main(argv)

    # THEN argparse's usage error: exit status 2 and a line saying what is wrong
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_an_unknown_connection_or_one_that_cannot_take_upserts_exits_2(bulk_world: BulkWorld) -> None:
    # GIVEN no connection `conn-missing`, and a Kayako connection (read/write, no upserts)
    world, kayako = bulk_world.world, "conn-bulk-kayako"
    ConnectionSecrets(world.secrets, get_settings().connection_secret_prefix).put(
        kayako, {"email": "agent@kayako.test", "password": "secret", "webhook_token": "kayako-webhook-token"}
    )
    settings = ConnectionSettings(app={"base_url": "https://kayako.test/api/v1"})
    world.connections.put(
        Connection(connection_id=kayako, location_id=world.location_id, app="kayako", settings=settings)
    )

    # WHEN the operator bulk-syncs them
    missing = bulk_world.cli("bulk-sync", "conn-missing", "--all")
    unsupported = bulk_world.cli("bulk-sync", kayako, "--all")

    # THEN both exit 2 with the reason
    assert (missing.status, missing.err) == (2, "error: no connection conn-missing\n")
    assert unsupported.status == 2 and "take them by upsert" in unsupported.err
