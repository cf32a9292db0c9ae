"""Golden-file tests: every case in golden/*.json is compiled (or sent raw) and compared with its expected plan.

Mismatches fail; nothing is regenerated silently. To accept new outputs deliberately, run
``UPDATE_GOLDEN=1 .venv/bin/python tests/querylang/test_querylang_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from querylang import FilterError, compile_filter, raw_plan

GOLDEN = Path(__file__).parent / "golden"


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(path.stem, case) for path in sorted(GOLDEN.glob("*.json")) for case in json.loads(path.read_text())]


CASES = load_cases()


def outcome(case: dict[str, Any]) -> dict[str, Any]:
    """What runql does with a case: the plan's filters and warnings, or the error's parts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if case["mode"] == "raw":
                plan = raw_plan(case["filter"], kind=case["kind"])
            else:
                plan = compile_filter(
                    case["filter"], kind=case["kind"], unknown_flags=case.get("unknown_flags", "error")
                )
        except FilterError as err:
            return {
                "error": {
                    "location": err.location,
                    "message": err.message,
                    "value": err.value,
                    "allowed": err.allowed,
                    "suggestions": list(err.suggestions),
                }
            }
    assert [str(w.message) for w in caught] == list(plan.warnings), "warnings emitted and recorded must agree"
    return {"filters": plan.to_dict()["filters"], "warnings": list(plan.warnings)}


@pytest.mark.parametrize(("group", "case"), CASES, ids=[f"{g}: {c['name']}" for g, c in CASES])
def test_golden_case(group: str, case: dict[str, Any]) -> None:
    assert case["expected"] is not None, f"{group}: no expected outcome yet (see the module docstring)"
    assert outcome(case) == case["expected"]


def test_golden_cases_are_many_and_uniquely_named() -> None:
    compiled = [c for _, c in CASES if c["mode"] == "compile"]
    assert len(compiled) >= 40
    names = [c["name"] for _, c in CASES]
    assert len(names) == len(set(names))


def test_golden_inputs_round_trip_unchanged() -> None:
    """Compiling never mutates the caller's filter (checked on every golden input)."""
    for _, case in CASES:
        before = json.dumps(case["filter"], sort_keys=True)
        outcome(case)
        assert json.dumps(case["filter"], sort_keys=True) == before, case["name"]


def _update() -> None:
    for path in sorted(GOLDEN.glob("*.json")):
        cases = json.loads(path.read_text())
        for case in cases:
            case["expected"] = outcome(case)
        path.write_text(json.dumps(cases, indent=1) + "\n")
        print(f"rewrote {path}")


if __name__ == "__main__":
    if os.environ.get("UPDATE_GOLDEN") != "1":
        sys.exit("set UPDATE_GOLDEN=1 to rewrite the expected outcomes")
    _update()
