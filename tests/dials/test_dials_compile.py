"""DIALS compile target: golden plans (tests/dials/golden/plans.json), like → regex against the embedded
service's independent ``like`` implementation, and structural properties of plans.

Mismatches fail; to accept new outputs deliberately run
``UPDATE_GOLDEN=1 .venv/bin/python tests/dials/test_dials_compile.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.dials.query import posix_regex
from backend.sqlfilter import like_match
from querylang import FilterError, compile_dials, explain_dials
from querylang.dials import like_matches, like_to_regex

GOLDEN = Path(__file__).parent / "golden" / "plans.json"
CASES: list[dict[str, Any]] = json.loads(GOLDEN.read_text())


def outcome(case: dict[str, Any]) -> dict[str, Any]:
    try:
        plan = compile_dials(case["filter"], case["resource"], max_requests=64)
    except FilterError as err:
        return {"error": str(err)}
    return plan.to_dict()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_plan(case: dict[str, Any]) -> None:
    assert "expected" in case, "no expected outcome yet (see the module docstring)"
    assert outcome(case) == case["expected"]


def test_golden_cases_cover_every_resource_and_are_uniquely_named() -> None:
    from querylang import DIALS_RESOURCES

    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
    covered = {compile_dials({}, c["resource"]).resource.name for c in CASES if "error" not in c["expected"]}
    assert covered == set(DIALS_RESOURCES)


LIKE_ALPHABET = st.sampled_from(list("aAbB.%_\\()[]{}|^$?*+ /-é\n"))


@given(pattern=st.text(LIKE_ALPHABET, max_size=8), value=st.text(LIKE_ALPHABET, max_size=8))
def test_like_regex_agrees_with_the_embedded_services_like(pattern: str, value: str) -> None:
    """The anchored, escaped regex matches exactly what a case-insensitive SQL ``like`` matches."""
    assert (posix_regex(like_to_regex(pattern)).search(value) is not None) == bool(like_match(value, pattern, 0))


@given(pattern=st.text(LIKE_ALPHABET, max_size=8), value=st.text(LIKE_ALPHABET, max_size=8))
def test_the_row_check_like_agrees_with_the_embedded_services_like(pattern: str, value: str) -> None:
    assert like_matches(value, pattern) == bool(like_match(value, pattern, 0))


def test_the_row_check_like_takes_bounded_time_on_a_hostile_pattern() -> None:
    """Many ``%`` against a long near-miss: backtracking regexes take ages here, the row check does not."""
    started = time.perf_counter()
    assert not like_matches("a" * 3000, "%a" * 40 + "%b")
    assert time.perf_counter() - started < 5.0


def test_like_regex_is_posix_safe() -> None:
    """No Python-only syntax: no (?...) groups, no \\d-style escapes, letters only as [xX] classes."""
    regex = like_to_regex("%Pixel/(?i)\\d+%")
    assert "(?" not in regex.replace("\\(?", "")
    assert not re.search(r"\\[A-Za-z0-9]", regex)


def test_explain_shows_the_union_and_checks() -> None:
    text = explain_dials({"or": [{"run_number": 1}, {"me_id": {"<>": 3}}]}, "th1")
    assert text.splitlines() == [
        "th1 filter compiled to 2 DIALS requests (their union is the answer):",
        "GET th1/?run_number=1",
        "GET th1/ (no filter parameters)",
        "  then keep rows where me_id <> 3",
    ]
    assert explain_dials({"run_number": []}, "run").endswith("it matches nothing, no request is sent.")


def test_compiling_never_mutates_the_filter() -> None:
    for case in CASES:
        before = json.dumps(case["filter"], sort_keys=True)
        outcome(case)
        assert json.dumps(case["filter"], sort_keys=True) == before


if __name__ == "__main__":
    if os.environ.get("UPDATE_GOLDEN") != "1":
        sys.exit("set UPDATE_GOLDEN=1 to rewrite the expected outcomes")
    for case in CASES:
        case["expected"] = outcome(case)
    GOLDEN.write_text(json.dumps(CASES, indent=1, ensure_ascii=False) + "\n")
    print(f"rewrote {GOLDEN}")
