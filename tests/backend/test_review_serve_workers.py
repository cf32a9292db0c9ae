"""Review of the worker pool handlers run on and of the request budgets: every outcome of the work reaches its
caller in bounded time, and time spent waiting for a thread counts."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import threading

import httpx
import pytest
from testkit.clocks import FakeClock

from backend.app import Limits, _Runner
from backend.budget import BudgetExceededError
from backend.errors import Answer
from backend.server import EmbeddedServer
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


class Blocker:
    """Work that holds the pool's only thread until the test lets it go."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self) -> Answer:
        self.started.set()
        assert self.release.wait(BOUND)
        return 200, "first"


@pytest.mark.parametrize(
    ("stopping", "error"),
    [
        (False, "the request took longer than its 30 s time budget"),
        (True, "the request was cancelled: the server is stopping"),
    ],
)
def test_a_request_that_waited_past_its_budget_for_a_thread_is_refused_unrun(stopping: bool, error: str) -> None:
    """The budget starts when the request arrives, not when a thread takes it (an injected clock, no sleeping)."""
    clock, stop, blocker, ran = FakeClock(), threading.Event(), Blocker(), []
    runner = _Runner(Limits(workers=1, request_seconds=30), stop, clock=clock)

    def second() -> Answer:
        ran.append("second")
        return 200, "second"

    async def main() -> None:
        first = asyncio.ensure_future(runner.run(blocker))
        assert await asyncio.to_thread(blocker.started.wait, BOUND)
        waiting = asyncio.ensure_future(runner.run(second))
        await asyncio.sleep(0)  # the second request arrived: its budget runs from now
        clock.advance(29.0)
        if stopping:
            stop.set()
        else:
            clock.advance(1.0)
        blocker.release.set()
        assert await asyncio.wait_for(first, BOUND) == (200, "first")  # it had started in time
        with pytest.raises(BudgetExceededError, match=error):
            await asyncio.wait_for(waiting, BOUND)

    try:
        asyncio.run(main())
    finally:
        runner.pool.close()
    assert not ran


def test_clients_leaving_at_any_moment_leave_the_server_serving(
    server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Clients that leave while sending, right after sending, after the first bytes of a large reply, or with a
    reset: nothing is logged as an error and the next request is answered in full."""
    body = json.dumps({"page": 0, "page_size": 1000, "filter": {}, "sortings": []}).encode()
    request = b"POST /runs_filtered_ordered HTTP/1.1\r\nhost: rr\r\ncontent-type: application/json\r\n"
    request += b"content-length: %d\r\n\r\n%s" % (len(body), body)

    def leave(how: str) -> None:
        with socket.create_connection((server.host, server.port), timeout=BOUND) as conn:
            conn.sendall(request[:-5] if how == "sending" else request)
            if how == "reading":
                assert conn.recv(100).startswith(b"HTTP/1.1 200")
            if how == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    before = server.stats["requests"].get("/runs_filtered_ordered", 0)
    with caplog.at_level(logging.WARNING):
        clients = [threading.Thread(target=leave, args=(how,)) for how in ["sending", "sent", "reading", "reset"] * 5]
        for client in clients:
            client.start()
        for client in clients:
            client.join(BOUND)
        reply = httpx.post(f"{server.url}/runs_filtered_ordered", content=body, timeout=BOUND)
    assert reply.status_code == 200
    assert len(reply.json()["runs"]) == reply.json()["count"] > 0
    reached = server.stats["requests"]["/runs_filtered_ordered"] - before  # a reset may discard a request unread
    assert 11 <= reached <= 21
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
