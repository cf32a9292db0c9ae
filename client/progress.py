"""Progress bars for multi-request calls, through ``tqdm.auto`` (a text bar on a terminal, a widget in Jupyter).

The API's ``progress=`` takes ``False``/``None`` (no bar, the default), ``True`` (a ``tqdm.auto`` bar) or a
callable ``progress(done, total)``. :func:`reporting` turns that into the callback an operation calls, and closes
the bar afterwards. A bar appears once there is more than one request to wait for.

>>> import io
>>> out = io.StringIO()
>>> with reporting(True, "pages", file=out) as report:
...     report(1, 2)
...     report(2, 2)
>>> "pages" in out.getvalue() and "2/2" in out.getvalue()
True
>>> with reporting(False, "pages") as report:
...     report is None
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from client.errors import ArgumentTypeError

__all__ = [
    "Progress",
    "ProgressBar",
    "ProgressOption",
    "RequestCounter",
    "job_reporting",
    "on_terminal",
    "reporting",
]

#: ``progress(done, total)``: requests completed so far, of ``total``.
Progress = Callable[[int, int], None]
#: What the API's ``progress=`` accepts.
ProgressOption = bool | Progress | None


class ProgressBar:
    """A ``tqdm.auto`` bar driven by ``(done, total)`` calls; created on the first call with ``total > 1``."""

    def __init__(self, what: str, *, file: IO[str] | None = None, unit: str = "request") -> None:
        self.what, self.file, self.unit = what, file, unit
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total <= 1:
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=self.what, unit=self.unit, file=self.file, leave=True)
        if self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def note(self, state: str) -> None:
        """Show ``state`` (``"finishing"``) next to the bar."""
        if self._bar is not None:
            self._bar.set_postfix_str(state)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class RequestCounter:
    """Counts requests as they complete (``tick``, e.g. a batch's ``on_each``) and reports ``progress(done,
    total)``; ``done`` starts at the requests already reported by someone else (a listing before it).

    >>> seen = []
    >>> counter = RequestCounter(lambda *p: seen.append(p), total=3, done=1)
    >>> counter.tick(); counter.tick(); seen
    [(2, 3), (3, 3)]
    """

    def __init__(self, progress: Progress | None, *, total: int, done: int = 0) -> None:
        self.progress, self.total, self.done = progress, total, done

    def report(self) -> None:
        """Report where the count stands (e.g. ``0`` of the total before the first request)."""
        if self.progress is not None:
            self.progress(self.done, self.total)

    def tick(self) -> None:
        self.done += 1
        self.report()

    def skip(self, count: int) -> None:
        """``count`` planned requests turned out unnecessary: they count as done, one by one."""
        for _ in range(count):
            self.tick()


@contextlib.contextmanager
def reporting(option: ProgressOption, what: str, *, file: IO[str] | None = None) -> Iterator[Progress | None]:
    """The ``progress(done, total)`` callback for ``option`` (``None`` when off); a bar is closed on exit."""
    if option is None or option is False:
        yield None
        return
    if option is True:
        bar = ProgressBar(what, file=file)
        try:
            yield bar
        finally:
            bar.close()
        return
    if not callable(option):
        raise ArgumentTypeError(f"progress must be True, False or a callable(done, total), got {option!r}")
    yield option


def on_terminal(err: IO[str], what: str) -> contextlib.AbstractContextManager[Progress | None]:
    """The CLI's default: a bar on ``err`` when it is a terminal, else nothing."""
    return reporting(err.isatty(), what, file=err)


@contextlib.contextmanager
def job_reporting(
    option: ProgressOption,
    what: str,
    *,
    also: Callable[[float | str | None], None] | None = None,
    file: IO[str] | None = None,
) -> Iterator[Callable[[float | str | None], None] | None]:
    """The ``show(fraction | state | None)`` callback of a job the service reports as a fraction (``None``:
    queued; a state such as ``"finishing"`` is shown next to the bar): ``option`` as in :func:`reporting` (in
    percent, of 100), and ``also`` called as it is.

    >>> import io
    >>> out = io.StringIO()
    >>> with job_reporting(True, "json_portal job", file=out) as show:
    ...     show(None); show(0.5); show(1.0)
    >>> "json_portal job" in out.getvalue() and "100/100" in out.getvalue()
    True
    """
    with reporting(option, what, file=file) as report:
        if report is None and also is None:
            yield None
            return

        def show(done: float | str | None) -> None:
            if also is not None:
                also(done)
            if isinstance(done, str):
                if isinstance(report, ProgressBar):
                    report.note(done)
            elif report is not None:
                report(0 if done is None else round(100 * min(max(done, 0.0), 1.0)), 100)

        yield show
