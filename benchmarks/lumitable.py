"""Benchmark: lumisection tables over the demo year, from ranges, streamed to Parquet.

    .venv/bin/python benchmarks/lumitable.py [--runs N] [--sample 20] [--columns dt-dt,csc-csc,...]

Starts ``runql serve`` (the default demo year, or ``--runs N``) in a subprocess on a free loopback port, then, in
one run:

* ``lumisection_table_to_parquet`` of every ``/PromptReco/Collisions2018%/DQM`` and ``online`` dataset (default
  columns: every RR component and OMS bit) into a temporary folder, first thing in the process: rows per second,
  and the growth of the process's peak resident size against the table's own size (constant memory: the peak
  stays near one chunk of runs, whatever the size of the table);
* ``lumisection_table`` of the same (rows per second, and the DataFrame's size);
* a check of ``--sample`` datasets against a per-lumisection brute force (``get_lumisections`` +
  ``get_oms_lumisections``); the script exits 1 if any differs, or if the Parquet dataset read back by pandas
  differs from the DataFrame.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch import served
from testkit.lumitable import brute_force_rows

from client import RunRegistry

PATTERN = "/PromptReco/Collisions2018%/DQM|online"


def brute_force(rr: RunRegistry, run: int, dataset: str, columns: list[str]) -> pd.DataFrame:
    """One dataset's table from the per-lumisection endpoints (one dict per lumisection)."""
    rows = brute_force_rows(rr, run, dataset, columns)
    frame: pd.DataFrame = pd.DataFrame(rows, columns=["run", "dataset", "lumisection", *columns])
    return frame


def same(table: pd.DataFrame, expected: pd.DataFrame) -> bool:
    def plain(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
        frame = frame.astype(object).where(frame.notna(), None)
        return list(frame.itertuples(index=False, name=None))

    return plain(table.astype({"dataset": str}).reset_index(drop=True)) == plain(expected)


def resident() -> int:
    """This process's resident size now, in bytes (from ``/proc``; 0 where there is none)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


class ResidentSampler:
    """A ``progress(done, total)`` callback that samples the resident size at each percent of the requests, to
    show whether memory grows with the table (it must not) or only with the listing."""

    def __init__(self) -> None:
        self.samples: dict[int, int] = {}

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 0
        if percent not in self.samples:
            self.samples[percent] = resident()

    def at(self, percent: int) -> int:
        """The first sample at or after ``percent``."""
        return next((rss for p, rss in sorted(self.samples.items()) if p >= percent), 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="demo registry size (default: the demo year)")
    parser.add_argument("--sample", type=int, default=20, help="datasets checked against the brute force")
    parser.add_argument("--columns", default=None, help="comma-separated columns (default: all components and bits)")
    args = parser.parse_args()
    columns = args.columns.split(",") if args.columns else None
    with served(args.runs) as url, RunRegistry(url, env_file=False) as rr, tempfile.TemporaryDirectory() as folder:
        nothing = {"run_number": {"<": 0}}
        rr.lumisection_table_to_parquet(Path(folder) / "warm-up", filter=nothing, dataset=PATTERN, columns=columns)
        rss_before, sampler = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, ResidentSampler()
        started = time.perf_counter()
        written = rr.lumisection_table_to_parquet(
            Path(folder) / "lumis", dataset=PATTERN, columns=columns, progress=sampler
        )
        parquet_seconds = time.perf_counter() - started
        parquet_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
        started = time.perf_counter()
        table = rr.lumisection_table(dataset=PATTERN, columns=columns)
        table_seconds = time.perf_counter() - started
        size = int(table.memory_usage(deep=True).sum())
        back = pd.read_parquet(Path(folder) / "lumis")
        order = ["run", "dataset", "lumisection"]
        back = back.astype({"dataset": str}).sort_values(order, ignore_index=True)[list(table.columns)]
        parquet_ok = same(back, table.astype({"dataset": str}).sort_values(order, ignore_index=True))
        keys = list(table[["run", "dataset"]].drop_duplicates().astype({"dataset": str}).itertuples(index=False))
        sample = keys[:: max(1, len(keys) // args.sample)][: args.sample]
        chosen = [str(c) for c in table.columns[3:]]
        mismatches = [
            (run, name)
            for run, name in sample
            if not same(table[(table["run"] == run) & (table["dataset"] == name)], brute_force(rr, run, name, chosen))
        ]
    print(f"lumisection table of {PATTERN} over runql serve{'' if args.runs is None else f' --runs {args.runs}'}")
    print(f"  {len(table):,} rows x {table.shape[1]} columns, {table['dataset'].nunique()} dataset names")
    print(f"  to_parquet:         {parquet_seconds:7.2f} s  {written / parquet_seconds:12,.0f} rows/s")
    print(f"  lumisection_table:  {table_seconds:7.2f} s  {len(table) / table_seconds:12,.0f} rows/s")
    print(f"  DataFrame memory_usage(deep=True)      {size / 2**20:8.1f} MiB")
    ratio = parquet_peak / size
    print(f"  peak RSS growth during to_parquet      {parquet_peak / 2**20:8.1f} MiB ({ratio:.2f}x the table)")
    early, late = sampler.at(10), sampler.at(100)
    print(
        f"  resident at 10% of the requests {early / 2**20:8.1f} MiB, at the end {late / 2**20:8.1f} MiB "
        f"(growth between them {(late - early) / size:+.2f}x the table)"
    )
    print(f"  Parquet read back by pandas equals the DataFrame: {parquet_ok}")
    print(f"  brute force (per-lumisection endpoints) on {len(sample)} datasets: {len(mismatches)} differ")
    return 0 if parquet_ok and written == len(table) and not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
