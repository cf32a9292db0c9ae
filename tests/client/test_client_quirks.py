"""runql against ``runql serve --rr-quirks``: the real service's laxness (``rr-protocol.md`` §10) reproduced, and
handled — listings stay exact despite unstable tie order, and writes are checked before sending and verified
after a 5xx. Each test also shows, with a raw request, that the quirk is really there."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from testkit.servers import ServerPool
from testkit.store import checksum

from backend.server import EmbeddedServer
from client import AsyncRunRegistry, RunRegistry, WriteError
from client.write_report import APPLIED_DESPITE_ERROR
from schemas import Dataset, Run

TIES = [["rr_attributes.class", "DESC"]]


@pytest.fixture(scope="module")
def lax(server_pool: ServerPool) -> Iterator[EmbeddedServer]:
    with server_pool.fresh(runs=300, seed=7, rr_quirks=True) as srv:  # its writes change it
        yield srv


@pytest.fixture(scope="module")
def rr(lax: EmbeddedServer) -> Iterator[RunRegistry]:
    with RunRegistry(lax.url, env_file=False, page_size=50) as client:
        yield client


@pytest.fixture(scope="module")
def raw(lax: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=lax.url) as client:
        yield client


def _raw_rows(raw: httpx.Client, kind: str, sortings: list[list[str]], size: int, count: int) -> list[Any]:
    """Every page as a client without a tie-breaker asks for them."""
    bodies = [
        {"page": p, "page_size": size, "filter": {}, "sortings": sortings} for p in range(math.ceil(count / size))
    ]
    return [row for body in bodies for row in raw.post(f"/{kind}_filtered_ordered", json=body).json()[kind]]


def _class_desc(run: Run | Dataset) -> tuple[bool, str]:
    value = run.rr_attributes.class_ if isinstance(run, Run) else run.run.rr_attributes.class_
    return value is None, value or ""  # NULLs first when descending, as PostgreSQL


# -- listings ---------------------------------------------------------------------------------------------------
def test_the_quirk_server_drops_and_repeats_rows_on_tied_sort_keys(raw: httpx.Client) -> None:
    rows = _raw_rows(raw, "runs", TIES, 50, count=300)
    distinct = {r["run_number"] for r in rows}
    assert len(rows) == 300
    assert len(distinct) < 300  # what a client without a tie-breaker silently gets


def test_a_sorted_listing_on_a_key_with_ties_is_exact(rr: RunRegistry) -> None:
    unsorted = rr.get_runs()
    expected = sorted(unsorted, key=lambda r: (*_class_desc(r), r.run_number), reverse=True)
    runs = rr.get_runs(sortings=TIES)
    assert runs.total == len(runs) == 300
    assert [r.run_number for r in runs] == [r.run_number for r in expected]
    small = rr.get_runs(sortings=TIES, page_size=7)
    assert [r.run_number for r in small] == [r.run_number for r in expected]


def test_a_sorted_dataset_listing_on_a_key_with_ties_is_exact(rr: RunRegistry) -> None:
    unsorted = rr.get_datasets()
    expected = sorted(unsorted, key=lambda d: d.name)  # name ASC is the last tie-breaker
    expected.sort(key=lambda d: d.run_number, reverse=True)
    expected.sort(key=_class_desc, reverse=True)
    datasets = rr.get_datasets(sortings=TIES, page_size=60)
    assert datasets.total == len(datasets) == len(unsorted)
    assert [d.key for d in datasets] == [d.key for d in expected]


@pytest.mark.anyio
async def test_async_sorted_listing_is_exact(lax: EmbeddedServer, rr: RunRegistry) -> None:
    expected = [r.run_number for r in rr.get_runs(sortings=TIES)]
    async with AsyncRunRegistry(lax.url, env_file=False, page_size=40) as arr:
        runs = await arr.get_runs(sortings=TIES)
    assert [r.run_number for r in runs] == expected


# -- writes -----------------------------------------------------------------------------------------------------
def _runs_in(rr: RunRegistry, **where: Any) -> list[int]:
    return [r.run_number for r in rr.get_runs(filter=where, sortings=[["run_number", "ASC"]])]


def test_a_move_from_the_wrong_state_is_skipped_and_changes_nothing(
    rr: RunRegistry, raw: httpx.Client, lax: EmbeddedServer
) -> None:
    first, second = _runs_in(rr, state="SIGNOFF")[:2]
    before = checksum(lax.store)
    report = rr.move_runs("OPEN", "COMPLETED", run=first)
    assert report.skipped == [first]
    assert report.ok
    assert f"run {first} is SIGNOFF, not OPEN" in report[0].message
    assert checksum(lax.store) == before
    assert rr.get_run(first).rr_attributes.state == "SIGNOFF"
    opened = _runs_in(rr, state="OPEN")[0]
    dry = rr.move_runs("OPEN", "COMPLETED", runs=[first, opened], dry_run=True)
    assert (dry.skipped, dry.planned) == ([first], [opened])
    assert dry[1].message == "checked: now 'OPEN', once applied 'COMPLETED'"
    assert checksum(lax.store) == before
    # the lax service itself would have moved it
    assert raw.post("/runs/move_run/OPEN/COMPLETED", json={"run_number": second}).status_code == 200
    assert rr.get_run(second).rr_attributes.state == "COMPLETED"


def test_a_dataset_move_from_the_wrong_state_is_skipped(rr: RunRegistry, lax: EmbeddedServer) -> None:
    dataset = rr.get_datasets(filter={"global_state": "COMPLETED"}, limit=1)[0]
    before = checksum(lax.store)
    report = rr.move_datasets("OPEN", "SIGNOFF", dataset.name, run=dataset.run_number)
    assert report.skipped == [dataset.run_number]
    assert "is COMPLETED in global, not OPEN" in report[0].message
    assert checksum(lax.store) == before


def test_a_post_commit_500_is_reported_as_applied(rr: RunRegistry, raw: httpx.Client) -> None:
    first, second = _runs_in(rr, state="OPEN", significant=False)[:2]
    answer = raw.post("/runs/mark_significant", json={"run_number": second})
    assert answer.status_code == 500  # the lax service commits, then fails
    assert rr.get_run(second).rr_attributes.significant is True
    report = rr.make_significant_runs(run=first)
    assert report.done == report.applied_despite_error == [first]
    assert report[0].message.startswith(APPLIED_DESPITE_ERROR)
    assert rr.get_run(first).rr_attributes.significant is True


def test_a_refused_write_after_a_500_is_reported_as_not_applied(rr: RunRegistry) -> None:
    (number,) = _runs_in(rr, state="COMPLETED")[:1]
    with pytest.raises(WriteError) as caught:
        rr.change_run_class(number, "Special18")
    assert caught.value.report[0].message.startswith("not applied: ")
    assert "only OPEN" in caught.value.report[0].message


def test_lax_edits_are_refused_before_sending(rr: RunRegistry, raw: httpx.Client, lax: EmbeddedServer) -> None:
    first, second = _runs_in(rr, state="OPEN", significant=True)[:2]
    last = len(rr.get_oms_lumisections(first))
    edits = lax.stats["requests"].get("/lumisections/edit_rr_lumisections", 0)
    before = checksum(lax.store)
    with pytest.raises(WriteError, match="'dt-foo' is not in the catalogue for online datasets; did you mean"):
        rr.edit_rr_lumisections(first, 1, 2, "dt-foo", "GOOD")
    with pytest.raises(WriteError, match=f"go past the run's last lumisection \\({last}\\)"):
        rr.edit_rr_lumisections(first, 1, 99_999, "dt-dt", "GOOD")
    with pytest.raises(WriteError, match="comment of at least 3"):
        rr.edit_rr_lumisections(first, 1, 2, "dt-dt", "BAD", comment="x")
    dry = rr.edit_rr_lumisections(first, 1, last, "dt-dt", "BAD", comment="HV trip", dry_run=True)
    assert dry.planned == [first]
    assert "checked" in dry[0].message
    assert checksum(lax.store) == before
    assert lax.stats["requests"].get("/lumisections/edit_rr_lumisections", 0) == edits
    # the lax service itself accepts both (a short overrun keeps the test fast)
    beyond = len(rr.get_oms_lumisections(second)) + 25
    body = {"run_number": second, "dataset_name": "online", "component": "dt-foo"}
    spec = {"start": 1, "end": beyond, "status": "GOOD", "comment": "", "cause": ""}
    assert raw.put("/lumisections/edit_rr_lumisections", json={**body, "new_lumisection_range": spec}).is_success
    assert rr.get_run(second).triplet_summary["dt-foo"].good == beyond
    assert len(rr.get_lumisections(second)) == beyond
    # a valid edit goes through, and is read back exactly
    report = rr.edit_rr_lumisections(first, 2, 3, "dt-dt", "BAD", comment="HV trip", cause="Hardware")
    assert report.done == [first]
    assert report.responses[0]["run_number"] == first  # the stored lumisection event row
    ranges = rr.get_lumisection_ranges_by_component(first)["dt-dt"]
    assert any((r.start, r.end, r.status) == (2, 3, "BAD") for r in ranges)


@pytest.mark.anyio
async def test_async_writes_are_checked_and_verified_too(lax: EmbeddedServer, rr: RunRegistry) -> None:
    plain = _runs_in(rr, state="OPEN", significant=False)[-1]
    completed = _runs_in(rr, state="COMPLETED")[-1]
    async with AsyncRunRegistry(lax.url, env_file=False) as arr:
        skipped = await arr.move_runs("SIGNOFF", "OPEN", run=completed)
        applied = await arr.make_significant_runs(run=plain)
    assert skipped.skipped == [completed]
    assert rr.get_run(completed).rr_attributes.state == "COMPLETED"
    assert applied.applied_despite_error == [plain]
