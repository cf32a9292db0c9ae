"""A faulty service (30 % of requests fail: 502/503, dropped connections, stalls): with default settings every
call gives exactly the fault-free answer, nothing lost, nothing doubled.

The client's retry waits go to a fake ``sleep`` (no wall-clock sleeping); stalls are short and answered, so no
timing decides an outcome. The tests are bounded by retry counts: each asserts how many requests the faults cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from testkit.servers import ServerPool
from testkit.store import checksum

from backend.server import EmbeddedServer
from client import AsyncRunRegistry, PartialResultError, RunQLError, RunRegistry
from client.calls import LUMISECTION_ENDPOINTS
from schemas.golden import GoldenJson

pytestmark = pytest.mark.slow
RUNS, SEED, RATE = 2500, 3, 0.3
RULE = {
    "and": [
        {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
        {"!": {"==": [{"var": "lumisection.rr.csc-csc"}, "BAD"]}},
        {"==": [{"var": "lumisection.oms.beam1_stable"}, True]},
    ]
}


class FakeSleep:
    """Records the waits the client asked for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def _faulty(pool: ServerPool, runs: int = RUNS, fault_seed: int = 4) -> EmbeddedServer:
    return pool.fresh(runs=runs, seed=SEED, faults=RATE, fault_seed=fault_seed, fault_delay=0.02)


def _client(server: EmbeddedServer, sleep: FakeSleep | None = None, **options: Any) -> RunRegistry:
    return RunRegistry(server.url, env_file=False, sleep=sleep or FakeSleep(), **options)


def _requests(server: EmbeddedServer) -> int:
    return sum(server.stats["requests"].values())


@pytest.fixture(scope="module")
def reference(server_pool: ServerPool) -> Iterator[RunRegistry]:
    """The same registry, fault-free."""
    with _client(server_pool.shared(runs=RUNS, seed=SEED)) as rr:
        yield rr


@pytest.fixture(scope="module")
def faulty(server_pool: ServerPool) -> Iterator[EmbeddedServer]:
    with _faulty(server_pool) as srv:
        yield srv


