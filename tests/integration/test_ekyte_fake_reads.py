"""The eKyte fake's BI read API (target-apps.md §2.2), its MCP endpoint (§2.3), its admin routes
(changes made "in eKyte") and its AppSandbox, driven through raw HTTP in-process."""

import pytest

from sandbox.apps.ekyte import EkyteSandbox
from sandbox.apps.ekyte.stack import EKYTE, EkyteAppSandbox
from sandbox.fakes.clock import FakeClock
from tests.fixtures.ekyte_fake import EkyteApi, dev_ekyte

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ekyte(clock: FakeClock) -> EkyteSandbox:
    return dev_ekyte(clock, bi_page_size=2)


@pytest.fixture
def api(ekyte: EkyteSandbox) -> EkyteApi:
    return EkyteApi(ekyte)


# -- BI ---------------------------------------------------------------------------------------
def test_bi_tasks_page_in_the_data_paging_envelope(api: EkyteApi) -> None:
    # GIVEN five tasks and pages of two
    ids = [api.task(Title=f"T{n}") for n in range(5)]
    # WHEN every page is read until number >= totalPages
    pages = [api.bi("/v1.2/tasks", page=n).json() for n in (1, 2, 3)]
    # THEN the pages hold every task once, oldest first, and say where they are
    assert [t["id"] for p in pages for t in p["data"]] == ids
    assert [(p["paging"]["currentPage"]["number"], p["paging"]["totalPages"]) for p in pages] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]


def test_bi_created_from_recovers_tasks_older_than_the_polling_window(
    api: EkyteApi, clock: FakeClock
) -> None:
    # GIVEN a task made an hour after another, both now outside the window
    api.task(Title="before")
    clock.advance(3600)
    later = api.task(Title="after")
    clock.advance(3600)
    # WHEN BI tasks are asked from the second one's creation
    answer = api.bi("/v1.2/tasks", createdFrom="2026-01-01T01:00:00Z").json()
    # THEN only it is listed, while polling lists neither
    assert [t["id"] for t in answer["data"]] == [later]
    assert api.get("/polling/tasks").json() == []


def test_bi_includes_comments_when_asked(api: EkyteApi, ekyte: EkyteSandbox) -> None:
    task_id = api.task()
    ekyte.ui_comment_task(task_id, "Looks good")
    [task] = api.bi("/v1.2/tasks", includeComments="1").json()["data"]
    assert [c["message"] for c in task["comments"]] == ["Looks good"]


def test_bi_refuses_a_wrong_key(api: EkyteApi) -> None:
    response = api.http.get("/v1.2/tasks", params={"apiKey": "nope"})
    assert (response.status_code, response.json()) == (401, {"error": {"message": "Invalid API key"}})


# -- MCP --------------------------------------------------------------------------------------
def test_mcp_lists_the_tools_the_connector_uses(api: EkyteApi) -> None:
    names = [t["name"] for t in api.mcp("tools/list").json()["result"]["tools"]]
    assert names == ["get_task", "update_task", "create_task_comment", "list_task_comments"]


def test_mcp_update_task_changes_title_due_date_and_completes_it(api: EkyteApi, clock: FakeClock) -> None:
    # GIVEN a task / WHEN MCP updates its title, due date and situation 30
    task_id = api.task()
    clock.advance(60)
    result = api.tool(
        "update_task", taskId=task_id, title="Onboarded", currentDueDate="2026-02-01", situation=30
    )
    # THEN the answer and the integration API's read show the change and when it was resolved
    task = api.get(f"/polling/v3/task/{task_id}").json()
    assert result["structuredContent"] == task
    assert (task["title"], task["currentDueDate"], task["situation"], task["resolvedDate"]) == (
        "Onboarded",
        "2026-02-01T00:00:00Z",
        30,
        "2026-01-01T00:01:00Z",
    )


def test_mcp_comments_are_added_as_the_tokens_user_and_listed(api: EkyteApi) -> None:
    # GIVEN a task / WHEN a comment is added through MCP and the comments listed
    task_id = api.task()
    added = api.tool("create_task_comment", taskId=task_id, message="Called the client")
    listed = api.tool("list_task_comments", taskId=task_id)
    # THEN the list holds the comment, by the token's user
    assert listed["structuredContent"]["items"] == [added["structuredContent"]]
    assert added["structuredContent"]["user"]["userName"] == "Sync Agent"


def test_mcp_a_tool_failure_is_an_error_result(api: EkyteApi) -> None:
    result = api.tool("update_task", taskId=999, situation=30)
    assert result["isError"] is True and "Tarefa não encontrada" in result["content"][0]["text"]


