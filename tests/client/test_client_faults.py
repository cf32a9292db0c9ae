"""A faulty service (20% of requests fail: 502/503, dropped connections, stalls): nothing lost, nothing doubled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.server import EmbeddedServer
from client import PartialResultError, RunQLError, RunRegistry

pytestmark = pytest.mark.slow
RUNS, SEED = 2000, 3


def _faulty(fault_seed: int) -> EmbeddedServer:
    return EmbeddedServer(runs=RUNS, seed=SEED, faults=0.2, fault_seed=fault_seed, fault_delay=3.0)


def _client(server: EmbeddedServer, **options: Any) -> RunRegistry:
    # a stalled answer (3 s) times out after 1.5 s and is retried; normal pages take well under a second
    return RunRegistry(server.url, page_size=100, read_timeout=1.5, backoff=0.01, env_file=False, **options)


@pytest.fixture(scope="module")
def reference() -> Iterator[RunRegistry]:
    """The same registry, fault-free."""
    with EmbeddedServer(runs=RUNS, seed=SEED) as srv, _client(srv) as rr:
        yield rr


def test_retries_return_exactly_the_fault_free_rows(reference: RunRegistry) -> None:
    expected = [r.run_number for r in reference.get_runs()]
    assert len(expected) == RUNS
    with _faulty(fault_seed=4) as server, _client(server, retries=8) as rr:
        runs = rr.get_runs()
        faults = server.stats["faults"]
    assert [r.run_number for r in runs] == expected
    assert runs.duplicates_removed == 0
    assert faults >= 3  # the faults really happened


def test_without_retries_the_error_is_resumable_and_resuming_completes(reference: RunRegistry) -> None:
    collisions = {"class": {"like": "Collisions%"}}  # every year: several pages of 100
    expected = [r.run_number for r in reference.get_runs(filter=collisions)]
    partial_rows: list[list[int]] = []
    resume = None
    with _faulty(fault_seed=9) as server, _client(server, retries=0) as rr:
        for _ in range(60):
            try:
                runs = rr.get_runs(filter=collisions, resume_from=resume)
                break
            except PartialResultError as err:
                partial_rows.append([r.run_number for r in err.rows])
                resume = err.resume_from
            except RunQLError:  # page 0 itself failed: nothing fetched, nothing to resume
                continue
        else:
            raise AssertionError("never completed")
    assert partial_rows
    for rows in partial_rows:
        assert len(set(rows)) == len(rows)  # no duplicates in partial results
        assert set(rows) <= set(expected)
    assert [r.run_number for r in runs] == expected
