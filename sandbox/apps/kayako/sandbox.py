"""KayakoSandbox: the fake Kayako instance tests, the demo and the dev stack talk to.

    sb = KayakoSandbox(clock=fake_clock, seed=0)
    sb.add_agent("agent@example.com", "secret")
    http = httpx.Client(transport=sb.transport(), base_url=sb.base_url)   # in-process
    sb.register_automation("https://hooks.example/kayako?token=s3cret")
    sb.ui_update_user(user_id, full_name="Ada Byron")                        # like an agent in the UI
    sb.deliver_automations()                                                 # POSTs the queued payloads

State is in `sb.store`; every API call is in `sb.request_log` as (method, path, status). The
clock, lock, faults, request log, transport and webhook outbox are the kit's (sandbox.fakes).
"""

import time
from collections.abc import Callable
from typing import Any

import httpx

from sandbox.apps.kayako.api import build_app
from sandbox.apps.kayako.automations import Automations, Delivery, Endpoint
from sandbox.apps.kayako.limits import ActionLimits
from sandbox.apps.kayako.sessions import SessionManager
from sandbox.apps.kayako.store import CUSTOMER_ROLE_ID, Case, KayakoStore, Note, User, tag_list
from sandbox.fakes.base import FakeApp
from sandbox.fakes.faults import FaultInjector
from sandbox.fakes.webhooks import Sender, http_sender

DEFAULT_BASE_URL = "https://sandbox.kayako.com/api/v1"


class KayakoSandbox(FakeApp):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        rate_limits: dict[str, int] | None = None,
        session_idle_timeout_s: float | None = None,
        base_url: str = DEFAULT_BASE_URL,
        automation_sender: Sender | None = None,
    ) -> None:
        self.base_url = base_url
        self.store = KayakoStore(clock, base_url)
        # Faults hit /api/v1 only; a 5xx is a 500; a timeout hits after the write was applied;
        # a reset is refused before anything was sent (httpx.ConnectError), so a client may resend.
        faults = FaultInjector(
            seed,
            api_paths=lambda path: path.startswith("/api/"),
            server_error_statuses=(500,),
            timeout_applied_share=1.0,
            reset_error=httpx.ConnectError,
        )
        super().__init__(clock=clock, sleep=sleep, faults=faults, lock=self.store.lock)
        self.sessions = SessionManager(clock, session_idle_timeout_s)
        self.limiter = ActionLimits(clock, rate_limits)
        self.automations = Automations(clock, self.lock, automation_sender or http_sender())
        self.outbox = self.automations.outbox
        self.store.listeners.append(self.automations.on_change)
        build_app(self)

    # -- setup ----------------------------------------------------------------------------
    def add_agent(self, email: str, password: str, full_name: str = "Sandbox Agent") -> User:
        """An agent who can log in with Basic email:password (and be assigned cases)."""
        return self.store.add_agent(email, password, full_name)

    def add_event_token(self, token: str) -> str:
        """A token for the public `webhook/<token>/incoming` Events endpoint."""
        self.store.event_tokens.add(token)
        return token

    def expire_sessions(self) -> int:
        """Every open session now answers 454 Session Not Found."""
        with self.store.lock:
            return self.sessions.expire_all()

    # -- automations ----------------------------------------------------------------------
    @property
    def automation_sender(self) -> Sender:
        return self.webhook_sender

    @automation_sender.setter
    def automation_sender(self, sender: Sender) -> None:
        self.webhook_sender = sender

    def register_automation(self, url: str, *, headers: dict[str, str] | None = None) -> Endpoint:
        """An HTTP endpoint every data change is posted to (put the secret in the URL or headers)."""
        return self.automations.register(url, headers=headers)

    def deliver_automations(self) -> list[Delivery]:
        """Post every queued change once (Kayako's triggers never retry)."""
        return self.automations.deliver()

    def deliver_webhooks(self, now: float | None = None) -> list[Delivery]:
        """The kit's name for `deliver_automations` (server mode and the stacks call this one)."""
        return self.deliver_automations()

    # -- an agent editing in Kayako's UI (fires automations like any change) -----------------
    def ui_create_user(
        self,
        full_name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        custom_fields: dict[str, Any] | None = None,
    ) -> User:
        params: dict[str, Any] = {"full_name": full_name, "role_id": CUSTOMER_ROLE_ID}
        if email is not None:
            params["email"] = email
        if phone is not None:
            params["phone"] = phone
        if custom_fields:
            params["custom_fields"] = custom_fields
        return self.store.create_user(params)

    def ui_update_user(self, user_id: int, **fields: Any) -> User:
        return self.store.update_user(user_id, fields)

    def ui_add_email(self, user_id: int, email: str, *, primary: bool = True) -> None:
        self.store.create_identity("email", {"user_id": user_id, "email": email, "is_primary": primary})

    def ui_delete_user(self, user_id: int) -> None:
        self.store.delete_user(user_id)

    def ui_add_note(self, user_id: int, text: str, *, pinned: bool = False) -> Note:
        return self.store.create_note(user_id, {"contents": text, "is_pinned": pinned}, creator_id=None)

    def ui_update_note(self, user_id: int, note_id: int, text: str) -> Note:
        return self.store.update_note(user_id, note_id, {"contents": text})

    def ui_delete_note(self, user_id: int, note_id: int) -> None:
        self.store.delete_note(user_id, note_id)

    def ui_add_tags(self, user_id: int, *tags: str) -> list[str]:
        return self.store.change_tags(user_id, "add", tag_list(list(tags)))

    def ui_remove_tags(self, user_id: int, *tags: str) -> list[str]:
        return self.store.change_tags(user_id, "remove", tag_list(list(tags)))

    def ui_create_case(self, requester_id: int, subject: str, contents: str = "", **fields: Any) -> Case:
        params = {"subject": subject, "requester_id": requester_id, "contents": contents or subject, **fields}
        return self.store.create_case(params, creator_id=None)

    def ui_update_case(self, case_id: int, **fields: Any) -> Case:
        return self.store.update_case(case_id, fields)

    def ui_delete_case(self, case_id: int) -> None:
        self.store.delete_case(case_id)
