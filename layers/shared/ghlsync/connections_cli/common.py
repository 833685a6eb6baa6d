"""What several `connections_cli` commands share: the operator-mistake error, the printed
workflow-API key (`create`, `rotate-key`), validation problems without their values."""

from typing import TextIO

from pydantic import ValidationError

from ghlsync.store.connections import Connection, ConnectionSecrets, ConnectionStore
from ghlsync.workflow.keys import key_digest, new_key

API_URL_PLACEHOLDER = "<ApiUrl>"
CHECK_TIMEOUT_S = 10.0


class CliError(Exception):
    """A user mistake: printed as one line (or one line per problem), exit status 2."""


def connection_or_error(store: ConnectionStore, connection_id: str) -> Connection:
    connection = store.get(connection_id)
    if connection is None:
        raise CliError(f"no connection {connection_id}")
    return connection


def validation_problems(part: str, error: ValidationError) -> list[str]:
    """`part.field: message` per problem; the offending values are never shown (may be secrets)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(step) for step in problem["loc"])
        lines.append(f"{part}.{where}: {problem['msg']}" if where else f"{part}: {problem['msg']}")
    return lines


def issue_workflow_key(vault: ConnectionSecrets, connection_id: str, key: str | None = None) -> str:
    """Store the digest of a new workflow-API key (or of `key`, for fixed dev fixtures) in the
    connection's secret, replacing any earlier one; returns the key, which is stored nowhere."""
    issued = key if key is not None else new_key()
    vault.set_workflow_key_digest(connection_id, key_digest(issued))
    return issued


def print_workflow_key(connection: Connection, key: str, api_url: str, out: TextIO) -> None:
    out.write(f"workflow_api_key: {key}\n")
    base = f"{api_url.rstrip('/')}/connections/{connection.connection_id}"
    out.write(f"workflow_api_url: {base}/contacts/<contactId>/bundle\n")
    out.write("  (send the key in the X-Api-Key header; it is shown only now)\n")
