"""The generic connector end to end through the real handlers (sandbox.stack.world), once per API
style of the generic fake, each described only by its spec file (examples/generic-style-*.yaml):
GHL -> app and app -> GHL for contacts, tasks, notes and tags; echo-free round trips; deletes by
policy; hostile webhooks; an app answering garbage."""

import json
from collections.abc import Iterator

import pytest

from ghlsync.core.entities import EntityKind
from ghlsync.sync.tags import deleted_tag
from sandbox.apps.generic import GenericSandbox
from sandbox.apps.generic.stack import GENERIC_A, GENERIC_B
from sandbox.fakes.webhooks import timestamped_hmac_signature
from sandbox.stack.calls import Webhook
from sandbox.stack.world import API_URL, World

pytestmark = pytest.mark.integration
SWEEP_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture(params=["a", "b"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    with World(seed=21, apps=[GENERIC_A if request.param == "a" else GENERIC_B]) as started:
        yield started


def generic(world: World) -> GenericSandbox:
    fake = world.fake("generic")
    assert isinstance(fake, GenericSandbox)
    return fake


def from_app(world: World) -> None:
    """Let the app's changes reach GHL: style A's webhooks, style B's poll by the sweep."""
    if generic(world).style.name == "b":
        world.clock.advance(60)
        world.invoke("SweepFunction", SWEEP_EVENT)
    world.settle()


def synced_contact(world: World, email: str = "ada@example.com") -> tuple[str, str]:
    contact = world.ghl.ui_create_contact(
        world.location_id, firstName="Ada", lastName="Lovelace", email=email
    )
    world.settle()
    return contact.id, world.app_id_of(EntityKind.CONTACT, contact.id, app="generic")


def test_a_ghl_contact_is_created_in_the_app_with_its_tags(world: World) -> None:
    # GIVEN a tagged GHL contact WHEN it is created and the stack settles
    contact = world.ghl.ui_create_contact(
        world.location_id, firstName="Ada", lastName="Lovelace", email="ada@example.com", tags=["vip"]
    )
    world.settle()
    # THEN the app holds it, the name split or joined as the style keeps it
    record = generic(world).store.contact(world.app_id_of(EntityKind.CONTACT, contact.id, app="generic"))
    assert (record.first_name, record.last_name, record.email, record.tags) == (
        "Ada",
        "Lovelace",
        "ada@example.com",
        ["vip"],
    )
    assert world.differences() == []


def test_an_app_contact_reaches_ghl_and_its_echo_writes_nothing(world: World) -> None:
    # GIVEN a contact created in the app's own UI
    created = generic(world).ui_create_contact(
        first_name="Grace", last_name="Hopper", email="grace@example.com"
    )
    # WHEN its change reaches the stack
    from_app(world)
    # THEN GHL holds it, and nothing more is written anywhere (the echo of GHL's create is silent)
    ghl_id = world.ghl_id_of(EntityKind.CONTACT, created.id, app="generic")
    ghl_contact = world.ghl_reader().get_contact(ghl_id)
    assert ghl_contact is not None and ghl_contact.email == "grace@example.com"
    mark = world.mark()
    from_app(world)
    assert world.app_writes("generic", since=mark) == [] and world.ghl_writes(since=mark) == []
    assert world.differences() == []


def test_an_app_edit_and_tag_change_reach_ghl(world: World) -> None:
    # GIVEN a synced contact
    ghl_id, app_id = synced_contact(world)
    # WHEN the app changes the surname and tags the contact
    generic(world).ui_update_contact(app_id, last_name="Byron")
    generic(world).ui_change_tags(app_id, add=["from-app"])
    from_app(world)
    # THEN GHL has both
    contact = world.ghl_reader().get_contact(ghl_id)
    assert contact is not None and contact.last_name == "Byron"
    assert "from-app" in contact.tags
    assert world.differences() == []


def test_ghl_tag_removal_keeps_the_tags_nobody_removed(world: World) -> None:
    # GIVEN a synced contact with two tags
    ghl_id, app_id = synced_contact(world)
    world.ghl.ui_add_tags(world.location_id, ghl_id, ["keep", "drop"])
    world.settle()
    # WHEN GHL removes one
    world.ghl.ui_remove_tags(world.location_id, ghl_id, ["drop"])
    world.settle()
    # THEN the app keeps the other
    assert generic(world).store.contact(app_id).tags == ["keep"]


def test_tasks_and_notes_go_to_the_app_and_come_back_completed(world: World) -> None:
    # GIVEN a synced contact WHEN GHL adds a task and a note
    ghl_id, app_id = synced_contact(world)
    task = world.ghl.ui_create_task(
        world.location_id, ghl_id, title="Call back", dueDate="2026-12-10T00:00:00Z"
    )
    world.ghl.ui_create_note(world.location_id, ghl_id, body="Met at the fair")
    world.settle()
    store = generic(world).store
    [app_task] = [t for t in store.records["task"].values() if t.contact_id == app_id]  # type: ignore[attr-defined]
    [app_note] = [n for n in store.records["note"].values() if n.contact_id == app_id]  # type: ignore[attr-defined]
    assert (app_task.title, app_note.body) == ("Call back", "Met at the fair")
    # WHEN the app completes the task
    generic(world).ui_update("task", app_task.id, done=True)
    from_app(world)
    # THEN GHL's task is completed
    ghl_task = world.ghl_reader().get_task(ghl_id, task.id)
    assert ghl_task is not None and ghl_task.completed is True
    assert world.differences() == []


def test_a_contact_deleted_in_ghl_follows_the_delete_policy(world: World) -> None:
    # GIVEN a synced contact (World's connection: delete policy "tag")
    ghl_id, app_id = synced_contact(world)
    # WHEN GHL deletes it
    world.ghl.ui_delete_contact(world.location_id, ghl_id)
    world.settle()
    # THEN the app keeps the record, tagged as deleted in GHL, rather than losing it
    assert generic(world).store.contact(app_id).tags == [deleted_tag("ghl")]


def test_a_contact_deleted_in_the_app_is_tagged_in_ghl(world: World) -> None:
    # GIVEN a synced contact, and deletes diffed every half minute (style B has no webhooks: its
    # deletes are found by the sweep's diff of the contact listing against the links)
    ghl_id, app_id = synced_contact(world)
    connection = world.connections.get(world.connection_ids["generic"])
    assert connection is not None
    settings = connection.settings.model_copy(update={"delete_scan_hours": 30 / 3600})
    world.connections.put(connection.model_copy(update={"settings": settings}))
    # WHEN the app deletes it, past the sweep's overlap after the link was made
    world.clock.advance(180)
    generic(world).ui_delete("contact", app_id)
    from_app(world)
    # THEN GHL keeps its contact, tagged as deleted in the app
    contact = world.ghl_reader().get_contact(ghl_id)
    assert contact is not None and deleted_tag("generic") in contact.tags


def test_a_badly_signed_or_stale_webhook_is_refused_and_queues_nothing(world: World) -> None:
    if generic(world).style.name == "b":
        pytest.skip("style B sends no webhooks")
    connection_id = world.connection_ids["generic"]
    body = json.dumps({"event": "contact.updated", "data": {"id": "con_00001"}}).encode()
    for webhook in (
        signed_generic_webhook(connection_id, body, secret="not-the-secret-at-all", now=world.clock()),
        signed_generic_webhook(connection_id, body, secret=None, now=world.clock()),
        signed_generic_webhook(connection_id, body, secret=world_secret(world), now=world.clock() - 3 * 3600),
    ):
        # WHEN it is posted THEN 401 and nothing is queued
        assert world.post(webhook).status == 401
    assert world.queue_depth()["visible"] == 0


def test_a_malformed_webhook_body_is_a_400(world: World) -> None:
    if generic(world).style.name == "b":
        pytest.skip("style B sends no webhooks")
    webhook = signed_generic_webhook(
        world.connection_ids["generic"], b"{not json", secret=world_secret(world), now=world.clock()
    )
    assert world.post(webhook).status == 400
    assert world.queue_depth()["visible"] == 0


def test_an_app_answering_garbage_dead_letters_with_a_readable_reason(world: World) -> None:
    # GIVEN an app that answers every API call with a body that is not JSON
    generic(world).faults.configure(rate_garbage=1.0)
    # WHEN a GHL contact is created
    world.ghl.ui_create_contact(world.location_id, firstName="Ada", email="garbage@example.com")
    world.settle()
    # THEN the change is dead-lettered once, saying what the app did
    [dead] = world.dead_letters()
    assert "non-JSON" in json.dumps(dead)


def world_secret(world: World) -> str:
    """The webhook secret World gave the connection (its connection secret)."""
    listed = world.secrets.list_secrets()["SecretList"]
    name = next(s["Name"] for s in listed if s["Name"].endswith(world.connection_ids["generic"]))
    return str(json.loads(world.secrets.get_secret_value(SecretId=name)["SecretString"])["webhook_secret"])


def signed_generic_webhook(connection_id: str, body: bytes, *, secret: str | None, now: float) -> Webhook:
    """A style-A delivery to the connection, signed with `secret` at `now` (None: unsigned)."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers |= timestamped_hmac_signature(secret, "X-Signature", "X-Timestamp", lambda: now)(body)
    return Webhook("generic", f"{API_URL}/webhooks/generic/{connection_id}", body, headers)


def test_the_scheduled_full_pass_syncs_the_filtered_contacts_on_its_own_cadence() -> None:
    # GIVEN style B whose spec polls nothing but asks for a full pass every 5 minutes of Acme's contacts
    with World(seed=23, apps=[GENERIC_B]) as world:
        connection = world.connections.get(world.connection_ids["generic"])
        assert connection is not None
        spec = {**connection.settings.app, "inbound": {}}
        spec["rules"] = {"full_pass": {"filter": {"Company": "Acme"}, "every_minutes": 5}}
        settings = connection.settings.model_copy(update={"app": spec})
        world.connections.put(connection.model_copy(update={"settings": settings, "updated_at": world.now()}))
        fake = generic(world)
        fake.ui_create_contact(
            first_name="Grace", last_name="Hopper", email="grace@acme.test", company="Acme"
        )
        fake.ui_create_contact(
            first_name="Linus", last_name="Other", email="linus@other.test", company="Other"
        )

        def ghl_emails() -> set[str]:
            return {c.email or "" for c in map(world.ghl_reader().get_contact, world.ghl_contact_ids()) if c}

        def scheduled_sweep(after_s: float) -> None:
            world.clock.advance(after_s)
            world.invoke("SweepFunction", SWEEP_EVENT)
            world.settle()

        # WHEN the scheduled sweep runs THEN the full pass brought Acme's contact only
        scheduled_sweep(60)
        assert ghl_emails() == {"grace@acme.test"}
        # WHEN another Acme contact appears and the sweep runs before 5 minutes are up THEN not yet
        fake.ui_create_contact(first_name="Ada", last_name="Byron", email="ada@acme.test", company="Acme")
        scheduled_sweep(2 * 60)
        assert ghl_emails() == {"grace@acme.test"}
        # WHEN the sweep runs once they are up THEN the next full pass brought it
        scheduled_sweep(4 * 60)
        assert ghl_emails() == {"grace@acme.test", "ada@acme.test"}
        assert world.dead_letters() == []
