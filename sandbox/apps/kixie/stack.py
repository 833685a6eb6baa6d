"""The Kixie fake as the stacks use it (the `AppSandbox` protocol of sandbox.apps), ready to be
registered in `registered_apps()` as `KIXIE`.

The sync holds the account's API key and business id (`apikey` + `businessid`, DESIGN.md §5).
Kixie's webhooks are unsigned: the connection's `webhook_token` rides in the URL (`?token=`),
and each event gets its own registration and URL (`&event=<eventname>`), because a payload's
`hookevent` cannot be trusted (Start Call says "endcall"). `make dev`'s account is business 2001
with key `dev-kixie-api-key` and an empty PowerList 1969; Kixie stores no contacts of its own, so
there are no other fixtures.
"""

from collections.abc import Mapping
from typing import Any

from sandbox.apps import FakeBackedApp, SandboxedApp
from sandbox.apps.kixie.sandbox import KixieSandbox
from sandbox.fakes.clock import Clock
from sandbox.fakes.webhooks import url_with_token

DEV_PORT = 8085
API_KEY = "dev-kixie-api-key"
BUSINESS_ID = "2001"
POWERLIST_ID = "1969"
POWERLIST_NAME = "GHL contacts"
DEV_CONNECTION_ID = "conn-dev-kixie"
DEV_WEBHOOK_TOKEN = "dev-kixie-webhook-token"
# The events the sync registers for (target-apps.md §3.4; `cisummary` is an add-on, left out).
WEBHOOK_EVENTS = ("endcall", "disposition", "scheduledactivity", "SMS")


def webhook_location(url: str, token: str, eventname: str) -> str:
    """Where Kixie posts one event: the stack's URL for the connection, its token and the event."""
    return url_with_token(url_with_token(url, token), eventname, param="event")


class KixieAppSandbox(FakeBackedApp[KixieSandbox]):
    app = "kixie"

    def __init__(self, base_url: str, clock: Clock, seed: int) -> None:
        self._sandbox = KixieSandbox(clock=clock, seed=seed, base_url=base_url)
        self._sandbox.add_account(BUSINESS_ID, API_KEY, powerlists={POWERLIST_ID: POWERLIST_NAME})

    def connection_settings(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "powerlist_id": POWERLIST_ID}

    def credentials(self, webhook_secret: str) -> dict[str, str]:
        return {"api_key": API_KEY, "business_id": BUSINESS_ID, "webhook_token": webhook_secret}

    def register_webhooks(self, url: str, credentials: Mapping[str, str]) -> None:
        for eventname in WEBHOOK_EVENTS:
            location = webhook_location(url, credentials["webhook_token"], eventname)
            self._sandbox.register_webhook(eventname, location, name=f"ghl-sync-{eventname}")

    def seed_dev_fixtures(self) -> dict[str, int | str]:
        return {"business_id": BUSINESS_ID, "powerlist_id": POWERLIST_ID}

    def person_ids(self) -> list[str]:
        """PowerList contacts are their E.164 numbers (the list's key)."""
        powerlists = self._sandbox.account(BUSINESS_ID).powerlists
        return sorted({target for _, target in powerlists.contacts})

    def reset(self) -> None:
        self._sandbox.faults.configure()
        self._sandbox.quota.configure()


def real_connection(
    base_url: str, login: Mapping[str, str], webhook_secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A connection to the real Kixie: the business id and PowerList from the command line, the API
    key from the environment."""
    settings = {"base_url": base_url, "powerlist_id": login["powerlist_id"]}
    credentials = {
        "api_key": login["api_key"],
        "business_id": login["business_id"],
        "webhook_token": webhook_secret,
    }
    return settings, credentials


KIXIE = SandboxedApp(
    app="kixie",
    dev_port=DEV_PORT,
    dev_connection_id=DEV_CONNECTION_ID,
    dev_webhook_secret=DEV_WEBHOOK_TOKEN,
    api_path="",  # /app/event and /app/v1/api/... both hang off the origin (https://apig.kixie.com)
    build=KixieAppSandbox,
    dev_fixture_ids={"business_id": BUSINESS_ID, "powerlist_id": POWERLIST_ID},
    login_options={
        "business_id": ("--kixie-business-id", BUSINESS_ID),
        "powerlist_id": ("--kixie-powerlist-id", POWERLIST_ID),
    },
    secret_env={"api_key": "KIXIE_API_KEY"},
    real_connection=real_connection,
)
