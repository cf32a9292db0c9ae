"""Loading the committed json-logic fixtures and comparing values the way JavaScript would.

Fixture files hold ``[rule, data, expected]`` triples (strings are section headers). ``expected`` marks the
values JSON cannot hold: ``{"$js": "undefined" | "NaN" | "Infinity" | "-Infinity" | "-0"}``, and
``{"$error": message}`` when json-logic-js throws.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

FIXTURES = Path(__file__).parent / "fixtures"
_JS_MARKERS = {"undefined": None, "NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}


class Case(NamedTuple):
    section: str
    rule: Any
    data: Any
    expected: Any  # decoded: undefined -> None
    error: str | None  # the message json-logic-js threw, if it threw

    @property
    def id(self) -> str:
        return json.dumps(self.rule)[:60] + " | " + json.dumps(self.data)[:30]


def load_cases(name: str) -> list[Case]:
    """Every triple of ``fixtures/<name>``, with the section it sits in."""
    cases, section = [], ""
    for entry in json.loads((FIXTURES / name).read_text(encoding="utf-8")):
        if isinstance(entry, str):
            section = entry
            continue
        rule, data, expected = entry
        if isinstance(expected, dict) and set(expected) == {"$error"}:
            cases.append(Case(section, rule, data, None, expected["$error"]))
        else:
            cases.append(Case(section, rule, data, decode(expected), None))
    return cases


def decode(value: Any) -> Any:
    """Turn ``$js`` markers back into Python values (``undefined`` is ``None``; undefined keys are dropped)."""
    if isinstance(value, dict):
        if set(value) == {"$js"}:
            return _JS_MARKERS[value["$js"]]
        return {k: decode(v) for k, v in value.items() if v != {"$js": "undefined"}}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def same_value(actual: Any, expected: Any) -> bool:
    """Equality as json-logic-js results: bools are not numbers, NaN equals NaN, -0 differs from 0."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)):
        if not isinstance(actual, (int, float)):
            return False
        if math.isnan(expected):
            return math.isnan(actual)
        return actual == expected and math.copysign(1, actual) == math.copysign(1, expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(same_value, actual, expected))
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same_value(actual[k], expected[k]) for k in expected)
        )
    return type(actual) is type(expected) and actual == expected
