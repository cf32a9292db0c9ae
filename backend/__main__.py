"""``python -m backend``: the same as ``runql serve``."""

import sys

from backend.cli import main

sys.exit(main(sys.argv[1:]))
