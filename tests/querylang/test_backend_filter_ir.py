"""The backend-filter IR (``querylang.backend_filter``): round trips, construction-time validation, every raw
filter shape the suite sends, and hostile inputs refused in bounded time."""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from querylang import FilterError, QuirkWarning, raw_plan
from querylang.backend_filter import (
    COMPARISON_OPERATORS,
    CONNECTIVES,
    LIKE_OPERATORS,
    MAX_NODE_DEPTH,
    BackendFilter,
    Bare,
    Column,
    Compare,
    Junction,
    KeyJunction,
    Operators,
    UnknownOperator,
    column_keys,
    from_json,
    table_of,
)
from querylang.catalogue import default_catalogue

GOLDEN = Path(__file__).parent / "golden"

# -- strategies ------------------------------------------------------------------------------------------------
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
_json = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
)
_compares = st.one_of(
    st.builds(Compare, st.sampled_from(COMPARISON_OPERATORS), _scalars),
    st.builds(Compare, st.sampled_from(sorted(LIKE_OPERATORS)), st.text(max_size=6)),
)
_unknowns = st.builds(UnknownOperator.of, st.sampled_from(["between", "in", "!=", "Like", "And"]), _json)
_connectives = st.sampled_from(sorted(CONNECTIVES))


def _operators(tests: st.SearchStrategy[Any]) -> st.SearchStrategy[Operators]:
    return st.lists(tests, max_size=3, unique_by=lambda t: t.key).map(lambda ts: Operators(tuple(ts)))


_conditions = st.recursive(
    st.one_of(st.builds(Bare, _scalars), _operators(st.one_of(_compares, _unknowns))),
    lambda inner: _operators(
        st.one_of(_compares, _unknowns, st.builds(KeyJunction, _connectives, st.lists(inner, max_size=3).map(tuple)))
    ),
    max_leaves=6,
)
_keys = st.one_of(
    st.sampled_from(["run_number", "name", "oms_attributes.energy", "triplet_summary.dt-dt.GOOD", "rr_attributes.x"]),
    st.text(min_size=1, max_size=8).filter(lambda k: k not in CONNECTIVES),
)
_columns = st.builds(Column, _keys, _conditions)


def _objects(entries: st.SearchStrategy[Any]) -> st.SearchStrategy[BackendFilter]:
    return st.lists(entries, max_size=3, unique_by=lambda e: e.key).map(lambda es: BackendFilter(tuple(es)))


backend_filters = st.recursive(
    _objects(_columns),
    lambda inner: _objects(
        st.one_of(_columns, st.builds(Junction, _connectives, st.lists(inner, max_size=3).map(tuple)))
    ),
    max_leaves=8,
)


# -- round trips -----------------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(backend_filters)
def test_from_json_of_to_json_is_the_same_tree(node: BackendFilter) -> None:
    wire = node.to_json()
    assert from_json(wire) == node
    assert from_json(json.loads(json.dumps(wire))) == node  # through JSON text too
    assert json.dumps(from_json(wire).to_json()) == json.dumps(wire)  # key order and value types kept


def test_equal_nodes_have_equal_json_one_one_point_oh_and_true_differ() -> None:
    assert Compare("=", 1) != Compare("=", 1.0) != Compare("=", True)
    assert Bare(1) != Bare(True)
    assert len({Compare("=", 1), Compare("=", 1.0), Compare("=", True), Compare("=", 1)}) == 3
    assert from_json({"k": 1}) != from_json({"k": {"=": 1}})  # a bare value and an operator object are two shapes


