"""The Kayako fake as the stacks use it (the `AppSandbox` protocol of sandbox.apps).

The sync logs in as a dedicated agent; Kayako's automation endpoint is unsigned, so the
connection's `webhook_token` rides in the endpoint URL (`?token=`), as an admin would configure it.
The dev fixtures are customer Alan Turing <alan.turing@dev.example> (tag `vip`, a case "Cannot log
in", a note "Asked about the enterprise plan"); Kayako user 1 is the sync's agent.
"""

from collections.abc import Mapping
from typing import Any

from sandbox.apps import FakeBackedApp, SandboxedApp
from sandbox.apps.kayako.sandbox import KayakoSandbox
from sandbox.apps.kayako.store import CUSTOMER_ROLE_ID
from sandbox.fakes.clock import Clock
from sandbox.fakes.webhooks import url_with_token

AGENT_EMAIL = "sync-agent@dev.example"
AGENT_PASSWORD = "dev-agent-password"


class KayakoAppSandbox(FakeBackedApp[KayakoSandbox]):
    app = "kayako"

    def __init__(self, base_url: str, clock: Clock, seed: int) -> None:
        self._sandbox = KayakoSandbox(clock=clock, seed=seed, base_url=base_url)
        self._sandbox.add_agent(AGENT_EMAIL, AGENT_PASSWORD)

    def credentials(self, webhook_secret: str) -> dict[str, str]:
        return {"email": AGENT_EMAIL, "password": AGENT_PASSWORD, "webhook_token": webhook_secret}

    def register_webhooks(self, url: str, credentials: Mapping[str, str]) -> None:
        self._sandbox.register_automation(url_with_token(url, credentials["webhook_token"]))

    def seed_dev_fixtures(self) -> dict[str, int | str]:
        sandbox = self._sandbox
        user = sandbox.ui_create_user("Alan Turing", email="alan.turing@dev.example", phone="+14155550145")
        sandbox.ui_add_tags(user.id, "vip")
        case = sandbox.ui_create_case(user.id, "Cannot log in", "The password reset mail never came")
        note = sandbox.ui_add_note(user.id, "Asked about the enterprise plan")
        return {"user_id": user.id, "case_id": case.id, "note_id": note.id}

    def person_ids(self) -> list[str]:
        return [str(u.id) for u in self._sandbox.store.users.values() if u.role_id == CUSTOMER_ROLE_ID]

    def reset(self) -> None:
        self._sandbox.faults.configure()
        self._sandbox.limiter.configure({})


def real_connection(
    base_url: str, login: Mapping[str, str], webhook_secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A connection to a real Kayako: the agent's login from the command line and environment."""
    credentials = {"email": login["email"], "password": login["password"], "webhook_token": webhook_secret}
    return {"base_url": base_url}, credentials


KAYAKO = SandboxedApp(
    app="kayako",
    dev_port=8082,
    dev_connection_id="conn-dev-kayako",
    dev_webhook_secret="dev-kayako-webhook-token",
    api_path="/api/v1",
    build=KayakoAppSandbox,
    # Kayako user 1 is the sync's agent: Alan Turing is user 2.
    dev_fixture_ids={"user_id": 2, "case_id": 1, "note_id": 1},
    login_options={"email": ("--kayako-email", AGENT_EMAIL)},
    secret_env={"password": "KAYAKO_PASSWORD"},
    real_connection=real_connection,
)
