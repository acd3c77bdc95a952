"""`python -m experiments.bench`: the same as the sweep-bench command."""

import sys

from experiments.bench.cli import main

sys.exit(main())
