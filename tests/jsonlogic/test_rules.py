"""querylang.rules: rule checking (paths, suggestions) and planning (sound push-down, residual split)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import strategies as st
from testkit.profiles import scaled

from querylang import compile_filter, compile_node, default_catalogue
from querylang.ast import And, Comparison, Membership, Node, Or, StatusTest
from querylang.errors import RuleError
from querylang.jsonlogic import apply, truthy
from querylang.rules import Operation, Variable, namespace, parse_rule, plan_rule, rule_variables

#: The reference rule of rr-protocol.md §8, kept once in examples/golden_rule.json.
REFERENCE_RULE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "golden_rule.json").read_text())


# -- checking --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "suggestion"),
    [
        ({"==": [{"var": "run.oms.energie"}, 6500]}, ("==", 0, "var"), "run.oms.energy"),
        ({"and": [True, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOD"]}]}, ("and", 1, "==", 1), "GOOD"),
        ({"==": [{"var": "lumisection.rr.dt-dt"}, "good"]}, ("==", 1), "GOOD"),
        ({"==": [{"var": "lumisection.rr.dt-dtt"}, "GOOD"]}, ("==", 0, "var"), "lumisection.rr.dt-dt"),
        ({"==": [{"var": "lumisection.rr.hcal-ho0_ls"}, "GOOD"]}, ("==", 0, "var"), "lumisection.rr.hcal-hoO_ls"),
        ({"==": [{"var": "lumisection.oms.bpix_redy"}, True]}, ("==", 0, "var"), "lumisection.oms.bpix_ready"),
        ({"==": [{"var": "run.rr.state"}, "OPN"]}, ("==", 1), "OPEN"),
        ({"and": [{"inn": ["a", "b"]}]}, ("and", 0, "inn"), "in"),
    ],
)
def test_errors_name_the_path_and_suggest(rule: Any, path: tuple[Any, ...], suggestion: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    assert caught.value.path == path
    assert suggestion in caught.value.suggestions


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"==": [{"var": "lumisection.oms.bpix_ready"}, 1]}, "boolean, compared with a number"),
        ({"==": [{"var": "run.oms.energy"}, "high"]}, "is a number"),
        ({">=": [{"var": "run.oms.energy"}, True]}, "is a number"),
        ({"==": [{"var": "run.oms.hlt_key"}, 5]}, "is a string"),
        ({"<": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, "has no order"),
        ({"<=": [{"var": "run.oms.energy"}, None]}, "null compares as 0"),
        ({"in": ["x", {"var": "run.oms.energy"}]}, "always false"),
        ({"in": [5, {"var": "run.oms.hlt_key"}]}, "looks for a string"),
        ({"in": [{"var": "lumisection.rr.dt-dt"}, ["GOOD", "FINE"]]}, "not a status"),
        ({">": [{"var": "run.oms.start_time"}, "yesterday"]}, "is a date"),
        ({"method": [{"var": "run.oms.hlt_key"}, "upper"]}, "'method' is not supported"),
        ({"var": {"cat": ["run.oms.", "energy"]}}, "literal strings"),
        ({"missing": [{"cat": ["run.oms.", "energy"]}]}, "literal variable names"),
        ({"missing": ["run.oms.energie"]}, "unknown variable"),
        ({"==": [{"var": "run.oms"}, 1]}, "unknown variable"),
        ({"==": [{"var": "lumisection.rr.dt-dt"}, {1, 2}]}, "not a JSON value"),
    ],
)
def test_invalid_rules_are_rejected(rule: Any, message: str) -> None:
    with pytest.raises(RuleError, match=re.escape(message)):
        parse_rule(rule)


def test_valid_rules_parse_and_report_their_variables() -> None:
    node = parse_rule({**REFERENCE_RULE, "and": [*REFERENCE_RULE["and"], {"missing": ["dataset.global_state"]}]})
    assert isinstance(node, Operation)
    names = {v.name for v in rule_variables(node)}
    assert {"run.oms.energy", "lumisection.rr.hlt-hlt", "dataset.global_state"} <= names


def test_scoped_variables_are_not_checked_against_the_namespace() -> None:
    node = parse_rule({"some": [{"var": "run.oms.components"}, {"==": [{"var": ""}, "DT"]}]})
    assert [v.name for v in rule_variables(node)] == ["run.oms.components"]


def test_namespace_covers_every_scope() -> None:
    names = namespace()
    assert {"run.run_number", "dataset.name", "dataset.global_state", "lumisection.lumisection_number"} <= set(names)
    assert "lumisection.oms.recorded" in names
    assert "run.rr.significant" in names
    assert names == sorted(names)


def test_nodes_validate_on_construction() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        Operation("method", ())
    with pytest.raises(ValueError, match="needs a type"):
        Variable("run.oms.energy", "run")


# -- planning --------------------------------------------------------------------------------------------------


def test_reference_rule_plan() -> None:
    plan = plan_rule(REFERENCE_RULE)
    assert [c.level for c in plan.clauses] == ["run"] * 5 + ["lumisection"] * 6
    assert same_plan(
        plan.runs_filter,
        {"and": [{"energy": {">=": 6000}}, {"b_field": {">=": 3.7}}, {"injection_scheme": {"like": "%25ns%"}}]},
    )
    assert isinstance(plan.datasets_filter, And)
    assert StatusTest(default_catalogue().status_flag("dt-dt"), ("GOOD",)) in plan.datasets_filter.children
    assert plan.rr_components == {"dt-dt", "csc-csc", "l1t-l1tmu", "l1t-l1tcalo", "hlt-hlt"}
    assert plan.oms_bits == {"bpix_ready"}
    assert not plan.needs_luminosity
    assert plan.run_rule == {"and": REFERENCE_RULE["and"][:5]}
    assert plan.residual == {"and": REFERENCE_RULE["and"][5:]}


def test_nested_and_is_flattened_and_luminosity_is_noticed() -> None:
    rule = {"and": [{"and": [{"var": "run.rr.significant"}, {">": [{"var": "lumisection.oms.recorded"}, 0]}]}]}
    plan = plan_rule(rule)
    assert [c.level for c in plan.clauses] == ["run", "lumisection"]
    assert plan.needs_luminosity
    assert same_plan(plan.runs_filter, {"significant": {"=": True}})


@pytest.mark.parametrize(
    ("clause", "pushdown"),
    [
        ({"<=": [{"var": "run.oms.energy"}, 7000]}, None),  # null <= 7000 is true in js
        ({"<=": [{"var": "run.oms.energy"}, -1]}, {"energy": {"<=": -1}}),
        ({">": [{"var": "run.oms.energy"}, 0]}, {"energy": {">": 0}}),
        ({">=": [{"var": "run.oms.energy"}, 0]}, None),
        ({"<=": [6000, {"var": "run.oms.energy"}, 7000]}, {"energy": {">=": 6000}}),
        (
            {"<=": [300000, {"var": "run.run_number"}, 310000]},
            {"and": [{"run_number": {">=": 300000}}, {"run_number": {"<=": 310000}}]},
        ),
        ({"!=": [{"var": "run.run_number"}, 5]}, {"run_number": {"<>": 5}}),
        ({"!=": [{"var": "run.oms.energy"}, 5]}, None),
        ({"==": [{"var": "run.oms.energy"}, "6500"]}, {"energy": {"=": 6500}}),
        ({"==": [{"var": "run.rr.significant"}, False]}, {"significant": {"=": False}}),
        ({"!": {"var": "run.rr.significant"}}, None),
        ({"==": [{"in": ["WMass", {"var": "run.oms.hlt_key"}]}, False]}, None),
        ({"in": ["a\\b", {"var": "run.oms.hlt_key"}]}, None),
        (
            {"in": [{"var": "run.oms.fill_type_runtime"}, ["PROTONS", "IONS"]]},
            {"fill_type_runtime": {"in": ["PROTONS", "IONS"]}},
        ),
        ({"in": [{"var": "run.oms.fill_type_runtime"}, []]}, {"run_number": []}),
        ({"or": [{"==": [{"var": "run.rr.class"}, "A"]}, {"<": [{"var": "run.oms.energy"}, 5]}]}, None),
        (
            {"or": [{"==": [{"var": "run.rr.class"}, "A"]}, {"==": [{"var": "run.rr.class"}, "B"]}]},
            {"or": [{"class": {"=": "A"}}, {"class": {"=": "B"}}]},
        ),
        ({">": [{"var": "run.oms.start_time"}, "2018-05-01"]}, {"start_time": {">=": "2018-05-01"}}),
        ({"==": [{"var": "dataset.name"}, "/A/B/DQM"]}, {"dataset_name": {"=": "/A/B/DQM"}}),
        (False, {"run_number": []}),
        (True, None),
    ],
)
def test_pushdown_cases(clause: Any, pushdown: Any) -> None:
    plan = plan_rule({"and": [clause, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]})
    level = plan.clauses[0].level
    assert level != "lumisection"
    if level == "run":
        assert same_plan(plan.runs_filter, pushdown)
    else:
        assert same_plan(plan.datasets_filter, {"and": [pushdown, {"dt-dt": "GOOD"}]}, kind="datasets")


def same_plan(pushed: Node | None, expected: dict[str, Any] | None, *, kind: str = "runs") -> bool:
    """Whether the planner's filter node compiles to the plan of the user filter ``expected`` (None: no filter)."""
    if pushed is None or expected is None:
        return pushed is expected
    return compile_node(pushed, kind=kind).filters == compile_filter(expected, kind=kind).filters


