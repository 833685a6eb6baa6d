"""`python -m sandbox.ghl --port 8081 --location-id LOC --token TOKEN [--host 127.0.0.1]`"""

import argparse
import sys

from sandbox.fakes.server import run_from_command_line
from sandbox.ghl.sandbox import GhlSandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.ghl",
        description="A local fake of the GoHighLevel API v2 serving one location (more via /_sandbox/).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--location-id", required=True, help="the location to create")
    parser.add_argument("--token", required=True, help="the location's private-integration token")
    parser.add_argument(
        "--allow-duplicates", action="store_true", help="the location allows duplicate contacts"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for ids, keys and faults")
    parser.add_argument("--seed-contacts", type=int, default=0, help="create this many contacts at start")
    parser.add_argument(
        "--webhook-url", action="append", default=[], help="extra webhook target (repeatable)"
    )
    parser.add_argument("--sign-rsa", action="store_true", help="also send the legacy x-wh-signature")
    parser.add_argument("--not-found-status", type=int, choices=(400, 404), default=404)
    parser.add_argument("--country", default="US", help="the location's country (ISO alpha-2) for phones")
    parser.add_argument(
        "--retry-after-on-429", action="store_true", help="send Retry-After on 429s (GHL documents none)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sandbox = GhlSandbox(
        seed=args.seed,
        sign_rsa=args.sign_rsa,
        not_found_status=args.not_found_status,
        retry_after_on_429=args.retry_after_on_429,
    )
    sandbox.add_location(
        args.location_id, token=args.token, allow_duplicates=args.allow_duplicates, country=args.country
    )
    for url in args.webhook_url:
        sandbox.register_webhook(url)
    if args.seed_contacts:
        sandbox.seed(args.location_id, args.seed_contacts)
    return run_from_command_line(
        sandbox,
        host=args.host,
        port=args.port,
        name="ghl-sandbox",
        describe=lambda url: (
            f"GHL sandbox on {url} (location {args.location_id}); admin API under /_sandbox/"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
