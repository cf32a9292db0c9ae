"""querylang.losses: the service's clause keys (JSON.stringify) and its accounting walk of a rule's and/or tree."""

from __future__ import annotations

from typing import Any

import pytest
from bruteforce import WalkThrowsError, rules_why_false, stringify

from querylang.errors import RuleError
from querylang.losses import UnaccountableError, combination_key, compile_blame, finishes, js_stringify


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
