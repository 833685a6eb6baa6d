"""The eKyte fake as the stacks use it (the `AppSandbox` protocol of sandbox.apps), ready to be
registered in `registered_apps()` as `EKYTE` (the connector's change does that).

The sync holds the company's integration key and id (`apiKey` + `CompanyId`), acts as
`sync-agent@dev.example` (`UserEmail`), and uses that user's MCP token for what the integration
API cannot do. eKyte has no webhooks: `register_webhooks` does nothing, and the sync polls.
`make dev`'s company (DESIGN.md §5) is 1001 with key `dev-ekyte-api-key` (also its BI key), one
workspace (101 "GHL clients"), one task type (11 "GHL task", phases 21 "To do" with default
executor `executor@dev.example` and 22 "Done") and the executor Eva Executor; the account is
set up when the fake is built, so `seed_dev_fixtures` creates nothing and returns those ids.
"""

from collections.abc import Mapping
from typing import Any

from sandbox.apps import FakeBackedApp, SandboxedApp
from sandbox.apps.ekyte.api import N8N
from sandbox.apps.ekyte.sandbox import EkyteSandbox
from sandbox.fakes.clock import Clock

DEV_PORT = 8083
API_KEY = "dev-ekyte-api-key"
COMPANY_ID = 1001
USER_EMAIL = "sync-agent@dev.example"
MCP_TOKEN = "dev-ekyte-mcp-token"
EXECUTOR_EMAIL = "executor@dev.example"
DEV_CONNECTION_ID = "conn-dev-ekyte"
# eKyte sends no webhooks; the stacks' connection still carries a (never used) webhook secret.
DEV_WEBHOOK_SECRET = "dev-ekyte-unused-webhook-secret"
WORKSPACE_ID, TASK_TYPE_ID, FIRST_PHASE_ID, DONE_PHASE_ID = 101, 11, 21, 22


def dev_company(sandbox: EkyteSandbox) -> None:
    """`make dev`'s company on a fresh fake: the ids above."""
    sandbox.add_company(COMPANY_ID, API_KEY)
    sandbox.add_user(USER_EMAIL, "Sync Agent", COMPANY_ID)
    sandbox.add_user(EXECUTOR_EMAIL, "Eva Executor", COMPANY_ID)
    sandbox.add_workspace(COMPANY_ID, "GHL clients")
    sandbox.add_task_type("GHL task", [("To do", EXECUTOR_EMAIL), ("Done", None)])
    sandbox.issue_mcp_token(USER_EMAIL, MCP_TOKEN)


class EkyteAppSandbox(FakeBackedApp[EkyteSandbox]):
    app = "ekyte"

    def __init__(self, base_url: str, clock: Clock, seed: int) -> None:
        self._sandbox = EkyteSandbox(clock=clock, seed=seed, base_url=base_url)
        dev_company(self._sandbox)

    def connection_settings(self) -> dict[str, Any]:
        return {
            "base_url": f"{self.base_url}{N8N}",
            "bi_base_url": self.base_url,
            "mcp_url": f"{self.base_url}/mcp",
            "user_email": USER_EMAIL,
            "workspace_id": WORKSPACE_ID,
            "task_type_id": TASK_TYPE_ID,
            "executor_email": EXECUTOR_EMAIL,
        }

    def credentials(self, webhook_secret: str) -> dict[str, str]:
        return {
            "api_key": API_KEY,
            "company_id": str(COMPANY_ID),
            "bi_api_key": API_KEY,
            "mcp_token": MCP_TOKEN,
        }

    def register_webhooks(self, url: str, credentials: Mapping[str, str]) -> None:
        """Nothing to register: eKyte has no webhooks (target-apps.md §2.1); the sync polls."""

    def seed_dev_fixtures(self) -> dict[str, int | str]:
        return {
            "company_id": COMPANY_ID,
            "workspace_id": WORKSPACE_ID,
            "task_type_id": TASK_TYPE_ID,
            "executor_email": EXECUTOR_EMAIL,
        }

    def person_ids(self) -> list[str]:
        """What a GHL contact links to: each person-contact (a contact of a business Person), and
        each Person without person-contacts (a contact without a business), as id strings."""
        store = self._sandbox.store
        contacts = [f"p{p.id}.c{c.id}" for p in store.persons.values() for c in p.contacts]
        alone = [
            f"p{p.id}"
            for p in store.persons.values()
            if not p.contacts and (p.fields.get("Email") or p.fields.get("Phone"))
        ]
        return sorted(contacts + alone)

    def reset(self) -> None:
        self._sandbox.faults.configure()
        self._sandbox.limiter.configure(None)


def real_connection(
    base_url: str, login: Mapping[str, str], webhook_secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A connection to the real eKyte: the company id and acting user from the command line, the
    keys and the MCP token from the environment. `base_url` is the origin (https://api.ekyte.com)."""
    settings = {
        "base_url": f"{base_url}{N8N}",
        "bi_base_url": base_url,
        "mcp_url": f"{base_url}/mcp",
        "user_email": login["user_email"],
        "workspace_id": int(login["workspace_id"]),
        "task_type_id": int(login["task_type_id"]),
        "executor_email": login["executor_email"],
    }
    credentials = {
        "api_key": login["api_key"],
        "company_id": login["company_id"],
        "bi_api_key": login.get("bi_api_key") or login["api_key"],
        "mcp_token": login.get("mcp_token", ""),
    }
    return settings, credentials


EKYTE = SandboxedApp(
    app="ekyte",
    dev_port=DEV_PORT,
    dev_connection_id=DEV_CONNECTION_ID,
    dev_webhook_secret=DEV_WEBHOOK_SECRET,
    api_path="",  # /n8n, /zapier, /v1.x and /mcp all hang off the origin (https://api.ekyte.com)
    build=EkyteAppSandbox,
    dev_fixture_ids={
        "company_id": COMPANY_ID,
        "workspace_id": WORKSPACE_ID,
        "task_type_id": TASK_TYPE_ID,
        "executor_email": EXECUTOR_EMAIL,
    },
    login_options={
        "company_id": ("--ekyte-company-id", str(COMPANY_ID)),
        "user_email": ("--ekyte-user-email", USER_EMAIL),
        "workspace_id": ("--ekyte-workspace-id", str(WORKSPACE_ID)),
        "task_type_id": ("--ekyte-task-type-id", str(TASK_TYPE_ID)),
        "executor_email": ("--ekyte-executor-email", EXECUTOR_EMAIL),
    },
    secret_env={"api_key": "EKYTE_API_KEY", "bi_api_key": "EKYTE_BI_API_KEY", "mcp_token": "EKYTE_MCP_TOKEN"},
    real_connection=real_connection,
)
