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

import argparse
import getpass
import io
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx
from pydantic import BaseModel, ValidationError

from ghlsync.apps.registry import UnknownApp, app_names, connector_for, spec_for
from ghlsync.apps.spec import ConnectorSpec
from ghlsync.core.errors import ConnectorError
from ghlsync.ghl.client import MAX_PAGE_SIZE
from ghlsync.ghl.models import CustomFieldDefinition
from ghlsync.store.connections import (
    BackfillOnCreate,
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
from ghlsync.workflow.keys import key_digest, new_key

if TYPE_CHECKING:
    from ghlsync.bulk_sync import BulkSync

CREDENTIAL_ENV_PREFIX = "APP_"
API_URL_PLACEHOLDER = "<ApiUrl>"
CHECK_TIMEOUT_S = 10.0
MAP_FILE_KEYS = frozenset({"ghl_custom_fields", "ghl_users", "external_id_field", "default_country", "app"})
# Prompt for one credential field: (label, secret) -> the typed value ("" when none).
Prompt = Callable[[str, bool], str]


# A connection -> its GHL location's custom-field definitions (`check`'s `ghl fields` verdict).
GhlDefinitions = Callable[[Connection], list[CustomFieldDefinition]]


def _location_definitions(connection: Connection) -> list[CustomFieldDefinition]:
    from ghlsync.sync import wiring

    return wiring.default_connectors().ghl_client_for(connection).list_custom_fields()


class CliError(Exception):
    """A user mistake: printed as one line (or one line per problem), exit status 2."""


def credential_env(field: str) -> str:
    """The environment variable a credential field is read from: APP_<FIELD>."""
    return CREDENTIAL_ENV_PREFIX + field.upper()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ghlsync.connections_cli", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="connect a GHL location to an app account")
    create.add_argument("--location", required=True)
    create.add_argument("--app", required=True, choices=app_names())
    create.add_argument(
        "--setting", action="append", default=[], metavar="KEY=VALUE", help="a non-secret app setting"
    )
    create.add_argument("--base-url", help="the app's API base URL (same as --setting base_url=URL)")
    create.add_argument("--email", help="the app login, when the app asks for one (same as $APP_EMAIL)")
    create.add_argument(
        "--api-url", default=API_URL_PLACEHOLDER, help="the stack's API URL, for the printed URLs"
    )
    create.add_argument(
        "--policy", choices=[p.value for p in ConflictPolicy], default=ConflictPolicy.LWW.value
    )
    create.add_argument(
        "--delete-policy", choices=[p.value for p in DeletePolicy], default=DeletePolicy.TAG.value
    )
    create.add_argument("--skew-seconds", type=float, default=5.0)
    create.add_argument("--map-file", type=Path)
    create.add_argument("--spec-file", type=Path, help="the app's spec (generic app): YAML or JSON")
    create.add_argument(
        "--read-only", action="store_true", help="the workflow API refuses writes for this connection"
    )
    create.add_argument(
        "--backfill",
        choices=[o.value for o in BackfillOnCreate],
        help="what to do about the records both sides hold already (default: the map file's, else plan)",
    )

    validate = commands.add_parser("validate-spec", help="check a generic app's spec file, offline")
    validate.add_argument("spec_file", type=Path)
    check = commands.add_parser("check", help="read-only test calls against the app, one verdict each")
    check.add_argument("connection_id")
    commands.add_parser("reindex", help="once, after upgrading: list older connections in the index")
    listing = commands.add_parser("list", help="list connections")
    listing.add_argument("--location")
    listing.add_argument("--json", action="store_true", help="JSON for scripts (no secrets)")
    show = commands.add_parser("show", help="show one connection (no secrets)")
    show.add_argument("connection_id")
    disable = commands.add_parser("disable", help="stop syncing a connection")
    disable.add_argument("connection_id")
    rotate = commands.add_parser("rotate-key", help="a new workflow-API key; the old one stops working")
    rotate.add_argument("connection_id")
    bulk = commands.add_parser(
        "bulk-sync", help="every matching GHL contact to the app (resumable, within its daily quota)"
    )
    bulk.add_argument("connection_id")
    which = bulk.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every contact of the location")
    which.add_argument("--tag", type=_tag, help="the contacts with this tag")
    bulk.add_argument("--restart", action="store_true", help="start over instead of resuming")
    bulk.add_argument("--json", action="store_true", help="print the summary as JSON, no progress")
    bulk.add_argument(
        "--page-size", type=_page_size, default=MAX_PAGE_SIZE, help="contacts per GHL search call (1-100)"
    )
    refresh = commands.add_parser(
        "refresh", help="the scheduled business-enriched refresh, now (resumable, within GHL's budget)"
    )
    refresh.add_argument("connection_id")
    refresh.add_argument("--restart", action="store_true", help="start over instead of resuming")
    refresh.add_argument("--json", action="store_true", help="print the summary as JSON, no progress")
    refresh.add_argument(
        "--page-size", type=_page_size, default=MAX_PAGE_SIZE, help="contacts per GHL search call (1-100)"
    )
    backfill = commands.add_parser(
        "backfill", help="link the records both sides hold, create the missing (a job in AWS)"
    )
    backfill.add_argument("connection_id")
    backfill.add_argument("--plan", action="store_true", help="print what it would do; write nothing")
    backfill.add_argument("--no-wait", action="store_true", help="start the job and return")
    backfill.add_argument(
        "--requeue", action="store_true", help="queue a running job's next page again (its item was lost)"
    )
    status = commands.add_parser("status", help="a connection's backfill job: progress or result")
    status.add_argument("connection_id")
    return parser


def _page_size(value: str) -> int:
    size = int(value) if value.strip().isdigit() else 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"a page holds 1 to {MAX_PAGE_SIZE} contacts, not {value!r}")
    return size


