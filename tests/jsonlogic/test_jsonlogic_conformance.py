"""runql's json-logic evaluator against json-logic-js 1.2.3: the official suite, Node-generated edge cases, and
json-logic-qubit as a cross-check with its known divergences pinned."""

from __future__ import annotations

import math
import warnings
from typing import Any

import json_logic
import pytest
from jsonlogic_cases import Case, load_cases, same_value

from querylang import jsonlogic
from querylang.errors import RuleError

OFFICIAL = load_cases("official_tests.json")
EDGE_CASES = load_cases("js_edge_cases.json")


def _qubit(rule: Any, data: Any) -> Any:
    """json-logic-qubit's answer, or the exception it raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return json_logic.jsonLogic(rule, data)
        except Exception as error:
            return error


def test_fixture_files_are_substantial() -> None:
    assert len(OFFICIAL) > 250
    assert len(EDGE_CASES) > 300
    assert sum(case.error is not None for case in EDGE_CASES) >= 5
    assert len({case.section for case in EDGE_CASES}) >= 15


@pytest.mark.parametrize("case", OFFICIAL, ids=lambda c: c.id)
def test_official_suite(case: Case) -> None:
    assert same_value(jsonlogic.apply(case.rule, case.data), case.expected)


@pytest.mark.parametrize("case", [c for c in EDGE_CASES if c.error is None], ids=lambda c: c.id)
def test_json_logic_js_edge_cases(case: Case) -> None:
    assert same_value(jsonlogic.apply(case.rule, case.data), case.expected)


@pytest.mark.parametrize("case", [c for c in EDGE_CASES if c.error is not None], ids=lambda c: c.id)
def test_json_logic_js_errors_raise_rule_error(case: Case) -> None:
    with pytest.raises(RuleError):
        jsonlogic.apply(case.rule, case.data)


def test_compiled_rule_gives_the_same_answers_when_reused() -> None:
    reference = [c for c in EDGE_CASES if c.section == "# golden-JSON style rules"]
    evaluate = jsonlogic.compile_rule(reference[0].rule)
    assert len(reference) > 50
    for case in reference:
        assert same_value(evaluate(case.data), case.expected)


def test_qubit_cross_check_where_it_agrees_with_json_logic_js() -> None:
    agreeing = [c for c in EDGE_CASES if c.error is None and same_value(_qubit(c.rule, c.data), c.expected)]
    assert len(agreeing) > len(EDGE_CASES) // 2  # the cross-check covers most cases
    for case in agreeing:
        assert same_value(jsonlogic.apply(case.rule, case.data), _qubit(case.rule, case.data)), case.id


# Where json-logic-qubit 0.9.1 answers differently from json-logic-js 1.2.3 (the Run Registry's engine).
KNOWN_DIVERGENCES: list[tuple[str, Any, Any, Any]] = [
    ("loose == between a number and a string", {"==": [1, "1.0"]}, {}, True),
    ("loose == between 0 and the empty string", {"==": [0, ""]}, {}, True),
    ("loose == between an array and a string", {"==": [[0], "0"]}, {}, True),
    ("a null flag compared with false", {"==": [{"var": "bit"}, False]}, {"bit": None}, False),
    ("a missing flag compared with false", {"==": [{"var": "lumisection.oms.bit"}, False]}, {}, False),
    ("null in <= (null is 0)", {"<=": [{"var": "energy"}, 7000]}, {"energy": None}, True),
    ("null in the between form", {"<=": [None, {"var": "e"}, 7000]}, {}, True),
    ("a string and a number in <", {"<": [1, "abc"]}, {}, False),
    ("in with a number needle", {"in": [1, "a1"]}, {}, True),
    ("in with a null needle in a string", {"in": [None, "null"]}, {}, True),
    ("division by zero", {"/": [1, 0]}, {}, math.inf),
    ("zero divided by zero", {"/": [0, 0]}, {}, math.nan),
    ("{} is truthy", {"!!": [{}]}, {}, True),
    ("+ goes through parseFloat", {"+": ["3abc", 1]}, {}, 4),
    ("JavaScript number formatting in cat", {"cat": [1.5e-7]}, {}, "1.5e-7"),
]


@pytest.mark.parametrize(("why", "rule", "data", "js_value"), KNOWN_DIVERGENCES, ids=[d[0] for d in KNOWN_DIVERGENCES])
def test_known_qubit_divergences_runql_follows_json_logic_js(why: str, rule: Any, data: Any, js_value: Any) -> None:
    assert not same_value(_qubit(rule, data), js_value), f"qubit now agrees with js on: {why}"
    assert same_value(jsonlogic.apply(rule, data), js_value)


def test_known_divergences_are_json_logic_js_answers() -> None:
    """Every pinned divergence is also a Node-generated fixture, so the js values above are not guesses."""
    by_rule = {(repr(c.rule), repr(c.data)): c for c in EDGE_CASES}
    missing = [why for why, rule, data, _ in KNOWN_DIVERGENCES if (repr(rule), repr(data)) not in by_rule]
    for why, rule, data, js_value in KNOWN_DIVERGENCES:
        if (repr(rule), repr(data)) in by_rule:
            assert same_value(by_rule[repr(rule), repr(data)].expected, js_value), why
    assert len(missing) <= len(KNOWN_DIVERGENCES) // 2, missing


def test_method_runs_code_in_qubit_and_is_rejected_by_runql() -> None:
    rule = {"method": ["abc", "upper"]}
    assert _qubit(rule, {}) == "ABC"
    with pytest.raises(RuleError, match="'method' is not supported"):
        jsonlogic.apply(rule, {})
