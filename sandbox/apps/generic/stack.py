"""The generic fake as the stacks use it (the `AppSandbox` protocol of sandbox.apps), one per API
style, ready to be registered in `registered_apps()` as `GENERIC_A` / `GENERIC_B`.

A generic connection is its spec file: `connection_settings()` is the style's example spec
(`examples/generic-style-a.yaml` / `-b.yaml`) with its `base_url` pointed at this fake. Style A
holds a bearer token and the webhook secret it signs with (webhooks registered at the stack's URL);
style B holds an API key and has no webhooks (the sweep polls). The dev fixtures are contact Alan
Turing <alan.turing@dev.example> of "Bletchley Computing" (tag `vip`), with an open task "Send the
Enigma notes" and a note "Prefers e-mail" (not GHL's dev contact Grace Hopper, whom the events/
files sync to every app: a fixture of the same person would be matched and merged with her).
"""

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import yaml  # PyYAML ships no stubs

from sandbox.apps import FakeBackedApp, SandboxedApp
from sandbox.apps.generic.sandbox import STYLES, GenericSandbox
from sandbox.fakes.clock import Clock

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC_FILES = {
    "a": REPO_ROOT / "examples" / "generic-style-a.yaml",
    "b": REPO_ROOT / "examples" / "generic-style-b.yaml",
}
DEV_PORTS = {"a": 8086, "b": 8087}
DEV_TOKEN = "dev-generic-token"  # style A's bearer token
DEV_API_KEY = "dev-generic-b-key"  # style B's api_key
DEV_WEBHOOK_SECRET = "dev-generic-webhook-secret"
DEV_FIXTURE_IDS: dict[str, int | str] = {
    "contact_id": "con_00001",
    "task_id": "tsk_00002",
    "note_id": "not_00003",
}
# The fake signs its webhooks by the sandboxes' clock, which the in-process World runs up to an
# hour ahead of the real time ingress checks them against (sandbox.stack.world.CLOCK_LAG_S): its
# connections accept that hour on top of the spec's 300 s. A real app's connection keeps the spec's.
SANDBOX_TOLERANCE_S = 3600 + 300


def spec_settings(style: str, base_url: str) -> dict[str, Any]:
    """The style's example spec file as a connection's settings, aimed at `base_url`."""
    spec = yaml.safe_load(SPEC_FILES[style].read_text(encoding="utf-8"))
    return {**spec, "base_url": base_url}


def style_credentials(style: str, webhook_secret: str) -> dict[str, str]:
    return (
        {"token": DEV_TOKEN, "webhook_secret": webhook_secret} if style == "a" else {"api_key": DEV_API_KEY}
    )


class GenericAppSandbox(FakeBackedApp[GenericSandbox]):
    app = "generic"

    def __init__(self, style: str, base_url: str, clock: Clock, seed: int) -> None:
        api_path = STYLES[style]().api_path
        origin = base_url.removesuffix(api_path)
        self._sandbox = GenericSandbox(style, clock=clock, seed=seed, origin=origin)
        self._sandbox.add_key(DEV_TOKEN if style == "a" else DEV_API_KEY)
        self.style = style

    def connection_settings(self) -> dict[str, Any]:
        settings = spec_settings(self.style, self.base_url)
        webhooks = settings.get("inbound", {}).get("webhooks")
        if webhooks is not None:
            webhooks["tolerance_s"] = SANDBOX_TOLERANCE_S
        return settings

    def credentials(self, webhook_secret: str) -> dict[str, str]:
        return style_credentials(self.style, webhook_secret)

    def register_webhooks(self, url: str, credentials: Mapping[str, str]) -> None:
        """Style A signs its webhooks with the connection's secret; style B sends none (polling)."""
        if self.style == "a":
            self._sandbox.register_webhook(url, secret=credentials["webhook_secret"])

    def seed_dev_fixtures(self) -> dict[str, int | str]:
        sandbox = self._sandbox
        contact = sandbox.ui_create_contact(
            first_name="Alan",
            last_name="Turing",
            email="alan.turing@dev.example",
            phone="+14155550166",
            company="Bletchley Computing",
        )
        sandbox.ui_change_tags(contact.id, add=["vip"])
        task = sandbox.ui_create("task", contact_id=contact.id, title="Send the Enigma notes")
        note = sandbox.ui_create("note", contact_id=contact.id, body="Prefers e-mail")
        # Fixtures are unsynced: what they queued is not delivered.
        sandbox.outbox.deliveries.clear()
        return {"contact_id": contact.id, "task_id": task.id, "note_id": note.id}

    def person_ids(self) -> list[str]:
        return list(self._sandbox.store.records["contact"])

    def reset(self) -> None:
        self._sandbox.faults.configure()
        self._sandbox.limiter.configure(None)


def real_connection(
    style: str, base_url: str, login: Mapping[str, str], webhook_secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A connection to a real app shaped like the style: its spec aimed at `base_url`, the secret
    from the environment (style A: token and webhook secret; style B: api key)."""
    if style == "a":
        credentials = {
            "token": login["token"],
            "webhook_secret": login.get("webhook_secret") or webhook_secret,
        }
    else:
        credentials = {"api_key": login["api_key"]}
    return spec_settings(style, base_url), credentials


def _sandboxed(
    style: str, connection_id: str, webhook_secret: str, secret_env: Mapping[str, str]
) -> SandboxedApp:
    return SandboxedApp(
        app="generic",
        dev_port=DEV_PORTS[style],
        dev_connection_id=connection_id,
        dev_webhook_secret=webhook_secret,
        api_path=STYLES[style]().api_path,
        build=partial(GenericAppSandbox, style),
        dev_fixture_ids=DEV_FIXTURE_IDS,
        login_options={},
        secret_env=secret_env,
        real_connection=partial(real_connection, style),
    )


GENERIC_A = _sandboxed(
    "a",
    "conn-dev-generic",
    DEV_WEBHOOK_SECRET,
    {"token": "GENERIC_TOKEN", "webhook_secret": "GENERIC_WEBHOOK_SECRET"},
)
# Style B runs in the tests and the demo, not in `make dev`; it has no webhooks, so no secret is used.
GENERIC_B = _sandboxed(
    "b", "conn-dev-generic-b", "dev-generic-b-unused-webhook-secret", {"api_key": "GENERIC_API_KEY"}
)
