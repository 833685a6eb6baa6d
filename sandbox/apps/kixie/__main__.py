"""Serve the Kixie fake on 127.0.0.1 for manual runs.

    python -m sandbox.apps.kixie --port 8085 --apikey dev-kixie-api-key --businessid 2001

The event API is at http://127.0.0.1:<port>/app/event, webhook management at /app/v1/api/, the
admin API (PowerList contents, emitters, recorded calls/texts, quota) at /_sandbox/. Emitted
webhooks are posted by a background thread every --deliver-interval seconds, once each.
"""

import argparse
import sys

from sandbox.apps.kixie.sandbox import KixieSandbox
from sandbox.apps.kixie.stack import API_KEY, BUSINESS_ID, DEV_PORT, POWERLIST_ID, POWERLIST_NAME
from sandbox.fakes.server import run_from_command_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.apps.kixie", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEV_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--apikey", default=API_KEY)
    parser.add_argument("--businessid", default=BUSINESS_ID)
    parser.add_argument("--powerlist", default=POWERLIST_ID, help="the id of the account's PowerList")
    parser.add_argument("--daily-limit", type=int, default=10_000, help="API calls per UTC day")
    parser.add_argument("--seed", type=int, default=0, help="fault injection and id seed")
    parser.add_argument("--deliver-interval", type=float, default=0.5, help="seconds between deliveries")
    args = parser.parse_args(argv)
    if args.daily_limit < 1:
        parser.error("--daily-limit is at least 1")

    sandbox = KixieSandbox(
        seed=args.seed, base_url=f"http://{args.host}:{args.port}", daily_limit=args.daily_limit
    )
    sandbox.add_account(args.businessid, args.apikey, powerlists={args.powerlist: POWERLIST_NAME})
    return run_from_command_line(
        sandbox,
        host=args.host,
        port=args.port,
        name="kixie",
        delivery_interval_s=args.deliver_interval,
        describe=lambda url: (
            f"Kixie sandbox on {url}/app/event (businessid {args.businessid}, PowerList {args.powerlist})"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
