"""The Payaca fake as the stacks use it (the `AppSandbox` protocol of sandbox.apps).

The sync holds an API key pair (HTTP Basic); Payaca signs its webhooks with the secret it shows
for the webhook (copied into the connection), posted to `/webhooks/payaca/<connectionId>`. The
dev fixtures are customer Marie Curie <marie.curie@dev.example> of "Curie Heat Pumps" with project
ABC123 in stage "New lead", assigned to installer Johanna Employeeson.
"""

from collections.abc import Mapping
from typing import Any

from sandbox.apps import FakeBackedApp, SandboxedApp
from sandbox.apps.payaca.sandbox import PayacaSandbox
from sandbox.fakes.clock import Clock

CLIENT_ID = "dev-payaca-client"
CLIENT_SECRET = "dev-payaca-secret"
INSTALLER_EMAIL = "johanna.employeeson@dev.example"


class PayacaAppSandbox(FakeBackedApp[PayacaSandbox]):
    app = "payaca"

    def __init__(self, base_url: str, clock: Clock, seed: int) -> None:
        self._sandbox = PayacaSandbox(clock=clock, seed=seed, base_url=base_url)
        self._sandbox.add_client(CLIENT_ID, CLIENT_SECRET)
        self._sandbox.add_user(INSTALLER_EMAIL, "Johanna Employeeson")

    def credentials(self, webhook_secret: str) -> dict[str, str]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "webhook_secret": webhook_secret}

    def register_webhooks(self, url: str, credentials: Mapping[str, str]) -> None:
        self._sandbox.register_webhook(url, secret=credentials["webhook_secret"])

    def seed_dev_fixtures(self) -> dict[str, int | str]:
        sandbox = self._sandbox
        customer = sandbox.ui_create_customer(
            "Marie Curie", email="marie.curie@dev.example", phone="+447700900123", company="Curie Heat Pumps"
        )
        project = sandbox.ui_create_project(
            customer.id, "ABC123", stage="New lead", assign_to=INSTALLER_EMAIL, notes=("Survey required",)
        )
        # Fixtures are unsynced: what they queued is not delivered.
        sandbox.outbox.deliveries.clear()
        return {"customer_id": customer.id, "project_id": project.id}

    def person_ids(self) -> list[str]:
        return list(self._sandbox.store.customers)

    def reset(self) -> None:
        self._sandbox.faults.configure()
        self._sandbox.limiter.configure(None)


def real_connection(
    base_url: str, login: Mapping[str, str], webhook_secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A connection to the real Payaca: the client id from the command line, the secret and the
    webhook secret Payaca showed from the environment."""
    credentials = {
        "client_id": login["client_id"],
        "client_secret": login["client_secret"],
        "webhook_secret": login.get("webhook_secret") or webhook_secret,
    }
    return {"base_url": base_url}, credentials


PAYACA = SandboxedApp(
    app="payaca",
    dev_port=8084,
    dev_connection_id="conn-dev-payaca",
    dev_webhook_secret="dev-payaca-webhook-secret",
    dev_workflow_api_key="dev-payaca-api-key",
    api_path="/v1",
    build=PayacaAppSandbox,
    dev_fixture_ids={"customer_id": "cus_0007x", "project_id": "prj_0009x"},
    login_options={"client_id": ("--payaca-client-id", CLIENT_ID)},
    secret_env={"client_secret": "PAYACA_CLIENT_SECRET", "webhook_secret": "PAYACA_WEBHOOK_SECRET"},
    real_connection=real_connection,
)
