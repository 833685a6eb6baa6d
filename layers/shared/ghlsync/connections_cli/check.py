"""`connections_cli check CONN`: the app's read-only verdicts (ghlsync.connection_check), then the
connection's GHL custom fields against the location's definitions."""

from collections.abc import Callable
from datetime import datetime
from typing import TextIO

import httpx
from pydantic import ValidationError

from ghlsync.apps.registry import connector_for, spec_for
from ghlsync.connections_cli.common import CHECK_TIMEOUT_S, CliError, connection_or_error, validation_problems
from ghlsync.ghl.models import CustomFieldDefinition
from ghlsync.store.connections import Connection, ConnectionSecrets, ConnectionStore

# A connection -> its GHL location's custom-field definitions (`check`'s `ghl fields` verdict).
GhlDefinitions = Callable[[Connection], list[CustomFieldDefinition]]


def location_definitions(connection: Connection) -> list[CustomFieldDefinition]:
    from ghlsync.sync import wiring

    return wiring.default_connectors().ghl_client_for(connection).list_custom_fields()


def run_check(
    connection_id: str,
    store: ConnectionStore,
    vault: ConnectionSecrets,
    http: httpx.Client | None,
    out: TextIO,
    now: Callable[[], datetime],
    ghl_definitions: GhlDefinitions | None,
) -> int:
    """`check` with the caller's client, else one of its own (closed after)."""
    definitions = ghl_definitions or location_definitions
    if http is not None:
        return check(connection_id, store, vault, http, out, now, definitions)
    with httpx.Client(timeout=CHECK_TIMEOUT_S) as client:
        return check(connection_id, store, vault, client, out, now, definitions)


def check(
    connection_id: str,
    store: ConnectionStore,
    vault: ConnectionSecrets,
    http: httpx.Client,
    out: TextIO,
    now: Callable[[], datetime],
    ghl_definitions: GhlDefinitions,
) -> int:
    from ghlsync.connection_check import (  # only check needs them
        CHECK_WINDOW,
        check_connection,
        ghl_fields_verdict,
    )

    connection = connection_or_error(store, connection_id)
    spec = spec_for(connection.app)
    credentials = vault.credentials(connection_id)
    try:
        connector = connector_for(connection, http=http, secrets=vault)
    except ValidationError as error:
        raise CliError(
            "stored connection is invalid:\n  " + "\n  ".join(validation_problems(connection.app, error))
        ) from error
    verdicts = check_connection(
        connector, spec, credentials, connection_id=connection_id, since=now() - CHECK_WINDOW
    )
    if verdicts[0].ok:  # the app's auth first: when it fails, nothing else runs
        verdicts.append(
            ghl_fields_verdict(
                connection.settings.ghl_custom_fields,
                lambda: ghl_definitions(connection),
                external_id_field=connection.settings.external_id_field,
            )
        )
    out.write(f"{connection_id} ({connection.app}, location {connection.location_id})\n")
    out.writelines(f"  {verdict.line()}\n" for verdict in verdicts)
    return 1 if any(verdict.ok is False for verdict in verdicts) else 0
