import sys

from sandbox.demo.scenario import main

sys.exit(main())
