"""Benchmark: what compiling a filter or a rule costs (pure querylang, no I/O, no server).

For each case, the median of ``--repeat`` timings of runql's whole path from the user's dict to what is sent
(parse, validate against the catalogue, lower, split, emit), next to two baselines measured in the same run:

* **public**: the public client ``runregistry`` 3.1.2's own transformation of the same filter
  (``transform_to_rr_run_filter``: key renaming, no validation at all), where its DSL can say it;
* **dumps**: ``orjson.dumps`` of the backend filters runql produced (the bytes the request carries anyway).

Then the hostile inputs the brief names (deep nesting, huge lists, a pathological pattern) and the time each
takes: those past runql's bounds (``querylang.limits``) must be refused with a typed error, a valid one however
odd must be accepted. The script exits 1 otherwise (an error that is not runql's propagates).

Run: ``.venv/bin/python benchmarks/compile.py`` (``--repeat K``, default 7).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from querylang import QueryLangError, compile_dials, compile_filter, plan_rule
from querylang.limits import MAX_DEPTH, MAX_VALUES
from querylang.segments import compile_plan

README_FILTER = {
    "run_number": {"and": [{">": 309000}, {"<": 310000}]},
    "dt-dt": "GOOD",
    "hlt_key": {"like": "%physics%"},
}
MIXED_FILTER = {
    "or": [
        {"and": [{"class": "Collisions18"}, {"energy": {">=": 6000}}, {"b_field": {">": 3.7}}]},
        {
            "and": [
                {"class": {"like": "Cosmics%"}},
                {"not": {"significant": False}},
                {"csc-csc": {"in": ["GOOD", "BAD"]}},
            ]
        },
    ],
    "fill_number": {"notin": [7000, 7001, 7002]},
    "hlt_key": {"notlike": "%WMass%"},
}
RULE: Any = json.loads((Path(__file__).resolve().parents[1] / "examples" / "golden_rule.json").read_text())


@dataclass(frozen=True)
class Case:
    name: str
    runql: Callable[[], Any]
    public: Callable[[], Any] | None = None
    dumps: Callable[[], Any] | None = None


def median_seconds(action: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``repeat`` calls (after one warm-up call)."""
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def public_transform(filter: dict[str, Any]) -> Callable[[], Any]:
    """The public client's transformation of ``filter``, on a fresh copy each time (it edits its input); the
    copies are made before the timing starts."""
    from runregistry.utils import transform_to_rr_run_filter

    copies: list[dict[str, Any]] = []

    def run() -> Any:
        if not copies:
            copies.extend(copy.deepcopy(filter) for _ in range(64))
        return transform_to_rr_run_filter(copies.pop())

    return run


def filter_case(name: str, filter: dict[str, Any], public: dict[str, Any] | None = None) -> Case:
    filters = compile_filter(filter, kind="runs").filters
    return Case(
        name,
        lambda: compile_filter(filter, kind="runs"),
        public_transform(public) if public is not None else None,
        lambda: orjson.dumps(filters),
    )


def cases() -> list[Case]:
    runs = list(range(300_000, 300_000 + 2 * 10_000, 2))  # no two consecutive: no range folding
    out = [
        filter_case("README filter (range, status flag, like)", README_FILTER),
        filter_case("nested or/and/not across tables, in, notin, notlike", MIXED_FILTER),
    ]
    for size in (1_000, 10_000):
        numbers = runs[:size]
        out.append(
            filter_case(
                f"run_number in {size:,} numbers",
                {"run_number": {"in": numbers}},
                public={"run_number": {"or": numbers}},
            )
        )
    strings = [f"/cdaq/physics/Run2018/2e34/v{i}/HLT/V1" for i in range(10_000)]
    out.append(filter_case("hlt_key in 10,000 strings", {"hlt_key": {"in": strings}}))
    dials = {"run_number": {">=": 386000}, "me": {"like": "%Pixel%"}}
    out.append(Case("DIALS: th1 filter", lambda: compile_dials(dials, "th1")))
    out.append(Case("golden rule: plan_rule + compile_plan (reference rule)", lambda: compile_plan(plan_rule(RULE))))
    return out


def hostile() -> list[tuple[str, Callable[[], Any], bool]]:
    """``(name, action, refused)``: hostile inputs, and whether runql must refuse them (a typed error) or accept
    them (valid, however odd: the service is asked as is)."""
    deep: Any = {"run_number": 1}
    for _ in range(50_000):
        deep = {"not": deep}
    wide_or = {"or": [{"run_number": i} for i in range(MAX_VALUES)]}
    long_list = {"run_number": {"in": list(range(2 * MAX_VALUES))}}
    nested_list: Any = 1
    for _ in range(MAX_DEPTH * 10):
        nested_list = [nested_list]
    return [
        ("50,000 nested 'not'", lambda: compile_filter(deep), True),
        (f"'or' of {MAX_VALUES:,} clauses", lambda: compile_filter(wide_or), True),
        (f"'in' of {2 * MAX_VALUES:,} run numbers", lambda: compile_filter(long_list), True),
        (
            f"a value nested in {MAX_DEPTH * 10:,} lists",
            lambda: compile_filter({"run_number": {"in": nested_list}}),
            True,
        ),
        ("an attribute typo", lambda: compile_filter({"hlt_kye": "x"}), True),
        ("'like' with 5,000 '%' wildcards (valid)", lambda: compile_filter({"hlt_key": {"like": "%a" * 5_000}}), False),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="timings per case; the median is printed (default 7)")
    args = parser.parse_args(argv)

    print(f"{'case':<58}{'runql':>12}{'public':>12}{'ratio':>8}{'dumps':>12}{'ratio':>8}")
    for case in cases():
        runql = median_seconds(case.runql, args.repeat)
        row = f"{case.name:<58}{_ms(runql):>12}"
        for baseline in (case.public, case.dumps):
            if baseline is None:
                row += f"{'':>12}{'':>8}"
                continue
            seconds = median_seconds(baseline, args.repeat)
            row += f"{_ms(seconds):>12}{runql / seconds:>7.0f}x"
        print(row)

    print("\nhostile input: refused with a typed error (or accepted where valid), and the time it took")
    failed = False
    for name, action, refused in hostile():
        start = time.perf_counter()
        try:
            action()
        except QueryLangError as error:
            verdict = f"{type(error).__name__}: {str(error).splitlines()[0][:70]}"
            failed = failed or not refused
        else:
            verdict = "accepted"
            failed = failed or refused
        print(f"  {name:<44}{_ms(time.perf_counter() - start):>12}  {verdict}")
    return 1 if failed else 0


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


if __name__ == "__main__":
    sys.exit(main())
