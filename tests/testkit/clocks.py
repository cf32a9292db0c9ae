"""A clock tests advance by hand instead of sleeping on the wall clock.

>>> clock = FakeClock(1000.0)
>>> clock.advance(2.5)
>>> clock()
1002.5
"""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]


class FakeClock:
    """Seconds, as ``time.time`` or ``time.monotonic`` give them, that only move when :meth:`advance` is called."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, got {seconds}")
        with self._lock:
            self._now += seconds
