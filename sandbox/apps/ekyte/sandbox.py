"""EkyteSandbox: the fake eKyte company tests, the demo and the dev stack talk to.

    sb = EkyteSandbox(clock=fake_clock)
    sb.add_company(1001, "dev-ekyte-api-key")
    sb.add_user("sync-agent@dev.example", "Sync Agent", 1001)
    workspace = sb.add_workspace(1001, "GHL clients")
    task_type = sb.add_task_type("GHL task", [("To do", "executor@dev.example"), ("Done", None)])
    token = sb.issue_mcp_token("sync-agent@dev.example")          # Surface C, per user
    http = httpx.Client(transport=sb.transport(), base_url=sb.base_url)
    http.post("/n8n/persons", params={"apiKey": …, "CompanyId": 1001}, json={"UserEmail": …, "Name": …})
    sb.ui_create_task("Call back", due=…)     # like a user in eKyte's web app (polling sees it)
    clock.advance(16 * 60)                     # … and now only the BI API does

eKyte has no webhooks: changes made in eKyte (`ui_*`, or the admin routes) reach a client only
through the polling feeds (15 minutes, `polling_window_s`) and the BI API; the outbox the kit
expects stays empty. eKyte documents no rate limit: `limiter` is off unless configured. Injected
faults (the kit's) hit the integration, BI and MCP routes, never /_sandbox; `faults.configure(
rate_timeout=1, timeout_applied_share=1, methods={"POST"})` makes every create "applied, then
timed out" while reads still answer. State is in `sb.store`; API calls in `sb.request_log`.
"""

import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from sandbox.apps.ekyte.admin import admin_blueprint
from sandbox.apps.ekyte.api import N8N, ZAPIER, integration_blueprint
from sandbox.apps.ekyte.bi import bi_blueprint
from sandbox.apps.ekyte.mcp import mcp_blueprint
from sandbox.apps.ekyte.records import Comment, Person, PersonContact, Task, TaskType, User, Workspace
from sandbox.apps.ekyte.store import EkyteStore
from sandbox.fakes.base import FakeApp
from sandbox.fakes.faults import Fault, FaultInjector, FaultKind
from sandbox.fakes.ratelimit import RequestLimit
from sandbox.fakes.webhooks import Delivery, Outbox, http_sender

DEFAULT_BASE_URL = "https://api.ekyte.sandbox"
POLLING_WINDOW_S = 15 * 60
BI_PAGE_SIZE = 50


def fault_response(fault: Fault) -> Response:
    """ASP.NET's bare status for an injected 429/5xx (eKyte documents neither)."""
    headers = {"Retry-After": "1"} if fault.kind is FaultKind.RATE_LIMIT else {}
    return Response(b"", fault.status or 500, headers=headers)


