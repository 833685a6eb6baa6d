"""`python -m ghlsync.connections_cli`."""

from ghlsync.connections_cli import main

raise SystemExit(main())
