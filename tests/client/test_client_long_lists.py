"""10,000 run numbers in one filter, fetched from the embedded service (strict, and with the real service's quirks).

The plan is a union of small backend filters; the embedded service compiles each ``or`` list to SQL ``IN``. The
answer must be exactly the listed runs that exist, whatever the form of the list.
"""

from __future__ import annotations

import random

import pytest
from testkit.servers import ServerPool

import client
from backend.server import EmbeddedServer
from client import RunRegistry

COUNT = 10_000


def _numbers(existing: list[int], seed: int) -> list[int]:
    """10,000 distinct run numbers: every other existing run, and others around them that do not exist."""
    rng = random.Random(seed)
    chosen = set(existing[::2])
    pool = [n for n in range(min(existing) - 3000, max(existing) + 3000) if n not in set(existing)]
    chosen.update(rng.sample(pool, COUNT - len(chosen)))
    numbers = sorted(chosen)
    rng.shuffle(numbers)
    return numbers


@pytest.fixture(scope="module")
def quirky_server(server_pool: ServerPool) -> EmbeddedServer:
    return server_pool.shared(runs=60, seed=3, rr_quirks=True)


@pytest.mark.parametrize("quirks", [False, True], ids=["strict", "rr-quirks"])
def test_ten_thousand_run_numbers_are_fetched_exactly(
    quirks: bool, server: EmbeddedServer, quirky_server: EmbeddedServer
) -> None:
    served = quirky_server if quirks else server
    with RunRegistry(served.url, env_file=False) as rr:
        existing = sorted(run.run_number for run in rr.get_runs(filter={}))
        numbers = _numbers(existing, seed=len(existing))
        assert len(numbers) == COUNT
        listed = set(numbers)
        want = [n for n in reversed(existing) if n in listed]
        assert 0 < len(want) < len(existing)
        for spec in ({"in": numbers}, numbers):  # the "or" form: test_module_level_get_runs_takes_a_long_or_list
            runs = rr.get_runs(filter={"run_number": spec}, compress_attributes=False)
            assert sorted((r["run_number"] for r in runs), reverse=True) == want
            assert runs.total == len(want)
        others = rr.get_runs(filter={"run_number": {"notin": numbers}})
        assert [r.run_number for r in others] == [n for n in reversed(existing) if n not in listed]
        good = rr.get_runs(filter={"run_number": {"in": numbers}, "dt-dt": "GOOD"})
        assert {r.run_number for r in good} == {r.run_number for r in rr.get_runs(filter={"dt-dt": "GOOD"})} & listed
        datasets = rr.get_datasets(filter={"run_number": {"in": numbers}})
        assert {d.run_number for d in datasets} == set(want)


def test_module_level_get_runs_takes_a_long_or_list(server: EmbeddedServer) -> None:
    client.setup(server.url, env_file=False)
    try:
        existing = sorted(r["run_number"] for r in client.get_runs(filter={}))
        numbers = _numbers(existing, seed=1)
        runs = client.get_runs(filter={"run_number": {"or": numbers}})
    finally:
        client.setup("local")
    assert [r["run_number"] for r in runs] == [n for n in reversed(existing) if n in set(numbers)]
