"""querylang.segments: evaluating once per constant segment equals evaluating once per lumisection."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from testkit.strategies import json_logic_rules

from querylang import jsonlogic
from querylang.errors import RuleError
from querylang.ranges import merge as merge_ranges
from querylang.rules import plan_rule
from querylang.segments import (
    CumulativeLuminosity,
    RunContext,
    compile_plan,
    expand_rr_ranges,
    lumisection_data,
    oms_ranges_from_summary,
    rr_ranges_from_summary,
)

COMPONENTS = ["dt-dt", "csc-csc", "hlt-hlt"]
STATUSES = ["GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET", "EMPTY"]
BITS = ["bpix_ready", "fpix_ready"]

rr_var = st.sampled_from(COMPONENTS).map(lambda c: {"var": f"lumisection.rr.{c}"})
bit_var = st.sampled_from(BITS).map(lambda b: {"var": f"lumisection.oms.{b}"})
status = st.sampled_from(STATUSES)
leaf = st.one_of(
    st.builds(lambda op, v, s: {op: [v, s]}, st.sampled_from(["==", "!=", "===", "!=="]), rr_var, status),
    st.builds(lambda v, ss: {"in": [v, ss]}, rr_var, st.lists(status, max_size=3)),
    st.builds(lambda v: {"!": v}, rr_var),
    st.builds(lambda v, b: {"==": [v, b]}, bit_var, st.sampled_from([True, False, None])),
    bit_var,
    st.builds(lambda v: {"!": [v]}, bit_var),
    st.builds(lambda x: {">": [{"var": "lumisection.oms.recorded"}, x]}, st.sampled_from([0, 1, 2.5])),
    st.builds(
        lambda a, b: {"<=": [a, {"var": "lumisection.lumisection_number"}, b]}, st.integers(0, 8), st.integers(3, 20)
    ),
    st.builds(lambda x: {">=": [{"var": "run.oms.energy"}, x]}, st.sampled_from([1000, 6000])),
    st.just({"var": "run.rr.significant"}),
)
rules = json_logic_rules(leaf, max_leaves=5, max_clauses=5)


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(0, 25))
    position = st.integers(1, count + 2)

    def ranges(values: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
        return st.lists(
            st.builds(lambda a, b, v: {**v, "start": min(a, b), "end": max(a, b)}, position, position, values),
            max_size=5,
        )

    components = draw(st.lists(st.sampled_from(COMPONENTS), unique=True))
    lumi = st.sampled_from([0, 1, 2.5, None])
    return {
        "context": RunContext(
            run_number=draw(st.integers(1, 400000)),
            oms={"energy": draw(st.sampled_from([None, 900, 6500]))},
            rr={"significant": draw(st.sampled_from([True, False, None]))},
        ),
        "lumisection_count": count,
        "rr_ranges": {c: draw(ranges(st.builds(lambda s: {"status": s}, status))) for c in components},
        "oms_ranges": draw(ranges(st.fixed_dictionaries({b: st.sampled_from([True, False, None]) for b in BITS}))),
        "luminosity": [{"recorded": draw(lumi), "delivered": draw(lumi)} for _ in range(count)],
    }


def _per_lumisection(rule: Any, clauses: list[Any], run: dict[str, Any]) -> dict[str, Any]:
    """The brute force: build the service's data object for every lumisection and evaluate everything."""
    count = run["lumisection_count"]
    statuses = expand_rr_ranges(run["rr_ranges"], count)
    candidates, kept, several = [], [], []
    alone: list[list[tuple[int, int]]] = [[] for _ in clauses]
    for k in range(1, count + 1):
        if statuses[k - 1] is None:
            continue
        oms: dict[str, Any] = {}
        for item in run["oms_ranges"]:
            if item["start"] <= k <= item["end"]:
                oms = {key: v for key, v in item.items() if key not in ("start", "end")}
        oms.update(run["luminosity"][k - 1])
        data = lumisection_data(run["context"], k, oms, statuses[k - 1] or {})
        candidates.append((k, k))
        failing = [i for i, c in enumerate(clauses) if not jsonlogic.truthy(jsonlogic.apply(c, data))]
        assert jsonlogic.truthy(jsonlogic.apply(rule, data)) is (not failing)
        if not failing:
            kept.append((k, k))
        elif len(failing) == 1:
            alone[failing[0]].append((k, k))
        else:
            several.append((k, k))
    return {
        "candidates": merge_ranges(candidates),
        "kept": merge_ranges(kept),
        "removed_alone": tuple(merge_ranges(r) for r in alone),
        "removed_by_several": merge_ranges(several),
    }


@given(rules, runs())
def test_segment_evaluation_equals_per_lumisection_evaluation(rule: Any, run: dict[str, Any]) -> None:
    plan = plan_rule(rule)
    result = compile_plan(plan).evaluate(**run)
    expected = _per_lumisection(rule, [c.rule for c in plan.clauses], run)
    assert result.candidates == expected["candidates"]
    assert result.kept == expected["kept"]
    assert result.removed_alone == expected["removed_alone"]
    assert result.removed_by_several == expected["removed_by_several"]
    assert result.segments <= max(run["lumisection_count"], 0)


