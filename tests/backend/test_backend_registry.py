"""The default registry as served (every era of 2018-2024, > 20,000 runs), its determinism and its disk cache."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from testkit.store import checksum

import backend.server
from backend import parallel_build, registry_cache
from backend.demo import DEFAULT_RUNS, RunSlot, build_runs
from backend.eras import KNOWN_RUNS
from backend.rows import RunRows
from backend.server import EmbeddedServer, build_store
from client.api import RunRegistry


@pytest.fixture(scope="module")
def default_rr() -> Iterator[RunRegistry]:
    """The registry ``runql serve`` serves without options (copied from the disk cache after the first build)."""
    with EmbeddedServer() as srv, RunRegistry(target=srv.url, env_file=False) as rr:
        yield rr


def _count(rr: RunRegistry, kind: str, backend_filter: dict[str, Any]) -> int:
    body = {"page": 0, "page_size": 1, "filter": backend_filter, "sortings": []}
    route = "/runs_filtered_ordered" if kind == "runs" else "/datasets_filtered_ordered"
    reply = httpx.post(rr.base_url + route, json=body, timeout=60).json()
    return int(reply["count"])


@pytest.mark.slow
def test_the_default_registry_holds_every_era(default_rr: RunRegistry) -> None:
    assert _count(default_rr, "runs", {}) == DEFAULT_RUNS > 20000
    known = default_rr.get_runs(filter={"run_number": list(KNOWN_RUNS)})
    assert sorted(r.run_number for r in known) == sorted(KNOWN_RUNS)  # the runs documentation examples name
    heavy_ions = default_rr.get_runs(filter={"class": "Collisions18HI"})
    assert len(heavy_ions) > 200
    for run in heavy_ions:
        assert 326381 <= run.run_number <= 327564
        assert "2018-11-07" <= str(run.oms_attributes.start_time)[:10] <= "2018-12-02"
        assert run.oms_attributes.energy == 6370
    cosmics_after = default_rr.get_datasets(filter={"dataset_name": "/PromptReco/HICosmics18A/DQM"})
    assert any(d.run_number > 327564 for d in cosmics_after)
    first = default_rr.get_runs(filter={"run_number": {"<": 308100}})
    assert {r.rr_attributes.class_ for r in first} <= {"Cosmics18CRUZET", "Commissioning18"}
    assert first
    cruzet21 = default_rr.get_runs(filter={"class": "Cosmics21CRUZET", "significant": True})
    assert all(340000 <= r.run_number <= 343999 for r in cruzet21)
    assert cruzet21
    run3 = default_rr.get_datasets(filter={"dataset_name": {"like": "/PromptReco/Collisions2022C%"}})
    assert run3
    assert all(355769 <= d.run_number <= 357481 for d in run3)
    newest = default_rr.get_runs(filter={"run_number": {">": 386000}, "class": "Collisions24"})
    assert {r.oms_attributes.energy for r in newest} == {6800}


def test_building_twice_gives_the_same_store_and_the_cache_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = build_store(runs=2000, seed=9, cache=False, workers=2)  # built by two worker processes
    digest = checksum(fresh)
    fresh.close()
    monkeypatch.setenv("RUNQL_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "registry-0123456789abcdef-runs2000-seed9-yearsall.sqlite3"  # another generator's
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    recent = tmp_path / "registry-fedcba9876543210-runs2000-seed9-yearsall.sqlite3"  # maybe still in use
    recent.write_bytes(b"new")
    cached = build_store(runs=2000, seed=9)  # built in this process, and written to the cache
    assert not stale.exists()
    assert recent.exists()
    assert checksum(cached) == digest  # the same rows however many processes build them
    cached.close()
    cache_file = registry_cache.cache_file(tmp_path, runs=2000, seed=9, years=None)
    assert cache_file.exists()

    def no_generation(*args: object) -> None:
        raise AssertionError("the cached registry was generated again")

    monkeypatch.setattr(backend.server, "plan_runs", no_generation)
    restored = build_store(runs=2000, seed=9)
    assert checksum(restored) == digest
    assert restored.counts()["run"] == 2000
    restored.close()
    assert cache_file.exists()
    monkeypatch.setenv("RUNQL_CACHE_DIR", "")  # the cache turned off: small and uncached builds generate
    with pytest.raises(AssertionError, match="generated again"):
        build_store(runs=2000, seed=9)
    monkeypatch.setenv("RUNQL_CACHE_DIR", str(tmp_path))
    cache_file.write_bytes(b"not a database")  # damaged meanwhile: generated again, not an error
    with pytest.raises(AssertionError, match="generated again"):
        build_store(runs=2000, seed=9)


def test_a_failed_parallel_build_is_rolled_back_and_built_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def dying(slots: list[RunSlot], seed: int, workers: int) -> Iterator[RunRows]:
        yield RunRows.of(build_runs(slots[:10], seed))  # some rows arrive, then a worker dies
        raise RuntimeError("a registry worker exited with status 1")

    monkeypatch.setattr(parallel_build, "build_rows", dying)
    recovered = build_store(runs=300, seed=4, cache=False, workers=2)
    serial = build_store(runs=300, seed=4, cache=False, workers=1)
    assert recovered.counts() == serial.counts()
    assert checksum(recovered) == checksum(serial)
    recovered.close()
    serial.close()
