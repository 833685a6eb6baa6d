"""The app fakes the stacks run, behind one protocol: `AppSandbox`, listed by `registered_apps()`.

World (the in-process stack of the tests), `make dev` and the demo loop over `registered_apps()`:
each registered app gets its fake (in-process, or served on its dev port), one connection created as
`connections_cli create` would (sandbox.stack.setup), and its webhooks aimed at the stack's URL for
that connection with the connection's secret. Adding an app to all three is:

1. its fake on the kit (sandbox/fakes): `sandbox/apps/<app>/`, a FakeApp subclass;
2. an `AppSandbox` over it (`sandbox/apps/<app>/stack.py`, Kayako's is the example);
3. its `SandboxedApp` (how to build it, its dev port, connection id and webhook secret of
   DESIGN.md §5, its real-service options) added to `registered_apps()` below;
4. for the demo, a part in sandbox/demo (sandbox.demo.scenario.demo_parts; Kayako's is
   sandbox/demo/kayako.py). An app without one still runs in World and `make dev`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from sandbox.fakes.base import FakeApp
from sandbox.fakes.clock import Clock


class AppSandbox(Protocol):
    """One app's fake as a stack uses it."""

    @property
    def app(self) -> str:
        """The app's registry name: `Connection.app`, the `/webhooks/{app}/{connectionId}` path."""
        ...

    @property
    def base_url(self) -> str:
        """Where the connector reaches the fake (what the connection's settings point at)."""
        ...

    @property
    def fake(self) -> FakeApp:
        """The fake itself: its WSGI app, clock, faults, request log and webhook outbox."""
        ...

    def transport(self) -> httpx.BaseTransport:
        """In-process transport to the fake (with its transport-level faults)."""
        ...

    def connection_settings(self) -> dict[str, Any]:
        """The connector's non-secret settings for a connection to this fake."""
        ...

    def credentials(self, webhook_secret: str) -> dict[str, str]:
        """The connection's secret: the fake's login, and `webhook_secret` for its webhooks."""
        ...

    def register_webhooks(self, url: str, credentials: Mapping[str, str]) -> None:
        """Make the fake POST its webhooks to `url` (the stack's URL for the connection),
        authenticated the app's way with the secret in `credentials`."""
        ...

    def seed_dev_fixtures(self) -> dict[str, int | str]:
        """Create `make dev`'s documented records (unsynced; no webhooks yet); returns their ids."""
        ...

    def person_ids(self) -> list[str]:
        """The app's records that a GHL contact should be linked to (World's consistency check)."""
        ...

    def reset(self) -> None:
        """Back to a quiet fake: no injected faults, no rate limits (its data stays)."""
        ...


class FakeBackedApp[F: FakeApp]:
    """What every AppSandbox over one kit fake shares: its base URL, the fake, its transport, the
    connection settings that point at it. Subclasses set `_sandbox` and add the app's own parts."""

    _sandbox: F

    @property
    def base_url(self) -> str:
        return str(self._sandbox.base_url)  # type: ignore[attr-defined]

    @property
    def fake(self) -> F:
        return self._sandbox

    def transport(self) -> httpx.BaseTransport:
        return self._sandbox.transport()

    def connection_settings(self) -> dict[str, Any]:
        return {"base_url": self.base_url}


@dataclass(frozen=True)
class SandboxedApp:
    """How the stacks build one app's sandbox, and its `make dev` fixtures (DESIGN.md §5)."""

    app: str
    dev_port: int
    dev_connection_id: str
    dev_webhook_secret: str
    # The path of the API under the fake's origin ("/api/v1"): base URL = origin + api_path.
    api_path: str
    # (base URL, clock, seed) -> the sandbox, with its dev login set up.
    build: Callable[[str, Clock, int], AppSandbox]
    # The ids `seed_dev_fixtures` gives on a fresh fake (the events/ files name them).
    dev_fixture_ids: Mapping[str, int | str]
    # For a real service instead of the fake (make dev --<app>-url): its login fields from the
    # command line (field -> (option, default)) and its secret fields from the environment.
    login_options: Mapping[str, tuple[str, str]]
    secret_env: Mapping[str, str]
    # (base URL, login and secret fields, webhook secret) -> (settings, credentials), as for the fake.
    real_connection: Callable[[str, Mapping[str, str], str], tuple[dict[str, Any], dict[str, str]]]
    # The connection's workflow-API key in World and `make dev` (DESIGN.md §5), when it has one.
    dev_workflow_api_key: str | None = None


def _kayako() -> SandboxedApp:
    # Imported on use: the app's module imports this one (SandboxedApp).
    from sandbox.apps.kayako import stack

    return stack.KAYAKO


def _payaca() -> SandboxedApp:
    from sandbox.apps.payaca import stack

    return stack.PAYACA


def _kixie() -> SandboxedApp:
    from sandbox.apps.kixie import stack

    return stack.KIXIE


def _generic() -> SandboxedApp:
    # Style A (bearer, webhooks); style B runs in the tests and the demo (sandbox.apps.generic).
    from sandbox.apps.generic import stack

    return stack.GENERIC_A


def _ekyte() -> SandboxedApp:
    from sandbox.apps.ekyte import stack

    return stack.EKYTE


def registered_apps() -> list[SandboxedApp]:
    """Every app the stacks run, in a fixed order."""
    return [_kayako(), _payaca(), _kixie(), _ekyte(), _generic()]


def apps_named(*names: str) -> list[SandboxedApp]:
    """The registered apps of those names, for a World that needs only them: each app more in a
    World is one more connection every GHL change fans out to (and one more fake to settle)."""
    by_name = {app.app: app for app in registered_apps()}
    unknown = sorted(set(names) - set(by_name))
    if unknown:
        raise ValueError(f"not registered: {', '.join(unknown)} (registered: {', '.join(by_name)})")
    return [by_name[name] for name in names]
