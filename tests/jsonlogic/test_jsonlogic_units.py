"""Unit and property tests of querylang.jsonlogic beyond the conformance fixtures."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from querylang import jsonlogic
from querylang.errors import RuleError

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "0", "1", " 1 ", "abc", "1e3", "0x1f", "Infinity", "GOOD", "1,2"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.0, "0"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (5e-324, "5e-324"),
        (-2.5, "-2.5"),
        (math.inf, "Infinity"),
        (math.nan, "NaN"),
        (2**60, "1152921504606847000"),
    ],
)
def test_numbers_become_strings_as_in_javascript(number: float, text: str) -> None:
    assert jsonlogic.js_string(number) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_strings_round_trip(number: float) -> None:
    assert float(jsonlogic.js_string(number)) == number


@pytest.mark.parametrize(
    ("value", "expected"),
    [([], False), ({}, True), ("0", True), ("", False), (0, False), (math.nan, False), (None, False), ([0], True)],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert jsonlogic.truthy(value) is expected


@given(json_values, json_values)
def test_loose_equality_is_symmetric_and_negated_by_not_equal(a: Any, b: Any) -> None:
    equal = jsonlogic.apply({"==": [a, b]})
    assert equal is jsonlogic.apply({"==": [b, a]})
    assert jsonlogic.apply({"!=": [a, b]}) is (not equal)


@given(json_scalars, json_scalars)
def test_strict_equality_implies_loose_and_less_than_is_asymmetric(a: Any, b: Any) -> None:
    if jsonlogic.apply({"===": [a, b]}):
        assert jsonlogic.apply({"==": [a, b]})
    assert not (jsonlogic.apply({"<": [a, b]}) and jsonlogic.apply({"<": [b, a]}))


@given(json_values)
def test_double_negation_is_truthy(value: Any) -> None:
    assert jsonlogic.apply({"!!": [value]}) is jsonlogic.truthy(jsonlogic.apply(value))
    assert jsonlogic.apply({"!": [value]}) is not jsonlogic.apply({"!!": [value]})


def test_method_is_rejected_at_compile_time_even_when_unreachable() -> None:
    with pytest.raises(RuleError) as caught:
        jsonlogic.compile_rule({"if": [False, {"method": ["abc", "upper"]}, 1]})
    assert caught.value.path == ("if", 1, "method")
    assert 'rule["if"][1]["method"]' in str(caught.value)


def test_unknown_operators_are_rejected_at_compile_time_with_a_suggestion() -> None:
    with pytest.raises(RuleError) as caught:
        jsonlogic.compile_rule({"and": [True, {"misisng": ["a"]}]})
    assert caught.value.path == ("and", 1, "misisng")
    assert "missing" in caught.value.suggestions


@pytest.mark.parametrize("name", ["toString", "constructor", "__proto__", "Math.max"])
def test_object_prototype_names_are_not_operators(name: str) -> None:
    with pytest.raises(RuleError, match="unrecognized operation"):
        jsonlogic.compile_rule({name: []})


@pytest.mark.parametrize("literal", [{1, 2}, object(), b"bytes", {1: "int key"}])
def test_non_json_literals_are_rejected(literal: Any) -> None:
    with pytest.raises(RuleError):
        jsonlogic.compile_rule({"==": [literal, 1]})


def test_non_json_data_is_reported_when_coerced() -> None:
    with pytest.raises(RuleError, match="not JSON"):
        jsonlogic.apply({"==": [{"var": "x"}, 1]}, {"x": object()})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"and": []}, None),
        ({"or": []}, None),
        ({"map": [[1, 2], {"and": []}]}, [None, None]),
        ({"log": []}, None),
        ({"reduce": [[1], {"var": ""}, None]}, {"current": 1, "accumulator": None}),
    ],
)
def test_undefined_never_leaks(rule: Any, expected: Any) -> None:
    assert jsonlogic.apply(rule) == expected


def test_undefined_object_keys_are_dropped_like_json_stringify() -> None:
    rule = {"reduce": [[1], {"var": ""}, {"and": []}]}  # the initial value is passed unevaluated
    assert jsonlogic.apply(rule) == {"current": 1, "accumulator": {"and": []}}
    assert jsonlogic.apply({"map": [[1], {"var": "nope"}]}) == [None]


def test_integral_results_are_ints_and_negative_zero_stays_a_float() -> None:
    assert type(jsonlogic.apply({"+": [1, 2]})) is int
    result = jsonlogic.apply({"-": [0]})
    assert type(result) is float
    assert math.copysign(1, result) == -1


def test_compile_predicate_uses_json_logic_truthiness() -> None:
    keep = jsonlogic.compile_predicate({"var": "x"})
    assert [keep({"x": v}) for v in ([], {}, "0", 0, None)] == [False, True, True, False, False]


def test_log_goes_to_the_module_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="querylang.jsonlogic"):
        assert jsonlogic.apply({"log": ["hello"]}) == "hello"
    assert [r.name for r in caplog.records] == ["querylang.jsonlogic"]
    assert "hello" in caplog.text


def test_deep_nesting_is_a_rule_error() -> None:
    rule: Any = True
    for _ in range(5000):
        rule = {"!": [rule]}
    with pytest.raises(RuleError, match="nested too deeply"):
        jsonlogic.compile_rule(rule)


def test_operators_listed() -> None:
    assert "method" not in jsonlogic.OPERATORS
    assert {"==", "in", "var", "missing_some", "reduce", "?:", "substr"} <= jsonlogic.OPERATORS
    assert len(jsonlogic.OPERATORS) == 35
