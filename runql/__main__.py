"""``python -m runql``: the ``runql`` command."""

import sys

from runql import main

if __name__ == "__main__":
    sys.exit(main())