# -- every raw shape the suite uses ------------------------------------------------------------------------------
RAW_SHAPES: list[Any] = [
    *(case["filter"] for case in json.loads((GOLDEN / "raw.json").read_text())),
    {},
    {"run_number": 5},
    {"run_number": "315000"},
    {"run_number": {"and": [{">": 1}, {"<": 3000}]}},
    {"oms_attributes.fill_number": {">=": 6550, "<": 6700}},
    {"oms_attributes.injection_scheme": {"=": None}, "oms_attributes.b_field": {"<>": None}},
    {"oms_attributes.fill_number": {"<": 10**40}, "run_number": {">": -(10**30)}},
    {"oms_attributes.hlt_key": {"like": "%PHYSICS%"}, "rr_attributes.class": {"notlike": "Cosmics%"}},
    {"oms_attributes.hlt_key": {"LIKE": "%physics%"}, "oms_attributes.l1_key": {"NOTLIKE": "x"}},
    {"oms_attributes.stable_beam": True, "rr_attributes.significant": {"<>": False}},
    {"or": [{"rr_attributes.class": "Cosmics18"}, {"and": [{"oms_attributes.energy": 6500}, {"x.y": {"<": 1}}]}]},
    {"AND": [{"rr_attributes.class": "Cosmics18"}], "OR": []},
    {"and": []},
    {"run_number": {"or": [1, {"=": 2}, {"=": None}, {">": 10**9}]}},
    {"oms_attributes.energy": {"in": [6500]}, "oms_attributes.no_such_key": 1},
    {"triplet_summary.xx-yy.GOOD": {">": 0}, "no_such_column": {"=": 1}},
    {"name": {"like": "/promptreco/collisions2018_/dqm"}, "dataset_attributes.global_state": "COMPLETED"},
    {"oms_attributes.b_field": {">=": 3.7}, "oms_attributes.energy": {"=": "6500"}},
    {"run_number": {"between": {"low": [1, {"x": None}], "high": 2.5}}},
]


@pytest.mark.parametrize("raw", RAW_SHAPES, ids=[json.dumps(r)[:60] for r in RAW_SHAPES])
def test_every_raw_shape_parses_and_is_sent_byte_for_byte(raw: Any) -> None:
    node = from_json(raw)
    assert json.dumps(node.to_json()) == json.dumps(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuirkWarning)  # raw plans report quirks, and send the filter anyway
        plan = raw_plan(raw)
        from_node = raw_plan(node)
    assert [json.dumps(f) for f in plan.filters] == [json.dumps(raw)]
    assert plan.filters[0] is not raw
    assert from_node.nodes == plan.nodes == (node,)
    assert from_node.warnings == plan.warnings


# -- validation on construction ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "message", "value", "allowed"),
    [
        (lambda: Compare("like", 5, ("k", "like")), "'like' needs a string pattern", 5, "a string"),
        (lambda: Compare("LIKE", None, ("k", "LIKE")), "needs a string pattern", None, "a string"),
        (lambda: Compare("between", 1, ("k", "between")), "not a comparison operator", "between", "=, <>, <, >"),
        (lambda: Compare("=", [1], ("k", "=")), "cannot compare with a list", [1], "a string, number"),
        (lambda: Bare(math.nan, ("k",)), "not representable in JSON", math.nan, "finite numbers"),
        (lambda: Bare({"a": 1}, ("k",)), "cannot compare with a list or an object", {"a": 1}, "a string"),
        (lambda: Junction("Or", (), ("Or",)), "not a connective", "Or", "and, AND, or, OR"),
        (lambda: KeyJunction("not", (), ("k", "not")), "not a connective", "not", "and, AND, or, OR"),
        (lambda: UnknownOperator("=", "1", ("k", "=")), "a known operator is not an unknown one", "=", None),
    ],
)
def test_nodes_validate_on_construction(build: Any, message: str, value: Any, allowed: str | None) -> None:
    with pytest.raises(FilterError, match=message) as caught:
        build()
    error = caught.value
    assert error.path[0] in ("k", "Or")
    assert error.value == value or (isinstance(value, float) and math.isnan(error.value))
    assert (allowed is None and error.allowed is None) or (allowed is not None and allowed in (error.allowed or ""))


