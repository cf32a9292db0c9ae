"""Differential: DSL filters compiled to DIALS requests and sent to the stand-in (then the plan's client checks
and union) give exactly the rows an independent evaluation (``reference.py``) selects from the raw rows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dials_helpers import fetch_all
from dials_reference import satisfies
from hypothesis import given, reject
from hypothesis import strategies as st
from testkit.profiles import scaled

from querylang import FilterError, compile_dials
from querylang.dials import DialsPlan

CASES = [("run", "tracker"), ("file-index", "jetmet"), ("mes", "tracker"), ("mes", "ecal"), ("ml-models-index", "ecal")]
FIELDS = {
    "run": ("dataset_id", "run_number", "dataset"),
    "file-index": ("dataset_id", "logical_file_name", "status", "file_size", "dataset"),
    "mes": ("me", "dim"),
    "ml-models-index": ("id", "name", "active", "ready", "type"),
}
ROUTES = {"run": "run/", "file-index": "file-index/", "mes": "mes/", "ml-models-index": "ml-models-index/"}


def run_plan(http: httpx.Client, plan: DialsPlan, workspace: str) -> list[dict[str, Any]]:
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for request in plan.requests:
        for row in fetch_all(http, plan.resource.route, dict(request.params), Workspace=workspace):
            if request.keeps(row):
                rows[tuple(row[k] for k in plan.resource.key)] = row
    return [rows[key] for key in sorted(rows)]


@pytest.fixture(scope="module")
def raw(http: httpx.Client) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {(resource, ws): fetch_all(http, ROUTES[resource], Workspace=ws) for resource, ws in CASES}


def _pattern(draw: Any, text: str) -> str:
    """A like pattern built from a real value: a slice, wildcards, case changes and escaped specials."""
    start = draw(st.integers(0, max(len(text) - 1, 0)))
    end = draw(st.integers(start, len(text)))
    chars = []
    for char in text[start:end]:
        choice = draw(st.sampled_from(["keep", "keep", "keep", "upper", "one"]))
        literal = "\\" + char if char in "%_\\" else char
        chars.append("_" if choice == "one" else literal.upper() if choice == "upper" else literal)
    prefix = "%" if start > 0 or draw(st.booleans()) else ""
    suffix = "%" if end < len(text) or draw(st.booleans()) else ""
    return prefix + "".join(chars) + suffix


@st.composite
def leaf(draw: Any, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    field = draw(st.sampled_from(fields))
    value = draw(st.sampled_from(rows))[field]
    values = sorted({r[field] for r in rows}, key=repr)
    if isinstance(value, bool):
        return {field: draw(st.sampled_from([value, {"<>": value}, {"=": not value}]))}
    if isinstance(value, int):
        op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "in", "notin"]))
        if op in ("in", "notin"):
            return {field: {op: draw(st.lists(st.sampled_from(values), min_size=1, max_size=20))}}
        return {field: {op: value + draw(st.sampled_from([0, 0, 1, -1]))}}
    op = draw(st.sampled_from(["=", "<>", "like", "like", "notlike", "in", "notin"]))
    if op in ("like", "notlike"):
        return {field: {op: _pattern(draw, value)}}
    if op in ("in", "notin"):
        return {field: {op: draw(st.lists(st.sampled_from(values), min_size=1, max_size=4))}}
    return {field: {op: value}}


def filters(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaf(rows, fields),
        lambda inner: st.one_of(
            st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=5,
    )


@pytest.mark.parametrize(("resource", "workspace"), CASES)
def test_compiled_plans_select_exactly_what_the_reference_selects(
    http: httpx.Client, raw: dict[tuple[str, str], list[dict[str, Any]]], resource: str, workspace: str
) -> None:
    rows = raw[resource, workspace]
    key = compile_dials({}, resource).resource.key

    @scaled(0.4)  # each example sends the plan's requests to the stand-in
    @given(filters(rows, FIELDS[resource]))
    def check(filter: dict[str, Any]) -> None:
        try:
            plan = compile_dials(filter, resource)
        except FilterError as exc:  # a plan beyond max_requests is refused before any request: typed, named
            refusal = str(exc)
        else:
            refusal = ""
        if refusal:
            assert "max_requests" in refusal
            reject()
        expected = sorted((r for r in rows if satisfies(filter, r)), key=lambda r: tuple(r[k] for k in key))
        assert run_plan(http, plan, workspace) == expected

    check()


def test_like_with_regex_specials_on_real_names(http: httpx.Client, raw: Any) -> None:
    """ME names with spaces, parentheses, '+' and '-' are found by like patterns that contain them."""
    rows = raw["mes", "ecal"]
    for pattern in ["%(fraction)", "%EE +", "%ee _", "ecalbarrel/%task/%", "%occupancy%", "%\\_%"]:
        plan = compile_dials({"me": {"like": pattern}}, "mes")
        expected = [r for r in rows if satisfies({"me": {"like": pattern}}, r)]
        assert run_plan(http, plan, "ecal") == expected, pattern
    assert run_plan(http, compile_dials({"me": {"like": "%EE +"}}, "mes"), "ecal")


def test_the_issue_example_on_histograms(http: httpx.Client) -> None:
    """``ls_number in [10, 11]`` (no ``__in`` on th1: one request per value), a range and a like on ``me``."""
    filter = {"run_number": {">=": 1, "<=": 10**7}, "me": {"like": "%PXBarrel%"}, "ls_number": {"in": [10, 11]}}
    plan = compile_dials(filter, "th1")
    assert [dict(r.params)["ls_number"] for r in plan.requests] == ["10", "11"]
    raw = [row for ls in (10, 11) for row in fetch_all(http, "th1/", {"ls_number": ls})]
    expected = sorted((r for r in raw if satisfies(filter, r)), key=lambda r: tuple(r[k] for k in plan.resource.key))
    assert expected
    assert run_plan(http, plan, "tracker") == expected
