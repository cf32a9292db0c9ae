"""Retries budgeted per operation: a request's own retries, then the operation's shared budget; repeatable writes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from testkit.settings import settings_for_tests

from client import ServiceError, TransportError
from client.engine import Batch, Operation, run_sync
from client.transport import (
    AsyncTransport,
    Call,
    RetryBudget,
    RetryPolicy,
    Send,
    SyncTransport,
    exchange,
)


def _failures_then_success(failures: int) -> Iterator[httpx.Response]:
    yield from [httpx.Response(503, json={"err": "busy"})] * failures
    yield httpx.Response(200, json=[1])


def _drive(call: Call, answers: Iterator[httpx.Response], budget: RetryBudget | None) -> int:
    """Run the decision core on scripted answers; returns the attempts made (raises like the transports)."""
    flow = exchange(call, RetryPolicy(retries=4), random.Random(0), uses_token=False, budget=budget)
    attempts, outcome = 0, None
    while True:
        try:
            step = flow.send(outcome)
        except StopIteration:
            return attempts
        outcome = None
        if isinstance(step, Send):
            attempts += 1
            outcome = next(answers)


def test_a_request_goes_beyond_its_own_retries_only_with_the_budget() -> None:
    call = Call("GET", "/x")
    with pytest.raises(TransportError, match="after 5 attempts"):
        _drive(call, _failures_then_success(7), budget=None)
    budget = RetryBudget(reserve=0, ratio=0.5)
    for _ in range(10):
        budget.deposit()  # ten other requests of the operation were sent
    assert _drive(call, _failures_then_success(7), budget) == 8
    assert budget.spent == 3  # the 5th, 6th and 7th retries


def test_the_budget_is_shared_and_runs_out() -> None:
    budget = RetryBudget(reserve=0, ratio=0.5)
    budget.deposit()
    budget.deposit()  # 1 token, plus 0.5 per request driven below
    assert _drive(Call("GET", "/a"), _failures_then_success(5), budget) == 6  # needed 1 extra: 1.5 → 0.5
    with pytest.raises(TransportError, match="after 6 attempts"):
        _drive(Call("GET", "/b"), _failures_then_success(9), budget)  # 0.5 + 0.5 = 1 extra, then none left
    assert budget.spent == 2


def test_no_request_exceeds_four_times_its_retries_whatever_the_budget() -> None:
    budget = RetryBudget(reserve=1000, ratio=0)
    with pytest.raises(TransportError, match="after 17 attempts"):
        _drive(Call("GET", "/x"), _failures_then_success(100), budget)


def test_retries_zero_means_no_retry_even_with_a_budget() -> None:
    flow = exchange(Call("GET", "/x"), RetryPolicy(retries=0), random.Random(0), uses_token=False)
    next(flow)
    with pytest.raises(TransportError, match=r"after 1 attempt\)"):
        flow.send(httpx.Response(502))


def test_an_operation_of_many_requests_survives_a_burst_that_one_request_alone_would_not() -> None:
    # every other page of 40 fails 5 times in a row before succeeding: one retry more than its own 4
    attempts: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        attempts[path] = attempts.get(path, 0) + 1
        if int(path[2:]) % 2 == 0 and attempts[path] <= 5:
            return httpx.Response(502, json={"err": "bad gateway"})
        return httpx.Response(200, json={"page": path})

    sleeps: list[float] = []
    transport = SyncTransport(settings_for_tests(), transport=httpx.MockTransport(handler), sleep=sleeps.append)
    budget = transport.new_budget()
    replies = run_sync(_batch(40), transport, pool=None, budget=budget)
    assert [r.data for r in replies] == [{"page": f"/p{i}"} for i in range(40)]
    assert [attempts[f"/p{i}"] for i in range(4)] == [6, 1, 6, 1]
    assert len(sleeps) == 20 * 5
    assert budget.spent == 20
    attempts.clear()
    (alone,) = run_sync(_batch(1), transport, pool=None)  # no budget: the request's own 4 retries
    assert isinstance(alone, TransportError)
    assert alone.attempts == 5


def _batch(pages: int) -> Operation[list[Any]]:
    replies: list[Any] = yield Batch([Call("GET", f"/p{i}") for i in range(pages)])
    return replies


def test_repeatable_writes_are_retried_after_ambiguous_failures_other_writes_are_not() -> None:
    answers = [httpx.Response(503, json={"err": "unavailable"}), httpx.RemoteProtocolError("dropped")]
    answers.append(httpx.Response(200, json={"class": "Cosmics18"}))  # type: ignore[arg-type]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    transport = SyncTransport(settings_for_tests(), transport=httpx.MockTransport(handler), sleep=lambda s: None)
    call = Call("PUT", "/manual_run_edit/1/class", json={"class": "Cosmics18"}, idempotent=False, repeatable=True)
    assert transport.send(call).data == {"class": "Cosmics18"}
    assert answers == []
    answers.append(httpx.Response(503, json={"err": "unavailable"}))
    with pytest.raises(ServiceError, match="unavailable"):
        transport.send(Call("POST", "/once", json={}, idempotent=False))


@pytest.mark.anyio
async def test_the_async_transport_uses_the_budget_and_the_injected_sleep() -> None:
    failures = iter(_failures_then_success(6))
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = AsyncTransport(
        settings_for_tests(), transport=httpx.MockTransport(lambda request: next(failures)), sleep=fake_sleep
    )
    budget = RetryBudget(reserve=2, ratio=0)
    assert (await transport.send(Call("GET", "/x"), budget)).data == [1]
    assert len(slept) == 6
    assert budget.spent == 2
    await transport.aclose()
