"""Serve the Payaca fake on 127.0.0.1 for manual runs.

    python -m sandbox.apps.payaca --port 8084 --client-id dev-payaca-client --client-secret dev-payaca-secret

The API is at http://127.0.0.1:<port>/v1, the admin API at /_sandbox/. Queued webhooks are posted
(and retried on 5xx/timeouts) by a background thread every --deliver-interval seconds.
"""

import argparse
import sys

from sandbox.apps.payaca.sandbox import PayacaSandbox
from sandbox.fakes.server import run_from_command_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.apps.payaca", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=8084)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--client-id", default="dev-payaca-client")
    parser.add_argument("--client-secret", default="dev-payaca-secret")
    parser.add_argument("--webhook-url", help="where to POST signed webhooks (none: not sent)")
    parser.add_argument("--webhook-secret", default="dev-payaca-webhook-secret")
    parser.add_argument("--seed", type=int, default=0, help="fault injection seed")
    parser.add_argument("--deliver-interval", type=float, default=0.5, help="seconds between deliveries")
    args = parser.parse_args(argv)

    sandbox = PayacaSandbox(seed=args.seed, base_url=f"http://{args.host}:{args.port}/v1")
    sandbox.add_client(args.client_id, args.client_secret)
    if args.webhook_url:
        sandbox.register_webhook(args.webhook_url, secret=args.webhook_secret)
    return run_from_command_line(
        sandbox,
        host=args.host,
        port=args.port,
        name="payaca",
        delivery_interval_s=args.deliver_interval,
        describe=lambda url: f"Payaca sandbox on {url}/v1 (client {args.client_id})",
    )


if __name__ == "__main__":
    sys.exit(main())
