"""The eKyte fake's admin API, next to the kit's /_sandbox routes (never part of eKyte).

eKyte has no webhooks, so these routes are how tests and `make dev` users make changes "in
eKyte", as one of its users (`user_email`, default: the company's first user); the sync sees them
only by polling. Options are snake_case JSON; dates ISO 8601.

    GET   /_sandbox/account                  users, workspaces, task types (with phases) of the company
    GET   /_sandbox/persons                  every person with its person-contacts
    POST  /_sandbox/persons                  {"name", "email"?, "phone"?, "is_customer"?, "user_email"?}
    POST  /_sandbox/persons/<id>/contacts    {"name", "email"?, "phone"?, "user_email"?}
    GET   /_sandbox/tasks                    every task with its comments
    POST  /_sandbox/tasks                    {"title", "due", "workspace_id"?, "task_type_id"?,
                                              "executor_email"?, "description"?, "user_email"?}
    PATCH /_sandbox/tasks/<id>               {"title"?, "due"?, "situation"?}   (30: completed)
    POST  /_sandbox/tasks/<id>/comments      {"message", "user_email"?}
    POST  /_sandbox/limit                    {"per_minute": n | null}: a rate limit (429 + Retry-After)

A create answers 201 with the record as the API shows it. eKyte's own refusals are answered
with their status and `{"error": "<text>"}`; a bad option is a 400 `{"error": ...}`.
"""

from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request

from sandbox.apps.ekyte.errors import EkyteError, Json
from sandbox.apps.ekyte.fields import instant

if TYPE_CHECKING:
    from sandbox.apps.ekyte.sandbox import EkyteSandbox


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def admin_blueprint(sb: "EkyteSandbox") -> Blueprint:
    bp = Blueprint("ekyte_admin", __name__, url_prefix="/_sandbox")
    store = sb.store

    def body() -> Json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def string(data: Json, name: str, *, required: bool = False) -> str | None:
        value = data.get(name)
        if (value is None and required) or (value is not None and not isinstance(value, str)):
            raise AdminError(400, f"{name} is {'a required' if required else 'a'} string")
        return value

    def number(data: Json, name: str) -> int | None:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise AdminError(400, f"{name} is an integer")
        return value

    @bp.errorhandler(AdminError)
    def admin_error(error: AdminError) -> Any:
        return jsonify({"error": error.message}), error.status

    @bp.errorhandler(EkyteError)
    def refused(error: EkyteError) -> Any:
        return jsonify({"error": error.text or f"HTTP {error.status}"}), error.status

    @bp.get("/account")
    def account() -> Any:
        company_id = sb.company_id
        return jsonify(
            {
                "companyId": company_id,
                "users": [u.json() for u in store.users.values() if company_id in u.company_ids],
                "workspaces": [w.json() for w in store.workspaces.values() if w.company_id == company_id],
                "taskTypes": [
                    {"id": t.id, "name": t.name, "phases": [{"id": p.id, "name": p.name} for p in t.phases]}
                    for t in store.task_types.values()
                ],
            }
        )

    @bp.get("/persons")
    def persons() -> Any:
        return jsonify({"persons": [p.json() for p in store.persons.values()]})

    @bp.post("/persons")
    def create_person() -> Any:
        data = body()
        is_customer = data.get("is_customer", True)
        if not isinstance(is_customer, bool):
            raise AdminError(400, "is_customer is a boolean")
        person = sb.ui_create_person(
            string(data, "name", required=True) or "",
            email=string(data, "email"),
            phone=string(data, "phone"),
            is_customer=is_customer,
            user=string(data, "user_email"),
        )
        return jsonify(person.json()), 201

    @bp.post("/persons/<int:person_id>/contacts")
    def create_contact(person_id: int) -> Any:
        data = body()
        contact = sb.ui_add_person_contact(
            person_id,
            string(data, "name", required=True) or "",
            email=string(data, "email"),
            phone=string(data, "phone"),
            user=string(data, "user_email"),
        )
        return jsonify(contact.json()), 201

    @bp.get("/tasks")
    def tasks() -> Any:
        return jsonify({"tasks": [t.json(with_comments=True) for t in store.tasks.values()]})

    @bp.post("/tasks")
    def create_task() -> Any:
        data = body()
        task = sb.ui_create_task(
            string(data, "title", required=True) or "",
            due=string(data, "due", required=True) or "",
            workspace_id=number(data, "workspace_id"),
            task_type_id=number(data, "task_type_id"),
            executor=string(data, "executor_email"),
            description=string(data, "description") or "",
            user=string(data, "user_email"),
        )
        return jsonify(task.json(with_comments=True)), 201

    @bp.patch("/tasks/<int:task_id>")
    def update_task(task_id: int) -> Any:
        data = body()
        due_raw = string(data, "due")
        due = None if due_raw is None else instant(due_raw)
        if due_raw is not None and due is None:
            raise AdminError(400, "due is an ISO 8601 date or date-time")
        task = sb.ui_update_task(
            task_id, title=string(data, "title"), due=due, situation=number(data, "situation")
        )
        return jsonify(task.json(with_comments=True))

    @bp.post("/tasks/<int:task_id>/comments")
    def comment(task_id: int) -> Any:
        data = body()
        message = string(data, "message", required=True) or ""
        return jsonify(sb.ui_comment_task(task_id, message, user=string(data, "user_email")).json()), 201

    @bp.post("/limit")
    def limit() -> Any:
        per_minute = number(body(), "per_minute")
        if per_minute is not None and per_minute < 1:
            raise AdminError(400, "per_minute is at least 1")
        sb.limiter.configure(per_minute)
        return jsonify({"per_minute": sb.limiter.per_minute})

    return bp
