"""The `connections_cli` command line: every command and its options, in one place."""

import argparse
from pathlib import Path

from ghlsync.apps.registry import app_names
from ghlsync.connections_cli.common import API_URL_PLACEHOLDER
from ghlsync.ghl.client import MAX_PAGE_SIZE
from ghlsync.store.connections import BackfillOnCreate, ConflictPolicy, DeletePolicy


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ghlsync.connections_cli", description=description)
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
    _contact_job_options(bulk)
    refresh = commands.add_parser(
        "refresh", help="the scheduled business-enriched refresh, now (resumable, within GHL's budget)"
    )
    refresh.add_argument("connection_id")
    _contact_job_options(refresh)
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


def _contact_job_options(job: argparse.ArgumentParser) -> None:
    """What `bulk-sync` and `refresh` (the resumable contact jobs) both take."""
    job.add_argument("--restart", action="store_true", help="start over instead of resuming")
    job.add_argument("--json", action="store_true", help="print the summary as JSON, no progress")
    job.add_argument(
        "--page-size", type=_page_size, default=MAX_PAGE_SIZE, help="contacts per GHL search call (1-100)"
    )


def _page_size(value: str) -> int:
    size = int(value) if value.strip().isdigit() else 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"a page holds 1 to {MAX_PAGE_SIZE} contacts, not {value!r}")
    return size


def _tag(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("a tag must not be empty")
    return value.strip()
