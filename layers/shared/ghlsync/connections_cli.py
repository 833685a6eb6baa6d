"""Operator CLI for app connections.

    python -m ghlsync.connections_cli create --location LOC --app kayako --base-url URL \\
        --email agent@example.com [--policy ghl_wins|app_wins|lww] \\
        [--delete-policy delete|tag|ignore] [--skew-seconds 5] [--map-file mapping.json]
    python -m ghlsync.connections_cli list [--location LOC]
    python -m ghlsync.connections_cli show CONNECTION_ID
    python -m ghlsync.connections_cli disable CONNECTION_ID

`create` writes the app credentials and a freshly generated webhook token to Secrets Manager
(`<CONNECTION_SECRET_PREFIX><connectionId>`) first, then the connection row to DynamoDB, and prints
the connection id, its webhook path and the token (the operator pastes them into the app's
automation settings; they are printed once and never logged or stored in the table).
The app password is read from $APP_PASSWORD, or asked for at the terminal: never from the command
line, where it would land in shell history and the process list.

The mapping file is a JSON object with any of: `ghl_custom_fields` (GHL field id -> canonical key),
`ghl_users` (GHL user id -> canonical assignee), `external_id_field`, `default_country_code`, and
`app` (the app's own mapping settings, e.g. Kayako's `custom_field_map`, `assignee_map`).
Reads SYNC_TABLE_NAME and CONNECTION_SECRET_PREFIX (and the usual AWS variables) from the env.
"""

import argparse
import getpass
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from ghlsync.apps.registry import CONNECTORS, UnknownApp, validate_app_config
from ghlsync.store.connections import (
    ConflictPolicy,
    Connection,
    ConnectionNotFound,
    ConnectionSecrets,
    ConnectionSettings,
    ConnectionStatus,
    ConnectionStore,
    DeletePolicy,
    new_connection_id,
)

APP_PASSWORD_ENV = "APP_PASSWORD"
MAP_FILE_KEYS = frozenset(
    {"ghl_custom_fields", "ghl_users", "external_id_field", "default_country_code", "app"}
)


class CliError(Exception):
    """A user mistake: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ghlsync.connections_cli", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="connect a GHL location to an app account")
    create.add_argument("--location", required=True)
    create.add_argument("--app", required=True, choices=sorted(CONNECTORS))
    create.add_argument("--base-url", required=True, help="the app's API base URL")
    create.add_argument("--email", required=True, help="the app login (a dedicated agent)")
    create.add_argument(
        "--policy", choices=[p.value for p in ConflictPolicy], default=ConflictPolicy.LWW.value
    )
    create.add_argument(
        "--delete-policy", choices=[p.value for p in DeletePolicy], default=DeletePolicy.TAG.value
    )
    create.add_argument("--skew-seconds", type=float, default=5.0)
    create.add_argument("--map-file", type=Path)

    listing = commands.add_parser("list", help="list connections")
    listing.add_argument("--location")
    show = commands.add_parser("show", help="show one connection (no secrets)")
    show.add_argument("connection_id")
    disable = commands.add_parser("disable", help="stop syncing a connection")
    disable.add_argument("connection_id")
    return parser


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
    return mapping


def _app_password() -> str:
    password = os.environ.get(APP_PASSWORD_ENV) or (
        getpass.getpass("app password: ") if sys.stdin.isatty() else ""
    )
    if not password:
        raise CliError(f"set ${APP_PASSWORD_ENV} (or run in a terminal to be asked for it)")
    return password


def create(args: argparse.Namespace, store: ConnectionStore, vault: ConnectionSecrets, out: TextIO) -> None:
    mapping = _read_map_file(args.map_file)
    app_settings = {**mapping.pop("app", {}), "base_url": args.base_url}
    token = secrets.token_urlsafe(24)
    credentials = {"email": args.email, "password": _app_password(), "webhook_token": token}
    try:
        validate_app_config(args.app, app_settings, credentials)
        settings = ConnectionSettings(
            conflict_policy=ConflictPolicy(args.policy),
            delete_policy=DeletePolicy(args.delete_policy),
            skew_seconds=args.skew_seconds,
            app=app_settings,
            **mapping,
        )
        connection = Connection(
            connection_id=new_connection_id(), location_id=args.location, app=args.app, settings=settings
        )
    except (ValidationError, UnknownApp) as error:
        raise CliError(f"invalid connection: {error}") from error
    # Secret first: a connection row must never point at credentials that were not stored.
    vault.put(connection.connection_id, credentials)
    store.put(connection)
    out.write(
        f"connection_id: {connection.connection_id}\n"
        f"webhook_path:  {connection.webhook_path}\n"
        f"webhook_token: {token}\n"
        "Point the app's automation endpoint at <ApiUrl><webhook_path>?token=<webhook_token>\n"
    )


def _summary(connection: Connection) -> str:
    return (
        f"{connection.connection_id}\t{connection.location_id}\t{connection.app}\t{connection.status.value}"
    )


def main(
    argv: list[str] | None = None,
    *,
    store: ConnectionStore | None = None,
    vault: ConnectionSecrets | None = None,
    out: TextIO = sys.stdout,
) -> int:
    args = _parser().parse_args(argv)
    if store is None or vault is None:
        from ghlsync.config import get_settings
        from ghlsync.store.dynamo import secrets_client, sync_table

        store = store or ConnectionStore(sync_table())
        vault = vault or ConnectionSecrets(secrets_client(), get_settings().connection_secret_prefix)
    try:
        if args.command == "create":
            create(args, store, vault, out)
        elif args.command == "list":
            found = store.for_location(args.location) if args.location else list(store.all())
            for connection in found:
                out.write(_summary(connection) + "\n")
        elif args.command == "show":
            shown = store.get(args.connection_id)
            if shown is None:
                raise CliError(f"no connection {args.connection_id}")
            out.write(shown.model_dump_json(indent=2) + "\n")
        else:
            store.set_status(args.connection_id, ConnectionStatus.DISABLED)
            out.write(f"disabled {args.connection_id}\n")
    except (CliError, ConnectionNotFound) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
