"""Serve the Kayako fake on 127.0.0.1 for manual runs.

    python -m sandbox.apps.kayako --port 8082 --email agent@example.com --password secret

The API is at http://127.0.0.1:<port>/api/v1, the admin API at /_sandbox/. Queued automation
payloads are posted by a background thread every --deliver-interval seconds.
"""

import argparse
import sys

from sandbox.apps.kayako.sandbox import KayakoSandbox
from sandbox.fakes.server import run_from_command_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.apps.kayako", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--email", default="agent@example.com", help="agent login (Basic auth)")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--seed", type=int, default=0, help="fault injection seed")
    parser.add_argument("--deliver-interval", type=float, default=0.5, help="seconds between automation runs")
    args = parser.parse_args(argv)

    sandbox = KayakoSandbox(seed=args.seed, base_url=f"http://{args.host}:{args.port}/api/v1")
    sandbox.add_agent(args.email, args.password)
    return run_from_command_line(
        sandbox,
        host=args.host,
        port=args.port,
        name="kayako",
        delivery_interval_s=args.deliver_interval,
        describe=lambda url: f"Kayako sandbox on {url}/api/v1 (agent {args.email})",
    )


if __name__ == "__main__":
    sys.exit(main())