def test_mcp_an_unknown_tool_is_a_json_rpc_error(api: EkyteApi) -> None:
    answer = api.mcp("tools/call", {"name": "delete_everything", "arguments": {}}).json()
    assert answer["error"]["code"] == -32602


def test_mcp_a_bad_token_is_a_401(api: EkyteApi, ekyte: EkyteSandbox) -> None:
    # GIVEN a task / WHEN MCP is called with a wrong token
    task_id = api.task()
    response = api.mcp(
        "tools/call", {"name": "update_task", "arguments": {"taskId": task_id, "title": "x"}}, token="nope"
    )
    # THEN a 401 with a JSON-RPC error, and the task is unchanged
    assert (response.status_code, response.json()["error"]["code"]) == (401, -32001)
    assert ekyte.store.tasks[task_id].title == "Onboard Ada"


# -- admin: changes made in eKyte --------------------------------------------------------------
def test_admin_creates_a_person_with_a_contact_seen_by_polling(api: EkyteApi) -> None:
    # GIVEN / WHEN a user creates a person and a contact under it in eKyte
    person = api.http.post(
        "/_sandbox/persons", json={"name": "Acme Ltd", "email": "hello@acme.example"}
    ).json()
    api.http.post(
        f"/_sandbox/persons/{person['id']}/contacts", json={"name": "Ada", "email": "ada@acme.example"}
    )
    # THEN polling lists the person with its contact
    [polled] = api.get("/polling/persons").json()
    assert (polled["name"], [c["name"] for c in polled["contacts"]]) == ("Acme Ltd", ["Ada"])


def test_admin_creates_updates_and_comments_a_task(api: EkyteApi, ekyte: EkyteSandbox) -> None:
    # GIVEN / WHEN a task is created, completed and commented through the admin routes
    task = api.http.post("/_sandbox/tasks", json={"title": "Design", "due": "2026-01-09"}).json()
    api.http.patch(f"/_sandbox/tasks/{task['id']}", json={"situation": 30})
    api.http.post(f"/_sandbox/tasks/{task['id']}/comments", json={"message": "Done!"})
    # THEN the task is completed with its comment, and the admin calls are not in the request log
    held = ekyte.store.tasks[task["id"]]
    assert (held.situation, [c.message for c in held.comments]) == (30, ["Done!"])
    assert ekyte.request_log == []


def test_admin_answers_ekytes_refusal_as_an_error(api: EkyteApi) -> None:
    response = api.http.post(
        "/_sandbox/tasks", json={"title": "Design", "due": "2026-01-09", "executor_email": "x@y"}
    )
    assert (response.status_code, response.json()) == (400, {"error": "Usuário x@y não foi encontrado."})


def test_admin_limit_makes_the_api_answer_429(api: EkyteApi) -> None:
    # GIVEN a limit of one request a minute / WHEN two are made
    api.http.post("/_sandbox/limit", json={"per_minute": 1})
    first, second = api.get("/polling/auth"), api.get("/polling/auth")
    # THEN the second is a 429 with Retry-After
    assert (first.status_code, second.status_code) == (200, 429) and int(second.headers["Retry-After"]) >= 1


# -- the AppSandbox ---------------------------------------------------------------------------
def test_the_app_sandbox_links_person_contacts_and_lone_persons(clock: FakeClock) -> None:
    # GIVEN a business person with two contacts and a person on its own
    app = EkyteAppSandbox("https://api.ekyte.sandbox", clock, 0)
    business = app.fake.ui_create_person("Acme Ltd")
    first = app.fake.ui_add_person_contact(business.id, "Ada")
    second = app.fake.ui_add_person_contact(business.id, "Bob")
    alone = app.fake.ui_create_person("Carol Solo", is_customer=True, email="carol@solo.example")
    # WHEN / THEN person_ids lists the two contacts (under their person) and the lone person (by its
    # e-mail a contact of its own), not the business
    assert app.person_ids() == sorted(
        [f"p{business.id}.c{first.id}", f"p{business.id}.c{second.id}", f"p{alone.id}"]
    )


def test_the_app_sandbox_points_the_connection_at_all_three_surfaces(clock: FakeClock) -> None:
    app = EKYTE.build("http://127.0.0.1:8083", clock, 0)
    settings = app.connection_settings()
    assert (settings["base_url"], settings["bi_base_url"], settings["mcp_url"]) == (
        "http://127.0.0.1:8083/n8n",
        "http://127.0.0.1:8083",
        "http://127.0.0.1:8083/mcp",
    )
    assert app.seed_dev_fixtures() == dict(EKYTE.dev_fixture_ids)
