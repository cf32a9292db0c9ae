"""The ``runql`` console script's launcher: tiny, so that nothing can fail before it guards the start-up.

Importing the client (pandas, pydantic, httpx) takes a noticeable fraction of a second; a Ctrl-C in that
window would otherwise end with a traceback. :func:`main` imports :mod:`client.cli` inside its guard, then
hands over. ``python -m runql`` works too. The API lives in :mod:`client`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``runql`` with ``argv`` (default: the command line); returns the exit code."""
    try:
        from client.cli import main as run_cli
    except KeyboardInterrupt:
        print("runql: interrupted", file=sys.stderr)
        return 130
    return run_cli(argv)
