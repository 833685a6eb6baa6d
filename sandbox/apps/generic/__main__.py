"""Serve the generic fake app on 127.0.0.1 for manual runs, in style A or B.

    python -m sandbox.apps.generic --style a --port 8086 --webhook-url http://127.0.0.1:8080/webhooks/generic/conn-dev-generic

Style A's API is at http://127.0.0.1:<port>/api/v1 (bearer `dev-generic-token`), style B's at
/b (`?api_key=dev-generic-b-key`); the admin API (records as an app user, webhooks, rate limit,
faults, clock) at /_sandbox/. Style A's webhooks are posted (and retried on 429/5xx/no answer) by
a background thread every --deliver-interval seconds.
"""

import argparse
import sys

from sandbox.apps.generic.sandbox import STYLES, GenericSandbox
from sandbox.apps.generic.stack import DEV_API_KEY, DEV_PORTS, DEV_TOKEN, DEV_WEBHOOK_SECRET
from sandbox.fakes.server import run_from_command_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.apps.generic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--style", choices=sorted(STYLES), default="a")
    parser.add_argument("--port", type=int, help="default: 8086 for style A, 8087 for style B")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--key", help=f"the accepted credential (default: {DEV_TOKEN} / {DEV_API_KEY})")
    parser.add_argument("--webhook-url", help="style A: where to POST signed webhooks (none: not sent)")
    parser.add_argument("--webhook-secret", default=DEV_WEBHOOK_SECRET)
    parser.add_argument("--rate-limit", type=int, help="API requests per minute (default: no limit)")
    parser.add_argument("--seed", type=int, default=0, help="fault injection seed")
    parser.add_argument("--deliver-interval", type=float, default=0.5, help="seconds between deliveries")
    args = parser.parse_args(argv)
    if args.webhook_url and args.style != "a":
        parser.error("--webhook-url: style B sends no webhooks")
    port = DEV_PORTS[args.style] if args.port is None else args.port
    key = args.key or (DEV_TOKEN if args.style == "a" else DEV_API_KEY)

    sandbox = GenericSandbox(args.style, seed=args.seed, origin=f"http://{args.host}:{port}")
    sandbox.add_key(key)
    if args.rate_limit is not None:
        sandbox.limiter.configure(args.rate_limit)
    if args.webhook_url:
        sandbox.register_webhook(args.webhook_url, secret=args.webhook_secret)
    return run_from_command_line(
        sandbox,
        host=args.host,
        port=port,
        name=f"generic-{args.style}",
        delivery_interval_s=args.deliver_interval,
        describe=lambda url: (
            f"generic app (style {args.style.upper()}) on {url}{sandbox.style.api_path} (key {key})"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
