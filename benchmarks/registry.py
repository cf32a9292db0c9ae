"""Build time and peak memory of the default demo registry (2018-2024), against the old 2,000-run size.

    .venv/bin/python benchmarks/registry.py [--seed 2018] [--baseline-runs 2000]

Each build runs in a fresh subprocess (peak resident memory: that process's own, plus the largest worker process of
a parallel build; CPU seconds: all its processes, what a single core would take on an idle machine) and is measured
three ways:
the baseline (``runs=2000``, generated), the default registry generated from scratch (the first start on a
machine, which also writes the disk cache), and the default registry copied from that cache (every later start).
The cache lives in a temporary directory, so the user's cache is neither read nor written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

#: Targets of the issue: the default registry built in under 10 s and under 1 GB.
TARGET_SECONDS, TARGET_MIB = 10.0, 1024.0


def child(runs: int | None, seed: int) -> dict[str, Any]:
    """Build one registry in this process and report what it took."""
    from backend.server import build_store

    started, cpu_started = time.perf_counter(), _cpu()
    store = build_store(runs=runs, seed=seed)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
    counts = store.counts()
    store.close()
    own, workers = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mib": own / 1024,  # KiB on Linux
        "worker_peak_mib": workers / 1024,
        "runs": counts["run"],
        "datasets": counts["dataset"],
    }


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def measure(runs: int | None, seed: int, cache_dir: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--seed", str(seed)]
    if runs is not None:
        command += ["--runs", str(runs)]
    env = {**os.environ, "RUNQL_CACHE_DIR": cache_dir}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--baseline-runs", type=int, default=2000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.runs, args.seed)))
        return 0
    with tempfile.TemporaryDirectory() as cache:
        baseline = measure(args.baseline_runs, args.seed, "")  # the cache off: always generated
        cold = measure(None, args.seed, cache)  # generated, then written to the (empty) cache
        warm = measure(None, args.seed, cache)  # copied from the cache
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"demo registry build (seed {args.seed}), each in a fresh process; ratios against the baseline")
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (a loaded machine slows every row alike)")
    print(f"{'':44} {'runs':>7} {'datasets':>9} {'seconds':>8} {'x':>6} {'CPU s':>6} {'peak MiB':>9} {'x':>5}")
    for label, row in (
        (f"baseline: runs={args.baseline_runs}, generated", baseline),
        ("default registry, generated (+ cache write)", cold),
        ("default registry, copied from the cache", warm),
    ):
        time_ratio = row["seconds"] / baseline["seconds"]
        memory_ratio = row["peak_mib"] / baseline["peak_mib"]
        print(
            f"{label:44} {row['runs']:>7} {row['datasets']:>9} {row['seconds']:>8.2f} {time_ratio:>6.1f} "
            f"{row['cpu']:>6.2f} {row['peak_mib']:>9.0f} {memory_ratio:>5.1f}"
        )
    print(f"largest worker process of the generated default registry: {cold['worker_peak_mib']:.0f} MiB")
    per_run = (cold["cpu"] / cold["runs"]) / (baseline["cpu"] / baseline["runs"])
    print(f"CPU per run, default vs baseline: {per_run:.2f}x (1.0 = linear in the number of runs)")
    ok = cold["peak_mib"] < TARGET_MIB and warm["seconds"] < TARGET_SECONDS
    print(
        f"targets: under {TARGET_SECONDS:.0f} s to start (cached: {warm['seconds']:.2f} s; first build "
        f"{cold['seconds']:.1f} s) and under {TARGET_MIB:.0f} MiB (peak {cold['peak_mib']:.0f} MiB): "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
