"""Differential tests against the public client's filter transform (``runregistry`` 3.1.2, offline).

Where the public transform is right, runql's plan must be the same set of clauses (after normalising both to
a disjunctive normal form) and select the same records. Where it is wrong (clauses dropped, numeric ``or`` under
a JSON key, the caller's dict mutated, nested filters refused), runql must be right and the public one wrong.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import backend_filter
import pytest
import records
import reference
from public_cases import AGREED, RANGE, public_utils, transform

from querylang import FilterError, compile_filter
from querylang.backend_filter import (
    BackendFilter,
    Bare,
    Column,
    Compare,
    Condition,
    Junction,
    KeyJunction,
    UnknownOperator,
)

Clause = tuple[str, str, str]
DNF = frozenset[frozenset[Clause]]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with public_utils(tmp_path_factory.mktemp("no-dotenv")) as utils:
        yield utils


# -- normalisation -----------------------------------------------------------------------------------------
def _and(parts: list[DNF]) -> DNF:
    combos = itertools.product(*parts) if parts else [()]
    return frozenset(frozenset().union(*combo) for combo in combos)


def dnf(backend: Mapping[str, Any] | BackendFilter) -> DNF:
    """A backend filter as a set of alternatives, each a set of (key, op, JSON literal) clauses."""
    return _and([_entry(entry) for entry in backend_filter.node_of(backend).items])


def _entry(entry: Column | Junction) -> DNF:
    match entry:
        case Junction(logic="and", filters=filters):
            return _and([dnf(sub) for sub in filters])
        case Junction(filters=filters):
            return frozenset().union(*(dnf(sub) for sub in filters))
        case Column(key=key, condition=condition):
            return _condition(key, condition)
    raise AssertionError(entry)


def _condition(key: str, condition: Condition) -> DNF:
    if isinstance(condition, Bare):
        return frozenset({frozenset({(key, "=", json.dumps(condition.value))})})
    parts: list[DNF] = []
    for test in condition.tests:
        match test:
            case KeyJunction(logic="and", items=items):
                parts.append(_and([_condition(key, item) for item in items]))
            case KeyJunction(items=items):
                parts.append(frozenset().union(*(_condition(key, item) for item in items)))
            case Compare() | UnknownOperator():
                parts.append(frozenset({frozenset({(key, test.op, json.dumps(test.to_json()))})}))
    return _and(parts)


def plan_dnf(filters: tuple[BackendFilter, ...]) -> DNF:
    return frozenset().union(*(dnf(f) for f in filters))


def selected(filters: Any, kind: str, *, quirks: bool = False) -> list[tuple[int, str]]:
    data = records.datasets() if kind == "datasets" else records.runs()
    return [
        (r["run_number"], r.get("name", "")) for r in backend_filter.select(filters, data, kind=kind, quirks=quirks)
    ]


def meaning(user_filter: Any, kind: str) -> list[tuple[int, str]]:
    data = records.datasets() if kind == "datasets" else records.runs()
    return [(r["run_number"], r.get("name", "")) for r in reference.matching(user_filter, data, kind=kind)]


# -- where the public transform is right ---------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "user_filter"), AGREED, ids=[json.dumps(f) for _, f in AGREED])
def test_same_clauses_and_same_records_where_the_public_transform_is_right(
    public: Any, kind: str, user_filter: dict[str, Any]
) -> None:
    theirs = transform(public, kind)(copy.deepcopy(user_filter))
    plan = compile_filter(user_filter, kind=kind)
    assert plan_dnf(plan.nodes) == dnf(theirs)
    assert selected(plan.filters, kind) == selected([theirs], kind, quirks=True) == meaning(user_filter, kind) != []


# -- where it is wrong ---------------------------------------------------------------------------------------
DROPPED = [
    ("runs", {"run_number": RANGE, "dt-dt": {"or": ["GOOD", "STANDBY"]}}),
    ("runs", {"run_number": RANGE, "dt-dt": ["GOOD", "BAD"]}),
    ("runs", {"run_number": RANGE, "csc-csc": {"in": ["BAD"]}}),
    ("runs", {"run_number": RANGE, "dt-dt": {"not": "GOOD"}}),
]


@pytest.mark.parametrize(("kind", "user_filter"), DROPPED, ids=[json.dumps(f) for _, f in DROPPED])
def test_public_transform_drops_status_flags_runql_keeps_them(
    public: Any, kind: str, user_filter: dict[str, Any]
) -> None:
    theirs = transform(public, kind)(copy.deepcopy(user_filter))
    assert not any(key.startswith("triplet_summary") for key in theirs), "the public one dropped the flag"
    plan = compile_filter(user_filter, kind=kind)
    assert any("triplet_summary" in json.dumps(f) for f in plan.filters)
    assert selected(plan.filters, kind) == meaning(user_filter, kind)
    assert selected([theirs], kind) != meaning(user_filter, kind), "the widened query selects more runs"


def test_status_flag_as_boolean_is_dropped_by_public_and_refused_by_runql(public: Any) -> None:
    user_filter = {"run_number": RANGE, "dt-dt": True}
    theirs = transform(public, "runs")(copy.deepcopy(user_filter))
    assert set(theirs) == {"run_number"}  # silently widened to every run in the range
    with pytest.raises(FilterError, match="takes a status, not a boolean"):
        compile_filter(user_filter)


@pytest.mark.parametrize(
    "user_filter",
    [{"fill_number": {"or": [6001, 6002, 6003]}}, {"fill_number": {"and": [{">": 6000}, {"<": 6004}]}}],
    ids=["or", "and"],
)
def test_numeric_boolean_structure_under_a_json_key_breaks_on_the_server(
    public: Any, user_filter: dict[str, Any]
) -> None:
    theirs = transform(public, "runs")(copy.deepcopy(user_filter))
    with pytest.raises(backend_filter.ServerError):
        selected([theirs], "runs", quirks=True)
    plan = compile_filter(user_filter)
    assert selected(plan.filters, "runs", quirks=True) == meaning(user_filter, "runs") != []


def test_public_transform_mutates_the_callers_dict_runql_does_not(public: Any) -> None:
    user_filter = {"class": {"or": ["Cosmics18", "Collisions18"]}}
    pristine = copy.deepcopy(user_filter)
    compile_filter(user_filter)
    assert user_filter == pristine
    transform(public, "runs")(user_filter)
    assert user_filter != pristine


@pytest.mark.parametrize(
    "user_filter",
    [
        {"or": [{"class": "Cosmics18"}, {"fill_number": 6001}]},
        {"and": [{"class": "Collisions18"}, {"dt-dt": "GOOD"}]},
        {"not": {"class": "Cosmics18"}},
    ],
    ids=["or", "and", "not"],
)
def test_nested_filters_refused_by_public_compiled_by_runql(public: Any, user_filter: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="not found within the listed attributes"):
        transform(public, "runs")(copy.deepcopy(user_filter))
    plan = compile_filter(user_filter)
    assert selected(plan.filters, "runs", quirks=True) == meaning(user_filter, "runs") != []


def test_mixed_table_or_is_wrong_when_sent_as_one_filter_and_right_as_a_plan() -> None:
    user_filter = {"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}
    naive = {"or": [{"rr_attributes.class": "Cosmics18"}, {"triplet_summary.dt-dt.BAD": {">": 0}}]}
    assert selected([naive], "runs", quirks=True) != meaning(user_filter, "runs")
    plan = compile_filter(user_filter)
    assert len(plan.filters) == 2
    assert selected(plan.filters, "runs", quirks=True) == meaning(user_filter, "runs")


def test_public_transform_accepts_invalid_operators_runql_refuses(public: Any) -> None:
    user_filter = {"hlt_key": {">": 3}}
    assert transform(public, "runs")(copy.deepcopy(user_filter)) == {"oms_attributes.hlt_key": {">": 3}}
    with pytest.raises(FilterError, match="not allowed on string attribute"):
        compile_filter(user_filter)


def test_dataset_status_flag_as_boolean_public_raises_bare_exception(public: Any) -> None:
    user_filter = {"dt-dt": True}
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the point is that it is a bare Exception
        transform(public, "datasets")(copy.deepcopy(user_filter))
    assert type(caught.value) is Exception
    with pytest.raises(FilterError) as ours:
        compile_filter(user_filter, kind="datasets")
    assert ours.value.location == 'filter["dt-dt"]'
