"""The demo generator (deterministic, realistic), lumisection ranges, and the store (persistence, summaries)."""

from __future__ import annotations

import collections
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from testkit.store import checksum

from backend.cli import build_parser
from backend.demo import DEFAULT_RUNS, generate, generate_run
from backend.eras import ERAS, era_of
from backend.lumiranges import StatusRange, expand, merge_equal, overlay, summarize
from backend.rows import DemoRegistry, pack_lumi, unpack_lumi
from backend.server import build_store
from backend.store import Store
from querylang.catalogue import Owner, default_catalogue

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ENERGY = {
    "Collisions18": 6500,
    "Collisions18HI": 6370,
    "Collisions22": 6800,
    "Collisions23": 6800,
    "Collisions24": 6800,
}


@pytest.fixture(scope="module")
def sample() -> DemoRegistry:
    """600 runs spread evenly over the default registry: every era is represented."""
    return generate(runs=600, seed=5)


def test_generation_is_deterministic(registry: DemoRegistry) -> None:
    again = generate(runs=len(registry.runs), seed=registry.seed)
    assert [r.oms for r in again.runs] == [r.oms for r in registry.runs]
    assert [r.datasets[0].statuses for r in again.runs] == [r.datasets[0].statuses for r in registry.runs]
    assert generate(runs=30, seed=1).runs[0].oms != generate(runs=30, seed=2).runs[0].oms


def test_a_sample_holds_the_default_registrys_own_runs() -> None:
    small, larger = generate(runs=30, seed=3).runs, generate(runs=59, seed=3).runs
    assert larger[::2] == small  # both are even samples of the same registry
    assert (small[0].run_number, small[0].era) == (larger[0].run_number, "Commissioning2018 CRUZET")
    assert small[-1].era == "Run2024I"
    assert small[-1].oms["end_time"] is None
    assert all(r.oms["end_time"] is not None for r in small[:-1])
    for run in small[::7]:
        assert generate_run(run.run_number, seed=3) == run
    assert generate_run(small[0].run_number + 1, seed=3) != small[0]
    assert generate_run(200000) is None


def test_the_eras_follow_cms_run_numbers_and_dates() -> None:
    assert ERAS[0].first_run == 308000
    assert ERAS[-1].last_run == 386951
    for before, after in itertools.pairwise(ERAS):
        assert after.first_run == before.last_run + 1
        assert before.begins < before.ends <= after.begins
        assert 0 < after.runs <= after.span
    assert DEFAULT_RUNS == sum(e.runs for e in ERAS) > 20000
    letters = {year: "".join(e.letter or "" for e in ERAS if e.year == year and e.beam) for year in (2022, 2023, 2024)}
    assert letters == {2022: "ABCDEFG", 2023: "ABCDEF", 2024: "ABCDEFGHI"}
    assert [e.name for e in ERAS if 2019 <= e.year <= 2021 and e.beam] == []  # Long Shutdown 2: no beam
    hi = era_of(327000)
    assert hi is not None
    assert hi.beam is not None
    assert (hi.name, hi.beam.energy, hi.beam.particles, hi.begins.month, hi.ends.month) == (
        "HIRun2018A",
        6370,
        "PB82",
        11,
        12,
    )
    assert hi.datasets_of("Collisions18HI")[0] == "/PromptReco/HIRun2018A/DQM"
    after_hi = era_of(328000)
    assert after_hi is not None
    assert after_hi.datasets_of("Cosmics18") == ("/PromptReco/HICosmics18A/DQM",)
    assert era_of(309000).datasets_of("Cosmics18CRUZET") == ("/PromptReco/Cosmics18CRUZET/DQM",)  # type: ignore[union-attr]
    assert era_of(341000).classes[0][0] == "Cosmics21CRUZET"  # type: ignore[union-attr]
    assert era_of(356000).datasets_of("Collisions22")[0] == "/PromptReco/Collisions2022C/DQM"  # type: ignore[union-attr]
    assert era_of(316000).datasets_of("Collisions18")[1] == "/ReReco/Run2018A_UL2018/DQM"  # type: ignore[union-attr]
    assert [getattr(era_of(n), "letter", None) for n in (316000, 320000, 312000)] == ["A", "C", None]  # run periods