def _tag(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("a tag must not be empty")
    return value.strip()


def issue_workflow_key(vault: ConnectionSecrets, connection_id: str, key: str | None = None) -> str:
    """Store the digest of a new workflow-API key (or of `key`, for fixed dev fixtures) in the
    connection's secret, replacing any earlier one; returns the key, which is stored nowhere."""
    issued = key if key is not None else new_key()
    vault.set_workflow_key_digest(connection_id, key_digest(issued))
    return issued


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


def _spec_file_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The spec file's content (validated with the rest of the settings), or {} without one."""
    if args.spec_file is None:
        return {}
    from ghlsync.apps.rest.loading import SpecInvalid, read_spec_file

    try:
        return read_spec_file(args.spec_file)
    except SpecInvalid as error:
        raise CliError("\n  ".join(["invalid spec file:", *error.problems])) from error


def validate_spec(path: Path, out: TextIO) -> None:
    """Check a spec file offline; every problem at once (CliError), or a summary of what it does."""
    from ghlsync.apps.rest.inbound import capabilities_for
    from ghlsync.apps.rest.loading import SpecInvalid, load_spec_file

    try:
        spec = load_spec_file(path)
    except SpecInvalid as error:
        raise CliError("\n  ".join([f"{path}: {len(error.problems)} problem(s)", *error.problems])) from error
    declared = capabilities_for(spec)
    out.write(f"{path}: ok ({spec.name})\n")
    for kind, support in declared.entities.items():
        operations = ", ".join(sorted(op.value for op in support.operations))
        out.write(f"  {kind.value}: {support.flow.value}; {operations}\n")
    out.write(f"  tags: {declared.tags.writes.value}\n")
    inbound = [
        name
        for name, on in (("webhooks", declared.inbound.webhooks), ("polling", declared.inbound.feed))
        if on
    ]
    out.write(f"  inbound: {', '.join(inbound) or 'none (the app is only written to)'}\n")


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


def _problems(part: str, error: ValidationError) -> list[str]:
    """`part.field: message` per problem; the offending values are never shown (may be secrets)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(step) for step in problem["loc"])
        lines.append(f"{part}.{where}: {problem['msg']}" if where else f"{part}: {problem['msg']}")
    return lines


def _validated(part: str, validate: Callable[[], BaseModel | None], problems: list[str]) -> None:
    try:
        validate()
    except ValidationError as error:
        problems.extend(_problems(part, error))


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
    from_files = {**mapping.pop("app", {}), **_spec_file_settings(args)}
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
        problems.extend(_problems("connection", error))
    if problems or connection is None:
        raise CliError("invalid connection:\n  " + "\n  ".join(problems))
    registered = _after_create(spec, connection, credentials, args.api_url, http)
    # Secret first: a connection row must never point at credentials that were not stored.
    vault.put(connection.connection_id, credentials)
    workflow_key = issue_workflow_key(vault, connection.connection_id)
    store.put(connection)
    _print_setup(spec, connection, credentials, args.api_url, out)
    out.writelines(f"{line}\n" for line in registered)
    _print_workflow_key(connection, workflow_key, args.api_url, out)
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


def _print_workflow_key(connection: Connection, key: str, api_url: str, out: TextIO) -> None:
    out.write(f"workflow_api_key: {key}\n")
    base = f"{api_url.rstrip('/')}/connections/{connection.connection_id}"
    out.write(f"workflow_api_url: {base}/contacts/<contactId>/bundle\n")
    out.write("  (send the key in the X-Api-Key header; it is shown only now)\n")


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


def check(
    connection_id: str,
    store: ConnectionStore,
    vault: ConnectionSecrets,
    http: httpx.Client,
    out: TextIO,
    now: Callable[[], datetime],
    ghl_definitions: "GhlDefinitions",
) -> int:
    from ghlsync.connection_check import (  # only check needs them
        CHECK_WINDOW,
        check_connection,
        ghl_fields_verdict,
    )

    connection = store.get(connection_id)
    if connection is None:
        raise CliError(f"no connection {connection_id}")
    spec = spec_for(connection.app)
    credentials = vault.credentials(connection_id)
    try:
        connector = connector_for(connection, http=http, secrets=vault)
    except ValidationError as error:
        raise CliError(
            "stored connection is invalid:\n  " + "\n  ".join(_problems(connection.app, error))
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


def bulk_sync(
    args: argparse.Namespace, store: ConnectionStore, out: TextIO, err: TextIO, now: Callable[[], datetime]
) -> int:
    """Runs the job (ghlsync.bulk_sync) in this process with the caller's AWS credentials; exit
    status 0 when it finished, 1 when it stopped early (quota spent, a failure): run it again."""
    from ghlsync.bulk_sync import BulkSync

    return _contact_job(BulkSync, args, store, out, err, now)


def refresh(
    args: argparse.Namespace, store: ConnectionStore, out: TextIO, err: TextIO, now: Callable[[], datetime]
) -> int:
    """The connection's business-enriched refresh (ghlsync.refresh) in this process."""
    from ghlsync.refresh import BusinessRefresh

    return _contact_job(BusinessRefresh, args, store, out, err, now)


def _contact_job(
    job_class: "type[BulkSync]",
    args: argparse.Namespace,
    store: ConnectionStore,
    out: TextIO,
    err: TextIO,
    now: Callable[[], datetime],
) -> int:
    from ghlsync.bulk_sync import BulkSyncRefused, Stop
    from ghlsync.store.checkpoints import CheckpointStore
    from ghlsync.store.dynamo import sync_table
    from ghlsync.sync import wiring

    connection = store.get(args.connection_id)
    if connection is None:
        raise CliError(f"no connection {args.connection_id}")
    if not connection.active:
        raise CliError(f"connection {args.connection_id} is {connection.status.value}")
    connectors = wiring.default_connectors()
    report = None if args.json else partial(_report_progress, err, args.command)
    try:
        job = job_class(
            connection,
            engine=wiring.default_engine(),
            hub=connectors.hub_for(connection),
            app=connectors.app_for(connection),
            checkpoints=CheckpointStore(sync_table()),
            now=now,
            report=report,
            page_size=args.page_size,
        )
        with _lambda_output_to(err):
            stop, progress, message = job.run(tag=getattr(args, "tag", None), restart=args.restart)
    except BulkSyncRefused as refused:
        raise CliError(str(refused)) from refused
    if args.json:
        summary = {"status": stop.value, "message": message, **progress.model_dump(mode="json")}
        out.write(json.dumps(summary, sort_keys=True) + "\n")
    else:
        out.write(f"{message}\n")
        out.write(f"  synced {progress.synced}, unchanged {progress.unchanged}, failed {progress.failed}\n")
        out.writelines(f"  skipped {count}: {reason}\n" for reason, count in sorted(progress.skipped.items()))
    return 0 if stop is Stop.FINISHED else 1


def backfill(args: argparse.Namespace, store: ConnectionStore, out: TextIO, err: TextIO) -> int:
    """`backfill` and `status` (ghlsync.backfill.cli)."""
    from ghlsync.backfill import cli
    from ghlsync.backfill.jobs import JobStore
    from ghlsync.backfill.service import default_runner
    from ghlsync.store.dynamo import sync_table

    connection = store.get(args.connection_id)
    if connection is None:
        raise CliError(f"no connection {args.connection_id}")
    jobs = JobStore(sync_table())
    if args.command == "status":
        job = jobs.get(connection.connection_id)
        if job is None:
            out.write(f"no backfill of {connection.connection_id} yet\n")
            return 0
        cli.print_status(job, connection, out)
        return 0
    try:
        with _lambda_output_to(err):
            return cli.run_backfill(
                connection,
                default_runner(),
                jobs,
                out,
                err,
                plan=args.plan,
                wait=not args.no_wait,
                requeue=args.requeue,
            )
    except cli.BackfillCliError as error:
        raise CliError(str(error)) from error


@contextmanager
def _lambda_output_to(err: TextIO) -> Iterator[None]:
    """While the job runs here: the engine's warnings on `err`, its info logs and EMF metric lines
    (for CloudWatch, which a terminal is not) nowhere, so stdout holds only the summary."""
    from ghlsync.observability import logger

    handler = logger.registered_handler
    stream = handler.setStream(err) if isinstance(handler, logging.StreamHandler) else None
    level = logger.log_level
    logger.setLevel(logging.WARNING)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
        if stream is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def _report_progress(err: TextIO, job: str, progress: Any, rate: float) -> None:
    total = progress.total if progress.total is not None else "?"
    skipped = sum(progress.skipped.values())
    err.write(
        f"{job}: {progress.done} of {total} contacts (synced {progress.synced}, "
        f"skipped {skipped}, failed {progress.failed}), {rate:.1f}/s\n"
    )
    err.flush()


def _summary(connection: Connection) -> str:
    return (
        f"{connection.connection_id}\t{connection.location_id}\t{connection.app}\t{connection.status.value}"
    )


def main(
    argv: list[str] | None = None,
    *,
    store: ConnectionStore | None = None,
    vault: ConnectionSecrets | None = None,
    http: httpx.Client | None = None,
    out: TextIO = sys.stdout,
    err: TextIO | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ghl_definitions: "GhlDefinitions | None" = None,
) -> int:
    """`err` defaults to sys.stderr as it is at the call (tests capture it); `ghl_definitions`
    reads a location's custom-field definitions (default: through the location's GHL client)."""
    err = err if err is not None else sys.stderr
    args = _parser().parse_args(argv)
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
            definitions = ghl_definitions or _location_definitions
            if http is not None:
                return check(args.connection_id, store, vault, http, out, now, definitions)
            with httpx.Client(timeout=CHECK_TIMEOUT_S) as client:
                return check(args.connection_id, store, vault, client, out, now, definitions)
        elif args.command == "list":
            found = store.for_location(args.location) if args.location else list(store.all())
            if args.json:
                out.write(json.dumps([c.model_dump(mode="json") for c in found], indent=2) + "\n")
            for connection in [] if args.json else found:
                out.write(_summary(connection) + "\n")
        elif args.command == "reindex":
            out.write(f"indexed {store.reindex()} connection(s)\n")
        elif args.command == "show":
            shown = store.get(args.connection_id)
            if shown is None:
                raise CliError(f"no connection {args.connection_id}")
            out.write(shown.model_dump_json(indent=2) + "\n")
        elif args.command == "bulk-sync":
            return bulk_sync(args, store, out, err, now)
        elif args.command == "refresh":
            return refresh(args, store, out, err, now)
        elif args.command in ("backfill", "status"):
            return backfill(args, store, out, err)
        elif args.command == "rotate-key":
            rotated = store.get(args.connection_id)
            if rotated is None:
                raise CliError(f"no connection {args.connection_id}")
            _print_workflow_key(
                rotated, issue_workflow_key(vault, rotated.connection_id), API_URL_PLACEHOLDER, out
            )
        else:
            store.set_status(args.connection_id, ConnectionStatus.DISABLED)
            out.write(f"disabled {args.connection_id}\n")
    except (CliError, ConnectionNotFound, UnknownApp) as error:
        err.write(f"error: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
