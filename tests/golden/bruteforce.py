"""The reference: every lumisection of every dataset, evaluated one by one with json-logic-js semantics.

Data comes from the per-lumisection endpoints (``get_lumisections`` + ``get_oms_lumisections``), never from
ranges, and the §8 data object is built exactly as the service documents it (statuses as plain strings, a
component without a value absent; a dataset without any RR status contributes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.server import EmbeddedServer
from client.api import RunRegistry
from querylang import jsonlogic
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
    recorded_in: int
    recorded_out: int


@dataclass(frozen=True)
class BruteForce:
    datasets: tuple[DatasetData, ...]

    @classmethod
    def load(cls, registry: RunRegistry) -> BruteForce:
        rows = registry.get_datasets(filter={}, compress_attributes=False)
        oms_by_run: dict[int, list[dict[str, Any]]] = {}
        datasets = []
        for row in sorted(rows, key=lambda r: (r["run_number"], r["name"])):
            run_number, name = row["run_number"], row["name"]
            if run_number not in oms_by_run:
                oms_by_run[run_number] = registry.get_oms_lumisections(run_number, output="dicts")
            rr = registry.get_lumisections(run_number, name, output="dicts")
            datasets.append(_dataset(row, rr, oms_by_run[run_number]))
        return cls(tuple(datasets))

    def evaluate(self, rule: Any, pattern: str, test: Callable[[Any], bool] | None = None) -> Reference:
        evaluate = jsonlogic.compile_rule(rule)
        keep = test or (lambda data: jsonlogic.truthy(evaluate(data)))
        matches = compile_similar(pattern).matches
        passed: dict[str, dict[int, list[tuple[int, int]]]] = {}
        failed: dict[int, list[tuple[int, int]]] = {}
        recorded = [0, 0]
        for dataset in self.datasets:
            if not matches(dataset.name):
                continue
            for data in dataset.lumisections:
                number = data["lumisection"]["lumisection_number"]
                ok = dataset.certified and keep(data)
                target = (
                    passed.setdefault(dataset.name, {}).setdefault(dataset.run_number, [])
                    if ok
                    else (failed.setdefault(dataset.run_number, []))
                )
                target.append((number, number))
                recorded[0 if ok else 1] += data["lumisection"]["oms"].get("recorded") or 0
        by_dataset = {name: LumiMask(runs) for name, runs in passed.items()}
        by_dataset = {name: mask for name, mask in by_dataset.items() if mask}
        return Reference(LumiMask.union(by_dataset.values()), LumiMask(failed), by_dataset, *recorded)


def _dataset(row: dict[str, Any], rr: list[dict[str, Any]], oms: list[dict[str, Any]]) -> DatasetData:
    run = row.get("Run") or {}
    run_number = row["run_number"]
    base = {
        "run": {"oms": run.get("oms_attributes"), "rr": run.get("rr_attributes"), "run_number": run_number},
        "dataset": {"name": row["name"], **(row.get("dataset_attributes") or {})},
    }
    count = len(rr) or len(oms)
    lumisections = []
    for index in range(count):
        statuses = rr[index] if index < len(rr) else {}
        lumisection = {
            "lumisection_number": index + 1,
            "oms": dict(oms[index]) if index < len(oms) else {},
            "rr": {c: v["status"] for c, v in statuses.items() if v.get("status") not in (None, "EMPTY")},
        }
        lumisections.append({**base, "lumisection": lumisection})
    return DatasetData(run_number, row["name"], bool(rr), tuple(lumisections))


def requests_made(server: EmbeddedServer) -> int:
    """How many requests the embedded server has answered so far."""
    stats: dict[str, Any] = server.stats
    return sum(stats["requests"].values())
