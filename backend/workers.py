"""A bounded pool of worker threads that request handlers run on, awaited from the event loop.

A call costs one put on a C queue and one wake-up of the event loop when the answer is ready (``anyio``'s
``to_thread.run_sync`` with a capacity limiter costs about twice as much CPU per call). Threads start on demand,
at most ``size`` of them, so at most ``size`` calls run at once and the others wait in the queue; a thread idle for
``idle_seconds`` ends, and :meth:`WorkerPool.close` ends them all. A caller that is cancelled stops waiting at once;
its work still runs to its end (handlers stop early through their own time budget).

>>> import asyncio
>>> pool = WorkerPool(2)
>>> asyncio.run(pool.run(lambda: 6 * 7))
42
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from querylang.errors import ArgumentError

__all__ = ["WorkerPool"]

T = TypeVar("T")

#: A unit of work, the loop awaiting it and the future its outcome is set on.
_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class WorkerPool:
    """At most ``size`` daemon threads running the callables given to :meth:`run`, in arrival order."""

    def __init__(self, size: int, *, idle_seconds: float = 10.0, name: str = "runql-worker") -> None:
        if size < 1:
            raise ArgumentError(f"a worker pool needs at least one thread, got {size}")
        self.size = size
        self.idle_seconds = idle_seconds
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._pending = 0  # jobs queued or running
        self._closed = False

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on a worker thread; its value, or its exception raised here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            self._pending += 1
            start = self._pending > self._threads and self._threads < self.size
            self._threads += start
        if start:
            self._start_thread()
        self._jobs.put((work, loop, future))
        return await future

    def _start_thread(self) -> None:
        try:
            threading.Thread(target=self._work, name=self.name, daemon=True).start()
        except BaseException:  # no thread (the system's limit): this call fails, the pool's counts stay true
            with self._lock:
                self._threads -= 1
                self._pending -= 1
            raise

    def close(self) -> None:
        """End every thread once the work queued before has run; later :meth:`run` calls raise ``RuntimeError``."""
        with self._lock:
            self._closed, threads = True, self._threads
        for _ in range(threads):
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._next()) is not None:
            work, loop, future = job
            try:
                outcome, failed = work(), False
            except BaseException as exc:  # delivered to the awaiting task, which raises it
                outcome, failed = exc, True
            with self._lock:
                self._pending -= 1
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for this answer any more
                loop.call_soon_threadsafe(_settle, future, outcome, failed)
            del job, work, outcome  # drop references before waiting for the next job

    def _next(self) -> _Job | None:
        """The next job; ``None`` when this thread should end (closed, or idle while others can take the work)."""
        while True:
            try:
                job = self._jobs.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._pending < self._threads:  # the other threads are enough for the work there is
                        self._threads -= 1
                        return None
                continue
            if job is None:
                with self._lock:
                    self._threads -= 1
            return job


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.cancelled():
        return
    if not failed:
        future.set_result(outcome)
    elif isinstance(outcome, StopIteration):  # a future refuses it (TypeError here), and would never settle
        error = RuntimeError(f"the work raised StopIteration: {outcome}")
        error.__cause__ = outcome
        future.set_exception(error)
    else:
        future.set_exception(outcome)
