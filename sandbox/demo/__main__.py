"""`python -m sandbox.demo` (what `make demo` runs)."""

import sys

from sandbox.demo.scenario import main

sys.exit(main())
