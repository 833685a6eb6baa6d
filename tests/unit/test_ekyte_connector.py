"""The eKyte connector over a scripted transport: auth, casing, errors, persons by business, tasks
with their footer, board notes, MCP updates, and the capabilities it declares. No sockets."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ghlsync.apps.base import Operation
from ghlsync.apps.registry import spec_for
from ghlsync.connection_check import check_connection
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import TransportError, Unauthorized, Validation
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from tests.fixtures.ekyte import (
    API_KEY,
    COMPANY_ID,
    EKYTE_NOW,
    MCP,
    USER_EMAIL,
    answer,
    ekyte_connector,
    sent_json,
)
from tests.fixtures.http import Script

ADA = CanonicalContact(first_name="Ada", last_name="Lovelace", email="ada@acme.example", company_name="Acme")
ACME = {
    "Id": 12,
    "Name": "Acme",
    "IsCustomer": True,
    "Contacts": [{"Id": 5, "Name": "Bob Byte", "Email": "bob@acme.example"}],
}


def test_every_call_carries_the_key_and_company_and_a_create_the_acting_user() -> None:
    # GIVEN a connection whose business Person does not exist yet
    script = Script([answer([]), answer({"personId": 12}), answer({"id": 5})])
    # WHEN a contact of that business is created
    ekyte_connector(script).create_contact(ADA)
    # THEN every call is authenticated in the query, and POSTs name the acting user
    for request in script.requests:
        assert request.url.params["apiKey"] == API_KEY
        assert request.url.params["CompanyId"] == str(COMPANY_ID)
    assert [r.url.params.get("UserEmail") for r in script.requests if r.method == "POST"] == [USER_EMAIL] * 2


def test_a_contact_of_a_new_business_creates_its_person_then_a_person_contact_in_pascal_case() -> None:
    # GIVEN no person named like the business
    script = Script([answer([]), answer({"personId": 12}), answer({"id": 5})])
    # WHEN the contact is created
    created = ekyte_connector(script).create_contact(ADA)
    # THEN a customer Person for Acme, then a person-contact under it, hold the contact
    person, contact = (sent_json(r) for r in script.requests[1:])
    assert person["Name"] == "Acme" and person["IsCustomer"] is True
    assert contact == {
        "UserEmail": USER_EMAIL,
        "PersonId": 12,
        "Name": "Ada Lovelace",
        "Email": "ada@acme.example",
        "Phone": "",
    }
    assert created.id == "p12.c5" and created.company_name == "Acme"


def test_a_second_contact_of_the_same_business_reuses_its_person() -> None:
    # GIVEN Acme's Person exists (PascalCase answer)
    script = Script([answer([ACME]), answer({"Id": 6})])
    # WHEN another Acme contact is created
    created = ekyte_connector(script).create_contact(ADA)
    # THEN only a person-contact is created, under Person 12
    assert [r.url.path for r in script.requests] == ["/n8n/polling/persons", "/n8n/persons/contacts"]
    assert created.id == "p12.c6"


def test_a_contact_without_a_business_is_a_person_of_its_own() -> None:
    # GIVEN a contact that names no company
    script = Script([answer({"id": 40})])
    # WHEN it is created
    created = ekyte_connector(script).create_contact(ADA.model_copy(update={"company_name": None}))
    # THEN one Person holds it
    assert sent_json(script.requests[0])["Name"] == "Ada Lovelace"
    assert created.id == "p40"


def test_contacts_are_found_by_email_through_the_persons_index() -> None:
    # GIVEN persons can be listed but not searched by e-mail
    script = Script([answer([ACME, {"id": 40, "name": "Cy Solo", "email": "cy@solo.example"}])])
    # WHEN a contact is looked up by e-mail (another case)
    found = ekyte_connector(script).find_contacts(email="BOB@acme.example", phone=None)
    # THEN the person-contact under Acme is found
    assert [(c.id, c.first_name, c.company_name) for c in found] == [("p12.c5", "Bob", "Acme")]


def test_a_400_keeps_ekytes_portuguese_text_and_an_empty_401_is_unauthorized() -> None:
    # GIVEN eKyte refusing a task, then a wrong company
    script = Script([answer({"id": 7, "text": "O título é obrigatório"}, 400), httpx.Response(401)])
    connector = ekyte_connector(script)
    task = CanonicalTask(title="Call", due_date=EKYTE_NOW)
    # WHEN calls are made THEN the errors are the kit's family, with eKyte's text kept
    with pytest.raises(Validation, match="O título é obrigatório"):
        connector.create_task("p12.c5", task)
    with pytest.raises(Unauthorized):
        connector.find_contacts(email="a@b.example", phone=None)


def test_a_task_without_due_date_or_assignee_gets_the_defaults_and_names_them_in_its_footer() -> None:
    # GIVEN a hub task with neither due date nor assignee
    script = Script([answer({"taskId": 900})])
    # WHEN it is created
    created = ekyte_connector(script, default_due="+3 days").create_task(
        "p12.c5", CanonicalTask(title="Onboard", body="Kick-off call")
    )
    # THEN eKyte gets the configured workspace, type, executor and a due date 3 days out
    body = sent_json(script.requests[0])
    assert body["CurrentDueDate"] == "2026-01-04T12:00:00Z"
    assert body["InitialExecutor"] == "exec@dev.example"
    assert body["WorkspaceId"] == 1 and body["CtcTaskTypeId"] == 1
    assert body["Description"] == "Kick-off call\n\nghlsync: contact=p12.c5 defaults=due,executor"
    # AND the task reads back as the hub wrote it
    assert (created.id, created.due_date, created.assignee, created.body) == (
        "900",
        None,
        None,
        "Kick-off call",
    )


def test_a_create_applied_then_timed_out_is_found_again_with_the_same_content() -> None:
    # GIVEN eKyte applies a task create but the answer never arrives
    task = CanonicalTask(title="Onboard", body="Kick-off", due_date=EKYTE_NOW + timedelta(days=1))
    stored: list[dict[str, object]] = []

    def applied_then_timeout(request: httpx.Request) -> httpx.Response:
        body = sent_json(request)
        stored.append(
            {
                "id": 900,
                "title": body["Title"],
                "description": body["Description"],
                "currentDueDate": body["CurrentDueDate"],
                "executorEmail": body["InitialExecutor"],
                "situation": 10,
                "workspaceId": 1,
            }
        )
        raise httpx.ReadTimeout("no answer", request=request)

    script = Script([applied_then_timeout, lambda r: answer(stored)])
    connector = ekyte_connector(script)
    # WHEN the create times out
    with pytest.raises(TransportError):
        connector.create_task("p12.c5", task)
    # THEN it was sent once (a POST is never repeated blind), and the re-read before a retry lists
    # the task under the contact with the content the hub has: the engine links it, no duplicate
    assert sum(r.method == "POST" for r in script.requests) == 1
    listed = connector.list_tasks("p12.c5")
    assert [t.content_hash() for t in listed] == [task.content_hash()]


def test_a_ghl_note_becomes_a_note_on_the_clients_board_created_once() -> None:
    # GIVEN the client's Person, and no notes board for it yet
    script = Script([answer(ACME), answer([]), answer({"id": 70}), answer({"id": 71})])
    # WHEN a note is written
    created = ekyte_connector(script).create_note("p12.c5", CanonicalNote(body="Prefers calls\nafter 2pm"))
    # THEN a board "GHL notes - Acme" is made in the workspace and the note put on it
    board, note = (sent_json(r) for r in script.requests[2:])
    assert board["Title"] == "GHL notes - Acme" and board["WorkspaceId"] == 1
    assert (
        note["PlanId"] == 70
        and note["Title"] == "Prefers calls"
        and note["Content"] == "Prefers calls\nafter 2pm"
    )
    assert created.id == "71"


def test_capabilities_declare_no_contact_update_and_task_updates_only_with_mcp() -> None:
    # GIVEN connections without and with the MCP token
    plain, with_mcp = ekyte_connector(Script([])), ekyte_connector(Script([]), mcp_token="tok")
    # THEN persons are never updated, and tasks only through MCP
    assert not plain.capabilities.can(EntityKind.CONTACT, Operation.UPDATE)
    assert not plain.capabilities.can(EntityKind.TASK, Operation.UPDATE)
    assert with_mcp.capabilities.can(EntityKind.TASK, Operation.UPDATE)
    assert plain.capabilities.inbound.feed is not None and not plain.capabilities.inbound.webhooks


def test_completing_a_task_goes_through_the_mcp_update_tool_as_situation_30() -> None:
    # GIVEN a connection with the acting user's MCP token
    task = {"id": 900, "title": "Onboard", "situation": 30, "description": "ghlsync: contact=p12.c5"}
    script = Script([answer({"jsonrpc": "2.0", "id": 1, "result": {"content": []}}), answer(task)])
    connector = ekyte_connector(script, mcp_token="mcp-secret")
    # WHEN the task's completion changes
    updated = connector.update_task(
        "p12.c5", "900", CanonicalTask(title="Onboard", completed=True), frozenset({"completed"})
    )
    # THEN one JSON-RPC tools/call carries the situation, then the task is read back
    call = script.requests[0]
    assert str(call.url).startswith(MCP) and call.url.params["token"] == "mcp-secret"
    assert sent_json(call)["method"] == "tools/call"
    assert sent_json(call)["params"] == {"name": "update_task", "arguments": {"taskId": 900, "situation": 30}}
    assert updated.completed is True


def test_a_quiet_poll_is_one_call_per_feed_and_lists_only_tasks_naming_a_contact() -> None:
    # GIVEN one person changed since the checkpoint, one older, and two recent tasks (one ours)
    since = datetime(2026, 1, 1, 11, 50, tzinfo=UTC)
    persons = [
        {"id": 40, "name": "Cy Solo", "email": "cy@solo.example", "updatedAt": "2026-01-01T11:55:00Z"},
        {"id": 41, "name": "Old Timer", "updatedAt": "2026-01-01T09:00:00Z"},
    ]
    tasks = [
        {
            "id": 900,
            "title": "Ours",
            "workspaceId": 1,
            "updatedAt": "2026-01-01T11:56:00Z",
            "description": "ghlsync: contact=p40",
        },
        {"id": 901, "title": "Internal", "workspaceId": 1, "updatedAt": "2026-01-01T11:57:00Z"},
    ]
    script = Script([answer(persons), answer(tasks)])
    # WHEN the feed is read
    events = list(ekyte_connector(script).list_changes(since))
    # THEN two calls, the changed person and our task (under its contact)
    assert [r.url.path for r in script.requests] == ["/n8n/polling/persons", "/n8n/polling/tasks"]
    assert [(e.entity, e.entity_id, e.parent_id) for e in events] == [
        (EntityKind.CONTACT, "p40", None),
        (EntityKind.TASK, "900", "p40"),
    ]


def test_the_recovery_past_the_window_pages_the_bi_api_from_the_checkpoint() -> None:
    # GIVEN a checkpoint two hours old and BI tasks over two pages
    since = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    page = lambda n, ids, total=2: answer(  # noqa: E731
        {
            "data": [
                {
                    "id": i,
                    "title": f"T{i}",
                    "workspaceId": 1,
                    "creationDate": "2026-01-01T10:30:00",
                    "description": "ghlsync: contact=p40",
                }
                for i in ids
            ],
            "paging": {"currentPage": {"number": n}, "totalPages": total},
        }
    )
    script = Script([answer([]), page(1, [1, 2]), page(2, [3]), page(1, [3], 1)])
    # WHEN the connector recovers the changes since the checkpoint
    events = list(ekyte_connector(script).list_all_changes(since))
    # THEN created and resolved tasks since then were listed through the BI API, each once
    bi = [r for r in script.requests if r.url.path == "/v1.2/tasks"]
    assert [r.url.params.get("page") for r in bi] == ["1", "2", "1"]
    assert bi[0].url.params["createdFrom"] == "2026-01-01T10:00:00" and bi[0].url.params["apiKey"] == API_KEY
    assert "resolvedDateFrom" in bi[2].url.params
    assert [e.entity_id for e in events] == ["1", "2", "3"]


def test_connections_check_shows_the_writes_ekyte_has_no_route_for() -> None:
    # GIVEN an eKyte connection with nothing recent
    connector = ekyte_connector(Script([answer([]) for _ in range(4)]))
    spec = spec_for("ekyte")
    # WHEN the operator checks it
    verdicts = check_connection(connector, spec, {}, connection_id="conn-ekyte", since=EKYTE_NOW)
    # THEN auth passed, and the person update it cannot make is listed as unsupported
    lines = {v.capability: v for v in verdicts}
    assert lines["auth"].ok is True
    assert lines["unsupported"].detail.startswith("update contact, delete contact, update task, delete task")
    assert "unsupported by ekyte" in lines["unsupported"].detail
