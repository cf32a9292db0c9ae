"""querylang.losses: the service's clause keys (JSON.stringify) and its accounting walk of a rule's and/or tree."""

from __future__ import annotations

from typing import Any

import pytest
from bruteforce import WalkThrowsError, rules_why_false, stringify
from hypothesis import given
from hypothesis import strategies as st
from testkit.strategies import json_logic_rules

from querylang import jsonlogic
from querylang.errors import RuleError
from querylang.losses import UnaccountableError, combination_key, compile_blame, finishes, js_stringify
from querylang.rules import plan_rule
from querylang.segments import RunContext, compile_plan, expand_rr_ranges, lumisection_data


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"==": [{"var": "run.oms.b_field"}, 3.7]}, '{"==":[{"var":"run.oms.b_field"},3.7]}'),
        ([6000.0, -0.0, 1e21, 1e-7, 123456789012345680000.0], "[6000,0,1e+21,1e-7,123456789012345680000]"),
        ([float("nan"), float("inf"), None, True], "[null,null,null,true]"),
        ('é\u2028\x7f\x01"\\\n', '"é\u2028\x7f\\u0001\\"\\\\\\n"'),
        ("\ud800", '"\\ud800"'),  # a lone surrogate is escaped, as JSON.stringify does since ES2019
        ({"b": 1, "10": 2, "2": 3, "a": 4, "01": 5}, '{"2":3,"10":2,"b":1,"a":4,"01":5}'),  # index keys first
    ],
)
def test_js_stringify_writes_what_node_writes(value: Any, text: str) -> None:
    assert js_stringify(value) == text


def test_js_stringify_refuses_what_is_not_json() -> None:
    with pytest.raises(TypeError, match="not a JSON value"):
        js_stringify({1, 2})


A, B, C = ({"var": name} for name in "abc")
KEY = {name: js_stringify({"var": name}) for name in "abc"}


@pytest.mark.parametrize(
    ("rule", "data", "blamed"),
    [
        ({"and": [A, B, C]}, {"a": True, "b": False, "c": None}, ("b", "c")),
        ({"and": [A, {"or": [B, C]}]}, {"a": 1, "b": 0, "c": 0}, ("a", "b", "c")),  # 1 is truthy but not true
        ({"and": [A, {"or": [B, C]}]}, {"a": True, "b": True, "c": 0}, ()),  # not removed: nothing blamed
        ({"and": [{"and": [A, B]}, C]}, {"a": False, "b": True, "c": True}, ("a",)),  # nested and: its leaves
        ({"or": [A, B]}, {"a": False, "b": None}, ("a", "b")),
        ({"and": [A, {"if": [B, False, False]}, 5, True]}, {"a": False, "b": True}, ("a",)),  # never blamed
        ({"and": {"var": "a"}}, {"a": False}, ("a",)),  # a single argument
    ],
)
def test_blame_follows_the_walk(rule: Any, data: Any, blamed: tuple[str, ...]) -> None:
    assert compile_blame(rule)(data) == tuple(KEY[name] for name in blamed)
    if blamed:  # the test's independent transcription of the Node worker agrees
        assert [stringify(cause) for cause in rules_why_false(rule, data)] == [KEY[name] for name in blamed]


def test_a_string_clause_is_blamed_once_per_character() -> None:
    assert compile_blame({"and": ["", "ab", A]})({"a": False}) == ('"ab"', '"ab"', KEY["a"])


@pytest.mark.parametrize(
    "rule",
    [
        {"if": [A, True, False]},
        {"and": [A, None]},
        {"and": [A, {"or": [B, None]}]},
    ],
)
def test_where_the_service_throws(rule: Any) -> None:
    assert not finishes(rule)
    with pytest.raises(UnaccountableError):
        compile_blame(rule)({"a": False, "b": False})
    with pytest.raises(WalkThrowsError):
        rules_why_false(rule, {"a": False, "b": False})


def test_a_clause_that_throws_only_in_the_walk() -> None:
    rule = {"and": [A, {"*": []}]}  # json-logic-js throws on {"*": []}; the walk evaluates every clause
    assert finishes(rule)
    with pytest.raises(UnaccountableError, match="throws"):
        compile_blame(rule)({"a": False})


def test_a_rule_that_does_not_compile_fails_up_front() -> None:
    with pytest.raises(RuleError):
        compile_blame({"and": [{"no_such_operator": [1]}]})


def test_combination_keys_are_json_lists() -> None:
    assert combination_key(()) == "[]"
    assert combination_key((KEY["a"], KEY["b"])) == '[{"var":"a"},{"var":"b"}]'


# ---- per segment equals per lumisection ------------------------------------------------------------------------
COMPONENTS = ["dt-dt", "csc-csc"]
STATUSES = ["GOOD", "BAD", "STANDBY", "EMPTY"]
rr_var = st.sampled_from(COMPONENTS).map(lambda c: {"var": f"lumisection.rr.{c}"})
leaf = st.one_of(
    st.builds(lambda op, v, s: {op: [v, s]}, st.sampled_from(["==", "!="]), rr_var, st.sampled_from(STATUSES)),
    st.builds(lambda b: {"==": [{"var": "lumisection.oms.bpix_ready"}, b]}, st.sampled_from([True, False, None])),
    st.just({"var": "lumisection.oms.bpix_ready"}),
    st.builds(lambda x: {">=": [{"var": "run.oms.energy"}, x]}, st.sampled_from([1000, 6000])),
)
rules = json_logic_rules(leaf, max_leaves=4, max_clauses=4)


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 12))
    position = st.integers(1, count)

    def ranges(values: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
        pair = st.tuples(position, position).map(sorted)
        return st.lists(st.builds(lambda p, v: {**v, "start": p[0], "end": p[1]}, pair, values), max_size=4)

    status = st.builds(lambda s: {"status": s}, st.sampled_from(STATUSES))
    bit = st.builds(lambda b: {"bpix_ready": b}, st.sampled_from([True, False, None]))
    return {
        "context": RunContext(run_number=7, oms={"energy": draw(st.sampled_from([None, 900, 6500]))}),
        "lumisection_count": count,
        "rr_ranges": {c: draw(ranges(status)) for c in draw(st.lists(st.sampled_from(COMPONENTS), unique=True))},
        "oms_ranges": draw(ranges(bit)),
    }


@given(rule=rules, run=runs())
def test_blame_per_segment_equals_the_walk_per_lumisection(rule: Any, run: dict[str, Any]) -> None:
    evaluation = compile_plan(plan_rule(rule)).evaluate(**run, account=True)
    statuses = expand_rr_ranges(run["rr_ranges"], run["lumisection_count"])
    expected: dict[int, list[str]] = {}
    throws = False
    for k, rr in enumerate(statuses, start=1):
        oms = {}
        for item in run["oms_ranges"]:
            if item["start"] <= k <= item["end"]:
                oms = {"bpix_ready": item["bpix_ready"]}
        data = lumisection_data(run["context"], k, oms, rr or {})
        if rr is None or jsonlogic.truthy(jsonlogic.apply(rule, data)):
            continue
        try:
            expected[k] = [stringify(cause) for cause in rules_why_false(rule, data)]
        except WalkThrowsError:
            throws = True
    assert evaluation.accountable is not throws
    if throws:
        return
    blamed = {k: list(keys) for keys, ranges in evaluation.blamed for a, b in ranges for k in range(a, b + 1)}
    assert blamed == expected
