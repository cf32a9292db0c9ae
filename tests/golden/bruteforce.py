"""The reference: every lumisection of every dataset, evaluated one by one with json-logic-js semantics.

Data comes from the per-lumisection endpoints (``get_lumisections`` + ``get_oms_lumisections``), never from
ranges, and the §8 data object is built exactly as the service documents it (statuses as plain strings, a
component without a value absent; a dataset without any RR status is in neither the JSON nor the anti-JSON).
The loss accounting follows the Node service's worker step by step (its classifier walk and its tallies),
written here independently of ``querylang.losses``.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from backend.server import EmbeddedServer
from client.api import RunRegistry
from querylang import jsonlogic
from querylang.errors import QueryLangError
from querylang.similar import compile_similar
from schemas.golden import LumiMask


@dataclass(frozen=True)
class DatasetData:
    run_number: int
    name: str
    certified: bool
    lumisections: tuple[dict[str, Any], ...]  # the full §8 data object, one per lumisection


@dataclass(frozen=True)
class Reference:
    mask: LumiMask
    anti_mask: LumiMask
    by_dataset: dict[str, LumiMask]
    anti_by_dataset: dict[str, LumiMask]
    recorded_in: float
    delivered_in: float
    recorded_lost: float
    delivered_lost: float
    min_run_number: int
    max_run_number: int
    run_range: tuple[float, float]
    accounting: dict[str, Any] | None  # the three maps; None where the service's walk throws


class WalkThrowsError(Exception):
    """Where the Node service's classifier walk throws (``Object.keys(null)``, nothing evaluated)."""


def lumi(value: Any) -> float:
    """The service's ``+value || 0``, negative as 0 (``Number`` of JavaScript, as json-logic's conformance data
    checks it; an integral number as an ``int``, as the service's sums print)."""
    number = jsonlogic.js_number(value) if value is not None else 0.0
    if not number > 0:
        return 0
    if type(value) in (int, float):
        return value  # type: ignore[no-any-return]
    return int(number) if number.is_integer() else number


def added(values: Iterable[float]) -> float:
    """Plain sums, one value after another, as the service adds (``sum`` compensates floats from Python 3.12)."""
    return functools.reduce(operator.add, values, 0)


