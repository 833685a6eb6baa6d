"""The generic fake's admin API (changes as an app user, webhooks, rate limit, state), style A's
webhook retries, its `AppSandbox` for the stacks (sandbox/apps/generic/stack.py) and its command
line's checks."""

import json
from pathlib import Path

import httpx
import pytest

from sandbox.apps.generic import GenericSandbox, stack
from sandbox.apps.generic.__main__ import main
from sandbox.apps.generic.stack import DEV_API_KEY, DEV_FIXTURE_IDS, DEV_TOKEN, GENERIC_A, GENERIC_B
from sandbox.fakes.clock import FakeClock
from tests.fixtures.generic_fake import WEBHOOK_SECRET, WEBHOOK_URL, Sent, admin, generic_api, generic_fake

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_a(clock: FakeClock) -> tuple[GenericSandbox, Sent]:
    sb, sent = generic_fake("a", clock)
    sb.register_webhook(WEBHOOK_URL, secret=WEBHOOK_SECRET)
    return sb, sent


def events(sb: GenericSandbox, sent: Sent) -> list[str]:
    sb.deliver_webhooks()
    return [json.loads(body)["event"] for _, body, _ in sent]


# -- records as an app user -------------------------------------------------------------------------
def test_an_app_user_creates_a_contact_in_the_styles_own_fields_and_it_fires_a_webhook(
    fake_a: tuple[GenericSandbox, Sent],
) -> None:
    # GIVEN style A with a webhook
    sb, sent = fake_a
    # WHEN a contact is created through the admin API, with no credential
    response = admin(sb).post("/_sandbox/contacts", json={"name": "Ada Lovelace", "email": "ada@example.com"})
    # THEN it is created as the API shows it, and the webhook fired
    assert response.status_code == 201
    assert response.json()["name"] == "Ada Lovelace"
    assert events(sb, sent) == ["contact.created"]


def test_an_app_user_adds_a_task_naming_its_contact_then_edits_and_deletes_it(
    fake_a: tuple[GenericSandbox, Sent],
) -> None:
    # GIVEN a contact in style A
    sb, sent = fake_a
    contact_id = sb.ui_create_contact(first_name="Ada").id
    # WHEN an app user adds, edits and deletes a task
    http = admin(sb)
    task = http.post("/_sandbox/tasks", json={"contact_id": contact_id, "title": "Call"}).json()
    edited = http.patch(f"/_sandbox/tasks/{task['id']}", json={"status": "done"}).json()
    deleted = http.delete(f"/_sandbox/tasks/{task['id']}")
    # THEN each change is a webhook
    assert (task["contact_id"], edited["status"], deleted.status_code) == (contact_id, "done", 204)
    assert events(sb, sent) == ["contact.created", "task.created", "task.updated", "task.deleted"]


