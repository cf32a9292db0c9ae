"""Progress lines on a terminal's stderr for the CLI (nothing at all when stderr is not a terminal).

>>> import io
>>> counter(io.StringIO(), "pages") is None            # not a terminal: no progress output
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

__all__ = ["counter", "fraction"]


def counter(err: IO[str], what: str) -> Callable[[int, int], None] | None:
    """``show(done, total)`` printing ``fetching <what> done/total`` in place, or ``None`` off a terminal."""
    if not err.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total > 1:
            end = "\n" if done == total else ""
            print(f"\rfetching {what} {done}/{total}", end=end, file=err, flush=True)

    return show


def fraction(err: IO[str], what: str) -> Callable[[float | str | None], None] | None:
    """``show(fraction | state | None)`` for a job the service reports as a fraction (``None``: queued; a string
    such as ``"finishing"`` is shown as it is)."""
    if not err.isatty():
        return None

    def show(done: float | str | None) -> None:
        state = "queued" if done is None else done if isinstance(done, str) else f"{100 * done:5.1f}%"
        end = "\n" if isinstance(done, (int, float)) and done >= 1 else ""
        print(f"\r{what}: {state}", end=end, file=err, flush=True)

    return show
