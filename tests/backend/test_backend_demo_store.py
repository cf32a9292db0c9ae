"""The demo generator (deterministic, realistic), lumisection ranges, and the store (persistence, summaries)."""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.cli import build_parser
from backend.demo import DemoRegistry, generate, period_of
from backend.lumiranges import StatusRange, expand, merge_equal, overlay, summarize
from backend.server import build_store
from backend.store import Store, pack_lumi, unpack_lumi
from querylang.catalogue import Owner, default_catalogue

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_generation_is_deterministic(registry: DemoRegistry) -> None:
    again = generate(runs=len(registry.runs), seed=registry.seed)
    assert [r.oms for r in again.runs] == [r.oms for r in registry.runs]
    assert [r.datasets[0].statuses for r in again.runs] == [r.datasets[0].statuses for r in registry.runs]
    assert generate(runs=30, seed=1).runs[0].oms != generate(runs=30, seed=2).runs[0].oms


def test_runs_look_like_2018(registry: DemoRegistry) -> None:
    runs = registry.runs
    assert all(315000 <= r.run_number <= 325500 for r in runs)
    classes = collections.Counter(r.rr["class"] for r in runs)
    assert set(classes) == {"Collisions18", "Cosmics18", "Commissioning18"}
    assert classes.most_common(1)[0][0] == "Collisions18"
    assert {r.oms["energy"] for r in runs if r.rr["class"] == "Collisions18"} == {6500}
    assert {r.oms["energy"] for r in runs if r.rr["class"] != "Collisions18"} == {0}
    assert all(6500 <= r.oms["fill_number"] <= 7600 for r in runs if r.oms["fill_number"] is not None)
    assert any(r.oms["b_field"] < 0.1 for r in runs)  # magnet off
    assert any(3.7 <= r.oms["b_field"] <= 3.9 for r in runs)
    assert any("WMass" in r.oms["hlt_key"] for r in runs)
    assert any(r.oms["hlt_key"].startswith("/cdaq/cosmic/") for r in runs)
    schemes = [r.oms["injection_scheme"] for r in runs if r.oms["injection_scheme"]]
    assert any(s.startswith("25ns") for s in schemes)
    assert any(not s.startswith("25ns") for s in schemes)
    assert any(r.oms["injection_scheme"] is None for r in runs)  # some NULLs
    assert all(ISO.fullmatch(r.oms["start_time"]) for r in runs)
    assert [r.oms["start_time"] for r in runs] == sorted(r.oms["start_time"] for r in runs)
    assert {r.rr["state"] for r in runs} == {"OPEN", "SIGNOFF", "COMPLETED"}
    assert any(r.oms["stable_beam"] for r in runs)
    assert all(r.recorded[i] <= r.delivered[i] for r in runs for i in range(r.lumisections))


def test_every_catalogue_run_attribute_is_generated(registry: DemoRegistry) -> None:
    oms = {a.name for a in default_catalogue().attributes() if a.owner is Owner.OMS_RUN}
    rr = {a.name for a in default_catalogue().attributes() if a.owner is Owner.RR_RUN}
    for run in registry.runs:
        assert set(run.oms) == oms | {"run_number"}  # OMS repeats the run number
        assert set(run.rr) == rr


def test_datasets_and_statuses(registry: DemoRegistry) -> None:
    certifiable = {f.name for f in default_catalogue().certifiable(online=True)}
    statuses_seen = collections.Counter()
    for run in registry.runs:
        online = run.datasets[0]
        assert online.name == "online"
        if not run.rr["significant"]:
            assert online.statuses == {}
            assert len(run.datasets) == 1
            continue
        assert set(online.statuses) == certifiable
        for ranges in online.statuses.values():
            assert merge_equal(ranges) == ranges
            statuses_seen.update(r.status for r in ranges)
            assert all(r.comment for r in ranges if r.status == "BAD")
        for dataset in run.datasets[1:]:
            period = period_of(run.run_number)
            assert dataset.name.endswith(f"2018{period}/DQM") or dataset.name.endswith(f"Run2018{period}_UL2018/DQM")
            if dataset.name.startswith("/ReReco/"):
                assert run.rr["state"] in ("SIGNOFF", "COMPLETED")
    assert {"GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET"} <= set(statuses_seen)


def test_large_registries_number_runs_consecutively() -> None:
    from backend.demo import _YearGenerator

    numbers = _YearGenerator(1)._run_numbers(20000)
    assert numbers == list(range(315000, 335000))


def test_overlay_examples() -> None:
    base = [StatusRange(1, 10, "GOOD")]
    assert overlay(base, StatusRange(1, 10, "BAD", "x y z")) == [StatusRange(1, 10, "BAD", "x y z")]
    assert overlay(overlay(base, StatusRange(3, 4, "BAD", "abc")), StatusRange(3, 4, "GOOD")) == base
    assert summarize({"dt-dt": [StatusRange(2, 3, "BAD", "abc", "DAQ")]}, 4) == {
        "dt-dt": {"BAD": 2, "EMPTY": 2, "comments": ["abc"], "causes": ["DAQ"]}
    }
    with pytest.raises(ValueError, match="invalid lumisection range"):
        StatusRange(5, 4, "GOOD")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(0, 5), st.sampled_from(["GOOD", "BAD", "STANDBY"])), max_size=12)
)
def test_overlay_equals_writing_lumisections_one_by_one(edits: list[tuple[int, int, str]]) -> None:
    ranges: list[StatusRange] = []
    per_ls: list[str | None] = [None] * 40
    for start, length, status in edits:
        ranges = overlay(ranges, StatusRange(start, start + length, status))
        per_ls[start - 1 : start + length] = [status] * (length + 1)
    assert [r.status if r else None for r in expand(ranges, 40)] == per_ls
    assert merge_equal(ranges) == ranges


def test_lumi_packing_round_trips() -> None:
    values = [0, 1, 466_000, 2**40]
    assert unpack_lumi(pack_lumi(values)) == values


def test_file_store_persists_across_restarts(tmp_path: Path) -> None:
    path = str(tmp_path / "rr.db")
    first = build_store(db=path, runs=12, seed=3)
    counts, digest = first.counts(), first.checksum()
    first.close()
    again = build_store(db=path, runs=999, seed=99)  # an existing file is reused, not regenerated
    assert (again.counts(), again.checksum()) == (counts, digest)
    again.close()


def test_store_summaries_match_ranges(store: Store, registry: DemoRegistry) -> None:
    run = next(r for r in registry.runs if r.rr["significant"])
    lumis = store.dataset_lumis(run.run_number, "online")
    assert lumis is not None
    assert lumis.statuses == run.datasets[0].statuses
    assert store.dataset_lumis(run.run_number, "/nope") is None
    assert store.oms_lumis(1) is None


def test_cli_arguments_are_validated() -> None:
    parser = build_parser()
    args = parser.parse_args(["--runs", "10", "--faults", "0.3", "--rr-quirks", "--auth-client", "a:b:c:writer"])
    assert (args.runs, args.faults, args.rr_quirks) == (10, 0.3, True)
    assert args.auth_client == [("a", "b:c", "writer")]
    for bad in (["--faults", "1.5"], ["--runs", "-1"], ["--auth-client", "a:b:admin"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
