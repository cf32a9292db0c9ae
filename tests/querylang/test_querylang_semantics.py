"""Semantic tests: a compiled plan selects exactly what the reference evaluator says the user filter means.

The plans are run through an offline evaluator of the backend grammar (``backend_filter.py``), with and without
the service's quirks (a) and (b): runql's plans must give the same answer either way.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import backend_filter
import pytest
import records
import reference
from hypothesis import assume, given
from strategies import mutated_filters, run_filters

from querylang import FilterError, Plan, compile_filter
from querylang.backend_filter import BackendFilter, Junction, Operators

GOLDEN = Path(__file__).parent / "golden"


def _golden_plans() -> list[dict[str, Any]]:
    cases = [c for p in sorted(GOLDEN.glob("*.json")) for c in json.loads(p.read_text())]
    return [c for c in cases if c["mode"] == "compile" and "filters" in c["expected"]]


GOLDEN_PLANS = _golden_plans()


def _records(kind: str) -> list[dict[str, Any]]:
    return records.datasets() if kind == "datasets" else records.runs()


def _numbers(selected: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(r["run_number"], r.get("name", "")) for r in selected]


@pytest.mark.parametrize("case", GOLDEN_PLANS, ids=[c["name"] for c in GOLDEN_PLANS])
@pytest.mark.parametrize("quirks", [False, True], ids=["exact", "quirks"])
def test_golden_plan_selects_what_the_filter_means(case: dict[str, Any], quirks: bool) -> None:
    data = _records(case["kind"])
    expected = reference.matching(case["filter"], data, kind=case["kind"])
    selected = backend_filter.select(case["expected"]["filters"], data, kind=case["kind"], quirks=quirks)
    assert _numbers(selected) == _numbers(expected)


def test_golden_filters_discriminate_on_the_data() -> None:
    """Most golden filters select a proper, non-empty subset, so the test above can fail."""
    proper = 0
    for case in GOLDEN_PLANS:
        data = _records(case["kind"])
        count = len(reference.matching(case["filter"], data, kind=case["kind"]))
        proper += 0 < count < len(data)
    assert proper >= 0.7 * len(GOLDEN_PLANS)


@given(run_filters())
def test_random_valid_filters_compile_to_equivalent_plans(user_filter: dict[str, Any]) -> None:
    before = json.dumps(user_filter, sort_keys=True, default=str)
    try:
        plan = compile_filter(user_filter, max_filters=256)
    except FilterError as err:
        assume("backend filters" not in err.message)  # a legitimately too large plan
        raise
    assert json.dumps(user_filter, sort_keys=True, default=str) == before, "the caller's filter was mutated"
    data = records.runs()
    expected = _numbers(reference.matching(user_filter, data))
    assert _numbers(backend_filter.select(plan.filters, data)) == expected
    assert _numbers(backend_filter.select(plan.filters, data, quirks=True)) == expected


def _leaves(node: Any, key: str | None = None) -> list[tuple[str, Any]]:
    """(user key, literal) of every leaf of a user filter; statuses as (flag, status)."""
    if isinstance(node, dict):
        found = []
        for k, v in node.items():
            if k in ("and", "or", "not", "in", "notin", "=", "<>", "<", ">", "<=", ">=", "like", "notlike"):
                found += _leaves(v, key)
            else:
                found += _leaves(v, k)
        return found
    if isinstance(node, list):
        return [leaf for item in node for leaf in _leaves(item, key)]
    assert key is not None
    return [(key, node)]


def _backend_leaf(key: str, literal: Any) -> tuple[str, Any]:
    from querylang import default_catalogue

    catalogue = default_catalogue()
    if key.startswith("triplet_summary."):
        return key, literal
    try:
        flag = catalogue.status_flag(key)
    except KeyError:
        attribute = catalogue.run_attribute(key)
        value = reference.stored_date(literal) if attribute.type.value == "date" else literal
        return attribute.path, value
    return flag.path(literal.upper()), None


def _atoms(node: BackendFilter) -> set[tuple[str, Any]]:
    found: set[tuple[str, Any]] = set()
    for entry in node.items:
        if isinstance(entry, Junction):
            for sub in entry.filters:
                found |= _atoms(sub)
        else:
            assert isinstance(entry.condition, Operators)  # compiled filters always use operator objects
            for test in entry.condition.tests:
                found |= {(entry.key, json.dumps(test.to_json())), (entry.key, None)}
    return found


@given(run_filters(empty_lists=False))
def test_every_leaf_of_the_input_appears_in_the_plan(user_filter: dict[str, Any]) -> None:
    try:
        plan = compile_filter(user_filter, max_filters=256)
    except FilterError as err:
        assume("backend filters" not in err.message)
        raise
    atoms = set().union(*(_atoms(f) for f in plan.nodes))
    for key, literal in _leaves(user_filter):
        path, value = _backend_leaf(key, literal)
        assert (path, None if value is None else json.dumps(value)) in atoms, (key, literal)


@given(mutated_filters())
def test_mutated_filters_compile_or_raise_filter_error(user_filter: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for policy in ("error", "warn"):
            outcome = _compile_or_error(user_filter, policy)
            if isinstance(outcome, FilterError):
                assert outcome.location.startswith("filter")
            else:
                json.dumps(outcome.to_dict())  # whatever compiles is JSON


def _compile_or_error(user_filter: Any, policy: Any) -> Plan | FilterError:
    """The plan, or the FilterError; any other exception propagates and fails the test."""
    try:
        return compile_filter(user_filter, unknown_flags=policy, max_filters=256)
    except FilterError as err:
        return err
