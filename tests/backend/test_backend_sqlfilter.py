"""Filter → SQL: every operator, casting, NULLs, upper-case forms, sortings, and the quirk mode (a), (b), (c).

Expected answers come from a plain Python evaluation over the generated registry the store was loaded from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from backend.demo import DemoRegistry, DemoRun
from backend.listing import list_page
from backend.sqlfilter import FilterSqlError, compile_order, compile_where, like_match
from backend.store import Store


def fetch(
    store: Store, flt: Any, *, target: str = "runs", quirks: bool = False, sortings: list[list[str]] | None = None
) -> list[Any]:
    body = {"page": 0, "page_size": 100000, "filter": flt, "sortings": sortings or []}
    reply = json.loads(list_page(store, target, body, quirks=quirks))  # type: ignore[arg-type]
    assert reply["count"] == len(reply[target])
    if target == "runs":
        return [r["run_number"] for r in reply["runs"]]
    return [(d["run_number"], d["name"]) for d in reply["datasets"]]


def expect(registry: DemoRegistry, keep: Callable[[DemoRun], bool]) -> list[int]:
    return sorted((r.run_number for r in registry.runs if keep(r)), reverse=True)


def online_summary(run: DemoRun) -> dict[str, Any]:
    from backend.lumiranges import summarize

    return summarize(run.datasets[0].statuses, run.lumisections)


# -- comparisons and casting ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "test"),
    [
        ("=", lambda v, pivot: v == pivot),
        ("<>", lambda v, pivot: v != pivot),
        ("<", lambda v, pivot: v < pivot),
        (">", lambda v, pivot: v > pivot),
        ("<=", lambda v, pivot: v <= pivot),
        (">=", lambda v, pivot: v >= pivot),
    ],
)
def test_numeric_operators(store: Store, registry: DemoRegistry, op: str, test: Callable[[int, int], bool]) -> None:
    fills = sorted(r.oms["fill_number"] for r in registry.runs if r.oms["fill_number"] is not None)
    pivot = fills[len(fills) // 2]  # a fill the demo has, with runs on both sides
    got = fetch(store, {"oms_attributes.fill_number": {op: pivot}})
    want = expect(registry, lambda r: r.oms["fill_number"] is not None and test(r.oms["fill_number"], pivot))
    assert got == want
    assert want  # the demo has runs on both sides of every comparison


def test_float_and_huge_numbers(store: Store, registry: DemoRegistry) -> None:
    assert fetch(store, {"oms_attributes.b_field": {">=": 3.7}}) == expect(registry, lambda r: r.oms["b_field"] >= 3.7)
    assert fetch(store, {"oms_attributes.fill_number": {"<": 10**40}}) == expect(
        registry, lambda r: r.oms["fill_number"] is not None
    )
    assert fetch(store, {"run_number": {">": -(10**30)}}) == expect(registry, lambda r: True)


def test_bare_value_is_equality_and_run_number_column(store: Store, registry: DemoRegistry) -> None:
    first = registry.runs[3].run_number
    assert fetch(store, {"run_number": first}) == [first]
    assert fetch(store, {"run_number": str(first)}) == [first]  # PostgreSQL coerces a numeric literal
    assert fetch(store, {"run_number": {"and": [{">": first}, {"<": first + 3000}]}}) == expect(
        registry, lambda r: first < r.run_number < first + 3000
    )


def test_string_equality_and_text_cast_of_numbers(store: Store, registry: DemoRegistry) -> None:
    key = registry.runs[0].oms["hlt_key"]
    assert fetch(store, {"oms_attributes.hlt_key": key}) == expect(registry, lambda r: r.oms["hlt_key"] == key)
    # a string compared with a number attribute compares text (like PostgreSQL's ->>)
    assert fetch(store, {"oms_attributes.energy": {"=": "6500"}}) == expect(registry, lambda r: r.oms["energy"] == 6500)
    assert fetch(store, {"oms_attributes.fill_number": {"like": "65%"}}) == expect(
        registry, lambda r: str(r.oms["fill_number"]).startswith("65") and r.oms["fill_number"] is not None
    )


def test_like_is_case_insensitive_and_upper_case_like_is_not(store: Store, registry: DemoRegistry) -> None:
    physics = expect(registry, lambda r: "physics" in r.oms["hlt_key"])
    assert physics
    assert fetch(store, {"oms_attributes.hlt_key": {"like": "%PHYSICS%"}}) == physics
    assert fetch(store, {"oms_attributes.hlt_key": {"LIKE": "%PHYSICS%"}}) == []
    assert fetch(store, {"oms_attributes.hlt_key": {"LIKE": "%physics%"}}) == physics
    assert fetch(store, {"oms_attributes.hlt_key": {"notlike": "%PHYSICS%"}}) == expect(
        registry, lambda r: "physics" not in r.oms["hlt_key"]
    )
    assert fetch(store, {"oms_attributes.hlt_key": {"NOTLIKE": "%PHYSICS%"}}) == expect(registry, lambda r: True)
    assert fetch(store, {"oms_attributes.hlt_key": {"like": "/cdaq/physic_/%"}}) == physics


def test_like_wildcards_and_escapes() -> None:
    assert like_match("a%b", r"a\%b", 1) == 1
    assert like_match("axb", r"a\%b", 1) == 0
    assert like_match("a.b", "a_b", 1) == 1
    assert like_match("a.b", "a.b", 1) == 1
    assert like_match("aXb", "a.b", 1) == 0  # '.' is literal in LIKE
    assert like_match("ÉCAL", "écal", 0) == 1
    assert like_match(None, "x", 0) is None


def test_booleans(store: Store, registry: DemoRegistry) -> None:
    stable = expect(registry, lambda r: r.oms["stable_beam"] is True)
    assert stable
    assert fetch(store, {"oms_attributes.stable_beam": True}) == stable
    assert fetch(store, {"oms_attributes.stable_beam": {"=": False}}) == expect(
        registry, lambda r: not r.oms["stable_beam"]
    )
    assert fetch(store, {"oms_attributes.stable_beam": {"=": "true"}}) == stable  # text compare renders 'true'
    assert fetch(store, {"rr_attributes.significant": {"<>": True}}) == expect(
        registry, lambda r: not r.rr["significant"]
    )


def test_null_tests(store: Store, registry: DemoRegistry) -> None:
    missing = expect(registry, lambda r: r.oms["injection_scheme"] is None)
    assert missing
    assert fetch(store, {"oms_attributes.injection_scheme": {"=": None}}) == missing
    assert fetch(store, {"oms_attributes.injection_scheme": {"<>": None}}) == expect(
        registry, lambda r: r.oms["injection_scheme"] is not None
    )
    assert fetch(store, {"oms_attributes.fill_number": {"<": None}}) == []


def test_several_operators_in_one_object_are_anded(store: Store, registry: DemoRegistry) -> None:
    got = fetch(store, {"oms_attributes.fill_number": {">=": 6550, "<": 6700}})
    assert got == expect(registry, lambda r: r.oms["fill_number"] is not None and 6550 <= r.oms["fill_number"] < 6700)


def test_and_or_at_top_level_and_nested(store: Store, registry: DemoRegistry) -> None:
    flt = {
        "or": [
            {"rr_attributes.class": "Cosmics18"},
            {"and": [{"oms_attributes.energy": 6500}, {"oms_attributes.b_field": {"<": 1}}]},
        ]
    }
    assert fetch(store, flt) == expect(
        registry, lambda r: r.rr["class"] == "Cosmics18" or (r.oms["energy"] == 6500 and r.oms["b_field"] < 1)
    )
    assert fetch(store, {"AND": [{"rr_attributes.class": "Cosmics18"}], "OR": []}) == []
    assert fetch(store, {"and": []}) == expect(registry, lambda r: True)


def test_or_under_a_key_keeps_its_cast_in_strict_mode(store: Store, registry: DemoRegistry) -> None:
    fills = sorted({r.oms["fill_number"] for r in registry.runs if r.oms["fill_number"]})[:2]
    flt = {"oms_attributes.fill_number": {"or": [{"=": fills[0]}, {"=": fills[1]}]}}
    assert fetch(store, flt) == expect(registry, lambda r: r.oms["fill_number"] in fills)


def test_status_flag_counts(store: Store, registry: DemoRegistry) -> None:
    with_bad = expect(registry, lambda r: online_summary(r).get("dt-dt", {}).get("BAD", 0) > 0)
    assert fetch(store, {"triplet_summary.dt-dt.BAD": {">": 0}}) == with_bad
    # an absent count is NULL, like PostgreSQL JSON
    assert fetch(store, {"triplet_summary.dt-dt.BAD": {"=": None}}) == expect(
        registry, lambda r: "BAD" not in online_summary(r).get("dt-dt", {})
    )
    good = expect(registry, lambda r: online_summary(r).get("tracker-pixel", {}).get("GOOD", 0) > 0)
    assert fetch(store, {"triplet_summary.tracker-pix.GOOD": {">": 0}}) == good  # alias of tracker-pixel


def test_datasets_target(store: Store, registry: DemoRegistry) -> None:
    got = fetch(
        store,
        {"name": {"like": "/promptreco/collisions2018_/dqm"}, "dataset_attributes.global_state": "COMPLETED"},
        target="datasets",
    )
    want = sorted(
        (
            (r.run_number, d.name)
            for r in registry.runs
            for d in r.datasets
            if d.name.startswith("/PromptReco/Collisions2018") and d.attributes.get("global_state") == "COMPLETED"
        ),
        key=lambda x: (-x[0], x[1]),
    )
    assert got == want
    assert want


# -- errors -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ({"oms_attributes.hlt_key": 5}, "cannot compare"),
        ({"oms_attributes.energy": True}, "cannot compare"),
        ({"run_number": "abc"}, "invalid input syntax for type integer"),
        ({"run_number": {"like": "3%"}}, "operator does not exist"),
        ({"oms_attributes.nonexistent": 1}, "unknown attribute"),
        ({"oms_attributes.energy": {"in": [1]}}, "unknown operator"),
        ({"bogus_column": 1}, 'column "bogus_column" does not exist'),
        ({"triplet_summary.dt-dt.SUPERB": {">": 0}}, "unknown status flag key"),
        ({"oms_attributes.hlt_key": {"like": 5}}, "needs a string pattern"),
        ({"or": {"run_number": 1}}, "needs a list"),
        ({"or": [5]}, "must be a JSON object"),
        ([1, 2], "must be a JSON object"),
        ({"dataset_attributes.global_state": "OPEN"}, "does not exist"),  # runs have no dataset attributes
        ({"oms_attributes.energy": {"=": [6500]}}, "cannot compare"),
    ],
)
def test_bad_filters_are_clear_errors(flt: Any, message: str) -> None:
    with pytest.raises(FilterSqlError, match=message):
        compile_where(flt, target="runs")


def test_depth_and_size_limits() -> None:
    deep: dict[str, Any] = {"run_number": 1}
    for _ in range(5000):
        deep = {"and": [deep]}
    with pytest.raises(FilterSqlError, match="nested too deeply"):  # refused by querylang.backend_filter.from_json
        compile_where(deep, target="runs")
    with pytest.raises(FilterSqlError, match="more than 5000 comparisons"):
        compile_where({"or": [{"run_number": {">": i}} for i in range(6000)]}, target="runs")
    with pytest.raises(FilterSqlError, match="more than 30000 values"):
        compile_where({"or": [{"run_number": i} for i in range(30_001)]}, target="runs")


# -- long lists: IN / NOT IN and balanced joins -------------------------------------------------------------------
LONG = 3000  # SQLite refuses expressions nested deeper than 1000: a flat OR of 3000 terms would fail


@pytest.mark.parametrize("quirks", [False, True])
def test_long_or_and_and_lists_on_one_key_become_in_lists(store: Store, registry: DemoRegistry, quirks: bool) -> None:
    numbers = [r.run_number for r in registry.runs[::3]]
    wanted = [*numbers, *range(1, LONG)]  # most match nothing
    keep = set(numbers)
    top_or = {"or": [{"run_number": n} if n % 2 else {"run_number": {"=": n}} for n in wanted]}
    assert fetch(store, top_or, quirks=quirks) == expect(registry, lambda r: r.run_number in keep)
    under_key = {"run_number": {"or": [n if n % 2 else {"=": n} for n in wanted]}}
    assert fetch(store, under_key, quirks=quirks) == expect(registry, lambda r: r.run_number in keep)
    top_and = {"and": [{"run_number": {"<>": n}} for n in wanted]}
    assert fetch(store, top_and, quirks=quirks) == expect(registry, lambda r: r.run_number not in keep)
    sql = compile_where(top_and, target="runs")
    assert sql.text.count("NOT IN") == -(-len(wanted) // 500)
    assert len(sql.params) == len(wanted)


def test_in_lists_cast_each_value_and_keep_nulls_and_other_items(store: Store, registry: DemoRegistry) -> None:
    fills = sorted({r.oms["fill_number"] for r in registry.runs if r.oms["fill_number"] is not None})[:20]
    as_text = str(fills[-1])  # compared as text, as the service does: a second IN list
    spec: list[Any] = [*fills[:-1], as_text, *range(1, LONG), {"=": None}, {">": 10**9}]
    got = fetch(store, {"oms_attributes.fill_number": {"or": spec}})
    assert got == expect(registry, lambda r: r.oms["fill_number"] is None or r.oms["fill_number"] in fills)
    with pytest.raises(FilterSqlError, match="invalid input syntax for type integer"):
        fetch(store, {"run_number": {"or": [*range(1, LONG), "abc"]}})  # the same error as one by one
    classes = {"or": [{"rr_attributes.class": c} for c in ("Cosmics18", "Collisions18", *map(str, range(LONG)))]}
    assert fetch(store, classes) == expect(registry, lambda r: r.rr["class"] in ("Cosmics18", "Collisions18"))
    keys = [f"%{i}%" for i in range(LONG // 2)]  # likes never join an IN list: a balanced OR tree
    likes = {"or": [{"oms_attributes.hlt_key": {"like": key}} for key in keys]}
    assert fetch(store, likes) == expect(registry, lambda r: any(key[1:-1] in (r.oms["hlt_key"] or "") for key in keys))


def test_values_and_paths_are_bound_parameters() -> None:
    sql = compile_where(
        {"oms_attributes.hlt_key": "x' OR 1=1 --", "triplet_summary.dt-dt.GOOD": {">": 0}}, target="runs"
    )
    assert "OR 1=1" not in sql.text
    assert "dt-dt" not in sql.text
    assert sql.params == ('$."hlt_key"', "x' OR 1=1 --", '$."dt-dt"."GOOD"', 0)


# -- quirk mode ---------------------------------------------------------------------------------------------------
def test_quirk_a_or_under_a_json_key_loses_the_cast(store: Store) -> None:
    flt = {"oms_attributes.fill_number": {"or": [{"=": 8000}, {"=": 8001}]}}
    with pytest.raises(FilterSqlError, match="operator does not exist: text = integer"):
        fetch(store, flt, quirks=True)
    assert fetch(store, flt, quirks=False) == []  # strict mode: simply no such fills
    # strings still work under the key (they are compared as text anyway)
    assert fetch(store, {"rr_attributes.class": {"or": ["Cosmics18"]}}, quirks=True) == fetch(
        store, {"rr_attributes.class": "Cosmics18"}
    )


def test_quirk_b_mixed_table_or_is_split_and_anded(store: Store, registry: DemoRegistry) -> None:
    flt = {"or": [{"rr_attributes.class": "Cosmics18"}, {"triplet_summary.dt-dt.BAD": {">": 0}}]}
    cosmics = set(expect(registry, lambda r: r.rr["class"] == "Cosmics18"))
    bad = set(expect(registry, lambda r: online_summary(r).get("dt-dt", {}).get("BAD", 0) > 0))
    assert cosmics - bad
    assert bad - cosmics
    assert set(fetch(store, flt)) == cosmics | bad
    assert set(fetch(store, flt, quirks=True)) == cosmics & bad


def test_quirk_c_unknown_json_key_or_operator_matches_nothing(store: Store) -> None:
    assert fetch(store, {"oms_attributes.no_such_key": 1}, quirks=True) == []
    assert fetch(store, {"oms_attributes.energy": {"in": [6500]}}, quirks=True) == []
    assert fetch(store, {"triplet_summary.xx-yy.GOOD": {">": 0}}, quirks=True) == []
    with pytest.raises(FilterSqlError, match="does not exist"):
        fetch(store, {"no_such_column": 1}, quirks=True)


# -- sortings -----------------------------------------------------------------------------------------------------
def test_json_keys_sort_as_text_except_ls_duration_and_b_field(store: Store, registry: DemoRegistry) -> None:
    got = fetch(store, {}, sortings=[["oms_attributes.duration", "ASC"]])
    assert got == [r.run_number for r in sorted(registry.runs, key=lambda r: (str(r.oms["duration"]), -r.run_number))]
    got = fetch(store, {}, sortings=[["oms_attributes.ls_duration", "DESC"]])
    assert got == [r.run_number for r in sorted(registry.runs, key=lambda r: (-r.oms["ls_duration"], -r.run_number))]
    got = fetch(store, {}, sortings=[["oms_attributes.b_field", "asc"]])
    assert got == [r.run_number for r in sorted(registry.runs, key=lambda r: (r.oms["b_field"], -r.run_number))]


def test_nulls_sort_last_ascending_and_first_descending(store: Store, registry: DemoRegistry) -> None:
    asc = fetch(store, {}, sortings=[["oms_attributes.injection_scheme", "ASC"]])
    desc = fetch(store, {}, sortings=[["oms_attributes.injection_scheme", "DESC"]])
    nulls = {r.run_number for r in registry.runs if r.oms["injection_scheme"] is None}
    assert set(asc[-len(nulls) :]) == nulls
    assert set(desc[: len(nulls)]) == nulls


def test_default_dataset_order(store: Store) -> None:
    got = fetch(store, {}, target="datasets")
    assert got == sorted(got, key=lambda x: (-x[0], x[1]))


@pytest.mark.parametrize(
    "sortings", [{"run_number": "ASC"}, [["run_number"]], [["run_number", "UP"]], [["bogus", "ASC"]], [[1, "ASC"]]]
)
def test_bad_sortings(sortings: Any) -> None:
    with pytest.raises(FilterSqlError):
        compile_order(sortings, target="runs")
