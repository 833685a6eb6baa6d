"""Surface B, eKyte's public "BI" read API (target-apps.md §2.2), for reads older than 15 minutes.

    GET /v1.2/tasks?apiKey=<BI key>&page=<n>&createdFrom=&createdTo=&dueFrom=&dueTo=
        &resolvedDateFrom=&resolvedDateTo=&phaseDateFrom=&phaseDateTo=&workspaceId=&projectId=
        &status=30&taskTypeId=&phaseId=&includeComments=1&includePhases=1
    GET /v1.0/workspaces, /v1.0/users, /v1.1/tasktypes (also /v1.0/task-types), /v1.1/tickets,
        /v1.1/projects, /v1.1/boards

Only `apiKey` (the company's BI key) authenticates; a wrong one is a 401 `{"error": {"message"}}`
([3P]). Every answer is the envelope of eKyte's Data Studio connector, `{"data": [...],
"paging": {"currentPage": {"number": n}, "totalPages": t}}`, `bi_page_size` records a page (50,
⚠ UNCONFIRMED), oldest id first; a client stops when `number >= totalPages`. Date filters take
ISO dates or date-times; a bare date as a `…To` bound includes that whole day.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, request

from sandbox.apps.ekyte.api import ok
from sandbox.apps.ekyte.errors import Json
from sandbox.apps.ekyte.fields import instant
from sandbox.apps.ekyte.records import Task

if TYPE_CHECKING:
    from sandbox.apps.ekyte.sandbox import EkyteSandbox

DAY_S = 86_400
TASK_DATES: dict[str, Callable[[Task], float | None]] = {
    "created": lambda t: t.created_at,
    "due": lambda t: t.current_due_date,
    "resolvedDate": lambda t: t.resolved_at,
    "phaseDate": lambda t: t.phase_start_date,
}


class BiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _bound(name: str, *, upper: bool) -> float | None:
    raw = request.args.get(name)
    if not raw:
        return None
    value = instant(raw)
    if value is None:
        raise BiError(400, f"{name} must be an ISO 8601 date")
    return value + DAY_S - 1e-6 if upper and len(raw.strip()) == len("YYYY-MM-DD") else value


def _number(name: str) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BiError(400, f"{name} must be an integer") from None


def _task_matches(task: Task) -> bool:
    for prefix, stamp in TASK_DATES.items():
        low, high = _bound(f"{prefix}From", upper=False), _bound(f"{prefix}To", upper=True)
        value = stamp(task)
        if (low is not None or high is not None) and value is None:
            return False
        if (low is not None and value is not None and value < low) or (
            high is not None and value is not None and value > high
        ):
            return False
    wanted = {
        "workspaceId": task.workspace.id,
        "projectId": task.project_id,
        "status": task.situation,
        "taskTypeId": task.task_type.id,
        "phaseId": task.phase.id,
    }
    return all(_number(name) in (None, value) for name, value in wanted.items())


def bi_blueprint(sb: "EkyteSandbox") -> Blueprint:
    store = sb.store
    bp = Blueprint("ekyte_bi", __name__)

    @bp.errorhandler(BiError)
    def refused(error: BiError) -> Response:
        return ok({"error": {"message": error.message}}, error.status)

    def authenticate() -> int:
        key = request.args.get("apiKey", "")
        company = next((c for c in store.companies.values() if key and c.bi_api_key == key), None)
        if company is None:
            raise BiError(401, "Invalid API key")
        g.company_id = company.id
        return company.id

    def page(records: Sequence[Any], render: Callable[[Any], Json]) -> Response:
        number = _number("page") or 1
        if number < 1:
            raise BiError(400, "page must be at least 1")
        size = sb.bi_page_size
        chosen = records[(number - 1) * size : number * size]
        total = max(1, math.ceil(len(records) / size))
        paging = {"currentPage": {"number": number}, "totalPages": total, "totalItems": len(records)}
        return ok({"data": [render(r) for r in chosen], "paging": paging})

    def of_company(records: Iterable[Any], company_id: int) -> list[Any]:
        return sorted((r for r in records if r.company_id == company_id), key=lambda r: r.id)

    @bp.get("/v1.2/tasks")
    def tasks() -> Response:
        company_id = authenticate()
        phases, comments = (
            request.args.get("includePhases") == "1",
            request.args.get("includeComments") == "1",
        )
        found = [t for t in of_company(store.tasks.values(), company_id) if _task_matches(t)]
        return page(found, lambda t: t.json(with_phases=phases, with_comments=comments))

    @bp.get("/v1.0/workspaces")
    def workspaces() -> Response:
        return page(of_company(store.workspaces.values(), authenticate()), lambda w: w.json())

    @bp.get("/v1.0/users")
    def users() -> Response:
        company_id = authenticate()
        members = sorted(
            (u for u in store.users.values() if company_id in u.company_ids), key=lambda u: u.email
        )
        return page(members, lambda u: u.json())

    def task_types() -> Response:
        authenticate()
        types = sorted(store.task_types.values(), key=lambda t: t.id)
        return page(
            types,
            lambda t: {
                "id": t.id,
                "name": t.name,
                "phases": [{"id": p.id, "name": p.name} for p in t.phases],
            },
        )

    bp.add_url_rule("/v1.1/tasktypes", "tasktypes", task_types)
    bp.add_url_rule("/v1.0/task-types", "task_types", task_types)

    @bp.get("/v1.1/tickets")
    def tickets() -> Response:
        return page(of_company(store.tickets.values(), authenticate()), lambda t: t.json())

    @bp.get("/v1.1/projects")
    def projects() -> Response:
        return page(of_company(store.projects.values(), authenticate()), lambda p: p.json())

    @bp.get("/v1.1/boards")
    def boards() -> Response:
        return page(of_company(store.boards.values(), authenticate()), lambda b: b.json())

    return bp
