"""A faithful fake of eKyte's integration API, BI read API and MCP server (target-apps.md §2.5).

Credentials (`make dev`, sandbox.apps.ekyte.stack): `apiKey` `dev-ekyte-api-key` + `CompanyId`
1001 in the query of every integration call (BI: `apiKey` only, same key); acting user
`UserEmail` `sync-agent@dev.example`; MCP token `dev-ekyte-mcp-token`; workspace 101, task type
11 (phases 21 "To do" → 22 "Done"), executor `executor@dev.example` (user ids are UUIDs).

Surface A, under `/n8n` (shown) and `/zapier` (same routes, reads without `polling/`):

    GET  /n8n/polling/auth             {"companyId": 1001}; a wrong apiKey/CompanyId anywhere: 401, empty body
    POST /n8n/persons                  {UserEmail, Name, Email, Phone, IsCustomer, Tags: [{Id}], …}
                                       -> {"personId"}
    POST /n8n/persons/contacts         {UserEmail, PersonId, Name, Email, Phone} -> {"personContactId"}
    POST /n8n/tasks                    {UserEmail, Title, WorkspaceId, CtcTaskTypeId, CurrentDueDate (all
                                       required), InitialExecutor?, Description, PriorityGroup (0-100),
                                       PhaseStartDate, EstimatedTime, PlanTask, CtcTaskProjectId?}
                                       -> {"taskId"}
    POST /n8n/tickets                  {UserEmail, Subject, WorkspaceId, TicketType, RequesterEmail, UsersCC,
                                       AnalystEmail, Message, ExpectDueDate} -> {"ticketId"}
    POST /n8n/boards | /notes | /projects   (acting user: ?UserEmail=)
                                       -> {"boardId"} | {"noteId"} | {"projectId"}
    GET  /n8n/polling/tasks            tasks changed in the last 15 min; /polling/v2/tasks: with "phases"
    GET  /n8n/polling/persons          persons changed in the last 15 min; with Name= / Document=: every match
    GET  /n8n/polling/persons/{id}     one person with its "contacts"
    GET  /n8n/polling/v3/tasks         every task matching Title, TaskSituation=10,20, WorkspaceId,
                                       ExecutorId, ProjectId, StartDate/EndDate (creation)
    GET  /n8n/polling/v3/task/{id}     one task
    GET  /n8n/polling/projects/created | /tickets/changes | /tickets/concluded     the last 15 min
    GET  /n8n/polling/tickets?… | /boards | /workspaces | /notifications?UserEmail=   lists

Errors: 400/404 `{"id": n, "text": "<Portuguese>"}` (e.g. 7 "O título é obrigatório", 10
"Usuário x não foi encontrado.", 30 "Workspace não encontrada", 40 "Pessoa não encontrada"); a
wrong JSON type: 422 `{"errors": {Field: [..]}}`. POSTs are not idempotent. A change counts for
the windows by `updatedAt`: a person-contact touches its person, a comment or MCP update its task.

Surface B: GET /v1.2/tasks?apiKey=&page=&createdFrom=&createdTo=&dueFrom=&resolvedDateFrom=…
&includeComments=1&includePhases=1, /v1.0/workspaces, /v1.0/users, /v1.1/tasktypes, /v1.1/tickets,
/v1.1/projects, /v1.1/boards → `{"data": [...], "paging": {"currentPage": {"number"}, "totalPages",
"totalItems"}}`, 50 a page; wrong key: 401 `{"error": {"message"}}`.

Surface C: POST /mcp?token= (or `Authorization: Bearer`), JSON-RPC 2.0 `initialize`, `tools/list`,
`tools/call` with `get_task`, `update_task {taskId, title?, currentDueDate?, situation?}`,
`create_task_comment {taskId, message}`, `list_task_comments {taskId}`; bad token: HTTP 401.

Admin (never eKyte): the kit's GET/POST /_sandbox/faults (incl. `"methods": ["POST"]`),
GET /_sandbox/requests, POST /_sandbox/clock `{"advance": s}`; eKyte's own (sandbox.apps.ekyte.admin):
GET /_sandbox/account, GET|POST /_sandbox/persons, POST /_sandbox/persons/{id}/contacts,
GET|POST /_sandbox/tasks, PATCH /_sandbox/tasks/{id}, POST /_sandbox/tasks/{id}/comments,
POST /_sandbox/limit.
"""

from sandbox.apps.ekyte.records import COMPLETED, Comment, Person, PersonContact, Task, Ticket
from sandbox.apps.ekyte.sandbox import DEFAULT_BASE_URL, POLLING_WINDOW_S, EkyteSandbox
from sandbox.apps.ekyte.store import EkyteStore

__all__ = [
    "COMPLETED",
    "DEFAULT_BASE_URL",
    "POLLING_WINDOW_S",
    "Comment",
    "EkyteSandbox",
    "EkyteStore",
    "Person",
    "PersonContact",
    "Task",
    "Ticket",
]