REFERENCE = {
    "and": [
        {">=": [{"var": "run.oms.energy"}, 6000]},
        {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
        {"==": [{"var": "lumisection.oms.bpix_ready"}, True]},
    ]
}


def _evaluate(rule: Any = REFERENCE, **changes: Any) -> Any:
    run: dict[str, Any] = {
        "context": RunContext(316000, oms={"energy": 6500}),
        "lumisection_count": 1000,
        "rr_ranges": {
            "dt-dt": [{"status": "GOOD", "start": 1, "end": 600}, {"status": "BAD", "start": 601, "end": 1000}]
        },
        "oms_ranges": [{"bpix_ready": False, "start": 1, "end": 9}, {"bpix_ready": True, "start": 10, "end": 1000}],
    }
    return compile_plan(plan_rule(rule)).evaluate(**{**run, **changes})


def test_a_long_run_is_evaluated_on_a_few_segments() -> None:
    result = _evaluate()
    assert result.kept == ((10, 600),)
    assert result.golden_ranges == [[10, 600]]
    assert result.segments == 3
    assert result.removed_alone == ((), ((601, 1000),), ((1, 9),))


def test_a_failing_run_level_clause_removes_everything_and_is_accounted() -> None:
    result = _evaluate(context=RunContext(316000, oms={"energy": 900}))
    assert result.kept == ()
    assert result.removed_alone[0] == ((10, 600),)
    assert result.removed_by_several == ((1, 9), (601, 1000))


def test_runs_without_rr_statuses_keep_nothing() -> None:
    result = _evaluate(rr_ranges={})
    assert (result.kept, result.candidates, result.segments) == ((), (), 0)


def test_every_lumisection_of_a_run_with_rr_statuses_is_a_candidate() -> None:
    result = _evaluate({"var": "run.oms.energy"}, rr_ranges={"csc-csc": [{"status": "BAD", "start": 5, "end": 8}]})
    assert result.candidates == ((1, 1000),)
    assert result.kept == ((1, 1000),)


def test_empty_and_uncovered_statuses_are_absent() -> None:
    ranges = {"dt-dt": [{"status": "GOOD", "start": 1, "end": 4}, {"status": "EMPTY", "start": 5, "end": 6}]}
    result = _evaluate({"==": [{"var": "lumisection.rr.dt-dt"}, None]}, lumisection_count=8, rr_ranges=ranges)
    assert result.kept == ((5, 8),)


def test_luminosity_rules_need_luminosity() -> None:
    rule = {">": [{"var": "lumisection.oms.recorded"}, 0]}
    with pytest.raises(RuleError, match="pass luminosity"):
        _evaluate(rule)
    result = _evaluate(rule, lumisection_count=4, luminosity=[{"recorded": r} for r in (0, 1, 1, 0)])
    assert result.kept == ((2, 3),)


@pytest.mark.parametrize(
    "ranges",
    [
        {"dt-dt": [{"status": "GOOD", "start": 0, "end": 3}]},
        {"dt-dt": [{"status": "GOOD", "start": 4, "end": 3}]},
        {"dt-dt": [{"status": "GOOD", "start": "1", "end": 3}]},
        {"dt-dt": [{"start": 1, "end": 3}]},
    ],
)
def test_malformed_ranges_are_errors(ranges: Any) -> None:
    with pytest.raises(RuleError):
        _evaluate(rr_ranges=ranges)


def _value_at(ranges: list[dict[str, Any]], k: int, key: str) -> Any:
    """The value of the last range covering lumisection k (later ranges win, like the stored overlay)."""
    value: Any = "EMPTY"
    for item in ranges:
        if item["start"] <= k <= item["end"]:
            value = item[key]
    return value


def _summaries(run: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, int]]]:
    """The service's triplet summary (per component, lumisections per status) and DCS summary (per bit)."""
    count = run["lumisection_count"]
    triplet: dict[str, dict[str, Any]] = {}
    for component, ranges in run["rr_ranges"].items():
        counts: dict[str, Any] = {"comments": [], "causes": []}
        for k in range(1, count + 1):
            status = _value_at(ranges, k, "status")
            counts[status] = counts.get(status, 0) + 1
        triplet[component] = counts
    dcs = {bit: {"TRUE": 0, "FALSE": 0, "NULL": 0, "EMPTY": 0} for bit in BITS}
    for bit in BITS:
        for k in range(1, count + 1):
            value = _value_at(run["oms_ranges"], k, bit)
            dcs[bit][{True: "TRUE", False: "FALSE", None: "NULL"}.get(value, "EMPTY")] += 1
    return triplet, dcs


