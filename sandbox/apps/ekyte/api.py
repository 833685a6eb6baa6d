"""Surface A, eKyte's integration API (target-apps.md §2.1, §2.5), under each configured base.

Every route needs `?apiKey=<key>&CompanyId=<id>` of one company: otherwise a 401 with an empty
body (the controller's bare `Unauthorized()`). Bodies are PascalCase; answers camelCase. Under
`/n8n` the reads hang off `/polling/…`; under `/zapier` the same reads have no `polling/` prefix
(`/zapier/auth`, `/zapier/tasks`). List answers are bare JSON arrays.

The "recent" feeds (tasks, v2 tasks, persons without a filter, projects created, tickets changed
or concluded) hold only what changed in the last `polling_window_s` (15 minutes) of the fake's
clock, at or after `now - window`: older changes are only in the BI API (sandbox.apps.ekyte.bi).
"""

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, request

from sandbox.apps.ekyte import planning
from sandbox.apps.ekyte.errors import EkyteError, Json
from sandbox.apps.ekyte.fields import instant
from sandbox.apps.ekyte.records import Stamped, Task, User

if TYPE_CHECKING:
    from sandbox.apps.ekyte.sandbox import EkyteSandbox

N8N, ZAPIER = "/n8n", "/zapier"
PERSON_FILTERS = ("Name", "Document", "PersonType", "ProfileId")


