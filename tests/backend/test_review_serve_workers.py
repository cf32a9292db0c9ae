"""Review of the worker pool handlers run on: every outcome of the work reaches its caller, in bounded time."""

from __future__ import annotations

import asyncio

import pytest

from backend.workers import WorkerPool

#: Seconds a call may take before the test calls it hung (the work itself is instant).
BOUND = 10.0


def stop_iteration() -> None:
    raise StopIteration("from a bare next() in a handler")


def test_stop_iteration_in_the_work_is_raised_to_the_caller_not_left_hanging() -> None:
    """An asyncio future refuses StopIteration (TypeError in the loop's callback), so the call never settled; it
    arrives as a RuntimeError caused by it, as anyio's thread pool (used before) delivered it."""
    pool = WorkerPool(1, name="test-pool-stop-iteration")

    async def main() -> None:
        with pytest.raises(RuntimeError) as raised:
            await asyncio.wait_for(pool.run(stop_iteration), BOUND)
        assert isinstance(raised.value.__cause__, StopIteration)
        assert await asyncio.wait_for(pool.run(lambda: "still serving"), BOUND) == "still serving"
        returned = StopIteration("a value like any other")
        assert await asyncio.wait_for(pool.run(lambda: returned), BOUND) is returned

    try:
        asyncio.run(main())
    finally:
        pool.close()
