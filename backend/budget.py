"""Time budgets: the work of one request or json_portal job stops when its time is up or the server stops.

A :class:`Budget` is made current for the code running one request (:meth:`Budget.running`); every SQLite
connection of the store calls :func:`sqlite_progress` every few thousand virtual-machine steps (installed by
:func:`install`), which interrupts the statement once the current budget is spent or the server is stopping.
Python loops check :meth:`Budget.check` themselves. Either way the caller gets :class:`BudgetExceededError`, answered
like every request error: HTTP 500 ``{"err": message}``.

>>> import sqlite3, threading
>>> conn = sqlite3.connect(":memory:")
>>> install(conn)
>>> endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
>>> budget = Budget(seconds=0.05, stop=threading.Event())
>>> with budget.running():
...     run_guarded(budget, lambda: conn.execute(endless).fetchall())
Traceback (most recent call last):
...
backend.budget.BudgetExceededError: the request took longer than its 0.05 s time budget
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final, TypeVar

from backend.errors import RequestError

__all__ = ["PROGRESS_STEPS", "Budget", "BudgetExceededError", "install", "run_guarded", "sqlite_progress"]

T = TypeVar("T")

#: SQLite virtual-machine instructions between two budget checks (a check costs well under a microsecond).
PROGRESS_STEPS: Final = 2000
_CURRENT: ContextVar[Budget | None] = ContextVar("runql_budget", default=None)


class BudgetExceededError(RequestError):
    """The work ran out of time, or the server is stopping."""


class Budget:
    """``seconds`` from now (on ``clock``) for one request or job; ``stop`` set means the server is stopping."""

    def __init__(
        self,
        seconds: float,
        stop: threading.Event,
        *,
        what: str = "request",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.stop = stop
        self.what = what
        self.clock = clock
        self.deadline = clock() + seconds

    def spent(self) -> bool:
        """Whether the time is up or the server is stopping."""
        return self.stop.is_set() or self.clock() >= self.deadline

    def error(self) -> BudgetExceededError:
        """The error to raise once :meth:`spent`."""
        if self.stop.is_set():
            return BudgetExceededError(f"the {self.what} was cancelled: the server is stopping")
        return BudgetExceededError(f"the {self.what} took longer than its {self.seconds:g} s time budget")

    def check(self) -> None:
        """Raise :class:`BudgetExceededError` once :meth:`spent` (for Python loops)."""
        if self.spent():
            raise self.error()

    @contextmanager
    def running(self) -> Iterator[Budget]:
        """Make this budget the current one (in this thread or task) for SQLite statements."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


def sqlite_progress() -> int:
    """SQLite's progress handler: non-zero (interrupt the statement) once the current budget is spent."""
    budget = _CURRENT.get()
    return int(budget is not None and budget.spent())


def install(conn: sqlite3.Connection) -> None:
    """Make ``conn``'s statements stop when the current budget is spent."""
    conn.set_progress_handler(sqlite_progress, PROGRESS_STEPS)


def run_guarded(budget: Budget, work: Callable[[], T]) -> T:
    """``work()``, with an interrupted statement reported as :class:`BudgetExceededError` when the budget caused it."""
    try:
        return work()
    except sqlite3.OperationalError:
        if budget.spent():
            raise budget.error() from None
        raise
