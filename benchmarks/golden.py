"""Benchmark: the golden JSON of the reference rule (rr-protocol.md §8) over the default embedded demo year.

Three ways, in the same process and against the same server, so the ratios are comparable:

* **local**: runql's local engine (``create_json_local``: pushdown, ranges, per-segment evaluation);
* **service**: the embedded service's json_portal job (``create_json(engine="server")``, polled every 50 ms);
* **brute force**: what a user of the public client ``runregistry`` 3.1.2 would write: list the datasets, then
  per dataset ``get_lumisections`` + ``get_oms_lumisections`` and ``json_logic.jsonLogic(rule, data)`` (the
  json-logic-qubit package) on every lumisection.

All three must produce the same golden JSON; the script says so, and exits 1 if not.

Run: ``.venv/bin/python benchmarks/golden.py`` (``--runs N`` for a smaller year, ``--repeat K`` for the local
engine's best of K).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

PATTERN = "/PromptReco/Collisions2018%/DQM"
REFERENCE_RULE: dict[str, Any] = {
    "and": [
        {">=": [{"var": "run.oms.energy"}, 6000]},
        {"<=": [{"var": "run.oms.energy"}, 7000]},
        {">=": [{"var": "run.oms.b_field"}, 3.7]},
        {"in": ["25ns", {"var": "run.oms.injection_scheme"}]},
        {"==": [{"in": ["WMass", {"var": "run.oms.hlt_key"}]}, False]},
        {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
        {"==": [{"var": "lumisection.rr.csc-csc"}, "GOOD"]},
        {"==": [{"var": "lumisection.rr.l1t-l1tmu"}, "GOOD"]},
        {"==": [{"var": "lumisection.rr.l1t-l1tcalo"}, "GOOD"]},
        {"==": [{"var": "lumisection.rr.hlt-hlt"}, "GOOD"]},
        {"==": [{"var": "lumisection.oms.bpix_ready"}, True]},
    ]
}


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def brute_force(base_url: str, rule: Any, pattern: str) -> tuple[dict[int, list[list[int]]], dict[str, int]]:
    """The public client's way, one lumisection at a time (its chatty prints to stdout are swallowed)."""
    import json_logic
    import runregistry
    import runregistry.runregistry as rr_module

    from querylang.similar import compile_similar

    runregistry.setup("local")
    rr_module.api_url = base_url  # the public client only knows localhost:9500 for "local"
    matches = compile_similar(pattern).matches
    counts = {"datasets": 0, "lumisections": 0, "requests": 1, "type_errors": 0}
    passed: dict[int, list[int]] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        datasets = runregistry.get_datasets(
            filter={"name": {"like": pattern}},
            ignore_filter_transformation=True,
            compress_attributes=False,
            page_size=1000,
        )
        oms_cache: dict[int, list[dict[str, Any]]] = {}
        for dataset in datasets:
            if not matches(dataset["name"]):
                continue
            run_number = dataset["run_number"]
            counts["datasets"] += 1
            rr_lumisections = runregistry.get_lumisections(run_number, dataset["name"])
            counts["requests"] += 1
            if run_number not in oms_cache:
                oms_cache[run_number] = runregistry.get_oms_lumisections(run_number)
                counts["requests"] += 1
            if not rr_lumisections:
                continue  # never certified: never in a golden JSON
            base = {
                "run": {
                    "oms": dataset["Run"]["oms_attributes"],
                    "rr": dataset["Run"]["rr_attributes"],
                    "run_number": run_number,
                },
                "dataset": {"name": dataset["name"], **dataset["dataset_attributes"]},
            }
            oms = oms_cache[run_number]
            for index, statuses in enumerate(rr_lumisections):
                data = {
                    **base,
                    "lumisection": {
                        "lumisection_number": index + 1,
                        "oms": oms[index] if index < len(oms) else {},
                        "rr": {c: v["status"] for c, v in statuses.items() if v["status"] != "EMPTY"},
                    },
                }
                counts["lumisections"] += 1
                try:
                    keep = json_logic.jsonLogic(rule, data)
                except TypeError:  # qubit's "in" on null raises; json-logic-js answers false
                    counts["type_errors"] += 1
                    keep = False
                if keep:
                    passed.setdefault(run_number, []).append(index + 1)
    return {run: _ranges(numbers) for run, numbers in passed.items()}, counts


def _ranges(numbers: list[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for number in sorted(set(numbers)):
        if ranges and ranges[-1][1] + 1 == number:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ranges


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="demo year size (default: the default year)")
    parser.add_argument("--repeat", type=int, default=3, help="local engine: best of N (default 3)")
    args = parser.parse_args(argv)

    from backend.server import EmbeddedServer
    from client.api import RunRegistry
    from client.golden_local import create_json_local
    from schemas.golden import GoldenJson, LumiMask

    started, server = timed(lambda: EmbeddedServer(runs=args.runs).start())
    try:
        print(f"embedded server ready in {started:.1f} s ({args.runs or 'default'} runs) at {server.url}")
        with RunRegistry(target=server.url) as registry:
            local_times = []
            for _ in range(args.repeat):
                seconds, golden = timed(lambda: create_json_local(registry, REFERENCE_RULE, PATTERN))
                local_times.append(seconds)
            service_s, row = timed(
                lambda: registry.create_json(REFERENCE_RULE, PATTERN, engine="server", poll_interval=0.05)
            )
            service = GoldenJson.from_server_row(row)
        brute_s, (brute_json, counts) = timed(lambda: brute_force(server.url, REFERENCE_RULE, PATTERN))
    finally:
        server.stop()

    local_s = min(local_times)
    brute = LumiMask(brute_json)
    print(
        f"golden JSON: {golden.run_count} runs, {golden.lumisection_count} lumisections; brute force evaluated "
        f"{counts['lumisections']} lumisections of {counts['datasets']} datasets with {counts['requests']} requests"
    )
    print(f"{'engine':<40}{'seconds':>10}{'vs local':>10}")
    label = f"local (best of {args.repeat}; median {statistics.median(local_times):.3f} s)"
    print(f"{label:<40}{local_s:>10.3f}{1.0:>10.1f}")
    print(f"{'embedded service json_portal':<40}{service_s:>10.3f}{service_s / local_s:>10.1f}")
    print(f"{'brute force (runregistry + qubit)':<40}{brute_s:>10.3f}{brute_s / local_s:>10.1f}")
    if counts["type_errors"]:
        print(f"note: json-logic-qubit raised TypeError on {counts['type_errors']} lumisections (counted as false)")
    same = golden.mask == service.mask == brute
    print("identical golden JSONs:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
