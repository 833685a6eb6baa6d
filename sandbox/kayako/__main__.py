"""Serve the Kayako fake on 127.0.0.1 for manual runs and the dev stack.

    python -m sandbox.kayako --port 8082 --email agent@example.com --password secret

The API is at http://127.0.0.1:<port>/api/v1, the admin API at /_sandbox/. Queued automation
payloads are posted by a background thread every --deliver-interval seconds.
"""

import argparse
import errno
import sys
import threading

from werkzeug.serving import make_server

from sandbox.kayako.sandbox import KayakoSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kayako", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--email", default="agent@example.com", help="agent login (Basic auth)")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--seed", type=int, default=0, help="fault injection seed")
    parser.add_argument("--deliver-interval", type=float, default=0.5, help="seconds between automation runs")
    args = parser.parse_args(argv)

    sandbox = KayakoSandbox(seed=args.seed, base_url=f"http://{args.host}:{args.port}/api/v1")
    sandbox.add_agent(args.email, args.password)
    try:
        server = make_server(args.host, args.port, sandbox.wsgi_app, threaded=True)
    except (OSError, SystemExit) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        print(
            f"error: cannot listen on {args.host}:{args.port} (port busy?); pick another with --port",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()

    def deliver_loop() -> None:
        while not stop.wait(args.deliver_interval):
            sandbox.deliver_automations()

    threading.Thread(target=deliver_loop, name="kayako-automations", daemon=True).start()
    print(f"Kayako sandbox on http://{args.host}:{args.port}/api/v1 (agent {args.email})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