class EkyteSandbox(FakeApp):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        base_url: str = DEFAULT_BASE_URL,
        bases: tuple[str, ...] = (N8N, ZAPIER),
        polling_window_s: float = POLLING_WINDOW_S,
        bi_page_size: int = BI_PAGE_SIZE,
    ) -> None:
        self.base_url = base_url
        self.bases = bases
        self.polling_window_s = polling_window_s
        self.bi_page_size = bi_page_size
        self.store = EkyteStore(clock)
        super().__init__(
            clock=clock, sleep=sleep, faults=FaultInjector(f"ekyte:{seed}"), lock=self.store.lock
        )
        self.limiter = RequestLimit(clock)
        self.mcp_tokens: dict[str, tuple[int, str]] = {}  # token -> (company id, user e-mail)
        self.outbox: Outbox[Delivery] = Outbox(clock, self.lock, http_sender())  # never queued
        self._build()

    def _build(self) -> None:
        app = Flask("sandbox.apps.ekyte")
        for base in self.bases:
            app.register_blueprint(integration_blueprint(self, base))
        app.register_blueprint(bi_blueprint(self))
        app.register_blueprint(mcp_blueprint(self))
        app.register_blueprint(admin_blueprint(self))

        @app.before_request
        def limit() -> Response | None:
            if request.path.startswith("/_sandbox"):
                return None
            retry_after = self.limiter.check()
            if retry_after is None:
                return None
            return Response(b"", 429, headers={"Retry-After": str(int(retry_after))})

        self.mount(app, fault_response=fault_response)

    # -- the account ----------------------------------------------------------------------------
    def add_company(self, company_id: int, api_key: str, bi_api_key: str | None = None) -> None:
        """A company with its integration key (and BI key: the same unless given)."""
        with self.lock:
            self.store.add_company(company_id, api_key, bi_api_key)

    def add_user(self, email: str, name: str, company_id: int) -> User:
        with self.lock:
            return self.store.add_user(email, name, company_id)

    def add_workspace(self, company_id: int, name: str) -> Workspace:
        with self.lock:
            return self.store.add_workspace(company_id, name)

    def add_task_type(self, name: str, phases: list[tuple[str, str | None]]) -> TaskType:
        """Its workflow: (phase, default executor e-mail or None) in order; tasks start in the first."""
        with self.lock:
            return self.store.add_task_type(name, phases)

    def issue_mcp_token(self, email: str, token: str | None = None) -> str:
        """The user's MCP token (Configurações > Usuário): its calls act as that user."""
        with self.lock:
            user = self.store.user(email)
            company_id = min(user.company_ids)
            issued = token or f"mcp-{secrets.token_hex(12)}"
            self.mcp_tokens[issued] = (company_id, user.email)
            return issued

    @property
    def company_id(self) -> int:
        return min(self.store.companies)

    def _user(self, email: str | None) -> str:
        if email is not None:
            return email
        return min((u for u in self.store.users.values() if not u.guest), key=lambda u: u.email).email

    # -- a user in eKyte's web app (seen by polling and the BI API, like any change) -------------
    def ui_create_person(
        self,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        is_customer: bool = True,
        user: str | None = None,
        **fields: Any,
    ) -> Person:
        body = {
            "UserEmail": self._user(user),
            "Name": name,
            "Email": email,
            "Phone": phone,
            "IsCustomer": is_customer,
        }
        with self.lock:
            return self.store.create_person(self.company_id, {**body, **fields})

    def ui_add_person_contact(
        self,
        person_id: int,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        user: str | None = None,
    ) -> PersonContact:
        body = {
            "UserEmail": self._user(user),
            "PersonId": person_id,
            "Name": name,
            "Email": email,
            "Phone": phone,
        }
        with self.lock:
            return self.store.create_person_contact(self.company_id, body)

    def ui_create_task(
        self,
        title: str,
        *,
        due: str,
        workspace_id: int | None = None,
        task_type_id: int | None = None,
        executor: str | None = None,
        description: str = "",
        user: str | None = None,
    ) -> Task:
        """`due`: ISO 8601; the workspace and task type default to the company's first ones."""
        with self.lock:
            workspace = workspace_id or min(
                w.id for w in self.store.workspaces.values() if w.company_id == self.company_id
            )
            body = {
                "UserEmail": self._user(user),
                "Title": title,
                "WorkspaceId": workspace,
                "CtcTaskTypeId": task_type_id or min(self.store.task_types),
                "CurrentDueDate": due,
                "Description": description,
                "InitialExecutor": executor,
            }
            return self.store.create_task(self.company_id, body)

    def ui_update_task(
        self,
        task_id: int,
        *,
        title: str | None = None,
        due: float | None = None,
        situation: int | None = None,
    ) -> Task:
        with self.lock:
            task = self.store.task(self.company_id, task_id)
            return self.store.update_task(task, title=title, due=due, situation=situation)

    def ui_comment_task(self, task_id: int, message: str, *, user: str | None = None) -> Comment:
        with self.lock:
            task = self.store.task(self.company_id, task_id)
            return self.store.add_comment(
                task, self.store.acting_user(self.company_id, self._user(user)), message
            )
