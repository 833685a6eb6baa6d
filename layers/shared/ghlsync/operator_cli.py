"""`ghlsync`: the operator's one command (the console script of pyproject.toml).

    ghlsync status [--connection C] [--json]
    ghlsync audit contact ID [--connection C] [--limit N] [--json]
    ghlsync audit connection C [--since 1h] [--decision conflict] [--limit N] [--json]
    ghlsync conflicts list [--connection C] [--all] [--json]
    ghlsync conflicts show ID [--json]
    ghlsync conflicts resolve ID --keep ghl|app
    ghlsync connections ...   (ghlsync.connections_cli: create, check, list, show, disable, rotate-key)
    ghlsync redrive ...       (ghlsync.redrive_cli: list, redrive)

It talks to AWS with the caller's credentials and the usual AWS variables; the dev stack's moto
the same way (AWS_ENDPOINT_URL=http://127.0.0.1:5000). The stack comes from SYNC_TABLE_NAME,
SYNC_QUEUE_URL and SYNC_DLQ_URL (the stack's outputs). Tables for people, `--json` for scripts.
Exit status: 0 done, 2 bad arguments or not found.
"""

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from ghlsync import connections_cli, operate, redrive_cli
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.queue import SyncQueue, sqs_client
from ghlsync.store.audit import AuditStore
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.conflicts import ConflictNotFound, ConflictStatus, ConflictStore
from ghlsync.store.connections import ConnectionStore
from ghlsync.store.dynamo import sync_table
from ghlsync.store.links import LinkStore, Side
from ghlsync.store.tenants import TenantStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DELEGATED: dict[str, Callable[[list[str]], int]] = {
    "connections": connections_cli.main,
    "redrive": redrive_cli.main,
}
STATUS_COLUMNS = (
    "connection_id",
    "app",
    "health",
    "last_sweep",
    "sweep_lag_s",
    "dead_letters",
    "open_conflicts",
    "ghl_daily_headroom_percent",
    "check",
)
CONFLICT_COLUMNS = (
    "conflict_id",
    "status",
    "connection_id",
    "entity",
    "ghl_id",
    "app_id",
    "fields",
    "opened_at",
)
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class CliError(Exception):
    """A command that cannot run (missing stack settings, an unknown connection): exit status 2."""


