"""Creates of tickets, boards, board notes and projects on the eKyte fake's store.

The same rules as eKyte's integration controller (target-apps.md §2.1): a ticket's acting user
and requester are in the body and must exist (an unknown `UsersCC` e-mail becomes a Guest user);
boards, notes and projects take their acting user from the query's `UserEmail`; a board or project
without `WorkspaceId` goes to the company's first workspace; an unknown board is a bare 404.
"""

from sandbox.apps.ekyte import errors
from sandbox.apps.ekyte.errors import Json
from sandbox.apps.ekyte.fields import date, integer, text
from sandbox.apps.ekyte.records import COMPLETED, Board, Note, Project, Ticket, User, Workspace
from sandbox.apps.ekyte.store import EkyteStore

ALIAS_MAX = 15


def create_ticket(store: EkyteStore, company_id: int, body: Json) -> Ticket:
    email, workspace_id = text(body, "UserEmail"), integer(body, "WorkspaceId")
    ticket_type, requester_email = integer(body, "TicketType"), text(body, "RequesterEmail")
    if email is None:
        raise errors.required(6, "O seu e-mail é obrigatório")
    if workspace_id is None:
        raise errors.required(6, "O Id da workspace é obrigatório")
    if ticket_type is None:
        raise errors.required(6, "O tipo de ocorrência é obrigatório")
    if requester_email is None:
        raise errors.required(6, "O e-mail do solicitante é obrigatório")
    user = store.acting_user(company_id, email)
    requester = store.users.get(requester_email.lower())
    if requester is None:
        raise errors.user_not_found(requester_email)
    requester.company_ids.add(company_id)
    analyst_email = text(body, "AnalystEmail")
    analyst = None if analyst_email is None else store.users.get(analyst_email.lower())
    if analyst_email is not None and analyst is None:
        raise errors.user_not_found(analyst_email)
    cc = [
        store.add_user(address, address.split("@")[0], company_id, guest=address.lower() not in store.users)
        for address in (a.strip() for a in (text(body, "UsersCC") or "").split(","))
        if address
    ]
    ticket = Ticket(
        **store.new_stamps("ticket", user),
        company_id=company_id,
        subject=text(body, "Subject") or "",
        workspace_id=_workspace(store, company_id, workspace_id).id,
        ticket_type=ticket_type,
        requester=requester,
        analyst=analyst,
        cc=cc,
        message=text(body, "Message") or "",
        expect_due_date=date(body, "ExpectDueDate"),
        priority=integer(body, "PriorityGroup") or 0,
    )
    store.tickets[ticket.id] = ticket
    return ticket


def conclude_ticket(store: EkyteStore, ticket: Ticket) -> Ticket:
    ticket.situation, ticket.concluded_at = COMPLETED, store.clock()
    store.touch(ticket)
    return ticket


def _member(store: EkyteStore, company_id: int, email: str | None, code: int) -> User:
    user = store.users.get((email or "").lower())
    if user is None or company_id not in user.company_ids:
        raise errors.not_in_company(code, email or "", company_id)
    return user


def _workspace(store: EkyteStore, company_id: int, workspace_id: int | None) -> Workspace:
    """The named workspace of the company, or its first one (ids 40 and 41)."""
    if workspace_id is None:
        first = next((w for w in store.workspaces.values() if w.company_id == company_id), None)
        if first is None:
            raise errors.not_found(40, "Workspace não encontrada")
        return first
    workspace = store.workspaces.get(workspace_id)
    if workspace is None or workspace.company_id != company_id or not workspace.active:
        raise errors.not_found(
            41, f"Workspace ({workspace_id}) não pertence a empresa ({company_id}) ou está inativa."
        )
    return workspace


def create_board(store: EkyteStore, company_id: int, user_email: str | None, body: Json) -> Board:
    title = text(body, "Title")
    if title is None:
        raise errors.required(1, "O título não pode ser nulo")
    user = _member(store, company_id, user_email, 10)
    workspace = _workspace(store, company_id, integer(body, "WorkspaceId"))
    board = Board(
        **store.new_stamps("board", user),
        company_id=company_id,
        title=title,
        description=text(body, "Description") or "",
        workspace_id=workspace.id,
    )
    store.boards[board.id] = board
    return board


def create_note(store: EkyteStore, company_id: int, user_email: str | None, body: Json) -> Note:
    board = store.boards.get(integer(body, "PlanId") or 0)
    if board is None or board.company_id != company_id:
        raise errors.bare_not_found()
    user = _member(store, company_id, user_email, 20)
    note = Note(
        **store.new_stamps("note", user),
        plan_id=board.id,
        title=text(body, "Title") or "",
        description=text(body, "Description") or "",
        content=text(body, "Content") or "",
        category=text(body, "Category") or "",
    )
    store.notes[note.id] = note
    store.touch(board)
    return note


def create_project(store: EkyteStore, company_id: int, user_email: str | None, body: Json) -> Project:
    name = text(body, "Name")
    if name is None:
        raise errors.required(1, "O título do projeto não pode ser nulo")
    user = _member(store, company_id, user_email, 10)
    alias = text(body, "Alias") or ""
    if len(alias) > ALIAS_MAX:
        raise errors.required(1, "O alias / identificação do projeto não pode ser maior que 15 caracteres.")
    workspace = _workspace(store, company_id, integer(body, "WorkspaceId"))
    project = Project(
        **store.new_stamps("project", user),
        company_id=company_id,
        name=name,
        alias=alias,
        workspace_id=workspace.id,
        tags=text(body, "Tags") or "",
    )
    store.projects[project.id] = project
    return project
