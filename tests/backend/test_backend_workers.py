"""The worker pool request handlers run on, and the request-body parser's shared decoder."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backend.errors import RequestError
from backend.jsonbody import parse_json
from backend.workers import WorkerPool
from querylang.errors import ArgumentError


class Gate:
    """Jobs that wait until the test opens the gate, counting how many run at once."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.running = self.peak = 0
        self.opened = threading.Event()

    def job(self, value: int) -> Callable[[], int]:
        def work() -> int:
            with self.cond:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.cond.notify_all()
            assert self.opened.wait(timeout=30)
            with self.cond:
                self.running -= 1
            return value

        return work

    def wait_running(self, count: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.running >= count, timeout=30)


def pool_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_at_most_size_jobs_run_at_once_and_all_answer() -> None:
    gate, pool = Gate(), WorkerPool(2, name="test-pool-bounded")

    async def main() -> list[int]:
        calls = asyncio.gather(*(pool.run(gate.job(i)) for i in range(6)))
        await asyncio.to_thread(gate.wait_running, 2)
        gate.opened.set()
        return await calls

    assert asyncio.run(main()) == list(range(6))
    assert gate.peak == 2
    assert len(pool_threads("test-pool-bounded")) == 2
    pool.close()
    for thread in pool_threads("test-pool-bounded"):
        thread.join(timeout=30)
    assert not pool_threads("test-pool-bounded")


def test_errors_are_raised_to_the_caller_and_a_closed_pool_refuses_work() -> None:
    pool = WorkerPool(1)

    async def main() -> None:
        with pytest.raises(ZeroDivisionError):
            await pool.run(lambda: 1 // 0)
        assert await pool.run(lambda: "still serving") == "still serving"
        pool.close()
        with pytest.raises(RuntimeError, match="closed"):
            await pool.run(lambda: None)

    asyncio.run(main())
    with pytest.raises(ArgumentError):
        WorkerPool(0)


def test_idle_threads_end() -> None:
    pool = WorkerPool(3, idle_seconds=0.01, name="test-pool-idle")
    assert asyncio.run(pool.run(lambda: 1)) == 1
    for thread in pool_threads("test-pool-idle"):
        thread.join(timeout=30)
    assert not pool_threads("test-pool-idle")
    assert asyncio.run(pool.run(lambda: 2)) == 2  # a new thread starts for new work
    pool.close()


def test_a_cancelled_caller_leaves_the_work_to_finish_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller stops waiting; the job ends later, when its loop is even closed, without an error anywhere."""
    failures: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    gate, pool = Gate(), WorkerPool(1, name="test-pool-cancel")

    async def main() -> None:
        call = asyncio.ensure_future(pool.run(gate.job(1)))
        await asyncio.to_thread(gate.wait_running, 1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(main())  # the loop is closed when it returns
    gate.opened.set()
    assert asyncio.run(pool.run(lambda: "next")) == "next"  # after the cancelled job, on the same thread
    assert not failures
    pool.close()


def reject(name: str) -> None:
    raise RequestError(f"invalid JSON body: {name} is not a JSON number")


def reference(raw: bytes | str) -> Any:
    """What parse_json did with ``json.loads`` (a decoder built per call): the value, or the error's text."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=reject)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"invalid JSON body: {exc}"
    except RequestError as exc:
        return str(exc)


def outcome(raw: bytes | str) -> Any:
    try:
        return parse_json(raw)
    except RequestError as exc:
        return str(exc)


TEXTS = st.one_of(
    st.just('{"run_number": 1, "dataset_name": "online"}'),
    st.just("[NaN]"),
    st.just('"\\ud800"'),
    st.text(alphabet='{}[]":,0123456789 .-eEtrufalsn\\\ufeffé', max_size=20),
)


@given(
    text=TEXTS,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"]),
    as_bytes=st.booleans(),
)
def test_bodies_parse_as_json_loads_parsed_them(text: str, encoding: str, as_bytes: bool) -> None:
    try:
        raw = text.encode(encoding, "surrogatepass") if as_bytes else text
    except UnicodeEncodeError:  # latin-1 has no byte for "\ufeff": not a body a client could send that way
        assume(False)
    got, expected = outcome(raw), reference(raw)
    if isinstance(got, str) and "lone surrogate" in got:  # refused after decoding, by the Unicode check
        assert "\\ud800" in json.dumps(expected)  # json.loads gave the lone surrogate back
    else:
        assert got == expected


def test_a_thread_that_cannot_start_fails_only_its_call(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = WorkerPool(2, name="test-pool-no-thread")
    start = threading.Thread.start

    def refuse(thread: threading.Thread) -> None:
        monkeypatch.setattr(threading.Thread, "start", start)  # only the first start fails
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="can't start"):
            await pool.run(lambda: 1)
        assert await asyncio.gather(pool.run(lambda: 2), pool.run(lambda: 3)) == [2, 3]

    asyncio.run(main())
    assert len(pool_threads("test-pool-no-thread")) <= 2
    pool.close()
