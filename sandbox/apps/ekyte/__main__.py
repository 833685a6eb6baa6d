"""Serve the eKyte fake on 127.0.0.1 for manual runs.

    python -m sandbox.apps.ekyte --port 8083

`make dev`'s company (1001, key dev-ekyte-api-key, user sync-agent@dev.example, MCP token
dev-ekyte-mcp-token, workspace 101, task type 11, executor executor@dev.example) is set up. The
integration API is at http://127.0.0.1:<port>/n8n (and /zapier), the BI API at /v1.x, MCP at
/mcp, the admin API (changes made "in eKyte", clock, faults, request log) at /_sandbox/.
"""

import argparse
import sys

from sandbox.apps.ekyte.sandbox import EkyteSandbox
from sandbox.apps.ekyte.stack import API_KEY, COMPANY_ID, DEV_PORT, dev_company
from sandbox.fakes.server import run_from_command_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.apps.ekyte", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEV_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0, help="fault injection seed")
    args = parser.parse_args(argv)

    sandbox = EkyteSandbox(seed=args.seed, base_url=f"http://{args.host}:{args.port}")
    dev_company(sandbox)
    return run_from_command_line(
        sandbox,
        host=args.host,
        port=args.port,
        name="ekyte",
        describe=lambda url: f"eKyte sandbox on {url}/n8n (CompanyId {COMPANY_ID}, apiKey {API_KEY})",
    )


if __name__ == "__main__":
    sys.exit(main())
