"""Operator CLI for app connections.

    python -m ghlsync.connections_cli create --location LOC --app APP \\
        [--setting KEY=VALUE ...] [--base-url URL] [--email LOGIN] [--api-url URL] \\
        [--policy ghl_wins|app_wins|lww] [--delete-policy delete|tag|ignore] \\
        [--skew-seconds 5] [--map-file mapping.json]
    python -m ghlsync.connections_cli create --location LOC --app generic --spec-file app.yaml
    python -m ghlsync.connections_cli validate-spec app.yaml
    python -m ghlsync.connections_cli check CONNECTION_ID
    python -m ghlsync.connections_cli list [--location LOC]
    python -m ghlsync.connections_cli show CONNECTION_ID
    python -m ghlsync.connections_cli disable CONNECTION_ID
    python -m ghlsync.connections_cli rotate-key CONNECTION_ID
    python -m ghlsync.connections_cli bulk-sync CONNECTION_ID (--all | --tag TAG) [--restart] [--json]
    python -m ghlsync.connections_cli refresh CONNECTION_ID [--restart] [--json]

`create` asks for exactly the credentials the app's spec declares. Each credential field FIELD is
read from the environment variable APP_<FIELD> (upper case: APP_EMAIL, APP_PASSWORD, ...) or, in a
terminal, asked for (secret fields without echo); never from the command line, where it would land
in shell history and the process list. `--email` is kept as a shorthand for APP_EMAIL (a login
name is not a secret). Credentials the app is given rather than gives (e.g. Kayako's webhook
token) are generated, unless $APP_<FIELD> holds one. The app's non-secret settings come from
`--setting KEY=VALUE` (repeatable; `--base-url URL` is `--setting base_url=URL`) over the map
file's `app` object. For the generic app, `--spec-file` (YAML or JSON) gives the settings: the
app's spec, which also decides the credentials asked for (`validate-spec` checks a spec file
offline and prints every problem, exit status 2). Both are validated by the app's models; a
problem is printed as `field: message`, never with the value. The secret is stored first
(`<CONNECTION_SECRET_PREFIX><connectionId>` in Secrets Manager), then the connection row; the
generated secrets and the URLs to configure in the app are printed once (`--api-url`, or an
`<ApiUrl>` placeholder) and never logged or stored in the table. An app that registers its
webhooks by API (Kixie) is registered before anything is stored, when `--api-url` is given
(idempotently: a repeat updates the registrations, never duplicates them). `create` also makes the
connection's workflow-API key (`X-Api-Key` of /connections/{id}/...), prints it once and stores
only its digest in the connection's secret (ghlsync.workflow.keys); `--read-only` makes a
connection whose workflow API refuses writes (403). `rotate-key` makes a new key and prints it
once; the old key stops working at once.

`bulk-sync` sends every contact of the connection's location (or those with TAG) to an app that
takes contacts by upsert (Kixie's PowerList, each with its digest), in this process: resumable from
its checkpoint, within the app's daily quota (exit 1 with a message when it stops early: run it
again), progress on stderr (none with --json). See ghlsync.bulk_sync.

`refresh` runs the connection's scheduled business-enriched refresh now (eKyte: every GHL contact
with its business; same checkpoint as the schedule's, so it resumes an unfinished one, and the
schedule counts it as the latest run). Same output and exit status as `bulk-sync`. See
ghlsync.refresh.

`check` makes read-only calls against the app through the connection's connector (auth, one
change listing, one lookup, one read, the webhook secret) and prints one verdict per capability;
then resolves the connection's `ghl_custom_fields` against the location's custom-field
definitions (unknown ids or keys, types that cannot hold the mapped values); the exit status is 1
when a check failed (auth first among them), 0 otherwise.

The map file is a JSON object with any of: `ghl_custom_fields` (GHL field id, or field key such as
`contact.membership_status`, -> canonical key),
`ghl_users` (GHL user id -> canonical assignee), `external_id_field`, `default_country` (ISO
alpha-2 region of phones written without a country code, default US), and
`app` (the app's own settings, e.g. Kayako's `custom_field_map`, `assignee_map`).
Reads SYNC_TABLE_NAME and CONNECTION_SECRET_PREFIX (and the usual AWS variables) from the env.
"""

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

import httpx

from ghlsync.apps.registry import UnknownApp
from ghlsync.connections_cli.check import GhlDefinitions, run_check
from ghlsync.connections_cli.common import CliError, issue_workflow_key
from ghlsync.connections_cli.create import create
from ghlsync.connections_cli.jobs import backfill, bulk_sync, refresh
from ghlsync.connections_cli.manage import run_manage
from ghlsync.connections_cli.parser import build_parser
from ghlsync.connections_cli.spec_file import validate_spec
from ghlsync.store.connections import ConnectionNotFound, ConnectionSecrets, ConnectionStore

# Used from outside the CLI: the check's GHL reader type (tests), the key issuer (sandbox setup).
__all__ = ["GhlDefinitions", "issue_workflow_key", "main"]


def main(
    argv: list[str] | None = None,
    *,
    store: ConnectionStore | None = None,
    vault: ConnectionSecrets | None = None,
    http: httpx.Client | None = None,
    out: TextIO = sys.stdout,
    err: TextIO | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ghl_definitions: GhlDefinitions | None = None,
) -> int:
    """`err` defaults to sys.stderr as it is at the call (tests capture it); `ghl_definitions`
    reads a location's custom-field definitions (default: through the location's GHL client)."""
    err = err if err is not None else sys.stderr
    args = build_parser(__doc__.split("\n")[0]).parse_args(argv)
    if args.command == "validate-spec":  # offline: no table, no secrets
        try:
            validate_spec(args.spec_file, out)
        except CliError as error:
            sys.stderr.write(f"error: {error}\n")
            return 2
        return 0
    if store is None or vault is None:
        from ghlsync.config import get_settings
        from ghlsync.store.dynamo import secrets_client, sync_table

        store = store or ConnectionStore(sync_table())
        vault = vault or ConnectionSecrets(secrets_client(), get_settings().connection_secret_prefix)
    try:
        if args.command == "create":
            create(args, store, vault, out, http=http)
        elif args.command == "check":
            return run_check(args.connection_id, store, vault, http, out, now, ghl_definitions)
        elif args.command == "bulk-sync":
            return bulk_sync(args, store, out, err, now)
        elif args.command == "refresh":
            return refresh(args, store, out, err, now)
        elif args.command in ("backfill", "status"):
            return backfill(args, store, out, err)
        else:  # list, show, disable, rotate-key, reindex
            run_manage(args, store, vault, out)
    except (CliError, ConnectionNotFound, UnknownApp) as error:
        err.write(f"error: {error}\n")
        return 2
    return 0
