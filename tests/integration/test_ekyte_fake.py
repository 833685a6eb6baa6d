"""The eKyte fake's integration API behaves like eKyte's (target-apps.md §2.1, §2.5): query auth
with a bare 401, PascalCase creates checked like eKyte's controller with its `{id, text}` 400s,
no idempotency, and polling feeds that see only the last 15 minutes of the fake's clock."""

import httpx
import pytest

from sandbox.apps.ekyte import EkyteSandbox
from sandbox.apps.ekyte.stack import API_KEY, COMPANY_ID, EXECUTOR_EMAIL, USER_EMAIL
from sandbox.fakes.clock import FakeClock
from tests.fixtures.ekyte_fake import EkyteApi, dev_ekyte, task_body

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ekyte(clock: FakeClock) -> EkyteSandbox:
    return dev_ekyte(clock)


@pytest.fixture
def api(ekyte: EkyteSandbox) -> EkyteApi:
    return EkyteApi(ekyte)


# -- auth ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("base", ["/n8n/polling", "/zapier"])
def test_the_auth_check_answers_the_company(api: EkyteApi, base: str) -> None:
    # GIVEN the dev credentials / WHEN the auth check is called under either base
    response = api.http.get(f"{base}/auth", params=api.auth)
    # THEN it answers the company id, camelCase
    assert (response.status_code, response.json()) == (200, {"companyId": COMPANY_ID})


@pytest.mark.parametrize(("api_key", "company_id"), [("wrong-key", COMPANY_ID), (API_KEY, 2002)])
def test_wrong_credentials_are_a_401_with_an_empty_body(
    ekyte: EkyteSandbox, api_key: str, company_id: int
) -> None:
    # GIVEN a wrong key, or the right key with another company's id
    api = EkyteApi(ekyte, api_key=api_key, company_id=company_id)
    # WHEN a create is tried / THEN a bare 401, and nothing was created
    response = api.post("/persons", {"UserEmail": USER_EMAIL, "Name": "Acme"})
    assert (response.status_code, response.content) == (401, b"")
    assert ekyte.store.persons == {}


def test_zapier_reads_have_no_polling_prefix(api: EkyteApi) -> None:
    # GIVEN a task / WHEN the Zapier base's task feed is read
    api.task()
    # THEN it is the same feed as /n8n/polling/tasks
    assert api.get("/tasks", base="/zapier").json() == api.get("/polling/tasks").json() != []


def test_an_unknown_route_is_a_bare_404(api: EkyteApi) -> None:
    response = api.get("/polling/contacts")
    assert (response.status_code, response.content) == (404, b"")


# -- creates ------------------------------------------------------------------------------------
def test_a_person_is_created_from_a_pascalcase_body_and_read_back_camelcase(api: EkyteApi) -> None:
    # GIVEN / WHEN a customer person is created
    person_id = api.person(
        "Acme Ltd", Email="hello@acme.example", Phone="+5511999990000", Tags=[{"Id": "t1"}]
    )
    # THEN reading it shows its fields camelCase
    person = api.get(f"/polling/persons/{person_id}").json()
    assert (person["name"], person["email"], person["isCustomer"], person["tags"]) == (
        "Acme Ltd",
        "hello@acme.example",
        True,
        [{"id": "t1"}],
    )


def test_a_person_contact_is_created_under_its_person(api: EkyteApi) -> None:
    # GIVEN a person / WHEN a person-contact is added under it
    person_id = api.person()
    answer = api.create(
        "/persons/contacts",
        {"UserEmail": USER_EMAIL, "PersonId": person_id, "Name": "Ada", "Email": "ada@x.example"},
    )
    # THEN the person lists it
    [contact] = api.get(f"/polling/persons/{person_id}").json()["contacts"]
    assert (contact["id"], contact["name"], contact["email"]) == (
        answer["personContactId"],
        "Ada",
        "ada@x.example",
    )


def test_a_person_contact_under_an_unknown_person_is_a_404(api: EkyteApi) -> None:
    response = api.post("/persons/contacts", {"UserEmail": USER_EMAIL, "PersonId": 999, "Name": "Ada"})
    assert (response.status_code, response.json()) == (404, {"id": 40, "text": "Pessoa não encontrada"})


def test_a_task_starts_active_in_its_types_first_phase_with_its_default_executor(api: EkyteApi) -> None:
    # GIVEN / WHEN a task is created without InitialExecutor
    task_id = api.task()
    # THEN it is active (10), in phase 21, executed by the phase's default executor (a UUID id)
    task = api.get(f"/polling/v3/task/{task_id}").json()
    assert (task["situation"], task["phaseId"], task["currentDueDate"]) == (10, 21, "2026-01-10T17:00:00Z")
    assert task["executor"] == {"userName": "Eva Executor"} and len(task["executorId"]) == 36


