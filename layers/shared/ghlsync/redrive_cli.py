"""Operators' shell access to the dead-letter queue (the same operations as the dlq_redrive function).

    python -m ghlsync.redrive_cli list    [--location L] [--connection C] [--type T]
                                          [--after ISO] [--before ISO] [--max N]
    python -m ghlsync.redrive_cli redrive [same filters]

Reads SYNC_QUEUE_URL / SYNC_DLQ_URL (or --queue-url / --dlq-url) and the usual AWS environment.
Prints JSON. Exit status: 0 done, 1 a redrive stopped early, 2 bad arguments.
"""

import argparse
import json
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from ghlsync.config import get_settings
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
    return parser


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
    print(json.dumps(result, indent=2, default=str))
    return 1 if result.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
