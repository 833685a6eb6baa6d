"""The Kayako fake behaves like Kayako (target-apps.md §1.12), driven through raw HTTP in-process."""

import json
import socket
from typing import Any

import httpx
import pytest

from sandbox.apps.kayako import KayakoSandbox
from sandbox.apps.kayako.__main__ import main as serve_main
from tests.fixtures.kayako import KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD, FakeClock

pytestmark = pytest.mark.integration


class Agent:
    """A raw API client: logs in with Basic once, then sends the session (and CSRF token)."""

    def __init__(self, sandbox: KayakoSandbox, *, csrf_opt_out: bool = False) -> None:
        self.http = httpx.Client(transport=sandbox.transport(), base_url=sandbox.base_url + "/")
        headers = {"X-CSRF": "false"} if csrf_opt_out else {}
        login = self.http.get(
            "session.json", auth=(KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD), headers=headers
        )
        assert login.status_code == 200
        self.login = login
        self.headers = {"X-Session-ID": login.json()["session_id"], "Accept": "application/json"}
        if not csrf_opt_out:
            self.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def create_user(self, full_name: str = "Ada Lovelace", **fields: Any) -> dict[str, Any]:
        response = self.request("POST", "users", json={"full_name": full_name, "role_id": 4, **fields})
        assert response.status_code == 201, response.text
        return dict(response.json()["data"])


@pytest.fixture
def agent(kayako_sandbox: KayakoSandbox) -> Agent:
    return Agent(kayako_sandbox)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["code"])


# -- authentication --------------------------------------------------------------------------
def test_basic_login_returns_a_session_and_a_csrf_token(agent: Agent) -> None:
    # GIVEN / WHEN an agent logs in with Basic (done by the fixture)
    # THEN the body carries session_id and the headers an X-CSRF-Token and the API version
    assert agent.login.json()["session_id"]
    assert agent.login.headers["X-CSRF-Token"]
    assert agent.login.headers["X-API-Version"] == "1"