def ok(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json; charset=utf-8")


def error_response(error: EkyteError) -> Response:
    body = error.body()
    if body is None:
        return Response(b"", error.status)
    return ok(body, error.status)


def _body() -> Json:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _csv_ints(name: str) -> set[int] | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise EkyteError(400, 1, f"O filtro {name} é inválido.") from None


def _int_arg(name: str) -> int | None:
    values = _csv_ints(name)
    return None if values is None else min(values)


def integration_blueprint(sb: "EkyteSandbox", base: str) -> Blueprint:
    """The integration API under `base` (`/n8n` or `/zapier`)."""
    store = sb.store
    reads = "/polling" if base == N8N else ""
    bp = Blueprint(f"ekyte_integration{base.replace('/', '_')}", __name__, url_prefix=base)

    @bp.before_request
    def authenticate() -> Response | None:
        company = store.company_by_key(request.args.get("apiKey", ""))
        if company is None or request.args.get("CompanyId", "").strip() != str(company.id):
            return Response(b"", 401)
        g.company_id = company.id
        return None

    @bp.errorhandler(EkyteError)
    def refused(error: EkyteError) -> Response:
        return error_response(error)

    def company() -> int:
        return int(g.company_id)

    def recent(records: Iterable[Stamped], when: Callable[[Any], float | None] | None = None) -> list[Any]:
        since = sb.clock() - sb.polling_window_s
        stamp = when or (lambda r: r.updated_at)
        chosen = [r for r in records if getattr(r, "company_id", company()) == company()]
        return sorted((r for r in chosen if (stamp(r) or 0.0) >= since), key=lambda r: r.id)

    # -- auth and the recent feeds ---------------------------------------------------------
    @bp.get(f"{reads}/auth")
    def auth() -> Response:
        return ok({"companyId": company()})

    @bp.get(f"{reads}/tasks")
    def recent_tasks() -> Response:
        return ok([t.json() for t in recent(store.tasks.values())])

    @bp.get(f"{reads}/v2/tasks")
    def recent_tasks_with_phases() -> Response:
        return ok([t.json(with_phases=True) for t in recent(store.tasks.values())])

    @bp.get(f"{reads}/projects/created")
    def recent_projects() -> Response:
        return ok([p.json() for p in recent(store.projects.values(), lambda p: p.created_at)])

    @bp.get(f"{reads}/tickets/changes")
    def changed_tickets() -> Response:
        return ok([t.json() for t in recent(store.tickets.values())])

    @bp.get(f"{reads}/tickets/concluded")
    def concluded_tickets() -> Response:
        return ok([t.json() for t in recent(store.tickets.values(), lambda t: t.concluded_at)])

    @bp.get(f"{reads}/persons")
    def persons() -> Response:
        """Without a filter: the persons changed in the window (⚠ UNCONFIRMED, see README); with
        `Name` (contains, any case) or `Document`: every matching person."""
        name, document = request.args.get("Name", "").lower(), request.args.get("Document", "")
        if not any(request.args.get(f) for f in PERSON_FILTERS):
            return ok([p.json() for p in recent(store.persons.values())])
        found = [
            p
            for p in store.persons.values()
            if p.company_id == company()
            and name in p.name.lower()
            and (not document or p.fields.get("Document") == document)
        ]
        return ok([p.json() for p in sorted(found, key=lambda p: p.id)])

    @bp.get(f"{reads}/persons/<int:person_id>")
    def person(person_id: int) -> Response:
        return ok(store.person(company(), person_id).json())

    # -- filtered reads ----------------------------------------------------------------------
    @bp.get(f"{reads}/v3/tasks")
    def filtered_tasks() -> Response:
        return ok([t.json(with_phases=True) for t in _filtered_tasks(store.tasks.values(), company())])

    @bp.get(f"{reads}/v3/task/<int:task_id>")
    def one_task(task_id: int) -> Response:
        return ok(store.task(company(), task_id).json(with_phases=True))

    @bp.get(f"{reads}/tickets")
    def filtered_tickets() -> Response:
        situations, types = _csv_ints("TaskSituation"), _csv_ints("TicketType")
        workspace = _int_arg("WorkspaceId")
        found = [
            t
            for t in store.tickets.values()
            if t.company_id == company()
            and (situations is None or t.situation in situations)
            and (types is None or t.ticket_type in types)
            and (workspace is None or t.workspace_id == workspace)
            and _within(t.created_at)
        ]
        return ok([t.json() for t in sorted(found, key=lambda t: t.id)])

    @bp.get(f"{reads}/boards")
    def boards() -> Response:
        return ok([b.json() for b in store.boards.values() if b.company_id == company()])

    @bp.get(f"{reads}/workspaces")
    def workspaces() -> Response:
        return ok(
            [{"id": w.id, "name": w.name} for w in store.workspaces.values() if w.company_id == company()]
        )

    @bp.get(f"{reads}/notifications")
    def notifications() -> Response:
        email = request.args.get("UserEmail", "")
        if email.lower() not in store.users:
            raise EkyteError(400, 10, f"Usuário {email} não foi encontrado.")
        return ok([])  # the fake keeps no notifications

    # -- creates (not idempotent: two identical POSTs are two records) -------------------------
    @bp.post("/persons")
    def create_person() -> Response:
        return ok({"personId": store.create_person(company(), _body()).id})

    @bp.post("/persons/contacts")
    def create_person_contact() -> Response:
        return ok({"personContactId": store.create_person_contact(company(), _body()).id})

    @bp.post("/tasks")
    def create_task() -> Response:
        return ok({"taskId": store.create_task(company(), _body()).id})

    @bp.post("/tickets")
    def create_ticket() -> Response:
        return ok({"ticketId": planning.create_ticket(store, company(), _body()).id})

    @bp.post("/boards")
    def create_board() -> Response:
        board = planning.create_board(store, company(), request.args.get("UserEmail"), _body())
        return ok({"boardId": board.id})

    @bp.post("/notes")
    def create_note() -> Response:
        note = planning.create_note(store, company(), request.args.get("UserEmail"), _body())
        return ok({"noteId": note.id})

    @bp.post("/projects")
    def create_project() -> Response:
        project = planning.create_project(store, company(), request.args.get("UserEmail"), _body())
        return ok({"projectId": project.id})

    return bp


def _within(created_at: float) -> bool:
    """`StartDate`/`EndDate` on the creation date (a bare `EndDate` date: up to its end)."""
    start, end = instant(request.args.get("StartDate")), instant(request.args.get("EndDate"))
    end_raw = request.args.get("EndDate", "")
    if end is not None and len(end_raw.strip()) == len("YYYY-MM-DD"):
        end += 86_400 - 1e-6
    return (start is None or created_at >= start) and (end is None or created_at <= end)


def _executor_matches(executor: User | None, wanted: str | None) -> bool:
    return wanted is None or (executor is not None and executor.id == wanted)


def _filtered_tasks(tasks: Iterable[Task], company_id: int) -> list[Task]:
    """`/polling/v3/tasks?Title=&TaskSituation=10,20&WorkspaceId=&ExecutorId=&ProjectId=&StartDate=&EndDate=`."""
    title = request.args.get("Title", "").lower()
    situations, workspace, project = (
        _csv_ints("TaskSituation"),
        _int_arg("WorkspaceId"),
        _int_arg("ProjectId"),
    )
    executor = request.args.get("ExecutorId") or None
    found = [
        t
        for t in tasks
        if t.company_id == company_id
        and title in t.title.lower()
        and (situations is None or t.situation in situations)
        and (workspace is None or t.workspace.id == workspace)
        and (project is None or t.project_id == project)
        and _executor_matches(t.executor, executor)
        and _within(t.created_at)
    ]
    return sorted(found, key=lambda t: t.id)
