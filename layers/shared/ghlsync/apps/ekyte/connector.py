"""EkyteConnector: the Connector protocol over eKyte's integration API (target-apps.md §2).

Contacts are Persons and person-contacts (`ghlsync.mapping.ekyte`): a contact of a business is a
person-contact under the business's Person, any other contact a Person of its own. eKyte cannot
search persons by e-mail, so `/polling/persons` (every person, with its contacts) is the index
that finds them, and the links table keeps the rest. The integration API is create-plus-reads:

- a contact is read, found and created, never updated (no documented route): the engine audits
  such a change `skipped: unsupported by eKyte`;
- tasks are created in the configured workspace and read back by id; existing tasks are updated
  (completion = `TaskSituation` 30) only through eKyte's MCP server, when the connection has the
  acting user's MCP token;
- GHL notes become notes on a per-client board (`notes_target=board`) or, with the MCP token,
  comments on the contact's newest task (`task_comment`). Board notes do not come back (no eKyte
  API lists them); task comments do, through MCP, as notes of the task's contact (`polling`).

eKyte's POSTs are not idempotent and are never retried blind. A create that timed out may have
been applied: the engine looks before every create (contacts by e-mail/phone through the persons
index, tasks by content under the contact, read back through polling), and a business's Person
is reused by name, so the retry links what the first attempt made instead of duplicating it.

Inbound (`ghlsync.apps.ekyte.polling`): no webhooks. The sweep polls `/polling/persons` and
`/polling/tasks` (the last 15 minutes); a checkpoint older than that is recovered through the BI
API's date filters.
"""

import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ghlsync.apps.base import (
    Capabilities,
    ChangeFeed,
    EntitySupport,
    Flow,
    Inbound,
    Operation,
    TagSupport,
    TagWrites,
)
from ghlsync.apps.ekyte.api import EkyteApi
from ghlsync.apps.ekyte.polling import SOURCE, EkytePolling
from ghlsync.apps.ekyte.settings import EkyteCredentials, EkyteSettings
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import NotFound, UnexpectedResponse, Validation
from ghlsync.http.client import segment
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.mapping.ekyte import (
    SITUATION_ACTIVE,
    EkyteContactRef,
    EkyteMappingError,
    EkytePerson,
    EkytePersonContact,
    EkyteTask,
    board_note_body,
    business_body,
    matching_contacts,
    person_body,
    person_contact_body,
    person_contact_to_contact,
    person_to_contact,
    same_business,
    task_body,
    task_to_canonical,
    task_update_arguments,
)
from ghlsync.mapping.ekyte_comments import comment_note_id

ALL_SITUATIONS = "10,20,30,40"


def capabilities_for(polling_window: timedelta, *, mcp: bool) -> Capabilities:
    """What a connection can do: updates of existing tasks only with the MCP token; its feeds see
    `polling_window` back."""
    task_operations = {Operation.READ, Operation.CREATE, Operation.LIST}
    if mcp:
        task_operations.add(Operation.UPDATE)
    return Capabilities(
        entities={
            # No route updates or deletes a person: such changes are audited unsupported.
            EntityKind.CONTACT: EntitySupport(
                operations=frozenset({Operation.READ, Operation.FIND, Operation.CREATE})
            ),
            EntityKind.TASK: EntitySupport(operations=frozenset(task_operations), contact_scoped=False),
            # GHL notes become board notes or task comments; task comments (read through MCP, or
            # the BI listing's includeComments) come back as notes carried in their events.
            EntityKind.NOTE: EntitySupport(
                flow=Flow.BOTH if mcp else Flow.TO_APP,
                operations=frozenset({Operation.CREATE}),
                rereadable=False,
            ),
        },
        # Persons take tag ids, not names: tags are not synced.
        tags=TagSupport(writes=TagWrites.NONE),
        inbound=Inbound(
            webhooks=False,
            feed=ChangeFeed(ordered=False, window=polling_window, full_listing=True),
        ),
        coupled_fields=(frozenset({"first_name", "last_name"}),),
    )


def _id_in(answer: Any, *names: str) -> int:
    """The new record's id in a create's answer (`{"taskId": n}`, `{"Id": n}`, ...)."""
    if isinstance(answer, dict):
        for name in (*names, "id"):
            for key in (name, name[:1].upper() + name[1:]):
                value = answer.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
                if isinstance(value, str) and value.isdigit():
                    return int(value)
    raise UnexpectedResponse(f"eKyte answered a create without {names[0] if names else 'id'}")


def _ref(contact_id: str) -> EkyteContactRef:
    ref = EkyteContactRef.parse(contact_id)
    if ref is None:
        raise NotFound(f"{contact_id!r} is not an eKyte contact id")
    return ref