def duration(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d`."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 15m, 1h or 7d")
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ghlsync", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    status = commands.add_parser("status", help="per connection: health, sweep, DLQ, conflicts, GHL budget")
    status.add_argument("--connection", help="only this connection")
    status.add_argument("--json", action="store_true", help="JSON for scripts")

    audit = commands.add_parser("audit", help="the decisions taken, newest first (ids and field names)")
    audit_of = audit.add_subparsers(dest="subject", required=True)
    contact = audit_of.add_parser("contact", help="a contact's decisions, by its GHL id")
    contact.add_argument(
        "record_id", metavar="ID", help="the GHL contact id (or, with --connection, an app id)"
    )
    contact.add_argument("--connection", help="ID is this connection's app id (resolved through its link)")
    connection = audit_of.add_parser("connection", help="a connection's decisions in a time window")
    connection.add_argument("connection_id", metavar="CONN")
    connection.add_argument("--since", type=duration, default=timedelta(hours=1), help="e.g. 15m, 1h, 7d")
    connection.add_argument("--decision", choices=["applied", "echo", "conflict", "skipped", "failed"])
    for sub in (contact, connection):
        sub.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
        sub.add_argument("--json", action="store_true", help="JSON for scripts")

    conflicts = commands.add_parser("conflicts", help="fields edited on both sides: list, show, resolve")
    conflict_action = conflicts.add_subparsers(dest="action", required=True)
    listing = conflict_action.add_parser("list", help="open conflicts (newest first)")
    listing.add_argument("--connection", help="only this connection")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    show = conflict_action.add_parser("show", help="one conflict with both sides' values")
    show.add_argument("conflict_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="JSON for scripts")
    resolve = conflict_action.add_parser("resolve", help="keep one side's values; the sync writes them")
    resolve.add_argument("conflict_id", metavar="ID")
    resolve.add_argument("--keep", choices=["ghl", "app"], required=True, help="the side whose values win")

    for name, delegate in DELEGATED.items():
        sub = commands.add_parser(name, help=f"{delegate.__module__} (its own --help)", add_help=False)
        sub.add_argument("arguments", nargs=argparse.REMAINDER)
    return parser


class Stack:
    """The stores and queue one stack's commands read."""

    def __init__(self, table: "Table | None" = None, queue: SyncQueue | None = None) -> None:
        table = table if table is not None else sync_table()
        self.links = LinkStore(table)
        self.connections = ConnectionStore(table)
        self.tenants = TenantStore(table)
        self.checkpoints = CheckpointStore(table)
        self.conflicts = ConflictStore(table)
        self.audit = AuditStore(table)
        self._queue = queue

    @property
    def queue(self) -> SyncQueue:
        if self._queue is None:
            settings = get_settings()
            if not settings.sync_queue_url or not settings.sync_dlq_url:
                raise CliError("set SYNC_QUEUE_URL and SYNC_DLQ_URL (the stack's outputs)")
            self._queue = SyncQueue(
                sqs_client(), settings.sync_queue_url, settings.sync_dlq_url, receive_wait_seconds=0
            )
        return self._queue


def _emit(rows: list[dict[str, Any]], columns: Sequence[str], as_json: bool, out: TextIO) -> None:
    out.write(json.dumps(rows, indent=2, default=str) + "\n" if as_json else operate.table(rows, columns))


def status(args: argparse.Namespace, stack: Stack, out: TextIO, now: datetime) -> None:
    if args.connection:
        found = stack.connections.get(args.connection)
        if found is None:
            raise CliError(f"no connection {args.connection}")
        chosen = [found]
    else:
        chosen = list(stack.connections.all())
    letters = stack.queue.dead_letters(limit=10_000)
    rows = [
        operate.connection_health(
            connection,
            tenants=stack.tenants,
            checkpoints=stack.checkpoints,
            conflicts=stack.conflicts,
            audit=stack.audit,
            dead_letters=letters,
            now=now,
        ).as_dict()
        for connection in chosen
    ]
    _emit(rows, STATUS_COLUMNS, args.json, out)


def audit(args: argparse.Namespace, stack: Stack, out: TextIO, now: datetime) -> None:
    if args.subject == "contact":
        records = _contact_records(args.record_id, args.connection, stack)
    else:
        records = stack.audit.for_connection(
            args.connection_id, since=now - args.since, decision=args.decision, newest_first=True
        )
    _emit(operate.audit_rows(records, args.limit), operate.AUDIT_COLUMNS, args.json, out)


def _contact_records(record_id: str, connection_id: str | None, stack: Stack) -> Any:
    if connection_id is None:
        return stack.audit.for_record(record_id)
    link = stack.links.get(connection_id, EntityKind.CONTACT, Side.APP, record_id)
    if link is None:
        return stack.audit.for_record(record_id, connection_id=connection_id)
    return stack.audit.for_record(link.ghl.id)


def conflicts(args: argparse.Namespace, stack: Stack, out: TextIO, now: datetime) -> None:
    if args.action == "list":
        ids = [args.connection] if args.connection else [c.connection_id for c in stack.connections.all()]
        status_filter = None if args.all else ConflictStatus.OPEN
        rows = [
            operate.conflict_summary(conflict)
            for connection_id in ids
            for conflict in stack.conflicts.for_connection(connection_id, status=status_filter)
        ]
        _emit(rows, CONFLICT_COLUMNS, args.json, out)
        return
    conflict = stack.conflicts.get(args.conflict_id)
    if args.action == "show":
        if args.json:
            out.write(conflict.model_dump_json(indent=2) + "\n")
            return
        out.write(operate.table([operate.conflict_summary(conflict)], CONFLICT_COLUMNS))
        values = [
            {"field": name, "ghl": json.dumps(v.ghl), conflict.app: json.dumps(v.app)}
            for name, v in sorted(conflict.fields.items())
        ]
        out.write("\n" + operate.table(values, ("field", "ghl", conflict.app)))
        return
    try:
        event = operate.resolution_event(conflict, args.keep, now)
    except ValueError as refused:
        raise CliError(str(refused)) from None
    stack.queue.enqueue(event)
    kept = "ghl" if args.keep == "ghl" else conflict.app
    out.write(
        f"queued: conflict {conflict.conflict_id} keeps {kept}'s values; the sync writes them "
        f"(`ghlsync conflicts show {conflict.conflict_id}` says when it is resolved)\n"
    )


COMMANDS: dict[str, Callable[[argparse.Namespace, Stack, TextIO, datetime], None]] = {
    "status": status,
    "audit": audit,
    "conflicts": conflicts,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stack: Stack | None = None,
    out: TextIO = sys.stdout,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in DELEGATED:
        return DELEGATED[arguments[0]](arguments[1:])
    args = _parser().parse_args(arguments)
    try:
        COMMANDS[args.command](args, stack or Stack(), out, now())
    except (CliError, ConflictNotFound) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
