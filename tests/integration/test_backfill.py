"""`connections_cli backfill` end to end in-process (moto, the GHL sandbox, the Kayako fake): the
plan, the job's pages through the real sync_worker, matching, creates per direction, resuming,
concurrency, the GHL daily budget and live webhooks during a job."""

import pytest

from ghlsync.backfill.jobs import BackfillJob, JobStore
from ghlsync.core.entities import EntityKind
from ghlsync.store.links import Side
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


PLAN_TO_RUN = {
    "to link: ": "linked_by_email",
    "to create on the app: ": "created_on_app",
    "to create on GHL: ": "created_on_hub",
}


@pytest.mark.parametrize("direction", ["both", "hub_to_app", "app_to_hub", "link_only"])
def test_the_plan_says_what_the_run_then_does_in_each_direction(
    backfill_world: BackfillWorld, direction: str
) -> None:
    # GIVEN one pair, one contact only on GHL and one user only on Kayako, and the direction
    bw = backfill_world
    bw.set_backfill(direction=direction)
    bw.hub_contact("Pat", email="pat@example.test")
    bw.app_user("Pat", email="pat@example.test")
    only_hub = bw.hub_contact("Hugo", email="hugo@example.test")
    only_app = bw.app_user("Ann", email="ann@example.test")
    mark = bw.world.mark()

    # WHEN the operator asks for the plan, then runs the backfill
    plan = bw.plan()
    planned_writes = bw.world.ghl_writes(since=mark) + bw.world.app_writes("kayako", since=mark)
    bw.run()

    # THEN the plan wrote nothing, and each of its figures is what the job did
    assert plan.status == 0, plan.err
    assert planned_writes == []
    counts = bw.job().counts
    for line in plan.out.splitlines():
        for prefix, done in PLAN_TO_RUN.items():
            if line.startswith(prefix):
                assert int(line.removeprefix(prefix).split()[0]) == counts.get(done, 0), line
    creates_app = direction in ("both", "hub_to_app")
    creates_hub = direction in ("both", "app_to_hub")
    assert (bw.linked_app_id(only_hub) is not None) is creates_app
    assert (bw.world.link(EntityKind.CONTACT, Side.APP, only_app) is not None) is creates_hub
    assert counts.get("linked_by_email") == 1
    if direction == "link_only":
        assert "skipped 1: only on GHL: direction link_only creates nothing on the app" in plan.out
        assert "skipped 1: only on the app: direction link_only creates nothing on GHL" in plan.out