@st.composite
def runs_with_constant_parts(draw: st.DrawFn) -> dict[str, Any]:
    """Runs where some components and the OMS bits often keep one value over the whole run."""
    run = draw(runs())
    count = run["lumisection_count"]
    if count < 1:
        return run
    for component in run["rr_ranges"]:
        if draw(st.booleans()):
            run["rr_ranges"][component] = [{"status": draw(status), "start": 1, "end": count}]
    if draw(st.booleans()):
        bits = draw(st.fixed_dictionaries({b: st.sampled_from([True, False, None]) for b in BITS}))
        run["oms_ranges"] = [] if draw(st.booleans()) else [{**bits, "start": 1, "end": count}]
    return run


@given(rules, runs_with_constant_parts())
def test_ranges_told_by_summaries_evaluate_like_the_real_ranges(rule: Any, run: dict[str, Any]) -> None:
    plan = plan_rule(rule)
    engine = compile_plan(plan)
    triplet, dcs = _summaries(run)
    expected = engine.evaluate(**run)
    told_rr = rr_ranges_from_summary(triplet, plan.rr_components)
    if told_rr is not None:
        assert told_rr[0] == run["lumisection_count"]
        assert set(told_rr[1]) == set(run["rr_ranges"])
        told = engine.evaluate(**{**run, "rr_ranges": told_rr[1]})
        assert dataclasses.replace(told, segments=0) == dataclasses.replace(expected, segments=0)
    told_oms = oms_ranges_from_summary(dcs, plan.oms_bits)
    if told_oms is not None:
        assert told_oms[0] == run["lumisection_count"]
        assert engine.evaluate(**{**run, "oms_ranges": told_oms[1]}).kept == expected.kept


@given(rules, runs())
def test_a_run_that_keeps_nothing_keeps_nothing_whatever_its_oms(rule: Any, run: dict[str, Any]) -> None:
    plan = plan_rule(rule)
    engine = compile_plan(plan)
    nothing = engine.keeps_nothing(
        run["context"], lumisection_count=run["lumisection_count"], rr_ranges=run["rr_ranges"]
    )
    kept = engine.evaluate(**run).kept
    if nothing:
        assert kept == ()
    if not plan.oms_values:  # nothing unknown: the answer is exact both ways
        assert nothing is (kept == ())


def test_summaries_that_vary_or_disagree_tell_nothing() -> None:
    varying = {"dt-dt": {"GOOD": 3, "BAD": 1}}
    assert rr_ranges_from_summary(varying, ["dt-dt"]) is None
    assert rr_ranges_from_summary(varying, ["csc-csc"]) == (4, {"dt-dt": []})  # csc-csc has no status at all
    assert rr_ranges_from_summary({"dt-dt": {"GOOD": 3}, "csc-csc": {"GOOD": 4}}, ["dt-dt", "csc-csc"]) is None
    assert rr_ranges_from_summary({}, ["dt-dt"]) is None  # no RR status: nothing to count
    half_empty = {"bpix_ready": {"TRUE": 0, "FALSE": 0, "NULL": 0, "EMPTY": 4}, "fpix_ready": {"TRUE": 4}}
    assert oms_ranges_from_summary(half_empty, ["bpix_ready"]) == (4, [])
    assert oms_ranges_from_summary(half_empty, ["bpix_ready", "fpix_ready"]) is None
    assert oms_ranges_from_summary(half_empty, ["prescale_index"]) is None  # not in the DCS summary


@given(
    st.lists(
        st.fixed_dictionaries({"recorded": st.none() | st.integers(0, 10**6), "delivered": st.integers(0, 10**6)})
    ),
    st.lists(st.tuples(st.integers(1, 40), st.integers(0, 8)), max_size=6),
)
def test_cumulative_luminosity_equals_a_sum_per_lumisection(
    luminosity: list[dict[str, Any]], spans: list[tuple[int, int]]
) -> None:
    ranges = merge_ranges((first, first + length) for first, length in spans)
    numbers = [k for first, last in ranges for k in range(first, last + 1) if k <= len(luminosity)]
    expected = (
        sum(luminosity[k - 1]["recorded"] or 0 for k in numbers),
        sum(luminosity[k - 1]["delivered"] for k in numbers),
    )
    assert CumulativeLuminosity.of(luminosity).over(ranges) == expected


def test_cumulative_luminosity_of_nothing_is_zero() -> None:
    assert CumulativeLuminosity().over([(1, 100)]) == (0, 0)
    assert CumulativeLuminosity.of([]).over([(1, 1)]) == (0, 0)


def test_dataset_attributes_follow_the_name_like_the_service() -> None:
    context = RunContext(1, dataset_name="/A/B/DQM", dataset_attributes={"global_state": "OPEN", "name": "x"})
    assert context.data()["dataset"] == {"name": "x", "global_state": "OPEN"}  # json_portal: {"name", **attrs}


def test_docstring_examples_run() -> None:
    import doctest

    from querylang import jsonlogic as jl
    from querylang import rules, segments, similar

    for module in (jl, rules, segments, similar):
        result = doctest.testmod(module)
        assert result.attempted > 0, module
        assert result.failed == 0, module
