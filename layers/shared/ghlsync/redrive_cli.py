"""Operators' shell access to the dead-letter queue (the same operations as the dlq_redrive function).

    python -m ghlsync.redrive_cli list    [--location L] [--connection C] [--type T]
                                          [--after ISO] [--before ISO] [--max N] [--json]
    python -m ghlsync.redrive_cli redrive [same filters]

Reads SYNC_QUEUE_URL / SYNC_DLQ_URL (or --queue-url / --dlq-url) and the usual AWS environment.
`list` prints a table (one dead letter a line, with its reason), or JSON with --json; `redrive`
prints its report as JSON. Exit status: 0 done, 1 a redrive stopped early, 2 bad arguments.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ghlsync.config import get_settings
from ghlsync.operate import table
from ghlsync.queue import RedriveRequest, SyncQueue, handle_redrive_request, sqs_client


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ghlsync.redrive_cli", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["list", "redrive"])
    parser.add_argument("--location", dest="location_id")
    parser.add_argument("--connection", dest="connection_id")
    parser.add_argument("--type", dest="event_type", help="source event name, e.g. ContactCreate")
    parser.add_argument("--after", dest="occurred_after", help="ISO 8601 with offset (event time)")
    parser.add_argument("--before", dest="occurred_before", help="ISO 8601 with offset")
    parser.add_argument("--max", type=int, default=100)
    parser.add_argument("--queue-url")
    parser.add_argument("--dlq-url")
    parser.add_argument("--json", action="store_true", help="list: JSON for scripts instead of a table")
    return parser


LIST_COLUMNS = ("message_id", "failed_at", "location_id", "connection_id", "event_type", "entity", "failure")


def _letter_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for letter in result["dead_letters"]:
        event = letter.get("event") or {}
        rows.append(
            {
                "message_id": letter["message_id"],
                "failed_at": letter.get("failed_at"),
                "location_id": event.get("location_id"),
                "connection_id": event.get("connection_id"),
                "event_type": event.get("event_type"),
                "entity": event.get("entity"),
                "failure": f"{letter['failure_kind']}: {letter['failure_reason']}",
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    filters = {
        name: getattr(arguments, name)
        for name in ("location_id", "connection_id", "event_type", "occurred_after", "occurred_before")
        if getattr(arguments, name) is not None
    }
    try:
        request = RedriveRequest.model_validate(
            {"action": arguments.action, "filter": filters, "max": arguments.max}
        )
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = get_settings()
    queue_url = arguments.queue_url or settings.sync_queue_url
    dlq_url = arguments.dlq_url or settings.sync_dlq_url
    if not queue_url or not dlq_url:
        print(
            "error: set SYNC_QUEUE_URL and SYNC_DLQ_URL, or pass --queue-url and --dlq-url", file=sys.stderr
        )
        return 2
    queue = SyncQueue(
        sqs_client(), queue_url, dlq_url, receive_wait_seconds=settings.dlq_receive_wait_seconds
    )
    result = handle_redrive_request(queue, request)
    if request.action == "list" and not arguments.json:
        sys.stdout.write(table(_letter_rows(result), LIST_COLUMNS))
        return 0
    print(json.dumps(result, indent=2, default=str))
    return 1 if result.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
