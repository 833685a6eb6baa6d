"""Surface C, eKyte's hosted MCP server (target-apps.md §2.3): JSON-RPC 2.0 over HTTP POST.

    POST /mcp?token=<per-user token>        (or `Authorization: Bearer <token>`)
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
     "params": {"name": "update_task", "arguments": {"taskId": 7001, "situation": 30}}}

Methods: `initialize`, `ping`, `tools/list`, `tools/call`; a notification (no `id`) is a 202.
A missing or unknown token is an HTTP 401 (JSON-RPC error -32001); a body that is not JSON a 400
(-32700); an unknown method -32601; an unknown tool -32602. A tool's own failure (an unknown
task, a bad value) is a result with `isError: true` and the reason as text, as MCP has it.
A result carries the record twice: `structuredContent` and one text content of its JSON.

Tools (eKyte lists ~65 tools, names not in the public material: these names are this fake's
choice, ⚠ UNCONFIRMED): `get_task {taskId}`, `update_task {taskId, title?, currentDueDate?,
situation?}` (situation 10/20/30/40; 30 completes it), `create_task_comment {taskId, message}`,
`list_task_comments {taskId}`. Changes are made as the token's user.
"""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from sandbox.apps.ekyte.api import ok
from sandbox.apps.ekyte.errors import EkyteError, Json
from sandbox.apps.ekyte.fields import instant
from sandbox.apps.ekyte.records import Task, User

if TYPE_CHECKING:
    from sandbox.apps.ekyte.sandbox import EkyteSandbox

PROTOCOL_VERSION = "2025-03-26"
UNAUTHORIZED, PARSE_ERROR, NO_METHOD, BAD_PARAMS = -32001, -32700, -32601, -32602
TASK_ID = {"taskId": {"type": "integer"}}
TOOLS: list[Json] = [
    {"name": "get_task", "description": "One task by id.", "required": ["taskId"], "properties": TASK_ID},
    {
        "name": "update_task",
        "description": "Change an existing task's title, due date (currentDueDate, ISO 8601) or situation.",
        "required": ["taskId"],
        "properties": {
            **TASK_ID,
            "title": {"type": "string"},
            "currentDueDate": {"type": "string", "format": "date-time"},
            "situation": {"type": "integer", "enum": [10, 20, 30, 40]},
        },
    },
    {
        "name": "create_task_comment",
        "description": "Add a comment to a task.",
        "required": ["taskId", "message"],
        "properties": {**TASK_ID, "message": {"type": "string"}},
    },
    {
        "name": "list_task_comments",
        "description": "A task's comments, oldest first.",
        "required": ["taskId"],
        "properties": TASK_ID,
    },
]


class ToolFailure(Exception):
    """A tool that ran and failed: answered as a result with isError."""


def _rpc(request_id: Any, *, result: Any = None, error: tuple[int, str] | None = None) -> Json:
    if error is not None:
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": error[0], "message": error[1]}}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _tool_result(value: Any, *, failed: bool = False) -> Json:
    if failed:
        return {"content": [{"type": "text", "text": str(value)}], "isError": True}
    structured = value if isinstance(value, dict) else {"items": value}
    return {
        "content": [{"type": "text", "text": json.dumps(value)}],
        "structuredContent": structured,
        "isError": False,
    }


def mcp_blueprint(sb: "EkyteSandbox") -> Blueprint:
    store = sb.store
    bp = Blueprint("ekyte_mcp", __name__)

    def token() -> str:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.args.get("token", "")

    def task(company_id: int, arguments: Json) -> Task:
        task_id = arguments.get("taskId")
        if isinstance(task_id, bool) or not isinstance(task_id, int):
            raise ToolFailure("taskId is required and must be an integer")
        try:
            return store.task(company_id, task_id)
        except EkyteError as exc:
            raise ToolFailure(f"{exc.text} ({task_id})") from None

    def get_task(company_id: int, user: User, arguments: Json) -> Any:
        return task(company_id, arguments).json(with_phases=True)

    def update_task(company_id: int, user: User, arguments: Json) -> Any:
        found = task(company_id, arguments)
        title, due_raw, situation = (
            arguments.get("title"),
            arguments.get("currentDueDate"),
            arguments.get("situation"),
        )
        if title is not None and (not isinstance(title, str) or not title.strip()):
            raise ToolFailure("title must be a non-empty string")
        due = None if due_raw is None else instant(due_raw)
        if due_raw is not None and due is None:
            raise ToolFailure("currentDueDate must be an ISO 8601 date or date-time")
        if situation is not None and (isinstance(situation, bool) or not isinstance(situation, int)):
            raise ToolFailure("situation must be 10, 20, 30 or 40")
        try:
            store.update_task(found, title=title, due=due, situation=situation)
        except EkyteError as exc:
            raise ToolFailure(exc.text) from None
        return found.json(with_phases=True)

    def create_task_comment(company_id: int, user: User, arguments: Json) -> Any:
        found, message = task(company_id, arguments), arguments.get("message")
        if not isinstance(message, str) or not message.strip():
            raise ToolFailure("message is required")
        return store.add_comment(found, user, message).json()

    def list_task_comments(company_id: int, user: User, arguments: Json) -> Any:
        return [c.json() for c in task(company_id, arguments).comments]

    tools: dict[str, Callable[[int, User, Json], Any]] = {
        "get_task": get_task,
        "update_task": update_task,
        "create_task_comment": create_task_comment,
        "list_task_comments": list_task_comments,
    }

    def call(company_id: int, user: User, params: Json) -> Json:
        name, arguments = params.get("name"), params.get("arguments") or {}
        tool = tools.get(name) if isinstance(name, str) else None
        if tool is None or not isinstance(arguments, dict):
            raise KeyError(name)
        try:
            return _tool_result(tool(company_id, user, arguments))
        except ToolFailure as exc:
            return _tool_result(exc, failed=True)

    @bp.post("/mcp")
    def endpoint() -> Response:
        grant = sb.mcp_tokens.get(token())
        message = request.get_json(silent=True)
        request_id = message.get("id") if isinstance(message, dict) else None
        if grant is None:
            return ok(_rpc(request_id, error=(UNAUTHORIZED, "Invalid or missing token")), 401)
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return ok(_rpc(None, error=(PARSE_ERROR, "Parse error")), 400)
        if "id" not in message:
            return Response(b"", 202)
        company_id, email = grant
        method, params = message.get("method"), message.get("params") or {}
        if method == "initialize":
            info = {"name": "ekyte-mcp-sandbox", "version": "1.0"}
            result = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {"tools": {}}, "serverInfo": info}
            return ok(_rpc(request_id, result=result))
        if method == "ping":
            return ok(_rpc(request_id, result={}))
        if method == "tools/list":
            listed = [
                {
                    "name": t["name"],
                    "description": t["description"],
                    "inputSchema": {
                        "type": "object",
                        "properties": t["properties"],
                        "required": t["required"],
                    },
                }
                for t in TOOLS
            ]
            return ok(_rpc(request_id, result={"tools": listed}))
        if method != "tools/call":
            return ok(_rpc(request_id, error=(NO_METHOD, f"Method not found: {method}")))
        try:
            return ok(_rpc(request_id, result=call(company_id, store.user(email), params)))
        except KeyError:
            return ok(_rpc(request_id, error=(BAD_PARAMS, f"Unknown tool: {params.get('name')}")))

    return bp