def _task_id(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise NotFound(f"{value!r} is not an eKyte task id")
    return int(value)


class EkyteConnector(EkytePolling):
    name = SOURCE

    def __init__(
        self,
        http: httpx.Client,
        settings: EkyteSettings,
        *,
        secret: EkyteCredentials,
        location_id: str,
        connection_id: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = EkyteApi(http, settings, secret, sleep=sleep, clock=clock, rng=rng)
        self.capabilities = capabilities_for(settings.polling_window, mcp=self.api.has_mcp)
        self._settings = settings
        self._location_id = location_id
        self._connection_id = connection_id
        self._now = now
        # Inside `batched()` (a refresh of many contacts): the persons index read once and kept up
        # to date with our creates, and the business Persons already looked up, by name.
        self._batching = False
        self._index: list[EkytePerson] | None = None
        self._businesses: dict[str, EkytePerson] = {}

    # -- persons ------------------------------------------------------------------------------
    @contextmanager
    def batched(self) -> Iterator[None]:
        """One persons index and one lookup per business for a job of many contacts, instead of one
        listing per contact. A create that fails (it may still have been applied: eKyte's POSTs are
        not idempotent) drops what is kept, so the next look reads eKyte again."""
        self._batching, self._index, self._businesses = True, None, {}
        try:
            yield
        finally:
            self._batching, self._index, self._businesses = False, None, {}

    def persons(self, name: str | None = None) -> list[EkytePerson]:
        """The persons changed in the polling window, with their contacts (one call); with `name`,
        every person of that name however old."""
        if name is None and self._index is not None:
            return list(self._index)
        listed = self.api.get("polling/persons", {"Name": name} if name else None)
        if not isinstance(listed, list):
            raise UnexpectedResponse("eKyte /polling/persons did not answer a list")
        found = [EkytePerson.model_validate(p) for p in listed if isinstance(p, dict)]
        if name is None and self._batching:
            self._index = found
        return found

    def _created(self, person: EkytePerson, under: EkytePersonContact | None = None) -> None:
        """Keep the batch's index in step with what we just created."""
        if self._index is None:
            return
        if under is None:
            self._index.append(person)
            return
        held = next((p for p in self._index if p.id == person.id), person)
        grown = held.model_copy(update={"contacts": [*held.contacts, under]})
        self._index = [p for p in self._index if p.id != person.id] + [grown]
        if person.name:
            self._businesses[person.name.strip().lower()] = grown

    def _forget(self) -> None:
        self._index, self._businesses = (None if self._batching else self._index), {}

    def _person(self, person_id: int) -> EkytePerson | None:
        try:
            found = self.api.get(f"polling/persons/{person_id}")
        except NotFound:
            return None
        if isinstance(found, list):  # a filtered listing of one
            found = found[0] if found else None
        return EkytePerson.model_validate(found) if isinstance(found, dict) else None

    def get_contact(self, contact_id: str) -> CanonicalContact | None:
        ref = EkyteContactRef.parse(contact_id)
        person = self._person(ref.person_id) if ref is not None else None
        if ref is None or person is None:
            return None
        if ref.contact_id is None:
            return person_to_contact(person)
        contact = next((c for c in person.contacts if c.id == ref.contact_id), None)
        return None if contact is None else person_contact_to_contact(person, contact)

    def find_contacts(self, *, email: str | None, phone: str | None) -> list[CanonicalContact]:
        """Contacts with this e-mail or phone among the persons of the polling window. eKyte
        cannot search persons by e-mail: this finds what an earlier, timed-out create made (the
        links know the rest), not a person entered in eKyte long before the connection."""
        if not (email and email.strip()) and not (phone and phone.strip()):
            return []
        return matching_contacts(self.persons(), email=email, phone=phone)

    def create_contact(self, contact: CanonicalContact) -> CanonicalContact:
        user = self.api.user_email
        if not contact.company_name:
            body = self._mapped(person_body, contact, user)
            answer = self._post("persons", body)
            held = EkytePerson(
                id=_id_in(answer, "personId"),
                name=body["Name"],
                email=contact.email,
                phone=contact.phone,
                isCustomer=True,
            )
            self._created(held)
            return person_to_contact(held)
        business = self.business(contact.company_name)
        body = self._mapped(person_contact_body, contact, business.id, user)
        answer = self._post("persons/contacts", body)
        under = EkytePersonContact(
            id=_id_in(answer, "personContactId", "contactId"),
            name=body["Name"],
            email=contact.email,
            phone=contact.phone,
        )
        self._created(business, under)
        return person_contact_to_contact(business, under)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.api.post(path, body)
        except Exception:
            self._forget()
            raise

    def business(self, company_name: str, persons: Iterable[EkytePerson] | None = None) -> EkytePerson:
        """The Person of a business, found by name among the persons (an earlier, timed-out create
        included), else created."""
        key = company_name.strip().lower()
        if key in self._businesses:
            return self._businesses[key]
        for person in self.persons(company_name.strip()) if persons is None else persons:
            if same_business(person, company_name):
                if self._batching:
                    self._businesses[key] = person
                return person
        answer = self._post("persons", business_body(company_name, self.api.user_email))
        made = EkytePerson(id=_id_in(answer, "personId"), name=company_name.strip(), isCustomer=True)
        self._created(made)
        if self._batching:
            self._businesses[key] = made
        return made

    # -- tasks --------------------------------------------------------------------------------
    def get_task(self, contact_id: str, task_id: str) -> CanonicalTask | None:
        try:
            found = self.api.get(f"polling/v3/task/{segment(str(_task_id(task_id)), 'task id')}")
        except NotFound:
            return None
        if isinstance(found, list):
            found = found[0] if found else None
        return task_to_canonical(EkyteTask.model_validate(found)) if isinstance(found, dict) else None

    def list_tasks(self, contact_id: str) -> list[CanonicalTask]:
        """The workspace's tasks whose footer names this contact."""
        listed = self.api.get(
            "polling/v3/tasks",
            {"WorkspaceId": self._settings.workspace_id, "TaskSituation": ALL_SITUATIONS},
        )
        tasks = [task_to_canonical(EkyteTask.model_validate(t)) for t in listed or [] if isinstance(t, dict)]
        return [task for task in tasks if task.parent_id == contact_id]

    def create_task(self, contact_id: str, task: CanonicalTask) -> CanonicalTask:
        body = self._mapped(
            task_body, task, _ref(contact_id), self._settings, self.api.user_email, self._now()
        )
        task_id = _id_in(self.api.post("tasks", body), "taskId")
        created = EkyteTask(
            id=task_id,
            title=body["Title"],
            description=body["Description"],
            situation=SITUATION_ACTIVE,
            currentDueDate=body["CurrentDueDate"],
            executorEmail=body.get("InitialExecutor"),
        )
        if task.completed and self.api.has_mcp:
            return self.update_task(contact_id, str(task_id), task, frozenset({"completed"}))
        return task_to_canonical(created)

    def update_task(
        self, contact_id: str, task_id: str, task: CanonicalTask, changed: frozenset[str]
    ) -> CanonicalTask:
        """Through the MCP update tool (declared only with the MCP token); read back after."""
        number = _task_id(task_id)
        self.api.call_tool(
            self._settings.mcp_update_task_tool, task_update_arguments(number, task, changed), repeatable=True
        )
        current = self.get_task(contact_id, task_id)
        if current is None:
            raise NotFound(f"eKyte task {number} not found after its update", status=404)
        return current

    # -- notes --------------------------------------------------------------------------------
    def create_note(self, contact_id: str, note: CanonicalNote) -> CanonicalNote:
        ref = _ref(contact_id)
        if self._settings.notes_target == "task_comment" and self.api.has_mcp:
            tasks = self.list_tasks(contact_id)
            if tasks:
                newest = max(tasks, key=lambda t: int(t.id or 0))
                result = self.api.call_tool(
                    self._settings.mcp_comment_tool,
                    {"taskId": int(newest.id or 0), "message": note.body},
                    repeatable=False,
                )
                structured = result.get("structuredContent") if isinstance(result, dict) else None
                comment_id = _id_in(structured or result, "commentId")
                return CanonicalNote(id=comment_note_id(comment_id), parent_id=contact_id, body=note.body)
        board_id = self._board_for(ref)
        answer = self.api.post("notes", board_note_body(note, board_id, self._settings))
        return CanonicalNote(id=str(_id_in(answer, "noteId")), parent_id=contact_id, body=note.body)

    def _board_for(self, ref: EkyteContactRef) -> int:
        """The client's notes board in the workspace, found by title, else created."""
        person = self._person(ref.person_id)
        if person is None:
            raise NotFound(f"eKyte person {ref.person_id} not found", status=404)
        title = f"{self._settings.notes_board_prefix}{person.name or ref}"
        boards = self.api.get("polling/boards")
        for board in boards if isinstance(boards, list) else []:
            fields = {k[:1].lower() + k[1:]: v for k, v in board.items()} if isinstance(board, dict) else {}
            if fields.get("title") == title and fields.get("workspaceId", self._settings.workspace_id) == (
                self._settings.workspace_id
            ):
                return _id_in(fields)
        body = {
            "Title": title,
            "Description": "Notes synced from GoHighLevel",
            "WorkspaceId": self._settings.workspace_id,
        }
        return _id_in(self.api.post("boards", body), "boardId", "planId")

    @staticmethod
    def _mapped(build: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        try:
            return build(*args)
        except EkyteMappingError as exc:
            raise Validation(str(exc)) from exc