# -- push-down soundness: whatever js accepts, the SQL prefilter keeps ------------------------------------------

_ATTRIBUTES: dict[str, tuple[str, str]] = {  # variable -> (runql key, kind)
    "run.oms.energy": ("energy", "number"),
    "run.oms.b_field": ("b_field", "number"),
    "run.run_number": ("run_number", "number"),
    "run.oms.injection_scheme": ("injection_scheme", "string"),
    "run.rr.class": ("class", "string"),
    "run.rr.significant": ("significant", "boolean"),
    "run.oms.start_time": ("start_time", "date"),
    "dataset.name": ("dataset_name", "string"),
}
_NUMBERS = st.sampled_from([-5, -1, 0, 0.5, 1, 3.7, 6000, 6500, 7000])
_STRINGS = st.sampled_from(["", "25ns", "25NS_x", "a_b", "a%b", "Collisions18", "/A/B/DQM", "x25nsy"])
_DATES = st.sampled_from(["2018-04-30T23:59:59Z", "2018-05-01T00:00:00Z", "2018-05-01T12:00:00Z", "2018-06-01"])
_VALUES = {"number": _NUMBERS, "string": _STRINGS, "boolean": st.booleans(), "date": _DATES}
#: What rows hold: a literal may be a bare date, a stored date always has its time (``YYYY-MM-DDTHH:MM:SSZ``).
_STORED = {**_VALUES, "date": st.sampled_from(["2018-04-30T23:59:59Z", "2018-05-01T00:00:00Z", "2018-06-01T00:00:00Z"])}


