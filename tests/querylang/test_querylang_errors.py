"""Every kind of invalid filter gets a FilterError naming the path, the value, what is allowed and a did-you-mean."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from querylang import FilterError, QueryLangError, compile_filter, raw_plan

NOTHING = object()

# (filter, kind, location, message fragment, value, allowed fragment, best suggestions first)
CASES: list[tuple[Any, str, str, str, Any, str, list[str]]] = [
    (
        {"hlt_kye": "x"},
        "runs",
        'filter["hlt_kye"]',
        "unknown attribute",
        "hlt_kye",
        "attribute name",
        ["hlt_key", "l1_key"],
    ),
    ({"dt": "GOOD"}, "runs", 'filter["dt"]', "unknown attribute", "dt", "status flag", ["dt-dt"]),
    (
        {"tracker": "GOOD"},
        "runs",
        'filter["tracker"]',
        "unknown attribute",
        "tracker",
        "status flag",
        ["tracker-pixel", "tracker-strip", "tracker-track"],
    ),
    (
        {"dt-ddt": "GOOD"},
        "runs",
        'filter["dt-ddt"]',
        "unknown status flag",
        "dt-ddt",
        "unknown_flags='warn'",
        ["dt-dt"],
    ),
    (
        {"dc-lowlumi": "GOOD"},
        "runs",
        'filter["dc-lowlumi"]',
        "exists only in offline datasets",
        "dc-lowlumi",
        "online status flags",
        [],
    ),
    ({"hcal-ho0_ls": "GOOD"}, "runs", 'filter["hcal-ho0_ls"]', "offline", "hcal-ho0_ls", "online", ["hcal-ho0ls"]),
    (
        {"global_state": "OPEN"},
        "runs",
        'filter["global_state"]',
        "dataset filters only",
        "global_state",
        "run attributes",
        [],
    ),
    (
        {"oms_attributes.fil_number": 1},
        "runs",
        'filter["oms_attributes.fil_number"]',
        "unknown backend key",
        "oms_attributes.fil_number",
        "backend keys",
        ["oms_attributes.fill_number"],
    ),
    (
        {"triplet_summary.dt-dt": {">": 0}},
        "runs",
        'filter["triplet_summary.dt-dt"]',
        "malformed status count key",
        "triplet_summary.dt-dt",
        "<workspace>-<column>.<STATUS>",
        [],
    ),
    (
        {"triplet_summary.dt-dt.GOD": {">": 0}},
        "runs",
        'filter["triplet_summary.dt-dt.GOD"]',
        "unknown status",
        "GOD",
        "NO VALUE FOUND",
        ["GOOD"],
    ),
    ({"dt-dt": "GOD"}, "runs", 'filter["dt-dt"]', "unknown status", "GOD", "GOOD, BAD", ["GOOD"]),
    ({"dt-dt": ["GOOD", "BDA"]}, "runs", 'filter["dt-dt"][1]', "unknown status", "BDA", "BAD", ["BAD"]),
    ({"dt-dt": True}, "runs", 'filter["dt-dt"]', "not a boolean", True, "GOOD", ["GOOD"]),
    ({"dt-dt": {"<>": "BAD"}}, "runs", 'filter["dt-dt"]', "ambiguous", "<>", "not", ["not"]),
    ({"dt-dt": {"like": "G%"}}, "runs", 'filter["dt-dt"]["like"]', "not allowed on status flag", "like", "=, in", []),
    ({"dt-dt": {}}, "runs", 'filter["dt-dt"]', "empty operator object", {}, "=, in", []),
    ({"run_number": {"!=": 3}}, "runs", 'filter["run_number"]["!="]', "unknown operator", "!=", "<>", ["<>"]),
    ({"run_number": {"==": 3}}, "runs", 'filter["run_number"]["=="]', "unknown operator", "==", "=", ["="]),
    ({"class": {"nin": ["a"]}}, "runs", 'filter["class"]["nin"]', "unknown operator", "nin", "notin", ["notin"]),
    ({"class": {"likee": "a"}}, "runs", 'filter["class"]["likee"]', "unknown operator", "likee", "like", ["like"]),
    (
        {"run_number": {"like": "3%"}},
        "runs",
        'filter["run_number"]["like"]',
        "not allowed on number",
        "like",
        "=, <>, <",
        [],
    ),
    ({"significant": {">": True}}, "runs", 'filter["significant"][">"]', "not allowed on boolean", ">", "=, <>", []),
    (
        {"significant": {"in": [True]}},
        "runs",
        'filter["significant"]["in"]',
        "not allowed on boolean",
        NOTHING,
        "=, <>",
        [],
    ),
    ({"run_number": True}, "runs", 'filter["run_number"]', "wrong value type", True, "not a boolean", []),
    ({"run_number": "315000"}, "runs", 'filter["run_number"]', "wrong value type", "315000", "finite number", []),
    ({"energy": {">": math.nan}}, "runs", 'filter["energy"][">"]', "wrong value type", NOTHING, "finite number", []),
    ({"significant": 1}, "runs", 'filter["significant"]', "wrong value type", 1, "true or false", []),
    ({"class": 18}, "runs", 'filter["class"]', "wrong value type", 18, "a string", []),
    ({"state": "signoff"}, "runs", 'filter["state"]', "fixed set of values", "signoff", "OPEN, SIGNOFF", ["SIGNOFF"]),
    (
        {"global_state": "waiting DQM gui"},
        "datasets",
        'filter["global_state"]',
        "fixed set",
        "waiting DQM gui",
        "waiting dqm gui",
        ["waiting dqm gui"],
    ),
    ({"start_time": "2018/05/01"}, "runs", 'filter["start_time"]', "malformed date", "2018/05/01", "YYYY-MM-DD", []),
    (
        {"start_time": {">": "2018-02-30"}},
        "runs",
        'filter["start_time"][">"]',
        "invalid date",
        "2018-02-30",
        "YYYY-MM-DD",
        [],
    ),
    (
        {"start_time": "2018-05-01T10:00:00.5Z"},
        "runs",
        'filter["start_time"]',
        "whole seconds",
        "2018-05-01T10:00:00.5Z",
        None,
        [],
    ),
    ({"start_time": 1525132800}, "runs", 'filter["start_time"]', "ISO-8601", 1525132800, "datetime", []),
    ({"and": []}, "runs", 'filter["and"]', "empty 'and' list", [], "non-empty", []),
    ({"run_number": {"or": []}}, "runs", 'filter["run_number"]["or"]', "empty 'or' list", [], "non-empty", []),
    ({"or": {"run_number": 1}}, "runs", 'filter["or"]', "needs a list", {"run_number": 1}, "non-empty list", []),
    ({"run_number": {}}, "runs", 'filter["run_number"]', "empty operator object", {}, "in, notin", []),
    ([{"run_number": 1}], "runs", "filter", "must be a dict", [{"run_number": 1}], "a dict", []),
    (None, "runs", "filter", "must be a dict", None, "a dict", []),
    ({"or": [{"run_number": 1}, "dt-dt"]}, "runs", 'filter["or"][1]', "must be a dict", "dt-dt", "a dict", []),
    ({1: 2}, "runs", "filter", "keys must be strings", 1, "attribute name", []),
    ({"run_number": {"in": 3}}, "runs", 'filter["run_number"]["in"]', "needs a list", 3, None, []),
    ({"run_number": {"=": [1, 2]}}, "runs", 'filter["run_number"]["="]', "use 'in'", [1, 2], None, []),
    ({"class": None}, "runs", 'filter["class"]', "null is not a value", None, "a string", []),
    ({"components": "DT"}, "runs", 'filter["components"]', "not allowed on list attribute", "=", "like, notlike", []),
    (
        {"or": [{"run_number": 1}, {"run_number": {"and": [{">": 1}, {"<": "x"}]}}]},
        "runs",
        'filter["or"][1]["run_number"]["and"][1]["<"]',
        "wrong value type",
        "x",
        "finite number",
        [],
    ),
]


@pytest.mark.parametrize(
    ("user_filter", "kind", "location", "message", "value", "allowed", "suggestions"),
    CASES,
    ids=[c[2] + " " + c[3] for c in CASES],
)
def test_error_names_path_value_allowed_and_suggestions(
    user_filter: Any, kind: Any, location: str, message: str, value: Any, allowed: str | None, suggestions: list[str]
) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(user_filter, kind=kind)
    err = caught.value
    assert err.location == location
    assert message in err.message
    if value is not NOTHING:
        assert err.has_value
        assert err.value == value
    if allowed is not None:
        assert err.allowed is not None
        assert allowed in err.allowed
    assert list(err.suggestions[: len(suggestions)]) == suggestions, "best suggestions first"
    assert bool(err.suggestions) == bool(suggestions)
    assert location in str(err)
    assert all(repr(s) in str(err) for s in suggestions)


def test_filter_errors_are_value_errors_of_the_documented_tree() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter({"dt": "GOOD"})
    assert isinstance(caught.value, QueryLangError)
    assert isinstance(caught.value, ValueError)


def test_too_many_backend_filters_is_a_clear_error() -> None:
    mixed = [{"or": [{"fill_number": 6000 + i}, {"dt-dt": "BAD"}]} for i in range(3)]
    assert len(compile_filter({"and": mixed}, max_filters=8).filters) == 8
    with pytest.raises(FilterError, match="needs 8 backend filters") as caught:
        compile_filter({"and": mixed}, max_filters=7)
    assert caught.value.allowed is not None
    assert "max_filters=7" in caught.value.allowed


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "run"}, "kind must be"),
        ({"unknown_flags": "ignore"}, "unknown_flags must be"),
        ({"max_filters": 0}, "max_filters must be"),
        ({"max_filters": True}, "max_filters must be"),
    ],
)
def test_bad_options_are_plain_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        compile_filter({"run_number": 1}, **options)
    assert not isinstance(caught.value, FilterError)


@pytest.mark.parametrize(
    ("raw", "location", "message"),
    [
        ([{"run_number": 1}], "filter", "must be a JSON object"),
        ({"run_number": {"=": math.inf}}, 'filter["run_number"]["="]', "not representable in JSON"),
        ({"run_number": {"=": dt.date(2018, 1, 1)}}, 'filter["run_number"]["="]', "not a JSON value"),
        ({"or": [{1: 2}]}, 'filter["or"][0]', "keys must be strings"),
    ],
)
def test_raw_plan_checks_it_is_a_json_object(raw: Any, location: str, message: str) -> None:
    with pytest.raises(FilterError, match=message) as caught:
        raw_plan(raw)
    assert caught.value.location == location
