"""Operations as sans-I/O generators, and the sync and async drivers that run them.

An operation (a listing, a write loop, a json_portal job) is a generator that yields instructions —
:class:`Batch` (calls to send concurrently; it receives one :class:`Reply` or error per call, in order) or
:class:`Pause` — and returns its result. The same generator runs under :func:`run_sync` (a thread pool) and
:func:`run_async` (tasks), so the logic is written once. Given a :class:`~client.transport.RetryBudget`, the
drivers send every call of the operation with it, so its requests share their retries.

>>> from client.transport import Call, Reply
>>> def count_cycles():
...     (reply,) = yield Batch((Call("GET", "/cycles/global"),))
...     return len(reply.data)
>>> class FakeTransport:
...     def send(self, call): return Reply(200, [1, 2, 3])
>>> run_sync(count_cycles(), FakeTransport(), pool=None)
3
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Generator, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload

import anyio

from client.errors import ArgumentTypeError, RunQLError
from client.transport import Call, Reply, RetryBudget

__all__ = ["Batch", "CancelRequestedError", "Operation", "Outcome", "Pause", "run_async", "run_sync", "unwrap"]

T = TypeVar("T")


@dataclass(frozen=True)
class Batch:
    """Send ``calls`` concurrently. ``parse`` (optional) turns each reply's data into a value, in the worker;
    ``on_each`` is called after each call completes (progress bars)."""

    calls: Sequence[Call]
    parse: Callable[[Call, Reply], Any] | None = None
    on_each: Callable[[], None] | None = None


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` (cancellable)."""

    seconds: float


class CancelRequestedError(RunQLError):
    """Thrown into an operation when its ``cancel`` event is set during a :class:`Pause`."""


#: What a :class:`Batch` sends back: per call, the parsed reply or the error that ended it.
Outcome = Any | RunQLError
Operation = Generator[Batch | Pause, Any, T]


@overload
def unwrap(outcome: Outcome) -> Any: ...
@overload
def unwrap(outcome: Outcome, expected: type[T]) -> T: ...
def unwrap(outcome: Outcome, expected: type[Any] = object) -> Any:
    """One call's :data:`Outcome`: its value (checked to be an ``expected``), or its error raised.

    >>> unwrap(Reply(200, []), Reply).status
    200
    >>> from client.errors import ServiceError
    >>> unwrap(ServiceError("boom", status=500, route="GET /x"))
    Traceback (most recent call last):
    ...
    client.errors.ServiceError: GET /x: the service answered 500: boom
    """
    if isinstance(outcome, RunQLError):
        raise outcome
    if not isinstance(outcome, expected):
        raise ArgumentTypeError(f"expected a {expected.__name__} outcome, got {type(outcome).__name__}")
    return outcome


class SendsCalls(Protocol):
    def send(self, call: Call) -> Reply: ...


class SendsCallsAsync(Protocol):
    async def send(self, call: Call) -> Reply: ...


def _sender(transport: Any, budget: RetryBudget | None) -> Any:
    """Calls ``transport.send`` (looked up when a call is sent: an operation may send nothing), with ``budget``
    when there is one (a transport given a budget must take it)."""
    if budget is None:
        return lambda call: transport.send(call)
    return lambda call: transport.send(call, budget=budget)


def _parsed(batch: Batch, call: Call, reply: Reply) -> Any:
    return reply if batch.parse is None else batch.parse(call, reply)


def run_sync(
    operation: Operation[T],
    transport: SendsCalls,
    *,
    pool: Executor | None,
    cancel: threading.Event | None = None,
    budget: RetryBudget | None = None,
) -> T:
    """Run ``operation`` to completion; batches of more than one call go to ``pool`` (bounded concurrency)."""
    send: Callable[[Call], Reply] = _sender(transport, budget)
    value: Any = None
    throw: BaseException | None = None
    while True:
        try:
            step = operation.throw(throw) if throw is not None else operation.send(value)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        throw = None
        if isinstance(step, Pause):
            value = None
            if cancel is not None and cancel.wait(step.seconds):
                throw = CancelRequestedError()
            elif cancel is None:
                threading.Event().wait(step.seconds)
        else:
            value = _run_batch_sync(step, send, pool)


def _run_batch_sync(batch: Batch, send: Callable[[Call], Reply], pool: Executor | None) -> list[Outcome]:
    def one(call: Call) -> Outcome:
        try:
            return _parsed(batch, call, send(call))
        except RunQLError as error:
            return error

    if pool is None or len(batch.calls) == 1:
        results = []
        for call in batch.calls:
            results.append(one(call))
            if batch.on_each is not None:
                batch.on_each()
        return results
    futures: list[Future[Outcome]] = [pool.submit(one, call) for call in batch.calls]
    for _ in as_completed(futures):
        if batch.on_each is not None:
            batch.on_each()
    return [f.result() for f in futures]


async def run_async(
    operation: Operation[T],
    transport: SendsCallsAsync,
    *,
    concurrency: int,
    budget: RetryBudget | None = None,
) -> T:
    """Run ``operation`` with tasks; at most ``concurrency`` calls of a batch are in flight."""
    send: Callable[[Call], Awaitable[Reply]] = _sender(transport, budget)
    value: Any = None
    while True:
        try:
            step = operation.send(value)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if isinstance(step, Pause):
            await anyio.sleep(step.seconds)
            value = None
        else:
            value = await _run_batch_async(step, send, concurrency)


async def _run_batch_async(batch: Batch, send: Callable[[Call], Awaitable[Reply]], concurrency: int) -> list[Outcome]:
    results: list[Outcome] = [None] * len(batch.calls)
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int, call: Call) -> None:
        async with limiter:
            try:
                results[index] = _parsed(batch, call, await send(call))
            except RunQLError as error:
                results[index] = error
        if batch.on_each is not None:
            batch.on_each()

    async with anyio.create_task_group() as group:
        for index, call in enumerate(batch.calls):
            group.start_soon(one, index, call)
    return results
