"""`connections_cli create`: a connection from the app's settings (map file, `--setting`, spec
file) and credentials (environment, prompt, generated), validated by the app's models; the app's
registration step, then the secret, the workflow-API key and the row; what to configure printed."""

import argparse
import getpass
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import BaseModel, ValidationError

from ghlsync.apps.registry import spec_for
from ghlsync.apps.spec import ConnectorSpec
from ghlsync.connections_cli.common import (
    API_URL_PLACEHOLDER,
    CHECK_TIMEOUT_S,
    CliError,
    issue_workflow_key,
    print_workflow_key,
    validation_problems,
)
from ghlsync.connections_cli.spec_file import spec_file_settings
from ghlsync.core.errors import ConnectorError
from ghlsync.store.connections import (
    ConflictPolicy,
    Connection,
    ConnectionSecrets,
    ConnectionSettings,
    ConnectionStore,
    DeletePolicy,
    new_connection_id,
)

CREDENTIAL_ENV_PREFIX = "APP_"
MAP_FILE_KEYS = frozenset({"ghl_custom_fields", "ghl_users", "external_id_field", "default_country", "app"})
# Prompt for one credential field: (label, secret) -> the typed value ("" when none).
Prompt = Callable[[str, bool], str]


def credential_env(field: str) -> str:
    """The environment variable a credential field is read from: APP_<FIELD>."""
    return CREDENTIAL_ENV_PREFIX + field.upper()


def _read_map_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        mapping = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read map file {path}: {error}") from error
    if not isinstance(mapping, dict):
        raise CliError("the map file must hold a JSON object")
    unknown = set(mapping) - MAP_FILE_KEYS
    if unknown:
        raise CliError(f"unknown map file keys: {', '.join(sorted(unknown))}")
    if not isinstance(mapping.get("app", {}), dict):
        raise CliError("the map file's `app` must be a JSON object")
    return mapping


def _app_settings(args: argparse.Namespace, from_map_file: Mapping[str, Any]) -> dict[str, Any]:
    """The map file's `app` object, overridden by --setting KEY=VALUE, then --base-url.
    Values stay strings: the app's settings model converts them (`3`, `true`) to its types."""
    settings = dict(from_map_file)
    for item in args.setting:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise CliError(f"--setting takes KEY=VALUE, not {item!r}")
        settings[key.strip()] = value
    if args.base_url is not None:
        settings["base_url"] = args.base_url
    return settings


def _terminal_prompt(label: str, secret: bool) -> str:
    if not sys.stdin.isatty():
        return ""
    return getpass.getpass(f"{label}: ") if secret else input(f"{label}: ")


def _credentials(
    spec: ConnectorSpec, flags: Mapping[str, str | None], prompt: Prompt, settings: Mapping[str, Any]
) -> dict[str, str]:
    """Every credential the spec asks of the operator for these settings (flag for non-secret
    ones, else $APP_<FIELD>, else the prompt), plus the generated ones ($APP_<FIELD> or fresh)."""
    asked, generated = spec.credential_fields(settings)
    unasked = sorted(name for name, value in flags.items() if value is not None and name not in asked)
    if unasked:
        raise CliError(f"{spec.name} asks for no {', '.join(unasked)}")
    values: dict[str, str] = {}
    missing: list[str] = []
    for field in asked:
        secret = field in spec.secret_credentials
        value = (None if secret else flags.get(field)) or os.environ.get(credential_env(field))
        value = value or prompt(f"{spec.name} {field}", secret)
        if value:
            values[field] = value
        else:
            missing.append("$" + credential_env(field))
    if missing:
        raise CliError(f"set {', '.join(missing)} (or run in a terminal to be asked)")
    for field in sorted(generated):
        values[field] = os.environ.get(credential_env(field)) or secrets.token_urlsafe(24)
    return values


def _validated(part: str, validate: Callable[[], BaseModel | None], problems: list[str]) -> None:
    try:
        validate()
    except ValidationError as error:
        problems.extend(validation_problems(part, error))


