"""`make dev`'s configuration: DevConfig, and how the command line (and, for real services'
secrets, the environment) makes one."""

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.apps import SandboxedApp, registered_apps
from sandbox.stack.template import DEFAULT_STACK_NAME, DEFAULT_TEMPLATE

HOST = "127.0.0.1"
# Where real services' secrets come from (never the command line: it lands in shell history).
GHL_TOKEN_ENV = "GHL_PRIVATE_INTEGRATION_TOKEN"
DESCRIPTION = "`make dev`: the whole stack on 127.0.0.1, in one process."


class StackError(Exception):
    """The stack cannot start (the message says why and what to do)."""


@dataclass
class DevConfig:
    gateway_port: int = 3000
    moto_port: int = 5000
    ghl_port: int = 8081
    # Per app (its registry name): the fake's port (absent: the app's dev port; 0: any free port).
    app_ports: dict[str, int] = field(default_factory=dict)
    schedule_speed: float = 1.0
    # Seconds a failed sync event stays invisible before its retry (None: the template's value).
    visibility_timeout: int | None = None
    stage: str = "dev"
    stack_name: str = DEFAULT_STACK_NAME
    template_path: Path = DEFAULT_TEMPLATE
    location_id: str = "devLocation000000001"
    location_token: str = "pit-dev-location-token"
    # Seed DEV_FIXTURES (when every sandbox runs): the records the events/ files name.
    fixtures: bool = True
    # Lifetime of the GHL sandbox's OAuth access tokens (None: GHL's ~24 h), e.g. to show a refresh.
    ghl_access_token_ttl_s: int | None = None
    # False: nothing runs periodically; the caller drives poll/tick/delivery (drain(), tick(), ...).
    background: bool = True
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # Function environment on top of the template's (like `sam local --env-vars`), e.g. the
    # demo's shorter RETRY_BASE_SECONDS.
    env_overrides: dict[str, str] = field(default_factory=dict)
    # Per app: extra non-secret connector settings of its dev connection (merged into `app`).
    app_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Route what handlers print (EMF metrics) into the log stream; for processes the stack owns.
    capture_stdout: bool = False
    # Real services instead of a sandbox (see "Real services" in the docs): None = the sandbox.
    ghl_base_url: str | None = None
    # Per app: a real service's base URL, and its login (fields from the command line, secrets
    # from the environment: SandboxedApp.login_options / secret_env).
    app_base_urls: dict[str, str] = field(default_factory=dict)
    app_logins: dict[str, dict[str, str]] = field(default_factory=dict)
    # Read both sides, plan, and record every write instead of sending it (sandbox.stack.dryrun).
    dry_run: bool = False
    # The apps to run (None: every registered app), e.g. the demo's generic app in style B.
    apps: tuple[SandboxedApp, ...] | None = None

    def registered(self) -> list[SandboxedApp]:
        return list(registered_apps() if self.apps is None else self.apps)


# ---- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.stack.dev",
        description="`make dev`: the whole stack on 127.0.0.1, in one process.",
    )
    parser.add_argument("--gateway-port", type=int, default=3000)
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--ghl-port", type=int, default=8081)
    for app in registered_apps():
        parser.add_argument(
            f"--{app.app}-port", type=int, default=app.dev_port, dest=f"port_{app.app}", metavar="PORT"
        )
    parser.add_argument(
        "--host", default=HOST, choices=[HOST], help="always 127.0.0.1: the stack is never exposed"
    )
    parser.add_argument(
        "--schedule-speed",
        type=float,
        default=1.0,
        help="run rate() schedules N times faster (60: minutes → seconds)",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=None,
        help="seconds before a failed sync event is retried (default: the template's VisibilityTimeout)",
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    real = parser.add_argument_group(
        "real services",
        f"point the stack at a real GHL location and/or app (tokens from ${GHL_TOKEN_ENV} and the"
        " apps' variables, never from the command line)",
    )
    real.add_argument(
        "--ghl-base-url", help="e.g. https://services.leadconnectorhq.com (default: the GHL sandbox)"
    )
    real.add_argument(
        "--location-id", default=DevConfig.location_id, help="the GHL location (sub-account) id"
    )
    for app in registered_apps():
        secrets_from = ", ".join(f"{field} from ${env}" for field, env in app.secret_env.items())
        real.add_argument(
            f"--{app.app}-url",
            dest=f"url_{app.app}",
            metavar="URL",
            help=f"a real {app.app} API ({secrets_from})",
        )
        for field_name, (option, default) in app.login_options.items():
            real.add_argument(
                option,
                default=default,
                dest=f"login_{app.app}_{field_name}",
                metavar=field_name.upper(),
                help=f"{app.app} {field_name}",
            )
    real.add_argument(
        "--dry-run", action="store_true", help="read and plan, but record writes instead of sending them"
    )
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> DevConfig:
    """DevConfig from the command line; secrets of real services come from the environment."""
    config = DevConfig(
        gateway_port=args.gateway_port,
        moto_port=args.moto_port,
        ghl_port=args.ghl_port,
        app_ports={app.app: getattr(args, f"port_{app.app}") for app in registered_apps()},
        schedule_speed=args.schedule_speed,
        visibility_timeout=args.visibility_timeout,
        template_path=args.template,
        capture_stdout=True,
        location_id=args.location_id,
        ghl_base_url=args.ghl_base_url,
        dry_run=args.dry_run,
    )
    if args.ghl_base_url:
        token = environ.get(GHL_TOKEN_ENV)
        if not token:
            raise StackError(
                f"--ghl-base-url needs the location's private-integration token in ${GHL_TOKEN_ENV}"
            )
        config.location_token = token
    for app in registered_apps():
        url = getattr(args, f"url_{app.app}")
        if not url:
            continue
        login = {field: getattr(args, f"login_{app.app}_{field}") for field in app.login_options}
        for field_name, env in app.secret_env.items():
            if not environ.get(env):
                raise StackError(f"--{app.app}-url needs the {app.app} {field_name} in ${env}")
            login[field_name] = environ[env]
        config.app_base_urls[app.app] = url
        config.app_logins[app.app] = login
    return config