def test_an_admin_task_without_its_contact_is_a_422(fake_a: tuple[GenericSandbox, Sent]) -> None:
    # GIVEN style A WHEN a task names no contact THEN 422 naming contact_id
    response = admin(fake_a[0]).post("/_sandbox/tasks", json={"title": "Call"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "contact_id"


def test_an_app_user_changes_tags_and_the_state_shows_every_record(
    fake_a: tuple[GenericSandbox, Sent],
) -> None:
    # GIVEN a contact with a note
    sb = fake_a[0]
    contact_id = sb.ui_create_contact(first_name="Ada", tags=["old"]).id
    sb.ui_create("note", contact_id=contact_id, body="Hi")
    # WHEN an app user adds one tag and removes another
    http = admin(sb)
    tagged = http.post(f"/_sandbox/contacts/{contact_id}/tags", json={"add": ["vip"], "remove": ["old"]})
    state = http.get("/_sandbox/state").json()
    # THEN the contact holds the new tag only, and the state lists each record in the style's shape
    assert tagged.json()["tags"] == ["vip"]
    assert [c["tags"] for c in state["contacts"]] == [["vip"]]
    assert [n["body"] for n in state["notes"]] == ["Hi"] and state["tasks"] == []


def test_an_app_user_in_style_b_uses_pascal_case_and_no_webhook_is_queued(clock: FakeClock) -> None:
    # GIVEN style B
    sb, _ = generic_fake("b", clock)
    # WHEN a contact and a note are created through the admin API
    http = admin(sb)
    contact = http.post("/_sandbox/contacts", json={"FirstName": "Ada", "Tags": ["vip"]}).json()
    note = http.post("/_sandbox/notes", json={"ContactId": contact["Id"], "Text": "Hi"}).json()
    # THEN both exist as style B shows them, with nothing to deliver
    assert (contact["Tags"], note["ContactId"]) == (["vip"], contact["Id"])
    assert sb.outbox.deliveries == []


def test_an_unknown_collection_is_a_400(fake_a: tuple[GenericSandbox, Sent]) -> None:
    # GIVEN the admin API WHEN records of an unknown kind are created THEN 400
    assert admin(fake_a[0]).post("/_sandbox/deals", json={}).status_code == 400


# -- webhooks, rate limit --------------------------------------------------------------------------
def test_a_webhook_registered_through_the_admin_api_is_delivered_by_it(clock: FakeClock) -> None:
    # GIVEN style A with a webhook registered over HTTP
    sb, sent = generic_fake("a", clock)
    http = admin(sb)
    registered = http.post("/_sandbox/webhooks", json={"url": WEBHOOK_URL, "secret": WEBHOOK_SECRET})
    # WHEN a contact is created and the admin API delivers
    sb.ui_create_contact(first_name="Ada")
    delivered = http.post("/_sandbox/deliver").json()["delivered"]
    # THEN the delivery went to the URL, and the outbox shows it delivered
    assert registered.status_code == 201
    assert delivered == [{"url": WEBHOOK_URL, "status": 200, "state": "delivered"}]
    assert http.get("/_sandbox/webhooks").json()["deliveries"][0]["state"] == "delivered"
    assert len(sent) == 1


def test_a_delivery_answered_5xx_is_retried_with_the_same_bytes(clock: FakeClock) -> None:
    # GIVEN a receiver that fails once, then accepts
    answers, received = [503, 200], []

    def receiver(url: str, body: bytes, headers: dict[str, str]) -> int:
        received.append((body, headers))
        return answers.pop(0)

    sb = GenericSandbox("a", clock=clock, webhook_sender=receiver)
    sb.register_webhook(WEBHOOK_URL, secret=WEBHOOK_SECRET)
    sb.ui_create_contact(first_name="Ada")
    # WHEN delivery runs now and again 30 s later
    sb.deliver_webhooks()
    clock.advance(30)
    sb.deliver_webhooks()
    # THEN the same delivery was sent twice and is delivered
    assert len(received) == 2 and received[0] == received[1]
    assert sb.outbox.deliveries[0].state == "delivered"


def test_style_b_refuses_a_webhook_registration_with_a_400(clock: FakeClock) -> None:
    # GIVEN style B WHEN a webhook is registered THEN 400 saying it polls
    response = admin(generic_fake("b", clock)[0]).post(
        "/_sandbox/webhooks", json={"url": WEBHOOK_URL, "secret": "s"}
    )
    assert response.status_code == 400 and "ModifiedSince" in response.json()["Message"]


def test_the_rate_limit_is_set_and_lifted_through_the_admin_api(fake_a: tuple[GenericSandbox, Sent]) -> None:
    # GIVEN a limit of one request a minute
    sb = fake_a[0]
    http, api = admin(sb), generic_api(sb)
    assert http.post("/_sandbox/rate-limit", json={"per_minute": 1}).json() == {"per_minute": 1}
    # WHEN two requests are made, the limit lifted, and a third made
    statuses = [api.get("/contacts").status_code for _ in range(2)]
    http.post("/_sandbox/rate-limit", json={"per_minute": None})
    # THEN the second was refused and the third is not
    assert statuses == [200, 429] and api.get("/contacts").status_code == 200


@pytest.mark.parametrize("per_minute", [0, "many"])
def test_a_bad_rate_limit_is_a_400(fake_a: tuple[GenericSandbox, Sent], per_minute: object) -> None:
    # GIVEN the admin API WHEN a limit of 0 or a word is set THEN 400
    assert admin(fake_a[0]).post("/_sandbox/rate-limit", json={"per_minute": per_minute}).status_code == 400


# -- the stacks' AppSandbox -------------------------------------------------------------------------
def test_dev_fixtures_have_the_documented_ids_and_queue_no_webhooks(clock: FakeClock) -> None:
    # GIVEN style A's sandbox with its webhooks registered
    app = GENERIC_A.build("http://127.0.0.1:8086/api/v1", clock, 0)
    app.register_webhooks(WEBHOOK_URL, app.credentials(WEBHOOK_SECRET))
    # WHEN the dev fixtures are seeded
    ids = app.seed_dev_fixtures()
    # THEN they have the documented ids, are the app's persons, and nothing was queued
    assert ids == DEV_FIXTURE_IDS
    assert app.person_ids() == ["con_00001"]
    assert app.fake.outbox.deliveries == []


def test_each_style_holds_its_own_credential_and_only_style_a_registers_webhooks(clock: FakeClock) -> None:
    # GIVEN both styles' sandboxes
    app_a = GENERIC_A.build("http://127.0.0.1:8086/api/v1", clock, 0)
    app_b = GENERIC_B.build("http://127.0.0.1:8087/b", clock, 0)
    # WHEN each registers webhooks with its credentials
    for app in (app_a, app_b):
        app.register_webhooks(WEBHOOK_URL, app.credentials(WEBHOOK_SECRET))
    # THEN A holds a token and the secret and posts to the URL; B holds an API key and polls
    assert app_a.credentials(WEBHOOK_SECRET) == {"token": DEV_TOKEN, "webhook_secret": WEBHOOK_SECRET}
    assert app_b.credentials(WEBHOOK_SECRET) == {"api_key": DEV_API_KEY}
    assert [s.url for s in app_a.fake.subscribers] == [WEBHOOK_URL] and app_b.fake.subscribers == []
    assert (app_a.base_url, app_b.base_url) == ("http://127.0.0.1:8086/api/v1", "http://127.0.0.1:8087/b")


def test_the_connection_settings_are_the_styles_spec_aimed_at_the_fake(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a spec file for style B that points elsewhere
    spec = tmp_path / "generic-style-b.yaml"
    spec.write_text("name: generic-style-b\nbase_url: http://elsewhere/b\nauth: {kind: api_key}\n")
    monkeypatch.setitem(stack.SPEC_FILES, "b", spec)
    # WHEN a style B sandbox gives its connection settings
    settings = GENERIC_B.build("http://127.0.0.1:9999/b", clock, 0).connection_settings()
    # THEN they are the spec with the fake's base URL
    assert settings == {
        "name": "generic-style-b",
        "base_url": "http://127.0.0.1:9999/b",
        "auth": {"kind": "api_key"},
    }


def test_reset_lifts_faults_and_the_rate_limit(clock: FakeClock) -> None:
    # GIVEN a sandbox with faults and a rate limit
    app = GENERIC_A.build("http://127.0.0.1:8086/api/v1", clock, 0)
    app.fake.faults.configure(rate_5xx=1.0)
    app.fake.limiter.configure(1)
    # WHEN it is reset
    app.reset()
    # THEN its API answers every request again
    http = httpx.Client(
        transport=app.transport(), base_url=app.base_url, headers={"Authorization": f"Bearer {DEV_TOKEN}"}
    )
    assert [http.get("/contacts").status_code for _ in range(3)] == [200, 200, 200]


# -- the command line -------------------------------------------------------------------------------
def test_the_command_line_refuses_a_webhook_url_for_style_b(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN style B WHEN started with a webhook URL THEN it exits 2 saying why (before listening)
    with pytest.raises(SystemExit) as exited:
        main(["--style", "b", "--webhook-url", WEBHOOK_URL])
    assert exited.value.code == 2 and "no webhooks" in capsys.readouterr().err


def test_an_unknown_style_is_refused() -> None:
    # GIVEN a style the fake does not have WHEN built THEN a clear error
    with pytest.raises(ValueError, match="one of a, b"):
        GenericSandbox("c")