def create(
    args: argparse.Namespace,
    store: ConnectionStore,
    vault: ConnectionSecrets,
    out: TextIO,
    prompt: Prompt = _terminal_prompt,
    http: httpx.Client | None = None,
) -> None:
    spec = spec_for(args.app)
    mapping = _read_map_file(args.map_file)
    from_files = {**mapping.pop("app", {}), **spec_file_settings(args)}
    app_settings = _app_settings(args, from_files)
    problems: list[str] = []
    _validated("settings", lambda: spec.validate_settings(app_settings), problems)
    if problems:
        raise CliError("invalid connection:\n  " + "\n  ".join(problems))
    credentials = _credentials(spec, {"email": args.email}, prompt, app_settings)
    _validated("credentials", lambda: spec.validate_credentials(credentials), problems)
    connection: Connection | None = None
    try:
        settings = ConnectionSettings(
            conflict_policy=ConflictPolicy(args.policy),
            delete_policy=DeletePolicy(args.delete_policy),
            skew_seconds=args.skew_seconds,
            app=app_settings,
            read_only=args.read_only,
            **_with_backfill_choice(mapping, args.backfill),
        )
        connection = Connection(
            connection_id=new_connection_id(), location_id=args.location, app=args.app, settings=settings
        )
    except ValidationError as error:
        problems.extend(validation_problems("connection", error))
    if problems or connection is None:
        raise CliError("invalid connection:\n  " + "\n  ".join(problems))
    registered = _after_create(spec, connection, credentials, args.api_url, http)
    # Secret first: a connection row must never point at credentials that were not stored.
    vault.put(connection.connection_id, credentials)
    workflow_key = issue_workflow_key(vault, connection.connection_id)
    store.put(connection)
    _print_setup(spec, connection, credentials, args.api_url, out)
    out.writelines(f"{line}\n" for line in registered)
    print_workflow_key(connection, workflow_key, args.api_url, out)
    from ghlsync.backfill.cli import after_create  # the job's stores load only when asked for

    out.writelines(f"{line}\n" for line in after_create(connection))


def _with_backfill_choice(mapping: dict[str, Any], choice: str | None) -> dict[str, Any]:
    if choice is None:
        return mapping
    return {**mapping, "backfill": {**mapping.get("backfill", {}), "on_create": choice}}


def _after_create(
    spec: ConnectorSpec,
    connection: Connection,
    credentials: Mapping[str, str],
    api_url: str,
    http: httpx.Client | None,
) -> list[str]:
    """The app's own registration step (its webhooks), run before anything is stored so a refusal
    leaves nothing behind; skipped, with a line saying so, while the stack's URL is unknown."""
    if spec.after_create is None:
        return []
    if api_url == API_URL_PLACEHOLDER:
        return [f"{spec.name}: nothing registered with the app; run again with --api-url to register"]
    validated = spec.validate_credentials(credentials)
    client = http if http is not None else httpx.Client(timeout=CHECK_TIMEOUT_S)
    try:
        connector = spec.build(connection, client, validated, time.sleep, time.monotonic)
        return list(spec.after_create(connector, api_url))
    except ConnectorError as error:
        raise CliError(f"registering with {spec.name} failed, nothing stored: {error}") from error
    finally:
        if http is None:
            client.close()


def _print_setup(
    spec: ConnectorSpec, connection: Connection, credentials: Mapping[str, str], api_url: str, out: TextIO
) -> None:
    connection_id = connection.connection_id
    out.write(f"connection_id: {connection_id}\n")
    for field in sorted(spec.generated_credentials & set(credentials)):
        out.write(f"{field}: {credentials[field]}\n")
    for kind, routes in (("webhook", spec.webhooks), ("lookup", spec.lookups)):
        for route in routes:
            secret = credentials.get(route.secret_field) if route.secret_field else None
            out.write(f"{kind}_path:  {route.path_for(connection_id)}\n")
            out.write(f"{kind}_url:   {route.method} {route.url_for(api_url, connection_id, secret)}\n")
            if route.header and secret is not None and not route.query_param:
                out.write(f"  with header {route.header}: <{route.secret_field}>\n")
            out.write(f"  ({route.purpose})\n")
    if spec.setup:
        out.write(f"Configure {spec.name}:\n")
        out.writelines(f"  {line}\n" for line in spec.setup.splitlines())
