"""The records of the eKyte fake and their JSON, camelCase as eKyte answers (target-apps.md §2.1-2.2).

Ids are integers, except users' (executors, requesters, comment authors), which are UUIDs.
Every record keeps when it was created and last changed (`creationDate`, `updatedAt`, ISO 8601
UTC with a `Z`): the polling feeds' 15-minute window and the BI API's date filters read them.
`updatedAt` is this fake's name for eKyte's change time (⚠ UNCONFIRMED: the polling answers'
own field was not in the public material).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.apps.ekyte.errors import Json

# TaskSituation (target-apps.md §2.1, [3P]): 10 active, 20 paused, 30 completed, 40 cancelled.
ACTIVE, PAUSED, COMPLETED, CANCELLED = 10, 20, 30, 40
SITUATIONS = frozenset({ACTIVE, PAUSED, COMPLETED, CANCELLED})


def iso(instant: float | None) -> str | None:
    if instant is None:
        return None
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    id: str  # a UUID
    email: str
    name: str
    company_ids: set[int] = field(default_factory=set)
    guest: bool = False

    def json(self) -> Json:
        return {"id": self.id, "userName": self.name, "email": self.email, "guest": self.guest}


@dataclass
class Phase:
    id: int
    name: str
    executor_id: str | None  # the flow's default executor of the phase (a user UUID)


@dataclass
class TaskType:
    id: int
    name: str
    phases: list[Phase]  # the workflow, in order; a new task starts in the first


@dataclass
class Workspace:
    id: int
    name: str
    company_id: int
    active: int = 1

    def json(self) -> Json:
        return {"id": self.id, "name": self.name, "active": self.active}


@dataclass(kw_only=True)
class Stamped:
    id: int
    created_at: float
    updated_at: float
    created_by: str  # a user UUID

    def stamps(self) -> Json:
        return {"creationDate": iso(self.created_at), "updatedAt": iso(self.updated_at)}


@dataclass(kw_only=True)
class PersonContact(Stamped):
    person_id: int
    name: str
    email: str | None
    phone: str | None
    tags: list[str]

    def json(self) -> Json:
        tags = [{"id": t} for t in self.tags]
        fields = {"personId": self.person_id, "name": self.name, "email": self.email, "phone": self.phone}
        return {"id": self.id, **fields, "tags": tags, **self.stamps()}


@dataclass(kw_only=True)
class Person(Stamped):
    company_id: int
    name: str
    fields: Json  # the other PascalCase fields of the create, answered camelCase
    tags: list[str]
    contacts: list[PersonContact] = field(default_factory=list)

    def json(self) -> Json:
        rest = {key[:1].lower() + key[1:]: value for key, value in self.fields.items()}
        return {
            "id": self.id,
            "name": self.name,
            **rest,
            "tags": [{"id": t} for t in self.tags],
            "contacts": [c.json() for c in self.contacts],
            **self.stamps(),
        }


@dataclass(kw_only=True)
class Comment(Stamped):
    task_id: int
    message: str
    author: User

    def json(self) -> Json:
        author = {"id": self.author.id, "userName": self.author.name}
        return {
            "id": self.id,
            "taskId": self.task_id,
            "message": self.message,
            "user": author,
            **self.stamps(),
        }


@dataclass(kw_only=True)
class Task(Stamped):
    company_id: int
    title: str
    description: str
    workspace: Workspace
    task_type: TaskType
    phase: Phase
    executor: User | None
    project_id: int | None
    priority: int
    estimated_time: int
    phase_start_date: float
    current_due_date: float
    situation: int = ACTIVE
    resolved_at: float | None = None
    comments: list[Comment] = field(default_factory=list)

    def json(self, *, with_phases: bool = False, with_comments: bool = False) -> Json:
        body: Json = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "situation": self.situation,
            "priority": self.priority,
            "workspaceId": self.workspace.id,
            "workspace": {"name": self.workspace.name},
            "ctcTaskTypeId": self.task_type.id,
            "ctcTaskType": {"name": self.task_type.name},
            "ctcTaskProjectId": self.project_id,
            "phaseId": self.phase.id,
            "phase": self.phase.name,
            "executorId": None if self.executor is None else self.executor.id,
            "executor": None if self.executor is None else {"userName": self.executor.name},
            "estimatedTime": self.estimated_time,
            "actualTime": 0,
            "phaseStartDate": iso(self.phase_start_date),
            "phaseDueDate": iso(self.current_due_date),
            "currentDueDate": iso(self.current_due_date),
            "resolvedDate": iso(self.resolved_at),
            "createdById": self.created_by,
            **self.stamps(),
        }
        if with_phases:
            body["phases"] = [{"id": p.id, "name": p.name} for p in self.task_type.phases]
        if with_comments:
            body["comments"] = [c.json() for c in self.comments]
        return body


@dataclass(kw_only=True)
class Ticket(Stamped):
    company_id: int
    subject: str
    workspace_id: int
    ticket_type: int
    requester: User
    analyst: User | None
    cc: list[User]
    message: str
    expect_due_date: float | None
    priority: int
    situation: int = ACTIVE
    concluded_at: float | None = None

    def json(self) -> Json:
        return {
            "id": self.id,
            "subject": self.subject,
            "workspaceId": self.workspace_id,
            "ticketType": self.ticket_type,
            "requesterId": self.requester.id,
            "requester": {"userName": self.requester.name, "email": self.requester.email},
            "analystId": None if self.analyst is None else self.analyst.id,
            "usersCC": [u.email for u in self.cc],
            "message": self.message,
            "expectDueDate": iso(self.expect_due_date),
            "priority": self.priority,
            "situation": self.situation,
            "concludedDate": iso(self.concluded_at),
            **self.stamps(),
        }


@dataclass(kw_only=True)
class Board(Stamped):
    company_id: int
    title: str
    description: str
    workspace_id: int

    def json(self) -> Json:
        fields = {"title": self.title, "description": self.description, "workspaceId": self.workspace_id}
        return {"id": self.id, **fields, **self.stamps()}


@dataclass(kw_only=True)
class Note(Stamped):
    plan_id: int
    title: str
    description: str
    content: str
    category: str

    def json(self) -> Json:
        fields = {"planId": self.plan_id, "title": self.title, "description": self.description}
        return {"id": self.id, **fields, "content": self.content, "category": self.category, **self.stamps()}


@dataclass(kw_only=True)
class Project(Stamped):
    company_id: int
    name: str
    alias: str
    workspace_id: int
    tags: str

    def json(self) -> Json:
        fields = {"name": self.name, "alias": self.alias, "workspaceId": self.workspace_id, "tags": self.tags}
        return {"id": self.id, **fields, **self.stamps()}
