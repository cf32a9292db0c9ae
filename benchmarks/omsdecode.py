"""Benchmark: decoding the per-lumisection OMS replies the golden engine reads with luminosity.

    .venv/bin/python benchmarks/omsdecode.py [--runs N] [--repeat 3]

Starts ``runql serve`` (the default demo year, or ``--runs N``) in a subprocess on a free loopback port and
fetches ``/lumisections/oms_lumisections`` of every run of a ``/PromptReco/Collisions2018%/DQM`` dataset (the
replies ``create_json(..., with_luminosity=True)`` of the reference rule reads: the bits it reads, ``recorded``
and ``delivered``). Then, on those same bytes, the CPU seconds (best of ``--repeat``) of:

* ``orjson.loads`` alone, and ``orjson.loads`` + the columns of the keys (what the engine did before);
* :class:`client.omscolumns.OmsColumnDecoder` (msgspec into a struct of those keys only, then columns);
* each followed by the engine's reductions (bit ranges and running luminosity totals).

It prints MB/s and the ratio to orjson, and exits 1 unless both give exactly the same columns (types included).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch import served
from testkit.omscolumns import exactly

from client import RunRegistry
from client.omscolumns import OmsColumnDecoder, OmsColumns, columns_of
from querylang.segments import CumulativeLuminosity

PATTERN = "/PromptReco/Collisions2018%/DQM"
KEYS = ("bpix_ready", "recorded", "delivered")


def replies(url: str) -> list[bytes]:
    with RunRegistry(url, env_file=False) as rr:
        datasets = rr.get_datasets(filter={"name": {"like": PATTERN}}, output="dicts")
    runs = sorted({row["run_number"] for row in datasets})
    with httpx.Client(base_url=url, timeout=120) as client:
        return [
            client.post("/lumisections/oms_lumisections", json={"run_number": run, "dataset_name": "online"}).content
            for run in runs
        ]


def reduced(columns: OmsColumns) -> tuple[Any, ...]:
    """What the engine keeps of a run's reply: the bit ranges and the running luminosity totals."""
    return columns.ranges(["bpix_ready"]), CumulativeLuminosity.of_columns(columns["recorded"], columns["delivered"])


def cpu(ways: dict[str, Callable[[bytes], Any]], bodies: list[bytes], repeat: int) -> dict[str, float]:
    """Each way's best CPU seconds over ``repeat`` rounds, the ways taking turns (a busy machine then slows all
    alike)."""
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(repeat):
        for name, way in ways.items():
            start = time.process_time()
            for body in bodies:
                way(body)
            best[name] = min(best[name], time.process_time() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="demo registry size (default: the demo year)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    args = parser.parse_args()
    with served(args.runs) as url:
        bodies = replies(url)
    megabytes = sum(map(len, bodies)) / 1e6
    print(f"{len(bodies)} replies, {megabytes:.1f} MB")
    decoder = OmsColumnDecoder(KEYS)

    def fast(body: bytes) -> OmsColumns:
        columns = decoder.decode(body)
        if columns is None:
            raise SystemExit("a demo reply left the fast path")
        return columns

    def slow(body: bytes) -> OmsColumns:
        return columns_of(orjson.loads(body), KEYS)

    ways: dict[str, Callable[[bytes], Any]] = {
        "orjson.loads": orjson.loads,
        "orjson.loads + columns": slow,
        "OmsColumnDecoder (msgspec)": fast,
        "orjson + columns + reductions": lambda body: reduced(slow(body)),
        "OmsColumnDecoder + reductions": lambda body: reduced(fast(body)),
    }
    seconds = cpu(ways, bodies, args.repeat)
    base = seconds["orjson.loads"]
    print(f"{'way':<34}{'CPU s':>10}{'MB/s':>10}{'vs orjson':>12}")
    for name, spent in seconds.items():
        print(f"{name:<34}{spent:>10.3f}{megabytes / spent:>10.0f}{spent / base:>12.2f}")
    same = all(exactly(slow(body)) == exactly(fast(body)) for body in bodies)
    print("identical columns:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