def stringify(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _object_keys(rule: Any) -> list[str]:
    if rule is None:
        raise WalkThrowsError("Object.keys(null)")
    if isinstance(rule, dict):
        return list(rule)
    if isinstance(rule, (list, str)):
        return [str(i) for i in range(len(rule))]
    return []


def evaluated_tuples(data: Any, rules: Any) -> list[tuple[Any, bool]]:
    """``return_classifier_evaluated_tuple``: ``(rule, resulted_value)`` pairs; an and/or rule becomes
    ``("and"|"or", children's pairs)``."""
    rules = rules if isinstance(rules, list) else [rules]
    pairs: list[tuple[Any, bool]] = []
    for rule in rules:
        for key in _object_keys(rule):
            if key == "if":
                continue
            try:
                result = jsonlogic.apply({"if": [rule]}, data) is True
            except QueryLangError as exc:
                raise WalkThrowsError(str(exc)) from None
            if key in ("and", "or"):
                pairs.append(((key, evaluated_tuples(data, rule[key])), result))
            else:
                pairs.append((rule, result))
    return pairs


def cause_of_false_flagging(pair: tuple[Any, bool]) -> list[Any]:
    rule, result = pair
    if result:
        return []
    if isinstance(rule, tuple):
        return [cause for child in rule[1] for cause in cause_of_false_flagging(child)]
    return [rule]


def rules_why_false(rule: Any, data: Any) -> list[Any]:
    pairs = evaluated_tuples(data, json.loads(json.dumps(rule)))
    if not pairs:
        raise WalkThrowsError("nothing evaluated")
    return cause_of_false_flagging(pairs[0])


@dataclass(frozen=True)
class BruteForce:
    datasets: tuple[DatasetData, ...]
    run_luminosity: dict[int, tuple[float, float]]  # every run: the sums of its per-lumisection values

    @classmethod
    def load(cls, registry: RunRegistry) -> BruteForce:
        rows = registry.get_datasets(filter={}, compress_attributes=False)
        oms_by_run = {
            run.run_number: registry.get_oms_lumisections(run.run_number, output="dicts")
            for run in registry.get_runs(filter={})
        }
        datasets = []
        for row in sorted(rows, key=lambda r: (r["run_number"], r["name"])):
            run_number, name = row["run_number"], row["name"]
            rr = registry.get_lumisections(run_number, name, output="dicts")
            datasets.append(_dataset(row, rr, oms_by_run[run_number]))
        run_luminosity = {
            run: (added(lumi(ls.get("recorded")) for ls in oms), added(lumi(ls.get("delivered")) for ls in oms))
            for run, oms in oms_by_run.items()
        }
        return cls(tuple(datasets), run_luminosity)

    def evaluate(self, rule: Any, pattern: str, test: Callable[[Any], bool] | None = None) -> Reference:
        evaluate = jsonlogic.compile_rule(rule)
        keep = test or (lambda data: jsonlogic.truthy(evaluate(data)))
        matches = compile_similar(pattern).matches
        matched = [d for d in self.datasets if matches(d.name)]
        passed: dict[str, dict[int, list[tuple[int, int]]]] = {}
        failed: dict[str, dict[int, list[tuple[int, int]]]] = {}
        totals = {"in": [0.0, 0.0], "lost": [0.0, 0.0]}
        accounting: dict[str, Any] | None = {"quantity": {}, "combination": {}, "responsible": {}}
        for dataset in matched:
            if not dataset.certified:
                continue
            for data in dataset.lumisections:
                number = data["lumisection"]["lumisection_number"]
                ok = keep(data)
                target = passed if ok else failed
                target.setdefault(dataset.name, {}).setdefault(dataset.run_number, []).append((number, number))
                oms = data["lumisection"]["oms"]
                side = totals["in" if ok else "lost"]
                side[0] += lumi(oms.get("recorded"))
                side[1] += lumi(oms.get("delivered"))
                if not ok and accounting is not None:
                    try:
                        causes = rules_why_false(rule, data)
                    except WalkThrowsError:
                        accounting = None
                        continue
                    _tally(accounting, causes, f"{dataset.run_number}-{dataset.name}", number, oms.get("recorded"))
        first, last = matched[0].run_number, matched[-1].run_number
        in_range = [lumi_ for run, lumi_ in self.run_luminosity.items() if first <= run <= last]
        by_dataset = {name: LumiMask(runs) for name, runs in passed.items()}
        anti_by_dataset = {name: LumiMask(runs) for name, runs in failed.items()}
        return Reference(
            mask=LumiMask.union(by_dataset.values()),
            anti_mask=LumiMask.union(anti_by_dataset.values()),
            by_dataset=by_dataset,
            anti_by_dataset=anti_by_dataset,
            recorded_in=totals["in"][0],
            delivered_in=totals["in"][1],
            recorded_lost=totals["lost"][0],
            delivered_lost=totals["lost"][1],
            min_run_number=first,
            max_run_number=last,
            run_range=(added(r for r, _ in in_range), added(d for _, d in in_range)),
            accounting=None if accounting is None else _ranges(accounting),
        )


def _tally(accounting: dict[str, Any], causes: list[Any], identifier: str, number: int, recorded: Any) -> None:
    value = lumi(recorded)
    key = "[" + ",".join(stringify(c) for c in causes) + "]"
    accounting["combination"][key] = accounting["combination"].get(key, 0) + value
    accounting["responsible"].setdefault(key, {}).setdefault(identifier, []).append(number)
    for cause in causes:
        clause = stringify(cause)
        accounting["quantity"][clause] = accounting["quantity"].get(clause, 0) + value


def _ranges(accounting: dict[str, Any]) -> dict[str, Any]:
    responsible = {
        key: {
            ident: [list(r) for r in LumiMask({1: [(n, n) for n in numbers]}).ranges(1)]
            for ident, numbers in named.items()
        }
        for key, named in accounting["responsible"].items()
    }
    return {**accounting, "responsible": responsible}


def _dataset(row: dict[str, Any], rr: list[dict[str, Any]], oms: list[dict[str, Any]]) -> DatasetData:
    run = row.get("Run") or {}
    run_number = row["run_number"]
    base = {
        "run": {"oms": run.get("oms_attributes"), "rr": run.get("rr_attributes"), "run_number": run_number},
        "dataset": {"name": row["name"], **(row.get("dataset_attributes") or {})},
    }
    lumisections = []
    for index in range(len(rr)):
        lumisection = {
            "lumisection_number": index + 1,
            "oms": dict(oms[index]) if index < len(oms) else {},
            "rr": {c: v["status"] for c, v in rr[index].items() if v.get("status") not in (None, "EMPTY")},
        }
        lumisections.append({**base, "lumisection": lumisection})
    return DatasetData(run_number, row["name"], bool(rr), tuple(lumisections))


def requests_made(server: EmbeddedServer) -> int:
    """How many requests the embedded server has answered so far."""
    stats: dict[str, Any] = server.stats
    return sum(stats["requests"].values())
