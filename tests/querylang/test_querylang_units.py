"""Unit tests of the AST, parser, compiler, plans, raw plans and explain, and the modules' doctests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import warnings
from typing import Any

import pytest

from querylang import (
    And,
    Comparison,
    FilterError,
    Membership,
    Not,
    Or,
    Plan,
    QuirkWarning,
    StatusTest,
    UnknownFlagWarning,
    compile_filter,
    compile_node,
    default_catalogue,
    explain,
    explain_plan,
    parse_filter,
    raw_plan,
)
from querylang.backend_filter import BackendFilter, Compare, Junction, Operators
from querylang.parse import normalise_date

CAT = default_catalogue()


# -- AST ---------------------------------------------------------------------------------------------------
def test_nodes_are_frozen_and_compare_without_paths() -> None:
    fill = CAT.run_attribute("fill_number")
    node = Comparison(fill, ">", 8000, path=("fill_number", ">"))
    assert node == Comparison(fill, ">", 8000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.value = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Comparison(CAT.run_attribute("fill_number"), "like", "8%"), "not allowed on number"),
        (lambda: Comparison(CAT.run_attribute("fill_number"), "=", True), "wrong value type"),
        (lambda: Comparison(CAT.run_attribute("start_time"), ">", "2018-05-01"), "stored form"),
        (lambda: Comparison(CAT.run_attribute("state"), "=", "open"), "fixed set"),
        (lambda: Membership(CAT.run_attribute("significant"), (True,)), "not allowed on boolean"),
        (lambda: Membership(CAT.run_attribute("class"), ["a"]), "must be a tuple"),  # type: ignore[arg-type]
        (lambda: StatusTest(CAT.status_flag("dt-dt"), ("good",)), "unknown status"),
        (lambda: And((1,)), "needs a tuple of filter nodes"),  # type: ignore[arg-type]
        (lambda: Not("x"), "needs a filter node"),  # type: ignore[arg-type]
    ],
)
def test_nodes_validate_on_construction(build: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        build()


def test_programmatic_nodes_compile() -> None:
    node = Or(
        (
            And(
                (
                    Comparison(CAT.run_attribute("run_number"), ">=", 315000),
                    StatusTest(CAT.status_flag("dt-dt"), ("BAD",)),
                )
            ),
            Not(Membership(CAT.run_attribute("class"), ("Cosmics18",))),
        )
    )
    assert compile_node(node).filters == (
        {"run_number": {">=": 315000}, "triplet_summary.dt-dt.BAD": {">": 0}},
        {"rr_attributes.class": {"<>": "Cosmics18"}},
    )
    assert compile_node(And(())).filters == ({},)
    assert compile_node(Or(())).filters == ()


def test_compile_node_checks_the_kind_of_hand_built_nodes() -> None:
    with pytest.raises(FilterError, match="dataset filters only"):
        compile_node(Comparison(CAT.dataset_attribute("dataset_name"), "=", "online"), kind="runs")
    with pytest.raises(FilterError, match="offline only"):
        compile_node(StatusTest(CAT.status_flag("dc-lowlumi"), ("GOOD",)), kind="runs")


# -- parser ------------------------------------------------------------------------------------------------
def test_parse_builds_the_expected_tree() -> None:
    node = parse_filter({"run_number": {">": 1, "<": 9}, "dt-dt": {"not": ["BAD", "standby"]}})
    assert isinstance(node, And)
    range_, flag = node.children
    assert range_ == And(
        (Comparison(CAT.run_attribute("run_number"), ">", 1), Comparison(CAT.run_attribute("run_number"), "<", 9))
    )
    assert flag == Not(StatusTest(CAT.status_flag("dt-dt"), ("BAD", "STANDBY")))
    assert flag.path == ("dt-dt", "not")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2018-05-01", "2018-05-01T00:00:00Z"),
        ("2018-05-01T12:30", "2018-05-01T12:30:00Z"),
        ("2018-05-01 12:30:15", "2018-05-01T12:30:15Z"),
        ("2018-05-01T12:30:15z", "2018-05-01T12:30:15Z"),
        ("2018-05-01T01:00:00+02:00", "2018-04-30T23:00:00Z"),
        ("2018-05-01T01:00:00-0130", "2018-05-01T02:30:00Z"),
        ("2018-05-01T12:30:15.000Z", "2018-05-01T12:30:15Z"),
        (dt.date(2018, 5, 1), "2018-05-01T00:00:00Z"),
        (dt.datetime(2018, 5, 1, 12, 0), "2018-05-01T12:00:00Z"),
        (dt.datetime(2018, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "2018-05-01T17:00:00Z"),
    ],
)
def test_dates_are_normalised_to_the_stored_form(value: Any, stored: str) -> None:
    assert normalise_date(value) == stored
    assert compile_filter({"end_time": {"<": value}}).filters == ({"oms_attributes.end_time": {"<": stored}},)


def test_numpy_like_numbers_become_python_numbers() -> None:
    class Int(int):  # stands for numpy.int64 and friends: an Integral that is not exactly int
        pass

    import fractions

    plan = compile_filter({"run_number": {"=": fractions.Fraction(3, 1), "<>": Int(4)}})
    assert plan.filters == ({"run_number": {"=": 3.0, "<>": 4}},)
    assert type(plan.filters[0]["run_number"]["="]) is float


def test_booleans_are_not_numbers_and_numbers_not_booleans() -> None:
    with pytest.raises(FilterError):
        compile_filter({"energy": {">": False}})
    with pytest.raises(FilterError):
        compile_filter({"stable_beam": 0})
    assert compile_filter({"stable_beam": False}).filters == ({"oms_attributes.stable_beam": {"=": False}},)


def test_the_callers_filter_is_never_mutated() -> None:
    user_filter: dict[str, Any] = {
        "run_number": {"or": [315000, 315007], "and": [{">": 1}]},
        "dt-dt": ["good"],
        "start_time": {">": dt.date(2018, 5, 1)},
        "not": {"class": ("Cosmics18",)},
    }
    snapshot = repr(user_filter)
    compile_filter(user_filter)
    explain(user_filter)
    assert repr(user_filter) == snapshot


def test_unknown_flags_warn_and_pass_through() -> None:
    with pytest.warns(UnknownFlagWarning, match="dt-newcolumn"):
        plan = compile_filter({"dt-newcolumn": {"not": "BAD"}}, unknown_flags="warn")
    assert len(plan.warnings) == 1
    assert "dt-newcolumn" in plan.warnings[0]
    assert "triplet_summary.dt-newcolumn.BAD" in json.dumps(plan.filters)
    with pytest.warns(UnknownFlagWarning, match="did you mean 'dt-dt'"):
        parse_filter({"triplet_summary.dt-dtt.GOOD": {">": 0}}, unknown_flags="warn")


def test_run_and_dataset_key_sets_differ() -> None:
    assert compile_filter({"run_number": 1}, kind="datasets").filters == ({"run_number": {"=": 1}},)
    with pytest.raises(FilterError, match="dataset filters only"):
        compile_filter({"appeared_in": "x"})
    with pytest.raises(FilterError, match="unknown"):
        compile_filter({"name": "online"})  # the dataset table's column is not a run key


# -- compiler and plans ------------------------------------------------------------------------------------
def test_compilation_is_deterministic() -> None:
    user_filter = {"and": [{"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}, {"not": {"fill_number": [1, 2]}}]}
    first = compile_filter(user_filter).to_json()
    assert all(compile_filter(json.loads(json.dumps(user_filter))).to_json() == first for _ in range(3))


def test_nested_boolean_structure_never_sits_under_a_key() -> None:
    plan = compile_filter({"fill_number": {"not": {"or": [{"in": [1, 2]}, {"and": [{">": 5}, {"<": 9}]}]}}})

    def check(node: BackendFilter) -> None:
        for entry in node.items:
            if isinstance(entry, Junction):
                for sub in entry.filters:
                    check(sub)
            else:
                assert isinstance(entry.condition, Operators), node
                assert all(isinstance(test, Compare) for test in entry.condition.tests), node

    for node in plan.nodes:
        check(node)
    assert plan.filters == (
        {
            "and": [
                {"oms_attributes.fill_number": {"<>": 1}},
                {"oms_attributes.fill_number": {"<>": 2}},
                {"or": [{"oms_attributes.fill_number": {"<=": 5}}, {"oms_attributes.fill_number": {">=": 9}}]},
            ]
        },
    )


def test_an_always_true_branch_makes_the_plan_match_everything() -> None:
    assert compile_filter({"or": [{}, {"dt-dt": "BAD"}]}).filters == ({},)
    assert compile_filter({"not": {}}).filters == ()
    assert compile_filter({"or": [{"run_number": []}, {"class": "Cosmics18"}]}).filters == (
        {"rr_attributes.class": {"=": "Cosmics18"}},
    )


def test_identical_plan_filters_are_deduplicated() -> None:
    plan = compile_filter({"or": [{"class": "A", "dt-dt": "BAD"}, {"dt-dt": "BAD", "class": "A"}]})
    assert len(plan.filters) == 1


def test_plan_is_frozen_validated_and_serialisable() -> None:
    plan = compile_filter({"dt-dt": "GOOD"}, kind="datasets")
    assert plan.kind == "datasets"
    assert json.loads(plan.to_json()) == {
        "kind": "datasets",
        "filters": [{"triplet_summary.dt-dt.GOOD": {">": 0}}],
        "warnings": [],
    }
    copied = plan.to_dict()
    copied["filters"][0].clear()
    assert plan.filters[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.kind = "runs"  # type: ignore[misc]
    with pytest.raises(ValueError, match="kind"):
        Plan("lumis", ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Plan("runs", [{}])  # type: ignore[arg-type]


# -- raw plans ---------------------------------------------------------------------------------------------
def test_raw_plan_sends_a_deep_copy_as_written_and_warns_on_quirks() -> None:
    raw = {"or": [{"rr_attributes.class": "Cosmics18"}, {"triplet_summary.dt-dt.BAD": {">": 0}}]}
    with pytest.warns(QuirkWarning, match=r"quirk \(b\)"):
        plan = raw_plan(raw)
    assert plan.filters == (raw,)
    assert plan.filters[0] is not raw
    assert plan.filters[0]["or"] is not raw["or"]
    assert len(plan.warnings) == 1


def test_raw_plan_without_quirks_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = raw_plan({"name": {"like": "%Prompt%"}, "dataset_attributes.global_state": "OPEN"}, kind="datasets")
    assert plan.warnings == ()


def test_raw_plan_knows_dataset_keys_only_for_datasets() -> None:
    with pytest.warns(QuirkWarning, match="unknown key"):
        raw_plan({"name": "online"}, kind="runs")


# -- explain -----------------------------------------------------------------------------------------------
def test_explain_renders_json_and_sql() -> None:
    text = explain({"run_number": {"and": [{">": 309000}, {"<": 310000}]}, "dt-dt": "GOOD"})
    assert text.startswith("runs filter compiled to 1 backend filter:")
    assert '"triplet_summary.dt-dt.GOOD": {' in text
    assert text.endswith(
        'SELECT * FROM runs WHERE run_number > 309000 AND run_number < 310000 AND triplet_summary."dt-dt".GOOD > 0'
    )


def test_explain_renders_or_null_like_and_unions() -> None:
    text = explain({"or": [{"not": {"dt-dt": "GOOD"}, "hlt_key": {"notlike": "%o'k%"}}, {"significant": False}]})
    assert "(their union is the answer)" in text
    sql = text.split("-- as SQL\n")[1]
    assert sql == (
        "SELECT * FROM runs WHERE oms_attributes.hlt_key NOT ILIKE '%o''k%' AND "
        '(triplet_summary."dt-dt".GOOD = 0 OR triplet_summary."dt-dt".GOOD IS NULL)\n'
        "UNION\n"
        "SELECT * FROM runs WHERE rr_attributes.significant = FALSE"
    )


def test_explain_as_json_is_the_plan() -> None:
    user_filter = {"class": ["Cosmics18"], "hcal-hcal": "no value found"}
    assert json.loads(explain(user_filter, as_json=True)) == compile_filter(user_filter).to_dict()


def test_explain_shows_warnings_and_empty_plans() -> None:
    with pytest.warns(UnknownFlagWarning):
        text = explain({"dt-newcolumn": "GOOD"}, unknown_flags="warn")
    assert 'warning: filter["dt-newcolumn"]: unknown status flag' in text
    assert "matches nothing" in explain({"run_number": {"in": []}})
    assert explain({}).endswith("SELECT * FROM runs WHERE TRUE")
    with pytest.warns(QuirkWarning):
        raw = raw_plan({"oms_attributes.fill_number": {"or": [{"=": 1}, {"=": 2}]}})
    assert "(oms_attributes.fill_number = 1 OR oms_attributes.fill_number = 2)" in explain_plan(raw)
