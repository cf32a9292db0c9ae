"""Long value lists: ``in``/``notin``/or-lists of thousands of values compile into plans of small backend filters.

Each plan is checked by the offline evaluator of the backend grammar, with the service's quirks on: the union of
its filters selects exactly the listed runs, every ``or`` list stays within ``max_or_values``, and runs of
consecutive run numbers are sent as ranges.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from typing import Any

import backend_filter
import records
from hypothesis import given
from hypothesis import strategies as st
from testkit.profiles import scaled

from querylang import compile_filter
from querylang.backend_filter import BackendFilter, Junction, KeyJunction, Operators
from querylang.compile import MAX_OR_VALUES

SETTINGS = scaled(0.6)  # each example compiles lists of thousands of values


def _widest_or(node: BackendFilter) -> int:
    """The longest ``or`` list in a compiled filter (which has none under its keys)."""
    widths = [0]
    for entry in node.items:
        if isinstance(entry, Junction):
            widths += [len(entry.filters) if entry.logic == "or" else 0, *(_widest_or(f) for f in entry.filters)]
        else:
            assert not any(isinstance(t, KeyJunction) for t in getattr(entry.condition, "tests", ()))
    return max(widths)


def _selected(filters: Iterable[dict[str, Any]], numbers: Iterable[int]) -> set[int]:
    candidates = [{"run_number": n, "rr_attributes": {"class": "Collisions18"}} for n in numbers]
    return {r["run_number"] for r in backend_filter.select(filters, candidates, quirks=True)}


@SETTINGS
@given(
    values=st.lists(st.integers(0, 60), min_size=1, max_size=80),
    chunk=st.integers(1, 12),
    form=st.sampled_from(["in", "notin", "or", "list"]),
)
def test_any_list_compiles_exactly_within_the_bounds(values: list[int], chunk: int, form: str) -> None:
    spec: Any = values if form == "list" else {form: values}
    plan = compile_filter({"run_number": spec}, max_or_values=chunk, max_filters=10**6)
    assert all(_widest_or(f) <= chunk for f in plan.nodes)
    universe = range(-2, 63)
    want = set(universe) - set(values) if form == "notin" else set(values)
    assert _selected(plan.filters, universe) == want


def test_consecutive_run_numbers_are_sent_as_ranges() -> None:
    plan = compile_filter({"run_number": {"in": [*range(315000, 318000), 320001, 320003]}})
    assert plan.filters == (
        {
            "or": [
                {"run_number": {">=": 315000, "<=": 317999}},
                {"run_number": {"=": 320001}},
                {"run_number": {"=": 320003}},
            ]
        },
    )
    plan = compile_filter({"run_number": {"notin": [*range(315000, 318000), 320001]}})
    assert plan.filters == (
        {
            "and": [
                {"run_number": {"<>": 320001}},
                {"or": [{"run_number": {"<": 315000}}, {"run_number": {">": 317999}}]},
            ]
        },
    )
    # only run numbers: other numbers may be fractional, so their lists stay equalities
    fills = compile_filter({"fill_number": {"in": [1, 2, 3]}}).filters
    assert fills == ({"or": [{"oms_attributes.fill_number": {"=": n}} for n in (1, 2, 3)]},)


def test_ten_thousand_run_numbers() -> None:
    rng = random.Random(2018)
    numbers = rng.sample(range(300_000, 400_000), 10_000)
    started = time.perf_counter()
    plan = compile_filter({"run_number": {"in": numbers}, "class": "Collisions18"})
    assert time.perf_counter() - started < 10  # a generous bound: it takes well under a second
    assert 10 <= len(plan.filters) <= 64
    assert all(_widest_or(f) <= MAX_OR_VALUES for f in plan.nodes)
    assert all('"rr_attributes.class": {"=": "Collisions18"}' in json.dumps(f) for f in plan.filters)
    assert set().union(*(_listed(f) for f in plan.nodes)) == set(numbers)  # every value, each in one filter
    assert sum(len(_listed(f)) for f in plan.nodes) == len(numbers)
    probe = [*numbers[:8], *rng.sample(range(299_990, 400_010), 8)]  # the evaluator is slow: a sample
    assert _selected(plan.filters, probe) == set(numbers) & set(probe)
    negated = compile_filter({"run_number": {"notin": numbers}})
    assert len(negated.filters) == 1
    assert _selected(negated.filters, probe) == set(probe) - set(numbers)


def _listed(node: BackendFilter) -> set[int]:
    """The run numbers a plan's filter lists, as ``=`` items and ``>=``/``<=`` ranges."""
    found: set[int] = set()
    for entry in node.items:
        if isinstance(entry, Junction):
            found |= set().union(*(_listed(f) for f in entry.filters))
        elif entry.key == "run_number" and isinstance(entry.condition, Operators):
            ops = {t.op: t.to_json() for t in entry.condition.tests}
            if "=" in ops:
                found.add(ops["="])
            if ">=" in ops:
                found |= set(range(ops[">="], ops["<="] + 1))
    return found


def test_long_lists_combine_with_an_or_across_tables() -> None:
    runs = records.runs()
    numbers = [r["run_number"] for r in runs[::2]] + list(range(1, 5000, 2))
    flt = {"or": [{"run_number": numbers}, {"dt-dt": "BAD"}]}
    plan = compile_filter(flt, max_or_values=300)
    got = backend_filter.select(plan.filters, runs, quirks=True)
    keep = set(numbers)
    bad = {r["run_number"] for r in runs if r["DatasetTripletCache"]["triplet_summary"].get("dt-dt", {}).get("BAD")}
    assert bad
    assert [r["run_number"] for r in got] == [r["run_number"] for r in runs if r["run_number"] in keep | bad]