def test_wrong_password_is_refused(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a wrong password / WHEN logging in / THEN 401 and no session
    http = httpx.Client(transport=kayako_sandbox.transport(), base_url=kayako_sandbox.base_url + "/")
    response = http.get("session", auth=(KAYAKO_AGENT_EMAIL, "nope"))
    assert response.status_code == 401
    assert kayako_sandbox.sessions.sessions == {}


def test_call_without_a_session_is_unauthorised(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN no credentials at all / WHEN calling the API / THEN 401
    http = httpx.Client(transport=kayako_sandbox.transport(), base_url=kayako_sandbox.base_url + "/")
    assert http.get("users").status_code == 401


def test_session_id_in_the_query_is_accepted(agent: Agent) -> None:
    # GIVEN the session id as `_session_id=` instead of the header / WHEN calling / THEN 200
    session_id = agent.headers["X-Session-ID"]
    assert agent.http.get("users", params={"_session_id": session_id}).status_code == 200


def test_expired_session_answers_454(agent: Agent, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN the sandbox purged its sessions / WHEN the old session is used / THEN 454 Session Not Found
    kayako_sandbox.expire_sessions()
    response = agent.request("GET", "users")
    assert response.status_code == 454
    assert error_code(response) == "SESSION_NOT_FOUND"


def test_idle_session_expires_by_the_sandbox_clock(kayako_clock: FakeClock) -> None:
    # GIVEN sessions that expire after 60 idle seconds and an agent logged in
    sandbox = KayakoSandbox(clock=kayako_clock, session_idle_timeout_s=60)
    sandbox.add_agent(KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD)
    agent = Agent(sandbox)
    # WHEN 61 seconds pass / THEN the session is gone
    kayako_clock.advance(61)
    assert agent.request("GET", "users").status_code == 454


def test_write_without_csrf_token_fails(agent: Agent) -> None:
    # GIVEN a session that requires CSRF / WHEN a POST omits the token / THEN CSRF_FAILED
    response = agent.http.post(
        "users",
        json={"full_name": "A", "role_id": 4},
        headers={"X-Session-ID": agent.headers["X-Session-ID"]},
    )
    assert response.status_code == 403
    assert error_code(response) == "CSRF_FAILED"


def test_csrf_opt_out_on_login_allows_writes_without_token(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a session opened with X-CSRF: false / WHEN a POST has no CSRF token / THEN it succeeds
    agent = Agent(kayako_sandbox, csrf_opt_out=True)
    assert agent.request("POST", "users", json={"full_name": "A", "role_id": 4}).status_code == 201


def test_accept_header_without_json_answers_406(agent: Agent) -> None:
    # GIVEN Accept: text/html / WHEN calling / THEN 406
    assert agent.request("GET", "users", headers={"Accept": "text/html"}).status_code == 406


# -- envelope, paging, include ----------------------------------------------------------------
def test_single_resource_envelope_has_integer_ids_and_resource_url(agent: Agent) -> None:
    # GIVEN a user / WHEN read
    user = agent.create_user()
    body = agent.request("GET", f"users/{user['id']}").json()
    # THEN the envelope is {status, data, resource} and nested resources are references
    assert (body["status"], body["resource"]) == (200, "user")
    assert isinstance(body["data"]["id"], int)
    assert body["data"]["resource_url"].endswith(f"/api/v1/users/{user['id']}")
    assert body["data"]["role"] == {"id": 4, "resource_type": "role"}


def test_json_suffix_is_optional(agent: Agent) -> None:
    # GIVEN a user / WHEN read with and without .json / THEN the same answer
    user = agent.create_user()
    plain = agent.request("GET", f"users/{user['id']}").json()
    suffixed = agent.request("GET", f"users/{user['id']}.json").json()
    assert plain == suffixed


def test_collections_are_offset_paged(agent: Agent) -> None:
    # GIVEN 12 users besides the agent
    for n in range(12):
        agent.create_user(f"User {n}")
    # WHEN the second page of 5 is read
    body = agent.request("GET", "users", params={"offset": 5, "limit": 5}).json()
    # THEN it holds 5 items and the envelope says where it is
    assert (body["offset"], body["limit"], body["total_count"], len(body["data"])) == (5, 5, 13, 5)
    assert agent.request("GET", "users").json()["limit"] == 10


def test_limit_above_100_is_invalid(agent: Agent) -> None:
    # GIVEN limit=101 / WHEN listing / THEN FIELD_INVALID for limit
    response = agent.request("GET", "users", params={"limit": 101})
    assert (response.status_code, error_code(response)) == (400, "FIELD_INVALID")


def test_include_expands_nested_references(agent: Agent) -> None:
    # GIVEN a user with an email / WHEN read with include=identity_email,role
    user = agent.create_user(email="ada@x.example")
    data = agent.request("GET", f"users/{user['id']}", params={"include": "identity_email,role"}).json()[
        "data"
    ]
    # THEN the email identity and the role are full resources
    assert data["emails"][0]["email"] == "ada@x.example"
    assert data["role"]["type"] == "CUSTOMER"


# -- users and identities ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "parameter"), [({"role_id": 4}, "full_name"), ({"full_name": "A"}, "role_id")]
)
def test_user_create_requires_name_and_role(agent: Agent, body: dict[str, Any], parameter: str) -> None:
    # GIVEN a body missing a required field / WHEN creating / THEN 400 FIELD_REQUIRED naming it
    response = agent.request("POST", "users", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "FIELD_REQUIRED",
        "parameter": parameter,
        "message": "This action requires the field to be specified",
        "more_info": "https://developer.kayako.com/api/v1/reference/errors/FIELD_REQUIRED",
    }


def test_form_encoded_body_with_custom_fields_is_accepted(agent: Agent) -> None:
    # GIVEN a form-urlencoded create with custom_fields[key]
    form = {"full_name": "Ada", "role_id": "4", "custom_fields[plan]": "gold"}
    # WHEN posted / THEN the user has the custom field
    response = agent.request("POST", "users", data=form)
    assert response.status_code == 201
    assert response.json()["data"]["custom_fields"] == {"plan": "gold"}


def test_duplicate_email_is_refused(agent: Agent) -> None:
    # GIVEN a user with an email / WHEN another is created with it in other case / THEN FIELD_INVALID email
    agent.create_user(email="ada@x.example")
    response = agent.request("POST", "users", json={"full_name": "B", "role_id": 4, "email": "ADA@x.example"})
    assert (response.status_code, response.json()["errors"][0]["parameter"]) == (400, "email")


def test_user_update_and_delete(agent: Agent) -> None:
    # GIVEN a user
    user = agent.create_user(custom_fields={"plan": "gold"})
    # WHEN renamed and its custom field cleared, then deleted
    updated = agent.request(
        "PUT", f"users/{user['id']}", json={"full_name": "B", "custom_fields": {"plan": None}}
    )
    deleted = agent.request("DELETE", f"users/{user['id']}")
    # THEN the update is visible and the user is gone
    assert (updated.json()["data"]["full_name"], updated.json()["data"]["custom_fields"]) == ("B", {})
    assert deleted.status_code == 200
    assert agent.request("GET", f"users/{user['id']}").status_code == 404


def test_bulk_delete_by_ids(agent: Agent) -> None:
    # GIVEN two users / WHEN deleted with ids= / THEN both are gone
    ids = [agent.create_user(f"U{n}")["id"] for n in range(2)]
    assert agent.request("DELETE", "users", params={"ids": ",".join(map(str, ids))}).status_code == 200
    assert all(agent.request("GET", f"users/{i}").status_code == 404 for i in ids)


def test_autocomplete_emails_is_an_exact_case_insensitive_match(agent: Agent) -> None:
    # GIVEN a user with ada@x.example
    user = agent.create_user(email="ada@x.example")
    # WHEN looked up in upper case, and by a prefix
    exact = agent.request("GET", "autocomplete/emails", params={"address": "ADA@X.EXAMPLE"}).json()
    prefix = agent.request("GET", "autocomplete/emails", params={"address": "ada@"}).json()
    # THEN the exact address finds the user and the prefix finds nothing
    assert exact["data"][0]["parent"] == {"id": user["id"], "resource_type": "user"}
    assert prefix["total_count"] == 0


def test_new_primary_email_identity_demotes_the_old_one(agent: Agent) -> None:
    # GIVEN a user with a primary email
    user = agent.create_user(email="old@x.example")
    # WHEN a new primary email identity is added
    created = agent.request(
        "POST",
        "identities/emails",
        json={"user_id": user["id"], "email": "new@x.example", "is_primary": True},
    )
    listed = agent.request("GET", "identities/emails", params={"user_id": user["id"]}).json()["data"]
    # THEN the list shows the new one first and primary, the old one kept but not primary
    assert created.status_code == 201
    assert [(i["email"], i["is_primary"]) for i in listed] == [
        ("new@x.example", True),
        ("old@x.example", False),
    ]


def test_a_secondary_email_identity_can_be_deleted(agent: Agent) -> None:
    # GIVEN a user whose old address was demoted by a new primary one
    user = agent.create_user(email="old@x.example")
    agent.request(
        "POST",
        "identities/emails",
        json={"user_id": user["id"], "email": "new@x.example", "is_primary": True},
    )
    old = agent.request("GET", "identities/emails", params={"user_id": user["id"]}).json()["data"][1]
    # WHEN the old identity is deleted
    deleted = agent.request("DELETE", f"identities/emails/{old['id']}")
    # THEN it is gone and the address is free for a lookup
    found = agent.request("GET", "autocomplete/emails", params={"address": "old@x.example"}).json()
    assert deleted.status_code == 200
    assert found["total_count"] == 0


def test_the_primary_email_identity_cannot_be_deleted(agent: Agent) -> None:
    # GIVEN a user with one primary address
    user = agent.create_user(email="only@x.example")
    primary = agent.request("GET", "identities/emails", params={"user_id": user["id"]}).json()["data"][0]
    # WHEN it is deleted / THEN Kayako refuses, and the address stays
    assert agent.request("DELETE", f"identities/emails/{primary['id']}").status_code == 400
    assert len(agent.request("GET", "identities/emails", params={"user_id": user["id"]}).json()["data"]) == 1


# -- notes and tags ---------------------------------------------------------------------------
def test_note_crud_and_it_bumps_the_user(agent: Agent, kayako_clock: FakeClock) -> None:
    # GIVEN a user, and time passing
    user = agent.create_user()
    kayako_clock.advance(30)
    # WHEN a note is added, edited and deleted
    note = agent.request("POST", f"users/{user['id']}/notes", json={"contents": "first"}).json()["data"]
    edited = agent.request("PUT", f"users/{user['id']}/notes/{note['id']}", json={"contents": "second"})
    listed = agent.request("GET", f"users/{user['id']}/notes").json()["data"]
    deleted = agent.request("DELETE", f"users/{user['id']}/notes/{note['id']}")
    after = agent.request("GET", f"users/{user['id']}").json()["data"]
    # THEN each step is visible and the user's last_active_at/updated_at moved
    assert note["body_text"] == "first"
    assert edited.json()["data"]["body_text"] == "second"
    assert [n["id"] for n in listed] == [note["id"]]
    assert deleted.status_code == 200
    assert after["last_active_at"] != user["last_active_at"]
    assert after["updated_at"] != user["updated_at"]


def test_note_without_contents_is_field_required(agent: Agent) -> None:
    # GIVEN a user / WHEN a note is posted with another field name / THEN FIELD_REQUIRED contents
    user = agent.create_user()
    response = agent.request("POST", f"users/{user['id']}/notes", json={"body": "x"})
    assert response.json()["errors"][0]["parameter"] == "contents"


def test_tags_post_adds_put_replaces_delete_removes(agent: Agent) -> None:
    # GIVEN a user
    user = agent.create_user()
    path = f"users/{user['id']}/tags"

    def names(response: httpx.Response) -> list[str]:
        return [t["name"] for t in response.json()["data"]]

    # WHEN tags are added, added again, removed, then replaced
    added = agent.request("POST", path, data={"tags": "a,b"})
    added_more = agent.request("POST", path, json={"tags": "b,c"})
    removed = agent.request("DELETE", path, params={"tags": "a"})
    replaced = agent.request("PUT", path, data={"tags": "x"})
    # THEN POST adds (201), DELETE removes only those listed, PUT replaces everything
    assert (added.status_code, names(added)) == (201, ["a", "b"])
    assert names(added_more) == ["a", "b", "c"]
    assert names(removed) == ["b", "c"]
    assert names(replaced) == ["x"]


# -- cases ------------------------------------------------------------------------------------
def test_case_create_requires_subject_requester_and_contents(agent: Agent) -> None:
    # GIVEN a case body without contents / WHEN created / THEN FIELD_REQUIRED contents
    user = agent.create_user()
    response = agent.request("POST", "cases", json={"subject": "s", "requester_id": user["id"]})
    assert response.json()["errors"][0]["parameter"] == "contents"


def test_cases_filter_by_requester_and_since(agent: Agent, kayako_clock: FakeClock) -> None:
    # GIVEN two users with a case each, the second created a minute later
    first, second = agent.create_user("A"), agent.create_user("B")
    agent.request("POST", "cases", json={"subject": "old", "requester_id": first["id"], "contents": "c"})
    kayako_clock.advance(60)
    new_case = agent.request(
        "POST",
        "cases",
        json={"subject": "new", "requester_id": second["id"], "contents": "c", "status_id": 2},
    ).json()["data"]
    # WHEN listed per requester and since the second one's time
    mine = agent.request("GET", f"users/{second['id']}/cases").json()["data"]
    by_arg = agent.request("GET", "cases", params={"requester_id": second["id"]}).json()["data"]
    since = agent.request("GET", "cases", params={"since": new_case["updated_at"]}).json()["data"]
    # THEN each filter finds only the new case (since is inclusive)
    assert (
        [c["subject"] for c in mine]
        == [c["subject"] for c in by_arg]
        == [c["subject"] for c in since]
        == ["new"]
    )
    assert new_case["status"] == {"id": 2, "resource_type": "case_status"}


def test_case_update_and_delete(agent: Agent, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a case
    user = agent.create_user()
    case = agent.request(
        "POST", "cases", json={"subject": "s", "requester_id": user["id"], "contents": "c"}
    ).json()
    case_id = case["data"]["id"]
    # WHEN it is completed and assigned to the agent, then deleted
    agent_id = kayako_sandbox.store.passwords[KAYAKO_AGENT_EMAIL][1]
    updated = agent.request(
        "PUT", f"cases/{case_id}", json={"status_id": 4, "assigned_agent_id": agent_id}
    ).json()
    agent.request("DELETE", f"cases/{case_id}")
    # THEN the update shows and the case is gone
    assert updated["data"]["status"]["id"] == 4
    assert updated["data"]["assigned_agent"] == {"id": agent_id, "resource_type": "user"}
    assert agent.request("GET", f"cases/{case_id}").status_code == 404


def test_case_cannot_be_assigned_to_a_customer(agent: Agent) -> None:
    # GIVEN a customer / WHEN a case is assigned to them / THEN FIELD_INVALID assigned_agent_id
    user = agent.create_user()
    body = {"subject": "s", "requester_id": user["id"], "contents": "c", "assigned_agent_id": user["id"]}
    assert agent.request("POST", "cases", json=body).json()["errors"][0]["parameter"] == "assigned_agent_id"


# -- concurrency and caching --------------------------------------------------------------------
def test_if_none_match_gives_304(agent: Agent) -> None:
    # GIVEN a user read once / WHEN read again with its ETag / THEN 304
    user = agent.create_user()
    etag = agent.request("GET", f"users/{user['id']}").headers["ETag"]
    assert agent.request("GET", f"users/{user['id']}", headers={"If-None-Match": etag}).status_code == 304


def test_if_match_on_a_changed_resource_gives_412(agent: Agent, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a user read with its ETag, then changed in the UI
    user = agent.create_user()
    etag = agent.request("GET", f"users/{user['id']}").headers["ETag"]
    kayako_sandbox.ui_update_user(user["id"], full_name="Someone Else")
    # WHEN updated with the stale ETag / THEN 412, and nothing changed
    response = agent.request(
        "PUT", f"users/{user['id']}", json={"full_name": "Mine"}, headers={"If-Match": etag}
    )
    assert response.status_code == 412
    assert kayako_sandbox.store.users[user["id"]].full_name == "Someone Else"


# -- rate limits and faults ---------------------------------------------------------------------
def test_per_minute_limit_answers_429_until_the_next_minute(
    agent: Agent, kayako_sandbox: KayakoSandbox, kayako_clock: FakeClock
) -> None:
    # GIVEN a limit of 2 user creations per minute, 20 s into a minute
    kayako_sandbox.limiter.configure({"POST users": 2})
    kayako_clock.advance(20)
    statuses = [agent.request("POST", "users", json={"full_name": f"U{n}", "role_id": 4}) for n in range(3)]
    # THEN the third is 429 RATE_LIMIT_REACHED with Retry-After up to the minute's end
    assert [r.status_code for r in statuses] == [201, 201, 429]
    assert error_code(statuses[2]) == "RATE_LIMIT_REACHED"
    assert statuses[2].headers["Retry-After"] == "40"
    # WHEN the minute is over / THEN creations succeed again, and other actions were never limited
    kayako_clock.advance(40)
    assert agent.request("POST", "users", json={"full_name": "U", "role_id": 4}).status_code == 201
    assert agent.request("GET", "users").status_code == 200


def test_faults_are_deterministic_by_seed(kayako_clock: FakeClock) -> None:
    # GIVEN two sandboxes with the same seed and 50% injected 5xx
    def statuses() -> list[int]:
        sandbox = KayakoSandbox(clock=kayako_clock, seed=42)
        sandbox.add_agent(KAYAKO_AGENT_EMAIL, KAYAKO_AGENT_PASSWORD)
        agent = Agent(sandbox)
        sandbox.faults.configure(rate_5xx=0.5)
        return [agent.request("GET", "users").status_code for _ in range(20)]

    # WHEN the same calls are made / THEN the same calls fail
    first = statuses()
    assert first == statuses()
    assert set(first) == {200, 500}


def test_injected_429_carries_retry_after(agent: Agent, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN every request draws a 429 / WHEN calling / THEN RATE_LIMIT_REACHED with Retry-After
    kayako_sandbox.faults.configure(rate_429=1.0)
    response = agent.request("GET", "users")
    assert (response.status_code, response.headers["Retry-After"], error_code(response)) == (
        429,
        "1",
        "RATE_LIMIT_REACHED",
    )


def test_injected_timeout_loses_the_response_of_an_applied_request(
    agent: Agent, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN every request times out / WHEN a user is created
    kayako_sandbox.faults.configure(rate_timeout=1.0)
    with pytest.raises(httpx.ReadTimeout):
        agent.request("POST", "users", json={"full_name": "Ghost", "role_id": 4})
    # THEN the user exists anyway (the worst case for a client)
    assert any(u.full_name == "Ghost" for u in kayako_sandbox.store.users.values())


def test_injected_reset_never_reaches_the_app(agent: Agent, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN every request is reset / WHEN a user is created / THEN ConnectError and nothing was created
    kayako_sandbox.faults.configure(rate_reset=1.0)
    with pytest.raises(httpx.ConnectError):
        agent.request("POST", "users", json={"full_name": "Ghost", "role_id": 4})
    assert not any(u.full_name == "Ghost" for u in kayako_sandbox.store.users.values())


def test_request_log_records_method_path_and_status(agent: Agent, kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a call with the .json suffix / WHEN it is made / THEN it is logged without the suffix
    agent.request("GET", "users/999.json")
    assert tuple(kayako_sandbox.request_log[-1]) == ("GET", "/api/v1/users/999", 404)


# -- automations --------------------------------------------------------------------------------
class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.status = status

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, json.loads(body), headers))
        return self.status


def test_api_and_ui_changes_are_posted_to_automation_endpoints(
    agent: Agent, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN an endpoint with the token in its URL and a receiver
    receiver = Receiver()
    kayako_sandbox.automation_sender = receiver
    kayako_sandbox.register_automation("https://hooks.example/kayako?token=t0k")
    # WHEN a user is created through the API, then a note added and tags changed in the UI
    user = agent.create_user(email="ada@x.example")
    kayako_sandbox.ui_add_note(user["id"], "called")
    kayako_sandbox.ui_add_tags(user["id"], "vip")
    delivered = kayako_sandbox.deliver_automations()
    # THEN one payload per change, in order, with the documented shape
    events = [(body["event"], body["id"], body["user_id"]) for _, body, _ in receiver.calls]
    assert events == [
        ("user.created", user["id"], user["id"]),
        ("note.created", 1, user["id"]),
        ("tags.updated", user["id"], user["id"]),
    ]
    url, body, headers = receiver.calls[0]
    assert url == "https://hooks.example/kayako?token=t0k"
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {"event", "id", "user_id", "updated_at", "data"}
    assert body["data"]["full_name"] == "Ada Lovelace"
    assert receiver.calls[2][1]["data"] == {"tags": ["vip"]}
    assert [d.status for d in delivered] == [200, 200, 200]


def test_endpoint_headers_carry_the_secret(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN an endpoint configured with a token header / WHEN a case changes in the UI
    receiver = Receiver()
    kayako_sandbox.automation_sender = receiver
    kayako_sandbox.register_automation("https://hooks.example/kayako", headers={"X-Ghlsync-Token": "t0k"})
    user = kayako_sandbox.ui_create_user("Ada")
    case = kayako_sandbox.ui_create_case(user.id, "Call back")
    kayako_sandbox.ui_delete_case(case.id)
    kayako_sandbox.deliver_automations()
    # THEN every call carries the header, and the delete is reported with the case's requester
    assert all(headers["X-Ghlsync-Token"] == "t0k" for _, _, headers in receiver.calls)
    assert [(b["event"], b["user_id"]) for _, b, _ in receiver.calls][-1] == ("case.deleted", user.id)


def test_failed_delivery_is_recorded_on_the_endpoint_and_not_retried(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a receiver that answers 500 / WHEN a change is delivered twice over
    kayako_sandbox.automation_sender = Receiver(status=500)
    endpoint = kayako_sandbox.register_automation("https://hooks.example/kayako")
    kayako_sandbox.ui_create_user("Ada")
    first = kayako_sandbox.deliver_automations()
    second = kayako_sandbox.deliver_automations()
    # THEN the failure is recorded like Kayako's last_attempt_result and nothing is resent
    assert [d.status for d in first] == [500]
    assert second == []
    assert endpoint.last_attempt_result == "FAILURE"


def test_sender_exception_counts_as_a_failed_delivery(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN a receiver that cannot be reached / WHEN delivering / THEN status 0 and FAILURE, no crash
    def unreachable(url: str, body: bytes, headers: dict[str, str]) -> int:
        raise httpx.ConnectError("refused")

    kayako_sandbox.automation_sender = unreachable
    endpoint = kayako_sandbox.register_automation("https://hooks.example/kayako")
    kayako_sandbox.ui_create_user("Ada")
    assert [d.status for d in kayako_sandbox.deliver_automations()] == [0]
    assert endpoint.last_attempt_result == "FAILURE"


def test_admin_api_registers_endpoints_delivers_and_expires_sessions(
    agent: Agent, kayako_sandbox: KayakoSandbox
) -> None:
    # GIVEN the admin API / WHEN an endpoint is registered, a change made and delivery triggered
    receiver = Receiver()
    kayako_sandbox.automation_sender = receiver
    admin = httpx.Client(transport=kayako_sandbox.transport(), base_url="http://sandbox")
    assert admin.post("/_sandbox/automations", json={"url": "https://hooks.example/k"}).status_code == 201
    agent.create_user()
    delivered = admin.post("/_sandbox/deliver").json()["delivered"]
    expired = admin.post("/_sandbox/sessions/expire").json()["expired"]
    # THEN the payload went out and the agent's session is gone
    assert delivered == [{"url": "https://hooks.example/k", "status": 200}]
    assert expired == 1
    assert agent.request("GET", "users").status_code == 454


# -- server mode ----------------------------------------------------------------------------------
def test_server_refuses_a_busy_port_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a port already bound on 127.0.0.1
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # WHEN the server is asked to use it
        code = serve_main(["--port", str(port)])
    # THEN it exits with status 2 and says why
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# -- public Events webhook ------------------------------------------------------------------------
def incoming(sandbox: KayakoSandbox, token: str, body: dict[str, Any]) -> httpx.Response:
    http = httpx.Client(transport=sandbox.transport(), base_url=sandbox.base_url + "/")
    return http.post(f"webhook/{token}/incoming.json", json=body)


def test_incoming_event_lands_on_the_matching_users_timeline(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN an event token and a user with an email
    token = kayako_sandbox.add_event_token("evt-token")
    user = kayako_sandbox.ui_create_user("Ada", email="ada@x.example")
    # WHEN an event for that email is posted without any session
    body = {"event": "call_completed", "user": {"email": "ADA@x.example"}, "properties": {"summary": "Call"}}
    response = incoming(kayako_sandbox, token, body)
    # THEN it is recorded on that user's timeline
    assert response.status_code == 201
    [recorded] = kayako_sandbox.store.timeline
    assert (recorded.user_id, recorded.event, recorded.properties) == (
        user.id,
        "call_completed",
        {"summary": "Call"},
    )


def test_incoming_event_for_an_unknown_person_creates_the_user(kayako_sandbox: KayakoSandbox) -> None:
    # GIVEN no user with that phone / WHEN an event names them / THEN Kayako creates a customer
    token = kayako_sandbox.add_event_token("evt-token")
    body = {"event": "call completed", "user": {"phone": "+15550100", "full_name": "Grace"}}
    assert incoming(kayako_sandbox, token, body).status_code == 201
    created = kayako_sandbox.store.users[kayako_sandbox.store.timeline[0].user_id]
    assert (created.full_name, created.role_id) == ("Grace", 4)


@pytest.mark.parametrize(
    ("token", "body", "status"),
    [
        ("unknown", {"event": "x", "user": {"email": "a@x.example"}}, 404),
        ("evt-token", {"event": "bad-name!", "user": {"email": "a@x.example"}}, 400),
        ("evt-token", {"event": "x", "user": {"full_name": "No Identity"}}, 400),
    ],
)
def test_incoming_event_is_validated(
    kayako_sandbox: KayakoSandbox, token: str, body: dict[str, Any], status: int
) -> None:
    # GIVEN a wrong token, a bad event name or no way to identify the user / WHEN posted / THEN refused
    kayako_sandbox.add_event_token("evt-token")
    assert incoming(kayako_sandbox, token, body).status_code == status
    assert kayako_sandbox.store.timeline == []