@pytest.mark.parametrize(
    ("missing", "code", "text"),
    [
        ("UserEmail", 6, "O seu e-mail é obrigatório"),
        ("Title", 7, "O título é obrigatório"),
        ("WorkspaceId", 7, "O Id da workspace é obrigatório"),
        ("CtcTaskTypeId", 8, "O Id do tipo de tarefa é obrigatório"),
        ("CurrentDueDate", 7, 'O campo "Concluir até" é obrigatório'),
    ],
)
def test_a_task_without_a_required_field_is_refused_in_ekytes_words(
    api: EkyteApi, ekyte: EkyteSandbox, missing: str, code: int, text: str
) -> None:
    # GIVEN / WHEN a task body lacks one required field
    response = api.post("/tasks", task_body(**{missing: None}))
    # THEN a 400 {id, text}, and no task
    assert (response.status_code, response.json()) == (400, {"id": code, "text": text})
    assert ekyte.store.tasks == {}


@pytest.mark.parametrize(
    ("fields", "code", "text"),
    [
        ({"UserEmail": "nobody@dev.example"}, 10, "Usuário nobody@dev.example não foi encontrado."),
        ({"WorkspaceId": 999}, 30, "Workspace não encontrada"),
        ({"CtcTaskTypeId": 999}, 30, "Tipo de tarefa não encontrado"),
        ({"InitialExecutor": "ghost@dev.example"}, 10, "Usuário ghost@dev.example não foi encontrado."),
        ({"PriorityGroup": 101}, 85, "A prioridade é inválida. Utilize valores de 0 a 100."),
        ({"PlanTask": False}, 95, "Para tarefas não planejadas é necessário informar o id do projeto."),
    ],
)
def test_a_task_naming_what_does_not_exist_is_refused(
    api: EkyteApi, fields: dict[str, object], code: int, text: str
) -> None:
    response = api.post("/tasks", task_body(**fields))
    assert (response.status_code, response.json()) == (400, {"id": code, "text": text})


def test_a_field_of_the_wrong_json_type_is_a_422(api: EkyteApi) -> None:
    response = api.post("/tasks", task_body(WorkspaceId="101"))
    assert response.status_code == 422 and "WorkspaceId" in response.json()["errors"]


def test_an_initial_executor_overrides_the_phase_default(api: EkyteApi) -> None:
    task_id = api.task(InitialExecutor=USER_EMAIL)
    assert api.get(f"/polling/v3/task/{task_id}").json()["executor"] == {"userName": "Sync Agent"}


def test_a_person_without_a_name_is_refused(api: EkyteApi) -> None:
    response = api.post("/persons", {"UserEmail": USER_EMAIL, "IsCustomer": True})
    assert (response.status_code, response.json()) == (400, {"id": 7, "text": "O nome é obrigatório"})


def test_a_ticket_needs_an_existing_requester_and_makes_unknown_cc_guests(
    api: EkyteApi, ekyte: EkyteSandbox
) -> None:
    # GIVEN a ticket body with a CC nobody knows
    body = {
        "UserEmail": USER_EMAIL,
        "Subject": "Logo",
        "WorkspaceId": 101,
        "TicketType": 1,
        "RequesterEmail": EXECUTOR_EMAIL,
        "UsersCC": "new.guest@client.example",
    }
    # WHEN it is posted, and again with an unknown requester
    created = api.create("/tickets", body)
    refused = api.post("/tickets", {**body, "RequesterEmail": "ghost@dev.example"})
    # THEN the first is a ticket and the CC a guest; the second is refused
    assert created["ticketId"] in ekyte.store.tickets and ekyte.store.user("new.guest@client.example").guest
    assert refused.json() == {"id": 10, "text": "Usuário ghost@dev.example não foi encontrado."}


def test_a_board_note_goes_on_a_board_and_an_unknown_board_is_a_bare_404(
    api: EkyteApi, ekyte: EkyteSandbox
) -> None:
    # GIVEN a board / WHEN a note is posted on it, and one on a board that does not exist
    board_id = api.create("/boards", {"Title": "GHL notes: Acme", "WorkspaceId": 101})["boardId"]
    note = api.create(
        "/notes", {"PlanId": board_id, "Title": "Call", "Content": "<p>Hi</p>", "Category": "GHL"}
    )
    missing = api.post("/notes", {"PlanId": 999, "Title": "Call"})
    # THEN the first is held on the board; the second is a 404 with no body
    assert ekyte.store.notes[note["noteId"]].plan_id == board_id
    assert (missing.status_code, missing.content) == (404, b"")


