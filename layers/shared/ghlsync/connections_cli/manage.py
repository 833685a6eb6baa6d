"""`connections_cli list | show | disable | rotate-key | reindex`: stored connections, read or
changed one row (or one key) at a time."""

import argparse
import json
from typing import TextIO

from ghlsync.connections_cli.common import (
    API_URL_PLACEHOLDER,
    connection_or_error,
    issue_workflow_key,
    print_workflow_key,
)
from ghlsync.store.connections import Connection, ConnectionSecrets, ConnectionStatus, ConnectionStore


def run_manage(
    args: argparse.Namespace, store: ConnectionStore, vault: ConnectionSecrets, out: TextIO
) -> None:
    if args.command == "list":
        found = store.for_location(args.location) if args.location else list(store.all())
        if args.json:
            out.write(json.dumps([c.model_dump(mode="json") for c in found], indent=2) + "\n")
        for connection in [] if args.json else found:
            out.write(_summary(connection) + "\n")
    elif args.command == "reindex":
        out.write(f"indexed {store.reindex()} connection(s)\n")
    elif args.command == "show":
        out.write(connection_or_error(store, args.connection_id).model_dump_json(indent=2) + "\n")
    elif args.command == "rotate-key":
        rotated = connection_or_error(store, args.connection_id)
        print_workflow_key(
            rotated, issue_workflow_key(vault, rotated.connection_id), API_URL_PLACEHOLDER, out
        )
    else:
        store.set_status(args.connection_id, ConnectionStatus.DISABLED)
        out.write(f"disabled {args.connection_id}\n")


def _summary(connection: Connection) -> str:
    return (
        f"{connection.connection_id}\t{connection.location_id}\t{connection.app}\t{connection.status.value}"
    )