@st.composite
def _comparison(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(sorted(_ATTRIBUTES)))
    kind = _ATTRIBUTES[name][1]
    var = {"var": name}
    literal = draw(_VALUES[kind])
    form = draw(st.sampled_from(["cmp", "flip", "between", "in", "truthy", "member"]))
    op = draw(st.sampled_from(["==", "===", "!=", "!==", "<", "<=", ">", ">="]))
    if form == "between":
        return {draw(st.sampled_from(["<", "<="])): [literal, var, draw(_VALUES[kind])]}
    if form == "in" and kind == "string":
        return {"in": [draw(st.sampled_from(["25ns", "ns", "_", "%", "25NS", ""])), var]}
    if form == "member":
        return {"in": [var, draw(st.lists(_VALUES[kind], max_size=3))]}
    if form == "truthy":
        return var
    return {op: [literal, var] if form == "flip" else [var, literal]}


_clauses = st.recursive(
    _comparison(),
    lambda inner: st.builds(
        lambda op, xs: {op: xs}, st.sampled_from(["and", "or"]), st.lists(inner, min_size=1, max_size=3)
    ),
    max_leaves=4,
)


@st.composite
def _rows(draw: st.DrawFn) -> dict[str, Any]:
    row = {}
    for name, (key, kind) in _ATTRIBUTES.items():
        nullable = key not in ("run_number", "dataset_name")
        row[name] = draw(_STORED[kind] if not nullable else st.one_of(st.none(), _STORED[kind]))
    return row


def _data(row: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"run": {"oms": {}, "rr": {}}, "dataset": {}}
    for name, value in row.items():
        *parents, last = name.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return data


def _sql_matches(node: Node, row: dict[str, Any]) -> bool:
    """A reference SQL evaluation of the filter nodes the planner emits (NULL never matches)."""
    by_key = {key: row[name] for name, (key, _) in _ATTRIBUTES.items()}
    match node:
        case And(children=children):
            return all(_sql_matches(child, row) for child in children)
        case Or(children=children):
            return any(_sql_matches(child, row) for child in children)
        case Membership(attribute=attribute, values=values, negated=False):
            return by_key[attribute.name] is not None and by_key[attribute.name] in values
        case Comparison(attribute=attribute, op=op, value=value):
            return _sql_compare(by_key[attribute.name], op, value)
    raise AssertionError(f"the planner pushes no such node: {node!r}")


def _sql_compare(value: Any, op: str, literal: Any) -> bool:
    if value is None:
        return False
    if op == "like":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in literal)
        return re.fullmatch(pattern, value, re.IGNORECASE | re.DOTALL) is not None
    if op == "in":
        return value in literal
    if isinstance(literal, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", literal):
        literal += "T00:00:00Z"  # what runql's filter parser normalises a date to
    ops = {"=": value == literal, "<>": value != literal}
    if op in ops:
        return ops[op]
    return {"<": value < literal, "<=": value <= literal, ">": value > literal, ">=": value >= literal}[op]


@scaled(1, suppress=[HealthCheck.filter_too_much])
@given(_clauses, st.data())
def test_pushdown_never_loses_a_run_the_rule_accepts(clause: Any, data: st.DataObject) -> None:
    try:
        plan = plan_rule({"and": [clause, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]}, status_prefilter=False)
    except RuleError:
        assume(False)
        return
    row = data.draw(_rows())
    if truthy(apply(clause, _data(row))):
        for runql_filter in (plan.runs_filter, plan.datasets_filter):
            assert runql_filter is None or _sql_matches(runql_filter, row), (runql_filter, row)