def test_runs_look_like_their_era(sample: DemoRegistry) -> None:
    runs = sample.runs
    assert [r.run_number for r in runs] == sorted({r.run_number for r in runs})
    assert [r.oms["start_time"] for r in runs] == sorted(r.oms["start_time"] for r in runs)
    for run in runs:
        era = era_of(run.run_number)
        assert era is not None
        assert era.name == run.era
        cls = run.rr["class"]
        assert cls in dict(era.classes)
        assert ISO.fullmatch(run.oms["start_time"])
        assert era.begins.strftime("%Y-%m-%dT%H:%M:%SZ") <= run.oms["start_time"] < era.ends.strftime("%Y-%m-%dT%H")
        assert run.oms["energy"] == ENERGY.get(cls, 0)
        if run.oms["fill_number"] is not None:
            assert era.beam is not None
            assert era.beam.fills[0] <= run.oms["fill_number"] <= era.beam.fills[1]
        if cls.startswith("Collisions"):
            assert run.oms["fill_number"] is not None
            assert run.oms["hlt_key"].startswith(("/cdaq/physics/", "/cdaq/special/"))
            assert run.oms["fill_type_party1"] == ("PB82" if cls == "Collisions18HI" else "PROTON")
        if cls.startswith("Cosmics"):
            assert run.oms["hlt_key"].startswith("/cdaq/cosmic/")
            assert run.oms["injection_scheme"] is None
        if "CRUZET" in cls or era.year in (2019, 2020):  # zero field: CRUZET, and the open detector of LS2
            assert not era.magnet
            assert run.oms["b_field"] < 0.1
        assert str(era.year) in run.oms["l1_key"]
        assert run.oms["cmssw_version"] in era.cmssw
        assert all(r <= d for r, d in zip(run.recorded, run.delivered, strict=True))
    classes = collections.Counter(r.rr["class"] for r in runs)
    assert {"Collisions18", "Collisions18HI", "Cosmics18CRUZET", "Commissioning19", "Collisions24"} <= set(classes)
    assert classes.most_common(1)[0][0].startswith("Collisions")
    assert {r.rr["state"] for r in runs} == {"OPEN", "SIGNOFF", "COMPLETED"}
    assert any(r.oms["b_field"] < 0.1 for r in runs)
    assert any(3.7 <= r.oms["b_field"] <= 3.9 for r in runs)
    assert any("WMass" in r.oms["hlt_key"] for r in generate(runs=80, seed=1, years=[2018]).runs)
    schemes = [r.oms["injection_scheme"] for r in runs if r.oms["injection_scheme"]]
    assert any(s.startswith("25ns") for s in schemes)
    assert any(s.startswith("75ns") for s in schemes)
    assert any(r.oms["stable_beam"] for r in runs)


def test_every_catalogue_run_attribute_is_generated(registry: DemoRegistry) -> None:
    oms = {a.name for a in default_catalogue().attributes() if a.owner is Owner.OMS_RUN}
    rr = {a.name for a in default_catalogue().attributes() if a.owner is Owner.RR_RUN}
    for run in registry.runs:
        assert set(run.oms) == oms | {"run_number"}  # OMS repeats the run number
        assert set(run.rr) == rr


def test_datasets_and_statuses(sample: DemoRegistry) -> None:
    certifiable = {f.name for f in default_catalogue().certifiable(online=True)}
    statuses_seen: collections.Counter[str] = collections.Counter()
    names: set[str] = set()
    for run in sample.runs:
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
        era = era_of(run.run_number)
        assert era is not None
        assert [d.name for d in run.datasets[1:]] == list(era.datasets_of(run.rr["class"])[: len(run.datasets) - 1])
        for dataset in run.datasets[1:]:
            names.add(dataset.name)
            if dataset.name.startswith("/ReReco/"):
                assert run.rr["state"] in ("SIGNOFF", "COMPLETED")
    assert {"GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET"} <= set(statuses_seen)
    expected = {
        "/PromptReco/Commissioning2018/DQM",
        "/PromptReco/Cosmics18CRUZET/DQM",
        "/PromptReco/HIRun2018A/DQM",
        "/PromptReco/HICosmics18A/DQM",
        "/PromptReco/Collisions2018D/DQM",
        "/ReReco/Run2018D_UL2018/DQM",
        "/PromptReco/Commissioning2019/DQM",
        "/PromptReco/Collisions2024F/DQM",
    }
    assert expected <= names


def test_years_and_larger_counts_stay_in_their_eras() -> None:
    slice_2020 = generate(runs=2000, seed=1, years=[2020]).runs  # more than the era's 1,700 runs
    assert len({r.run_number for r in slice_2020}) == 2000
    assert all(336000 <= r.run_number <= 339999 and r.era == "Commissioning2020" for r in slice_2020)
    with pytest.raises(ValueError, match="runs must be <= 4000"):
        generate(runs=4001, years=[2020])
    with pytest.raises(ValueError, match="no era in years"):
        generate(years=[2017])


def test_overlay_examples() -> None:
    base = [StatusRange(1, 10, "GOOD")]
    assert overlay(base, StatusRange(1, 10, "BAD", "x y z")) == [StatusRange(1, 10, "BAD", "x y z")]
    assert overlay(overlay(base, StatusRange(3, 4, "BAD", "abc")), StatusRange(3, 4, "GOOD")) == base
    assert summarize({"dt-dt": [StatusRange(2, 3, "BAD", "abc", "DAQ")]}, 4) == {
        "dt-dt": {"BAD": 2, "EMPTY": 2, "comments": ["abc"], "causes": ["DAQ"]}
    }
    with pytest.raises(ValueError, match="a lumisection range needs 1 <= first <= last"):
        StatusRange(5, 4, "GOOD")


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
    counts, digest = first.counts(), checksum(first)
    first.close()
    again = build_store(db=path, runs=999, seed=99)  # an existing file is reused, not regenerated
    assert (again.counts(), checksum(again)) == (counts, digest)
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
