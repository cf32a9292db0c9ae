"""``python -m backend``: the same as ``runql serve``; SIGTERM and Ctrl-C stop it at any moment, start-up included."""

import signal
import sys
from types import FrameType

from backend.cli import main


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        status = main(sys.argv[1:])
    except KeyboardInterrupt:
        status = 128 + signal.SIGINT
    sys.exit(status)
