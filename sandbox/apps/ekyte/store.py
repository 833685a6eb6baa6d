"""The eKyte fake's data: companies, users, workspaces, task types, and what the API creates.

Creates take eKyte's PascalCase bodies and check them in the order eKyte's integration controller
does (target-apps.md §2.1: required fields first, then the acting user, then the records named),
raising EkyteError with eKyte's `{id, text}`. Nothing is idempotent: two identical creates are two
records, as in eKyte. Persons, person-contacts and tasks are also written by `ui_*` edits (a user
in eKyte's web app) through the same methods, so both paths validate alike.
"""

import itertools
import threading
import uuid
from dataclasses import dataclass

from sandbox.apps.ekyte import errors
from sandbox.apps.ekyte.errors import Json
from sandbox.apps.ekyte.fields import boolean, date, integer, tag_ids, text
from sandbox.apps.ekyte.records import (
    COMPLETED,
    SITUATIONS,
    Board,
    Comment,
    Note,
    Person,
    PersonContact,
    Phase,
    Project,
    Stamped,
    Task,
    TaskType,
    Ticket,
    User,
    Workspace,
)
from sandbox.fakes.clock import Clock

PERSON_FIELDS_KEPT_APART = ("UserEmail", "Name", "Tags")


@dataclass(frozen=True)
class Company:
    id: int
    api_key: str
    bi_api_key: str


class EkyteStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.companies: dict[int, Company] = {}
        self.users: dict[str, User] = {}  # by lower-case e-mail
        self.workspaces: dict[int, Workspace] = {}
        self.task_types: dict[int, TaskType] = {}
        self.persons: dict[int, Person] = {}
        self.person_contacts: dict[int, PersonContact] = {}
        self.tasks: dict[int, Task] = {}
        self.tickets: dict[int, Ticket] = {}
        self.boards: dict[int, Board] = {}
        self.notes: dict[int, Note] = {}
        self.projects: dict[int, Project] = {}
        # Separate id ranges per kind, so a person id used as a task id is caught, not found.
        self._next = {
            kind: itertools.count(start)
            for kind, start in {
                "workspace": 101,
                "task_type": 11,
                "phase": 21,
                "project": 201,
                "board": 301,
                "note": 401,
                "person": 5001,
                "person_contact": 60001,
                "task": 7001,
                "comment": 8001,
                "ticket": 9001,
            }.items()
        }

    def _id(self, kind: str) -> int:
        return next(self._next[kind])

    # -- the account (set up, not created through the API) ------------------------------------
    def add_company(self, company_id: int, api_key: str, bi_api_key: str | None = None) -> Company:
        company = Company(company_id, api_key, bi_api_key or api_key)
        self.companies[company_id] = company
        return company

    def add_user(self, email: str, name: str, company_id: int | None = None, *, guest: bool = False) -> User:
        key = email.strip().lower()
        user = self.users.get(key)
        if user is None:
            user = User(str(uuid.uuid5(uuid.NAMESPACE_URL, f"ekyte-user:{key}")), key, name, guest=guest)
            self.users[key] = user
        if company_id is not None:
            user.company_ids.add(company_id)
        return user

    def add_workspace(self, company_id: int, name: str) -> Workspace:
        workspace = Workspace(self._id("workspace"), name, company_id)
        self.workspaces[workspace.id] = workspace
        return workspace

    def add_task_type(self, name: str, phases: list[tuple[str, str | None]]) -> TaskType:
        """A task type with its workflow: (phase name, default executor e-mail) in order."""
        flow = [Phase(self._id("phase"), p, None if e is None else self.user(e).id) for p, e in phases]
        task_type = TaskType(self._id("task_type"), name, flow)
        self.task_types[task_type.id] = task_type
        return task_type

    def user(self, email: str) -> User:
        return self.users[email.strip().lower()]

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def company_by_key(self, api_key: str) -> Company | None:
        return next((c for c in self.companies.values() if c.api_key == api_key), None)

    def acting_user(self, company_id: int, email: str | None) -> User:
        """The acting user (`UserEmail`): an eKyte user of the company (ids 10 and 15)."""
        user = self.users.get((email or "").lower())
        if user is None:
            raise errors.user_not_found(email or "")
        if company_id not in user.company_ids:
            raise errors.no_company_access(user.email)
        return user

    def new_stamps(self, kind: str, user: User) -> Json:
        now = self.clock()
        return {"id": self._id(kind), "created_at": now, "updated_at": now, "created_by": user.id}

    def touch(self, record: Stamped) -> None:
        record.updated_at = self.clock()

    # -- persons -------------------------------------------------------------------------------
    def create_person(self, company_id: int, body: Json) -> Person:
        email, name = text(body, "UserEmail"), text(body, "Name")
        if email is None:
            raise errors.required(6, "O seu e-mail é obrigatório")
        if name is None:
            raise errors.required(7, "O nome é obrigatório")
        tags = tag_ids(body)
        for flag in ("IsCustomer", "IsSupplier", "IsVehicle"):
            boolean(body, flag, False)
        user = self.acting_user(company_id, email)
        rest = {k: v for k, v in body.items() if k not in PERSON_FIELDS_KEPT_APART}
        person = Person(
            **self.new_stamps("person", user), company_id=company_id, name=name, fields=rest, tags=tags
        )
        self.persons[person.id] = person
        return person

    def person(self, company_id: int, person_id: int) -> Person:
        person = self.persons.get(person_id)
        if person is None or person.company_id != company_id:
            raise errors.not_found(40, "Pessoa não encontrada")
        return person

    def create_person_contact(self, company_id: int, body: Json) -> PersonContact:
        email, person_id, name = text(body, "UserEmail"), integer(body, "PersonId"), text(body, "Name")
        if email is None:
            raise errors.required(6, "O seu e-mail é obrigatório")
        if person_id is None:
            raise errors.required(7, "O Id da pessoa é obrigatório")
        if name is None:
            raise errors.required(7, "O nome é obrigatório")
        tags = tag_ids(body)
        user = self.acting_user(company_id, email)
        person = self.person(company_id, person_id)
        contact = PersonContact(
            **self.new_stamps("person_contact", user),
            person_id=person.id,
            name=name,
            email=text(body, "Email"),
            phone=text(body, "Phone"),
            tags=tags,
        )
        person.contacts.append(contact)
        self.person_contacts[contact.id] = contact
        self.touch(person)  # the person changed: it is in the polling window again
        return contact

    # -- tasks ---------------------------------------------------------------------------------
    def create_task(self, company_id: int, body: Json) -> Task:
        email, title = text(body, "UserEmail"), text(body, "Title")
        workspace_id, type_id = integer(body, "WorkspaceId"), integer(body, "CtcTaskTypeId")
        due = date(body, "CurrentDueDate")
        if email is None:
            raise errors.required(6, "O seu e-mail é obrigatório")
        if title is None:
            raise errors.required(7, "O título é obrigatório")
        if not (workspace_id or 0) > 0:
            raise errors.required(7, "O Id da workspace é obrigatório")
        if not (type_id or 0) > 0:
            raise errors.required(8, "O Id do tipo de tarefa é obrigatório")
        if due is None:
            raise errors.required(7, 'O campo "Concluir até" é obrigatório')
        user = self.acting_user(company_id, email)
        project_id = integer(body, "CtcTaskProjectId")
        if project_id is not None:
            project = self.projects.get(project_id)
            if project is None or project.workspace_id != workspace_id:
                raise errors.required(95, "Projeto não encontrado para o id de Workspace informado.")
        elif not boolean(body, "PlanTask", True):
            raise errors.required(95, "Para tarefas não planejadas é necessário informar o id do projeto.")
        workspace = self.workspaces.get(workspace_id or 0)
        if workspace is None or workspace.company_id != company_id:
            raise errors.required(30, "Workspace não encontrada")
        task_type = self.task_types.get(type_id or 0)
        if task_type is None:
            raise errors.required(30, "Tipo de tarefa não encontrado")
        priority = integer(body, "PriorityGroup") or 0
        if not 0 <= priority <= 100:
            raise errors.required(85, "A prioridade é inválida. Utilize valores de 0 a 100.")
        first = task_type.phases[0]
        executor = self._executor(text(body, "InitialExecutor"), first)
        task = Task(
            **self.new_stamps("task", user),
            company_id=company_id,
            title=title,
            description=text(body, "Description") or "",
            workspace=workspace,
            task_type=task_type,
            phase=first,
            executor=executor,
            project_id=project_id,
            priority=priority,
            estimated_time=integer(body, "EstimatedTime") or 0,
            phase_start_date=date(body, "PhaseStartDate") or self.clock(),
            current_due_date=due,
        )
        self.tasks[task.id] = task
        return task

    def _executor(self, email: str | None, phase: Phase) -> User | None:
        """`InitialExecutor` (an eKyte user's e-mail), else the first phase's default executor."""
        if email is not None:
            user = self.users.get(email.lower())
            if user is None:
                raise errors.user_not_found(email)
            return user
        return None if phase.executor_id is None else self.user_by_id(phase.executor_id)

    def task(self, company_id: int, task_id: int) -> Task:
        task = self.tasks.get(task_id)
        if task is None or task.company_id != company_id:
            raise errors.not_found(30, "Tarefa não encontrada")
        return task

    def update_task(
        self, task: Task, *, title: str | None = None, due: float | None = None, situation: int | None = None
    ) -> Task:
        """What eKyte's web app and MCP change on an existing task (the integration API cannot)."""
        if situation is not None and situation not in SITUATIONS:
            raise errors.required(85, f"A situação {situation} é inválida. Utilize 10, 20, 30 ou 40.")
        if title is not None:
            task.title = title
        if due is not None:
            task.current_due_date = due
        if situation is not None and situation != task.situation:
            task.situation = situation
            task.resolved_at = self.clock() if situation == COMPLETED else None
        self.touch(task)
        return task

    def add_comment(self, task: Task, author: User, message: str) -> Comment:
        comment = Comment(
            **self.new_stamps("comment", author), task_id=task.id, message=message, author=author
        )
        task.comments.append(comment)
        self.touch(task)  # a comment changes its task: the task is in the polling window again
        return comment