def test_posts_are_not_idempotent(api: EkyteApi, ekyte: EkyteSandbox) -> None:
    # GIVEN / WHEN the same task is posted twice
    first, second = api.task(), api.task()
    # THEN there are two tasks
    assert first != second and len(ekyte.store.tasks) == 2


def test_a_create_applied_then_timed_out_exists_though_the_client_saw_no_answer(
    api: EkyteApi, ekyte: EkyteSandbox
) -> None:
    # GIVEN every POST applied, then timed out (reads untouched)
    ekyte.faults.configure(rate_timeout=1.0, timeout_applied_share=1.0, methods={"POST"})
    # WHEN a task is posted / THEN the client times out
    with pytest.raises(httpx.ReadTimeout):
        api.post("/tasks", task_body(Title="Onboard Ada"))
    # AND a read through polling still answers and shows the task was made
    assert [t["title"] for t in api.get("/polling/tasks").json()] == ["Onboard Ada"]
    assert [(r.method, r.status) for r in ekyte.request_log] == [("POST", 200), ("GET", 200)]


# -- polling windows ----------------------------------------------------------------------------
@pytest.mark.parametrize(("elapsed_s", "seen"), [(14 * 60 + 59, True), (15 * 60 + 1, False)])
def test_polling_tasks_sees_only_the_last_15_minutes(
    api: EkyteApi, clock: FakeClock, elapsed_s: int, seen: bool
) -> None:
    # GIVEN a task created now / WHEN the clock moves on and the feed is polled
    task_id = api.task()
    clock.advance(elapsed_s)
    # THEN it is listed only within 15 minutes of its last change
    assert ([t["id"] for t in api.get("/polling/tasks").json()] == [task_id]) is seen


@pytest.mark.parametrize(("elapsed_s", "seen"), [(14 * 60 + 59, True), (15 * 60 + 1, False)])
def test_polling_persons_sees_only_the_last_15_minutes(
    api: EkyteApi, clock: FakeClock, elapsed_s: int, seen: bool
) -> None:
    person_id = api.person()
    clock.advance(elapsed_s)
    assert ([p["id"] for p in api.get("/polling/persons").json()] == [person_id]) is seen


def test_a_comment_brings_an_old_task_back_into_the_window(
    api: EkyteApi, ekyte: EkyteSandbox, clock: FakeClock
) -> None:
    # GIVEN a task older than the window / WHEN a user comments on it in eKyte
    task_id = api.task()
    clock.advance(60 * 60)
    ekyte.ui_comment_task(task_id, "Client approved")
    # THEN polling lists it again, in the v2 feed with its phases
    [task] = api.get("/polling/v2/tasks").json()
    assert (task["id"], [p["id"] for p in task["phases"]]) == (task_id, [21, 22])


def test_a_person_filter_searches_every_person_not_only_the_window(api: EkyteApi, clock: FakeClock) -> None:
    # GIVEN two persons an hour old / WHEN persons are searched by part of a name
    api.person("Acme Ltd")
    api.person("Globex")
    clock.advance(60 * 60)
    # THEN the match is found although it is outside the window
    assert [p["name"] for p in api.get("/polling/persons", Name="acme").json()] == ["Acme Ltd"]


def test_unwindowed_persons_lists_every_person(clock: FakeClock) -> None:
    # GIVEN a fake whose person feed is not windowed, and a person an hour old
    api = EkyteApi(dev_ekyte(clock, windowed_persons=False))
    person_id = api.person()
    clock.advance(60 * 60)
    # WHEN / THEN the feed still lists it
    assert [p["id"] for p in api.get("/polling/persons").json()] == [person_id]


def test_filtered_tasks_select_by_situation(api: EkyteApi, ekyte: EkyteSandbox) -> None:
    # GIVEN an active task and a completed one
    open_id, done_id = api.task(Title="Open"), api.task(Title="Done")
    ekyte.ui_update_task(done_id, situation=30)
    # WHEN v3 tasks are filtered on situations 10 and 20 / THEN only the open one
    assert [t["id"] for t in api.get("/polling/v3/tasks", TaskSituation="10,20").json()] == [open_id]


def test_an_unknown_task_is_a_404(api: EkyteApi) -> None:
    response = api.get("/polling/v3/task/999")
    assert (response.status_code, response.json()) == (404, {"id": 30, "text": "Tarefa não encontrada"})