def test_keys_are_non_empty_unique_and_never_connectives() -> None:
    for key in ("", "and", "OR"):
        with pytest.raises(FilterError):
            Column(key, Bare(1))
    with pytest.raises(FilterError, match="more than once"):
        BackendFilter((Column("k", Bare(1)), Column("k", Bare(2))))
    with pytest.raises(FilterError, match="more than once"):
        Operators((Compare("<", 1), Compare("<", 2)))
    with pytest.raises(FilterError, match="invalid Unicode"):
        Column("oms_attributes.\ud800", Bare(1))
    with pytest.raises(FilterError, match="tuple of nodes"):
        BackendFilter([Column("k", Bare(1))])  # type: ignore[arg-type]
    with pytest.raises(FilterError, match="tuple of nodes"):
        Junction("or", ({"k": 1},))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "location", "message"),
    [
        ({"or": {"run_number": 1}}, 'filter["or"]', "'or' needs a list"),
        ({"or": [5]}, 'filter["or"][0]', "must be a JSON object"),
        ({"k": {"AND": 5}}, 'filter["k"]["AND"]', "'AND' needs a list"),
        ({"k": {"or": [[1, 2]]}}, 'filter["k"]["or"][0]', "cannot compare with a list"),
        ({"k": [1, 2]}, 'filter["k"]', "cannot compare with a list"),
        ({"k": {"like": 5}}, 'filter["k"]["like"]', "needs a string pattern"),
        ({"and": [{"k": {"<": math.inf}}]}, 'filter["and"][0]["k"]["<"]', "not representable in JSON"),
        ({"k": {"between": [1, {2: 3}]}}, 'filter["k"]["between"][1]', "keys must be strings"),
        ({"": 1}, 'filter[""]', "a key must be a non-empty string"),
        ([{"run_number": 1}], "filter", "must be a JSON object"),
    ],
)
def test_from_json_names_the_path_of_what_the_service_would_not_accept(raw: Any, location: str, message: str) -> None:
    with pytest.raises(FilterError, match=message) as caught:
        from_json(raw)
    assert caught.value.location == location


# -- hostile inputs ----------------------------------------------------------------------------------------------
def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"run_number": 1}
    for _ in range(depth):
        node = {"and": [node]}
    return node


@pytest.mark.parametrize(
    ("hostile", "message"),
    [
        (_nested(50_000), "nested too deeply"),
        ({"run_number": {"between": _nested(50_000)}}, "nested too deeply"),
        ({"run_number": {"between": list(range(1_000_001))}}, "more than 1000000 values"),
    ],
    ids=["deep-and", "deep-operand", "huge"],
)
def test_deep_and_huge_inputs_are_refused_in_bounded_time(hostile: Any, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(FilterError, match=message):
        from_json(hostile)
    assert time.perf_counter() - started < 20  # a generous bound: it takes well under a second


def _hand_built(levels: int) -> BackendFilter:
    node = BackendFilter((Column("run_number", Bare(1)),))
    for _ in range(levels):
        node = BackendFilter((Junction("and", (node,)),))
    return node


def test_hand_built_trees_are_bounded_too() -> None:
    assert _hand_built(MAX_NODE_DEPTH // 2 - 1).depth == MAX_NODE_DEPTH - 1
    with pytest.raises(FilterError, match=f"nested deeper than {MAX_NODE_DEPTH}"):
        _hand_built(MAX_NODE_DEPTH // 2)
    assert from_json(_nested(49)).depth == 99  # what a parsed input may nest (MAX_DEPTH) is within the bound


# -- helpers -----------------------------------------------------------------------------------------------------
def test_column_keys_and_table_of_agree_with_the_catalogue() -> None:
    node = from_json({"run_number": 1, "or": [{"name": "x"}, {"AND": [{"triplet_summary.dt-dt.GOOD": {">": 0}}]}]})
    assert list(column_keys(node)) == ["run_number", "name", "triplet_summary.dt-dt.GOOD"]
    catalogue = default_catalogue()
    for attribute in catalogue.attributes():
        assert table_of(attribute.path, "runs") == attribute.table, attribute
        in_datasets = catalogue.dataset_attribute(attribute.name)  # a dataset's run_number is its own column
        assert table_of(in_datasets.path, "datasets") == in_datasets.table, in_datasets
    for flag in catalogue.flags():
        assert table_of(flag.path("GOOD"), "runs") == "triplet"
    assert table_of("run_number", "runs") == "run"
    assert table_of("run_number", "datasets") == "dataset"