LISTINGS: list[tuple[str, dict[str, Any], int | None]] = [
    ("runs", {}, None),
    ("runs", {"class": "Collisions18"}, 100),  # many pages
    ("runs", {"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}, None),  # a union of two backend filters
    ("datasets", {"dataset_name": {"like": "%Prompt%"}}, None),
    ("datasets", {"dataset_name": {"like": "%ReReco%"}}, 150),
]


def test_listings_are_exact(reference: RunRegistry, faulty: EmbeddedServer) -> None:
    sleep = FakeSleep()
    with _client(faulty, sleep) as rr:
        for kind, filter, page_size in LISTINGS:
            fetch, fetch_reference = getattr(rr, f"get_{kind}"), getattr(reference, f"get_{kind}")
            rows = fetch(filter=filter, page_size=page_size, compress_attributes=False)
            expected = fetch_reference(filter=filter, page_size=page_size, compress_attributes=False)
            assert rows == expected
            assert rows.duplicates_removed == expected.duplicates_removed  # a union's overlap, not a retry
    assert faulty.stats["faults"] >= 1  # the faults really happened (the golden test counts them precisely)
    assert sleep.waits


@pytest.mark.anyio
async def test_async_listings_are_exact(reference: RunRegistry, faulty: EmbeddedServer) -> None:
    sleep = FakeSleep()
    async with AsyncRunRegistry(faulty.url, env_file=False, sleep=sleep.asleep, page_size=40) as arr:
        runs = await arr.get_runs(filter={"significant": True})
    assert [r.run_number for r in runs] == [r.run_number for r in reference.get_runs(filter={"significant": True})]


#: Every lumisection call, and whether it takes a dataset name.
LUMISECTION_CALLS = [
    ("get_lumisections", True),
    ("get_oms_lumisections", True),
    ("get_lumisection_ranges", True),
    ("get_lumisection_ranges_by_component", True),
    ("get_oms_lumisection_ranges", False),
    ("get_joint_lumisection_ranges", True),
]


def test_every_lumisection_call_is_exact(reference: RunRegistry, faulty: EmbeddedServer) -> None:
    assert len(LUMISECTION_CALLS) == len(LUMISECTION_ENDPOINTS)
    datasets = reference.get_datasets(limit=12)
    with _client(faulty) as rr:
        for dataset in datasets:
            number = dataset.run_number
            for method, per_dataset in LUMISECTION_CALLS:
                args = (number, dataset.name) if per_dataset else (number,)
                assert getattr(rr, method)(*args) == getattr(reference, method)(*args), (method, args)
            assert rr.get_dataset_names_of_run(number) == reference.get_dataset_names_of_run(number)
            assert rr.get_run(number) == reference.get_run(number)
            assert rr.get_dataset(number, dataset.name) == reference.get_dataset(number, dataset.name)


def _comparable(golden: GoldenJson) -> GoldenJson:
    return dataclasses.replace(golden, server_row=None)


def test_a_local_golden_json_of_thousands_of_requests_is_exact(reference: RunRegistry, faulty: EmbeddedServer) -> None:
    expected = reference.create_json(RULE, "%", engine="local")
    before = _requests(faulty)
    sleep = FakeSleep()
    with _client(faulty, sleep) as rr:
        golden = rr.create_json(RULE, "%", engine="local")
    sent = _requests(faulty) - before
    assert golden == expected
    assert golden.lumisection_count > 0
    assert sent > 1000  # one range request per candidate run, each failing 30 % of the time
    assert sent * 0.2 < len(sleep.waits) < sent * 0.6  # about one retry per fault, no retry storm


@pytest.mark.anyio
async def test_an_async_golden_json_is_exact(reference: RunRegistry, faulty: EmbeddedServer) -> None:
    pattern = "/PromptReco/Collisions2018B/DQM"
    expected = reference.create_json(RULE, pattern, engine="local")
    sleep = FakeSleep()
    async with AsyncRunRegistry(faulty.url, env_file=False, sleep=sleep.asleep) as arr:
        golden = await arr.create_json(RULE, pattern, engine="local")
    assert golden == expected
    assert golden.lumisection_count > 0


def test_a_server_golden_json_is_exact(reference: RunRegistry, faulty: EmbeddedServer) -> None:
    expected = reference.create_json(RULE, "/PromptReco/Collisions2018B/DQM", engine="server", poll_interval=0.05)
    with _client(faulty) as rr:
        golden = rr.create_json(RULE, "/PromptReco/Collisions2018B/DQM", engine="server", poll_interval=0.05)
    assert _comparable(golden) == _comparable(expected)
    assert golden.lumisection_count > 0
    assert faulty.stats["requests"].get("/json_portal/generate") == 1  # submitted once: no duplicate job


def _apply_writes(rr: RunRegistry, runs: list[int], *, dry_run: bool) -> list[Any]:
    how = {"dry_run": dry_run, "raise_on_error": False}
    reports = [
        rr.change_run_class(runs[:6], "Commissioning18", **how),
        rr.make_significant_runs(runs=runs[6:10], **how),
        rr.edit_rr_lumisections(runs[0], 1, 3, "dt-dt", "BAD", comment="noisy chamber", **how),
        rr.move_runs("OPEN", "SIGNOFF", runs=runs[10:14], **how),
        rr.manually_refresh_components_statuses_for_runs(runs[14:18], **how),
        rr.reset_RR_attributes_and_refresh_runs(runs[18:20], **how),
    ]
    return [[(o.run_number, o.status, o.message, o.response) for o in report] for report in reports]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "applied"])
def test_writes_are_exact_and_applied_once(dry_run: bool, server_pool: ServerPool) -> None:
    with server_pool.fresh(runs=80, seed=SEED) as clean, _faulty(server_pool, runs=80, fault_seed=11) as faulty:
        with _client(clean) as rr:
            runs = [r.run_number for r in rr.get_runs(filter={"state": "OPEN"})][:20]
            expected = _apply_writes(rr, runs, dry_run=dry_run)
        with _client(faulty) as rr:
            got = _apply_writes(rr, runs, dry_run=dry_run)
        assert got == expected
        assert checksum(clean.store) == checksum(faulty.store)  # each write applied exactly once, or not at all
    assert len(runs) == 20
    statuses = {status for report in got for _, status, _, _ in report}
    assert ("planned" in statuses) if dry_run else ("done" in statuses)


def test_without_retries_the_error_is_resumable_and_resuming_completes(
    reference: RunRegistry, server_pool: ServerPool
) -> None:
    collisions = {"class": {"like": "Collisions%"}}  # every year: several pages of 100
    expected = [r.run_number for r in reference.get_runs(filter=collisions)]
    partial_rows: list[list[int]] = []
    resume = None
    with _faulty(server_pool, fault_seed=9) as server, _client(server, retries=0, page_size=20) as rr:
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