def test_a_crash_between_pages_resumes_from_the_last_page_without_doubles(
    backfill_world: BackfillWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN three contacts only on GHL, one per page, and a worker that dies once right after
    # a page's writes, before the job's checkpoint is saved (a Lambda timeout)
    bw = backfill_world
    bw.set_backfill(page_size=1)
    ids = [bw.hub_contact(f"Kim{n}", email=f"kim{n}@example.test") for n in range(3)]
    users_before = len(bw.world.app_person_ids())
    real_advance = JobStore.advance
    crashes: list[int] = []

    def advance(self: JobStore, job: BackfillJob, *, from_step: int) -> bool:
        if job.phase.value == "match_hub" and job.counts.get("created_on_app") == 2 and not crashes:
            crashes.append(from_step)
            raise RuntimeError("Task timed out")
        return real_advance(self, job, from_step=from_step)

    monkeypatch.setattr(JobStore, "advance", advance)

    # WHEN the backfill runs (SQS gives the page back after the crash)
    bw.run()

    # THEN it crashed once, finished, and each contact has exactly one Kayako user
    assert crashes and bw.job().status.value == "finished"
    assert all(bw.linked_app_id(i) is not None for i in ids)
    assert len(bw.world.app_person_ids()) == users_before + 3
    # the page done again after the crash found its contact linked by the first attempt
    assert bw.job().skipped == {"already linked: the live path keeps it in step": 1}


def test_a_second_start_is_refused_and_a_duplicate_work_item_writes_nothing(
    backfill_world: BackfillWorld,
) -> None:
    # GIVEN two pairs and a started backfill whose first work item SQS delivers twice
    bw = backfill_world
    for n in range(2):
        bw.hub_contact(f"Lee{n}", email=f"lee{n}@example.test")
        bw.app_user(f"Lee{n}", email=f"lee{n}@example.test")
    assert bw.start().status == 0
    [message] = bw.world.sqs.receive_message(QueueUrl=bw.world.queue_url, VisibilityTimeout=0)["Messages"]
    bw.world.sqs.send_message(
        QueueUrl=bw.world.queue_url,
        MessageBody=message["Body"],
        MessageGroupId="backfill-duplicate",
        MessageDeduplicationId="duplicate-delivery",
    )

    # WHEN a second operator starts the same backfill, and the worker runs both copies
    second = bw.start()
    bw.world.settle()

    # THEN the second start is refused, and the job linked each pair once
    assert second.status == 2 and "is running" in second.err
    job = bw.job()
    assert (job.status.value, job.counts.get("linked_by_email")) == ("finished", 2)
    assert len(bw.world.linked_pairs()) == 2


def test_the_ghl_daily_budget_running_out_pauses_the_job_and_the_operator_resumes_it_next_day(
    backfill_world: BackfillWorld,
) -> None:
    # GIVEN four contacts only on GHL, one per page, and a GHL day of 5 requests of which the
    # backfill must leave half to live traffic
    bw = backfill_world

    # WHEN the backfill runs
    ids = bw.pause_on_daily_budget(4)

    # THEN it paused part-way, until GHL's day resets, and `status` says when it resumes
    paused = bw.job()
    assert paused.status.value == "paused" and paused.paused_until is not None
    done = sum(bw.linked_app_id(i) is not None for i in ids)
    assert 0 < done < 4
    status = bw.cli("status", bw.connection_id).out
    assert status.startswith(f"backfill {paused.job_id}: paused")
    resumes_at = f"{paused.paused_until:%Y-%m-%d %H:%M} UTC"
    assert f"resumes by itself at the first scheduled tick (hourly) after {resumes_at}" in status

    # WHEN the day rolls over and the operator runs it again
    bw.next_ghl_day(limit=1000)
    again = bw.start()
    bw.world.settle()

    # THEN the same job carried on from where it stopped and finished
    assert again.status == 0, again.err
    assert (bw.job().job_id, bw.job().status.value) == (paused.job_id, "finished")
    assert all(bw.linked_app_id(i) is not None for i in ids)


def test_the_schedule_resumes_a_paused_job_once_ghls_day_resets_and_not_before(
    backfill_world: BackfillWorld,
) -> None:
    # GIVEN a backfill of four contacts only on GHL paused part-way by GHL's daily budget
    bw = backfill_world
    users_before = len(bw.world.app_person_ids())
    ids = bw.pause_on_daily_budget(4)
    paused = bw.job()

    # WHEN the schedule ticks before GHL's day resets
    early = bw.tick()

    # THEN the job stays paused where it was
    assert early["backfills"]["resumed"] == []
    assert (bw.job().status.value, bw.job().step) == ("paused", paused.step)

    # WHEN the day rolls over and the schedule ticks again
    bw.next_ghl_day(limit=1000)
    late = bw.tick()

    # THEN the same job resumed and finished: every contact has exactly one Kayako user
    assert late["backfills"]["resumed"] == [bw.connection_id]
    job = bw.job()
    assert (job.job_id, job.status.value, job.counts.get("created_on_app")) == (paused.job_id, "finished", 4)
    linked = [bw.linked_app_id(i) for i in ids]
    assert None not in linked and len(set(linked)) == 4
    assert len(bw.world.app_person_ids()) == users_before + 4


def test_a_live_change_during_the_backfill_is_neither_lost_nor_doubled(backfill_world: BackfillWorld) -> None:
    # GIVEN a pair that existed before the connection, and a backfill started
    bw = backfill_world
    contact = bw.hub_contact("Liv", email="liv@example.test")
    user = bw.app_user("Liv", email="liv@example.test")
    users_before = len(bw.world.app_person_ids())
    assert bw.start().status == 0

    # WHEN the contact is renamed in GHL before the job's pages ran, and everything settles
    bw.world.ghl.ui_update_contact(bw.world.location_id, contact, firstName="Olivia")
    bw.world.settle()

    # THEN one link, no new Kayako user, and the rename reached Kayako
    assert bw.linked_app_id(contact) == user
    assert len(bw.world.app_person_ids()) == users_before
    assert bw.world.kayako.store.user(int(user)).full_name.startswith("Olivia")
    assert bw.job().status.value == "finished"


def test_a_running_job_whose_work_item_was_lost_is_requeued_and_finishes(
    backfill_world: BackfillWorld,
) -> None:
    # GIVEN a started backfill of one pair whose work item is gone (dead-lettered, purged)
    bw = backfill_world
    contact = bw.hub_contact("Max", email="max@example.test")
    user = bw.app_user("Max", email="max@example.test")
    assert bw.start().status == 0
    bw.world.sqs.purge_queue(QueueUrl=bw.world.queue_url)
    bw.world.settle()
    assert bw.job().status.value == "running"

    # WHEN the operator requeues it
    requeued = bw.cli("backfill", bw.connection_id, "--no-wait", "--requeue")
    bw.world.settle()

    # THEN the same job finished and linked the pair
    assert requeued.status == 0, requeued.err
    assert bw.job().status.value == "finished" and bw.linked_app_id(contact) == user


def test_with_children_a_linked_pairs_task_and_note_reach_the_app_once(backfill_world: BackfillWorld) -> None:
    # GIVEN a pair whose GHL contact has a task and a note, and a backfill that brings children
    bw = backfill_world
    bw.set_backfill(children=True)
    contact = bw.hub_contact("Tia", email="tia@example.test")
    user = bw.app_user("Tia", email="tia@example.test")
    world = bw.world
    world.ghl.ui_create_task(
        world.location_id, contact, title="Call back", dueDate="2026-12-09T10:00:00.000Z"
    )
    world.ghl.ui_create_note(world.location_id, contact, body="Asked about pricing")
    world.capture_webhooks()

    # WHEN the backfill runs, and again
    bw.run()
    first = bw.job().counts.get("children_queued")
    cases, notes = bw.kayako_children(user)
    bw.run()

    # THEN the task is a Kayako case and the note a Kayako note on the user, each once
    assert first == 3  # the task, the note, and the app-side tag event
    assert [c["subject"] for c in cases] == ["Call back"]
    assert any("Asked about pricing" in n for n in notes)
    assert bw.kayako_children(user) == (cases, notes)


def test_every_listing_app_links_by_email_and_creates_what_is_missing_on_each_side(
    listing_backfill_world: BackfillWorld,
) -> None:
    # GIVEN a pair with one email, a contact only on GHL and a person only on the app
    bw = listing_backfill_world
    pair = bw.hub_contact("Pat", email="pat@example.test")
    pat = bw.app_user("Pat Lee", email="pat@example.test")
    only_hub = bw.hub_contact("Hugo", email="hugo@example.test")
    only_app = bw.app_user("Ann Ray", email="ann@example.test")
    ghl_before = len(bw.world.ghl_contact_ids())

    # WHEN the operator asks for the plan, then runs the backfill
    plan = bw.plan()
    bw.run()

    # THEN the plan said so, the pair is linked, and each one-sided record has its twin, linked
    assert plan.status == 0, plan.err
    assert [line for line in plan.out.splitlines() if line.startswith("to ")] == [
        "to link: 1 (1 by email)",
        "to create on the app: 1",
        "to create on GHL: 1",
    ]
    assert bw.linked_app_id(pair) == pat
    assert bw.linked_app_id(only_hub) is not None
    assert bw.linked_ghl_id(only_app) is not None
    assert len(bw.world.ghl_contact_ids()) == ghl_before + 1
    assert bw.job().status.value == "finished"


@pytest.mark.parametrize(("app", "instead"), [("kixie", "bulk-sync"), ("ekyte", "refresh")])
def test_an_app_that_cannot_list_its_contacts_is_refused_with_the_job_that_fits_it(
    app: str, instead: str
) -> None:
    from sandbox.apps import apps_named
    from sandbox.stack.world import World

    # GIVEN a connection to an app that has no listing of every contact
    with World(seed=44, apps=apps_named(app)) as world:
        bw = BackfillWorld(world, app=app)
        # WHEN the operator plans or starts a backfill of it
        plan, start = bw.plan(), bw.start()
        # THEN both are refused, naming the command that brings GHL's contacts to it
        for refused in (plan, start):
            assert refused.status != 0
            assert f"{app} cannot list its contacts" in refused.err
            assert f"connections_cli {instead} {bw.connection_id}" in refused.err
        assert JobStore(world.table).get(bw.connection_id) is None


def test_with_children_the_apps_tags_of_a_pair_reach_ghl_once(backfill_world: BackfillWorld) -> None:
    # GIVEN a pair tagged only on Kayako (Kayako lists users without their tags), children on
    bw = backfill_world
    bw.set_backfill(children=True)
    world = bw.world
    contact = bw.hub_contact("Tom", email="tom@example.test")
    user = bw.app_user("Tom", email="tom@example.test")
    world.kayako.ui_add_tags(int(user), "gold")
    world.capture_webhooks()

    # WHEN the backfill runs, and again
    bw.run()
    tagged = world.ghl_reader().get_contact(contact)
    mark = world.mark()
    bw.run()

    # THEN GHL holds the tag, and the second run wrote nothing
    assert tagged is not None and tagged.tags == frozenset({"gold"})
    assert world.ghl_writes(since=mark) == [] and world.app_writes("kayako", since=mark) == []
