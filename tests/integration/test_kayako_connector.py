"""KayakoConnector against the in-process Kayako fake: auth, every entity operation, retries, errors."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from ghlsync.apps.base import InboundRequest
from ghlsync.apps.kayako import (
    KayakoAuthError,
    KayakoConflict,
    KayakoConnector,
    KayakoCredentials,
    KayakoRateLimited,
    KayakoServerError,
    KayakoSettings,
    KayakoTransportError,
    KayakoValidationError,
)
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from sandbox.apps.kayako import KayakoSandbox
from tests.fixtures.kayako import (
    KAYAKO_AGENT_EMAIL,
    KAYAKO_CONNECTION_ID,
    KAYAKO_LOCATION_ID,
    KAYAKO_WEBHOOK_TOKEN,
    FakeClock,
    make_kayako_connector,
)

pytestmark = pytest.mark.integration

ADA = CanonicalContact(
    first_name="Ada",
    last_name="Lovelace",
    email="ada@x.example",
    phone="+15550100",
    custom_fields={"plan": "gold"},
    tags=frozenset({"vip", "lead"}),
)


@pytest.fixture
def connector(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> KayakoConnector:
    """The fixture connector, configured with every optional mapping in use."""
    agent_id = kayako_sandbox.store.passwords[KAYAKO_AGENT_EMAIL][1]
    return make_kayako_connector(
        kayako_sandbox,
        kayako_clock,
        kayako_sleeps,
        custom_field_map={"plan": "plan"},
        assignee_map={"sam@agency.example": agent_id},
        due_date_field="ghl_due",
    )


def calls(
    sandbox: KayakoSandbox, method: str | None = None, path_part: str = ""
) -> list[tuple[str, str, int]]:
    return [
        (r.method, r.path, r.status)
        for r in sandbox.request_log
        if (method is None or r.method == method) and path_part in r.path
    ]


def logins(sandbox: KayakoSandbox) -> int:
    return len(calls(sandbox, "GET", "/api/v1/session"))


# -- session auth -----------------------------------------------------------------------------
def test_logs_in_once_and_reuses_the_session(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a fresh connector / WHEN it makes several calls, writes included
    created = connector.create_contact(ADA)
    connector.get_contact(str(created.id))
    connector.add_tags(str(created.id), frozenset({"x"}))
    # THEN it logged in exactly once and every write passed the CSRF check
    assert logins(kayako_sandbox) == 1
    assert not [c for c in calls(kayako_sandbox) if c[2] in (401, 403, 454)]


def test_logs_in_again_when_the_session_expires(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a connector with a session, then Kayako forgets every session
    created = connector.create_contact(ADA)
    kayako_sandbox.expire_sessions()
    # WHEN it reads the contact
    contact = connector.get_contact(str(created.id))
    # THEN the 454 triggered one new login and the call succeeded
    assert contact is not None
    assert logins(kayako_sandbox) == 2
    assert ("GET", f"/api/v1/users/{created.id}", 454) in calls(kayako_sandbox)


def test_bad_credentials_are_a_permanent_auth_error(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a connector with a wrong password
    connector = KayakoConnector(
        httpx.Client(transport=kayako_sandbox.transport()),
        KayakoSettings(base_url=kayako_sandbox.base_url),
        secret=KayakoCredentials.model_validate(
            {"email": KAYAKO_AGENT_EMAIL, "password": "wrong", "webhook_token": KAYAKO_WEBHOOK_TOKEN}
        ),
        location_id=KAYAKO_LOCATION_ID,
        connection_id=KAYAKO_CONNECTION_ID,
        sleep=lambda _s: None,
        clock=lambda: 0.0,
    )
    # WHEN it calls Kayako / THEN a permanent auth error
    with pytest.raises(KayakoAuthError) as caught:
        connector.get_contact("1")
    assert caught.value.transient is False


# -- contacts ---------------------------------------------------------------------------------
def test_created_contact_reads_back_identical(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN / WHEN a contact is created
    created = connector.create_contact(ADA)
    # THEN it is a customer with identities, custom field and tags, and reads back with the same content
    user = kayako_sandbox.store.users[int(str(created.id))]
    assert (user.full_name, user.role_id, user.custom_fields) == ("Ada Lovelace", 4, {"plan": "gold"})
    assert sorted(kayako_sandbox.store.tags_of(user.id)) == ["lead", "vip"]
    read = connector.get_contact(str(created.id))
    assert read is not None
    assert read.content_hash() == ADA.content_hash() == created.content_hash()


def test_missing_contact_is_none(connector: KayakoConnector) -> None:
    # GIVEN ids that do not exist or cannot exist / WHEN read / THEN None
    assert connector.get_contact("4242") is None
    assert connector.get_contact("not-an-id") is None


def test_find_contacts_dedups_by_email_case_insensitively(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a user created in Kayako's UI
    user = kayako_sandbox.ui_create_user("Ada Lovelace", email="Ada@X.example")
    # WHEN looked up by the same email in another case, and by an unknown one
    found = connector.find_contacts(email=" ada@x.EXAMPLE ", phone=None)
    missing = connector.find_contacts(email="grace@x.example", phone=None)
    # THEN the existing user is found through autocomplete/emails, and nothing otherwise
    assert [c.id for c in found] == [str(user.id)]
    assert missing == []
    assert calls(kayako_sandbox, "GET", "autocomplete/emails")


def test_phone_alone_finds_nothing_without_calling_kayako(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a user with a phone / WHEN looked up by phone only / THEN [] (Kayako has no phone lookup), no call
    kayako_sandbox.ui_create_user("Ada", phone="+15550100")
    assert connector.find_contacts(email=None, phone="+15550100") == []
    assert kayako_sandbox.request_log == []


def test_update_contact_changes_name_email_phone_and_custom_fields(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a contact in Kayako
    created = connector.create_contact(ADA)
    changed = ADA.model_copy(
        update={
            "first_name": "Augusta",
            "email": "augusta@x.example",
            "phone": "+15550199",
            "custom_fields": {},
        }
    )
    # WHEN name, email, phone and custom fields change
    updated = connector.update_contact(
        str(created.id), changed, frozenset({"first_name", "email", "phone", "custom_fields"})
    )
    # THEN Kayako holds the new values, and the new email replaced the old one
    assert updated.content_hash() == changed.content_hash()
    emails = kayako_sandbox.store.identities_of(int(str(created.id)), "email")
    assert [(e.value, e.is_primary) for e in emails] == [("augusta@x.example", True)]
    assert kayako_sandbox.store.users[int(str(created.id))].custom_fields == {}


def test_a_replaced_email_is_free_for_another_user(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a contact whose email was changed
    created = connector.create_contact(ADA)
    connector.update_contact(
        str(created.id), ADA.model_copy(update={"email": "augusta@x.example"}), frozenset({"email"})
    )
    # WHEN another contact is created with the old address
    other = connector.create_contact(
        CanonicalContact(first_name="Ada", last_name="Byron", email="ada@x.example")
    )
    # THEN it is a different user, and a lookup of the old address finds only that one
    assert other.id != created.id
    assert [c.id for c in connector.find_contacts(email="ada@x.example", phone=None)] == [other.id]


def test_without_replace_changed_email_the_old_address_is_kept(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN a connection that keeps changed addresses, and a contact in Kayako
    connector = make_kayako_connector(
        kayako_sandbox, kayako_clock, kayako_sleeps, replace_changed_email=False
    )
    created = connector.create_contact(ADA)
    # WHEN its email changes
    connector.update_contact(
        str(created.id), ADA.model_copy(update={"email": "augusta@x.example"}), frozenset({"email"})
    )
    # THEN the new email is primary and the old one is kept, not primary
    emails = kayako_sandbox.store.identities_of(int(str(created.id)), "email")
    assert [(e.value, e.is_primary) for e in emails] == [
        ("augusta@x.example", True),
        ("ada@x.example", False),
    ]
    assert not calls(kayako_sandbox, "DELETE", "identities/emails")


def test_update_contact_back_to_an_old_email_promotes_that_identity(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN a user whose primary email was changed in the UI, the old one kept
    connector = make_kayako_connector(
        kayako_sandbox, kayako_clock, kayako_sleeps, replace_changed_email=False
    )
    created = connector.create_contact(ADA)
    kayako_sandbox.ui_add_email(int(str(created.id)), "other@x.example")
    # WHEN the contact's email is set back to the old address
    updated = connector.update_contact(str(created.id), ADA, frozenset({"email"}))
    # THEN the existing identity becomes primary again, no duplicate is created
    assert updated.email == "ada@x.example"
    assert len(kayako_sandbox.store.identities_of(int(str(created.id)), "email")) == 2
    assert not calls(kayako_sandbox, "POST", "identities/emails")


def test_update_contact_back_to_an_old_email_replaces_the_current_one(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a user whose primary email was changed in the UI, the old one kept
    created = connector.create_contact(ADA)
    kayako_sandbox.ui_add_email(int(str(created.id)), "other@x.example")
    # WHEN the contact's email is set back to the old address
    updated = connector.update_contact(str(created.id), ADA, frozenset({"email"}))
    # THEN the old identity is promoted (no new one) and the replaced primary is removed
    assert updated.email == "ada@x.example"
    emails = kayako_sandbox.store.identities_of(int(str(created.id)), "email")
    assert [(e.value, e.is_primary) for e in emails] == [("ada@x.example", True)]
    assert not calls(kayako_sandbox, "POST", "identities/emails")


def test_an_unchanged_email_deletes_no_identity(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a user with a secondary address
    created = connector.create_contact(ADA)
    kayako_sandbox.ui_add_email(int(str(created.id)), "old@x.example", primary=False)
    # WHEN an update names email as changed but the address is already primary
    connector.update_contact(str(created.id), ADA, frozenset({"email"}))
    # THEN no identity is touched: secondary addresses stay
    assert not calls(kayako_sandbox, "DELETE", "identities/emails")
    assert len(kayako_sandbox.store.identities_of(int(str(created.id)), "email")) == 2


def test_update_contact_tags_never_go_in_the_user_body(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a contact / WHEN an update says only tags changed
    created = connector.create_contact(ADA)
    connector.update_contact(
        str(created.id), ADA.model_copy(update={"tags": frozenset()}), frozenset({"tags"})
    )
    # THEN no user PUT and no tag call was made: tags move only through add/remove deltas
    assert not calls(kayako_sandbox, "PUT")
    assert sorted(kayako_sandbox.store.tags_of(int(str(created.id)))) == ["lead", "vip"]


def test_concurrent_edit_between_read_and_write_is_a_transient_conflict(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN an agent edits the user in the UI right before our PUT lands
    user = kayako_sandbox.ui_create_user("Ada Lovelace")

    class EditBeforePut(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = kayako_sandbox.transport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "PUT":
                kayako_sandbox.ui_update_user(user.id, full_name="Edited In UI")
            return self.inner.handle_request(request)

    connector = make_kayako_connector(kayako_sandbox, kayako_clock, kayako_sleeps, transport=EditBeforePut())
    # WHEN the connector updates the name / THEN If-Match fails: a transient conflict, the UI edit kept
    with pytest.raises(KayakoConflict) as caught:
        connector.update_contact(str(user.id), CanonicalContact(first_name="Mine"), frozenset({"first_name"}))
    assert caught.value.transient is True
    assert kayako_sandbox.store.users[user.id].full_name == "Edited In UI"


def test_update_right_after_a_read_makes_only_the_put(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a user the engine has just read (as it always does before writing)
    created = connector.create_contact(ADA)
    connector.get_contact(str(created.id))
    before = len(kayako_sandbox.request_log)
    # WHEN its name is updated
    updated = connector.update_contact(
        str(created.id), ADA.model_copy(update={"first_name": "Augusta"}), frozenset({"first_name"})
    )
    # THEN one PUT did it (its answer is the result; the read supplied the ETag), and it is right
    made = [(r.method, r.status) for r in kayako_sandbox.request_log[before:]]
    assert made == [("PUT", 200)]
    assert updated.first_name == "Augusta" and updated.tags == ADA.tags


def test_delete_contact_is_idempotent(connector: KayakoConnector, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a contact / WHEN deleted twice / THEN it is gone and the second delete is not an error
    created = connector.create_contact(ADA)
    connector.delete_contact(str(created.id))
    connector.delete_contact(str(created.id))
    assert connector.get_contact(str(created.id)) is None


# -- tags -------------------------------------------------------------------------------------
def test_tags_move_as_deltas_with_post_and_delete_only(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a user with a tag added by an agent
    user = kayako_sandbox.ui_create_user("Ada")
    kayako_sandbox.ui_add_tags(user.id, "agent-tag")
    # WHEN tags are added and removed through the connector
    connector.add_tags(str(user.id), frozenset({"vip", "lead"}))
    connector.remove_tags(str(user.id), frozenset({"lead"}))
    connector.add_tags(str(user.id), frozenset())
    # THEN only POST and DELETE were used, and the agent's tag survived
    tag_calls = calls(kayako_sandbox, path_part="/tags")
    assert [c[0] for c in tag_calls] == ["POST", "DELETE"]
    assert sorted(kayako_sandbox.store.tags_of(user.id)) == ["agent-tag", "vip"]


def test_tag_with_a_comma_is_a_permanent_error(connector: KayakoConnector) -> None:
    # GIVEN a tag Kayako's comma-separated parameter cannot carry / WHEN added / THEN permanent error
    with pytest.raises(KayakoValidationError):
        connector.add_tags("1", frozenset({"a,b"}))


# -- tasks ------------------------------------------------------------------------------------
def test_task_becomes_a_case_and_reads_back(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a contact and a dated, assigned task
    contact = connector.create_contact(ADA)
    task = CanonicalTask(
        title="Call back", due_date=datetime(2026, 2, 1, 9, 0, tzinfo=UTC), assignee="sam@agency.example"
    )
    # WHEN the task is created
    created = connector.create_task(str(contact.id), task)
    # THEN a NOTE case for the user holds it, and it reads back with the same content
    case = kayako_sandbox.store.cases[int(str(created.id))]
    assert (case.requester_id, case.channel, case.status_id, case.tags) == (
        int(str(contact.id)),
        "NOTE",
        2,
        ["ghl-task"],
    )
    assert case.custom_fields == {"ghl_due": "2026-02-01T09:00:00+00:00"}
    assert created.parent_id == contact.id
    assert created.content_hash() == task.content_hash()
    assert [t.id for t in connector.list_tasks(str(contact.id))] == [created.id]


def test_completing_and_reopening_a_task_moves_the_case_status(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a task
    contact = connector.create_contact(ADA)
    created = connector.create_task(str(contact.id), CanonicalTask(title="Call back"))
    assert created.id is not None
    # WHEN completed, then reopened
    done = connector.update_task(
        str(contact.id), created.id, created.model_copy(update={"completed": True}), frozenset({"completed"})
    )
    status_when_done = kayako_sandbox.store.cases[int(created.id)].status_id
    reopened = connector.update_task(
        str(contact.id), created.id, done.model_copy(update={"completed": False}), frozenset({"completed"})
    )
    # THEN the case went COMPLETED then OPEN
    assert (done.completed, status_when_done) == (True, 4)
    assert (reopened.completed, kayako_sandbox.store.cases[int(created.id)].status_id) == (False, 2)


def test_closed_case_from_the_ui_is_a_completed_task(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN an agent closes a case in the UI / WHEN read / THEN the task is completed
    user = kayako_sandbox.ui_create_user("Ada")
    case = kayako_sandbox.ui_create_case(user.id, "Question")
    kayako_sandbox.ui_update_case(case.id, status_id=5)
    task = connector.get_task(str(user.id), str(case.id))
    assert task is not None
    assert task.completed is True


def test_update_task_with_nothing_mapped_changed_makes_no_write(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a task / WHEN an update names no field Kayako holds / THEN no PUT, current task returned
    contact = connector.create_contact(ADA)
    created = connector.create_task(str(contact.id), CanonicalTask(title="Call back"))
    assert created.id is not None
    result = connector.update_task(str(contact.id), created.id, created, frozenset())
    assert result.title == "Call back"
    assert not calls(kayako_sandbox, "PUT", "/cases")


def test_delete_task_removes_the_case(connector: KayakoConnector) -> None:
    # GIVEN a task / WHEN deleted / THEN it cannot be read any more
    contact = connector.create_contact(ADA)
    created = connector.create_task(str(contact.id), CanonicalTask(title="Call back"))
    assert created.id is not None
    connector.delete_task(str(contact.id), created.id)
    assert connector.get_task(str(contact.id), created.id) is None


# -- notes ------------------------------------------------------------------------------------
def test_note_crud(connector: KayakoConnector, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a contact
    contact = connector.create_contact(ADA)
    contact_id = str(contact.id)
    # WHEN a note is created, updated, listed and deleted
    created = connector.create_note(contact_id, CanonicalNote(body="Called, no answer"))
    assert created.id is not None
    updated = connector.update_note(contact_id, created.id, CanonicalNote(body="Called back"))
    listed = connector.list_notes(contact_id)
    connector.delete_note(contact_id, created.id)
    # THEN each step is reflected in Kayako
    assert (created.body, created.parent_id) == ("Called, no answer", contact_id)
    assert updated.body == "Called back"
    assert [n.body for n in listed] == ["Called back"]
    assert connector.get_note(contact_id, created.id) is None


def test_wrong_note_body_field_is_a_permanent_field_required_error(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN a connection configured with a note field name Kayako does not know
    connector = make_kayako_connector(kayako_sandbox, kayako_clock, kayako_sleeps, note_body_field="body")
    user = kayako_sandbox.ui_create_user("Ada")
    # WHEN a note is created / THEN FIELD_REQUIRED surfaces as a permanent error naming the parameter
    with pytest.raises(KayakoValidationError) as caught:
        connector.create_note(str(user.id), CanonicalNote(body="hello"))
    assert (caught.value.code, caught.value.parameter, caught.value.transient) == (
        "FIELD_REQUIRED",
        "contents",
        False,
    )


# -- retries ----------------------------------------------------------------------------------
def test_rate_limit_is_waited_out_with_retry_after(
    connector: KayakoConnector,
    kayako_sandbox: KayakoSandbox,
    kayako_clock: FakeClock,
    kayako_sleeps: list[float],
) -> None:
    # GIVEN one user creation per minute, 50 s into the minute, and one creation already made
    kayako_sandbox.limiter.configure({"POST users": 1})
    kayako_clock.advance(50)
    connector.create_contact(CanonicalContact(first_name="First"))
    # WHEN another contact is created
    second = connector.create_contact(CanonicalContact(first_name="Second"))
    # THEN the connector slept the Retry-After (10 s) once and succeeded
    assert second.first_name == "Second"
    assert kayako_sleeps == [10.0]


def test_rate_limit_longer_than_allowed_is_left_to_the_queue(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN a connector that sleeps at most 5 s and a limit whose window ends in 60 s
    connector = make_kayako_connector(kayako_sandbox, kayako_clock, kayako_sleeps, max_retry_after_s=5)
    kayako_sandbox.limiter.configure({"POST users": 1})
    connector.create_contact(CanonicalContact(first_name="First"))
    # WHEN another creation hits the limit / THEN a transient error carrying Retry-After, no sleep
    with pytest.raises(KayakoRateLimited) as caught:
        connector.create_contact(CanonicalContact(first_name="Second"))
    assert (caught.value.transient, caught.value.retry_after, kayako_sleeps) == (True, 60.0, [])


def test_persistent_429_gives_up_after_the_bounded_retries(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox, kayako_sleeps: list[float]
) -> None:
    # GIVEN every request is answered 429 (Retry-After: 1)
    kayako_sandbox.faults.configure(rate_429=1.0)
    # WHEN the connector calls / THEN it retried max_retries (3) times, then raised a transient error
    with pytest.raises(KayakoRateLimited):
        connector.get_contact("1")
    assert kayako_sleeps == [1.0, 1.0, 1.0]


def test_server_errors_on_reads_are_retried_with_full_jitter_backoff(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN a jitter source drawing half of each range, and every request failing with 500
    connector = make_kayako_connector(kayako_sandbox, kayako_clock, kayako_sleeps, rng=lambda: 0.5)
    kayako_sandbox.faults.configure(rate_5xx=1.0)
    # WHEN reading / THEN retried with waits of that share of 0.5 s * 2^attempt, then transient
    with pytest.raises(KayakoServerError) as caught:
        connector.get_contact("1")
    assert caught.value.transient is True
    assert kayako_sleeps == [0.25, 0.5, 1.0]


def test_server_errors_on_creates_are_not_retried(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox, kayako_sleeps: list[float]
) -> None:
    # GIVEN a logged-in connector, then every request fails with 500
    connector.get_contact("1")
    kayako_sandbox.faults.configure(rate_5xx=1.0)
    # WHEN creating (the create may have been applied) / THEN one attempt and a transient error
    with pytest.raises(KayakoServerError):
        connector.create_note("1", CanonicalNote(body="x"))
    assert kayako_sleeps == []


def test_timeout_on_a_create_is_not_retried(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox, kayako_sleeps: list[float]
) -> None:
    # GIVEN a logged-in connector and a transport that times out after the request was applied
    connector.get_contact("1")
    kayako_sandbox.faults.configure(rate_timeout=1.0)
    # WHEN creating a contact / THEN a transient transport error and exactly one user created
    with pytest.raises(KayakoTransportError):
        connector.create_contact(CanonicalContact(first_name="Once"))
    assert [u.full_name for u in kayako_sandbox.store.users.values()].count("Once") == 1
    assert kayako_sleeps == []


def test_connection_resets_are_retried_even_for_creates(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox, kayako_sleeps: list[float]
) -> None:
    # GIVEN a logged-in connector and a transport resetting about half the connections (seeded)
    connector.get_contact("1")
    kayako_sandbox.faults.reseed(3)
    kayako_sandbox.faults.configure(rate_reset=0.5)
    # WHEN a contact is created / THEN it exists once: a reset means nothing was sent, so retrying is safe
    created = connector.create_contact(CanonicalContact(first_name="Once"))
    assert created.first_name == "Once"
    assert [u.full_name for u in kayako_sandbox.store.users.values()].count("Once") == 1
    assert kayako_sandbox.faults.injected, (
        "the seed must inject at least one reset for this test to mean anything"
    )


# -- change listing (sweeps) ----------------------------------------------------------------------
def test_list_changes_yields_customers_and_cases_changed_since(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock
) -> None:
    # GIVEN an old user, then (a minute later) a new user with a case and an old user's note
    old = kayako_sandbox.ui_create_user("Old")
    quiet = kayako_sandbox.ui_create_user("Quiet")
    kayako_clock.advance(60)
    since = datetime.fromtimestamp(kayako_clock(), UTC)
    new = kayako_sandbox.ui_create_user("New")
    case = kayako_sandbox.ui_create_case(new.id, "Question")
    kayako_sandbox.ui_add_note(old.id, "touch")
    # WHEN listing changes since then
    events = list(connector.list_changes(since))
    # THEN both changed customers (not the quiet one, not the agent) and the case come out
    summary = sorted((e.entity, e.entity_id, e.parent_id) for e in events)
    assert summary == sorted(
        [
            (EntityKind.CONTACT, str(old.id), None),
            (EntityKind.CONTACT, str(new.id), None),
            (EntityKind.TASK, str(case.id), str(new.id)),
        ]
    )
    assert str(quiet.id) not in {e.entity_id for e in events}
    assert all(e.action is ChangeAction.UPSERT and e.location_id == KAYAKO_LOCATION_ID for e in events)


def test_list_changes_event_ids_are_stable_across_sweeps(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN a changed user / WHEN two sweeps list it / THEN the same event id (de-duplicated downstream)
    kayako_sandbox.ui_create_user("Ada")
    since = datetime(2025, 1, 1, tzinfo=UTC)
    assert [e.event_id for e in connector.list_changes(since)] == [
        e.event_id for e in connector.list_changes(since)
    ]


def test_list_changes_pages_through_large_result_sets(
    kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock, kayako_sleeps: list[float]
) -> None:
    # GIVEN 25 customers and a page size of 10
    connector = make_kayako_connector(kayako_sandbox, kayako_clock, kayako_sleeps, page_size=10)
    for n in range(25):
        kayako_sandbox.ui_create_user(f"U{n}")
    # WHEN listing / THEN all 25 come out over 3 user pages
    events = list(connector.list_changes(datetime(2025, 1, 1, tzinfo=UTC)))
    assert len(events) == 25
    assert len(calls(kayako_sandbox, "GET", "/api/v1/users")) == 3


# -- webhooks end to end ----------------------------------------------------------------------
def test_automation_call_from_the_fake_verifies_and_parses(
    connector: KayakoConnector, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN the fake posts to an endpoint URL carrying the connection token
    received: list[tuple[str, bytes, dict[str, str]]] = []

    def sender(url: str, body: bytes, headers: dict[str, str]) -> int:
        received.append((url, body, headers))
        return 200

    kayako_sandbox.automation_sender = sender
    kayako_sandbox.register_automation(
        f"https://stack.example/webhooks/kayako/c1?token={KAYAKO_WEBHOOK_TOKEN}"
    )
    user = kayako_sandbox.ui_create_user("Ada")
    kayako_sandbox.ui_update_user(user.id, full_name="Ada Byron")
    kayako_sandbox.deliver_automations()
    # WHEN ingress hands each call to the connector
    events = []
    for url, body, headers in received:
        query = dict(httpx.URL(url).params)
        request = InboundRequest(
            body=body, headers={k.lower(): v for k, v in headers.items()}, query=query, path_params={}
        )
        connector.verify_webhook(request)
        events += connector.parse_webhook(
            request, location_id=KAYAKO_LOCATION_ID, connection_id=KAYAKO_CONNECTION_ID
        )
    # THEN both changes become contact upserts with distinct ids, and the data is the user
    assert [(e.event_type, e.entity_id) for e in events] == [
        ("user.created", str(user.id)),
        ("user.updated", str(user.id)),
    ]
    assert len({e.event_id for e in events}) == 2
    assert json.loads(received[1][1])["data"]["full_name"] == "Ada Byron"
