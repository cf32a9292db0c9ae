"""A straightforward Python golden-JSON evaluation over a generated registry, independent of the store and SQL."""

from __future__ import annotations

from typing import Any

from backend.jsonportal import to_ranges
from backend.lumiranges import expand
from backend.rows import DemoRegistry, DemoRun, OmsRange
from querylang.catalogue import OMS_LUMISECTION_BITS
from querylang.jsonlogic import compile_rule

#: The small registry every backend test module uses (the public-client test serves the same one).
SMALL_RUNS = 150
SEED = 7


def oms_of(run: DemoRun, ls: int) -> dict[str, Any]:
    rng: OmsRange = next(r for r in run.oms_ranges if r.start <= ls <= r.end)
    values: dict[str, Any] = {
        bit: None if rng.null_bits >> i & 1 else bool(rng.true_bits >> i & 1)
        for i, bit in enumerate(OMS_LUMISECTION_BITS)
    }
    values |= {
        "prescale_index": rng.prescale_index,
        "prescale_name": rng.prescale_name,
        "recorded": run.recorded[ls - 1],
        "delivered": run.delivered[ls - 1],
    }
    return values


def golden(registry: DemoRegistry, rule: Any, keep_dataset: Any) -> dict[str, list[list[int]]]:
    """``{"<run>-<dataset>": ranges}`` of lumisections passing ``rule`` in datasets ``keep_dataset(name)``."""
    evaluate = compile_rule(rule)
    out: dict[str, list[list[int]]] = {}
    for run in registry.runs:
        for dataset in run.datasets:
            if not keep_dataset(dataset.name) or not dataset.statuses:
                continue
            expanded = {c: expand(r, run.lumisections) for c, r in dataset.statuses.items()}
            oms = [oms_of(run, ls) for ls in range(1, run.lumisections + 1)]
            passed = []
            for ls in range(1, run.lumisections + 1):
                rr = {c: per[ls - 1].status for c, per in expanded.items() if per[ls - 1] is not None}
                data = {
                    "run": {"oms": run.oms, "rr": run.rr, "run_number": run.run_number},
                    "dataset": {"name": dataset.name, **dataset.attributes},
                    "lumisection": {"lumisection_number": ls, "oms": oms[ls - 1], "rr": rr},
                }
                if evaluate(data):
                    passed.append(ls)
            if passed:
                out[f"{run.run_number}-{dataset.name}"] = to_ranges(passed)
    return out
