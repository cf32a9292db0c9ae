"""Fetch every run matching a filter: runql vs the public ``runregistry`` client vs one raw request.

    .venv/bin/python benchmarks/fetch.py [--runs 20000] [--memory-runs 50000] [--repeat 3]

Starts ``runql serve --runs N`` in a subprocess on a free loopback port (the server runs in its own process, as
the real service does), then times, in the same run:

* runql: ``RunRegistry(url).get_runs(filter=...)`` (typed models; concurrent pages, default page size),
* runql returning the service's dicts (``compress_attributes=False``),
* the public client 3.1.2: ``setup("local")`` pointed at the same URL (its prints silenced),
* one raw request with ``page_size`` = count, JSON decoded (the floor for any client).

All return the same run numbers (checked). Then, against ``--memory-runs`` runs, the peak Python memory
(tracemalloc) of ``get_runs(...).to_pandas()`` against the DataFrame's own ``memory_usage(deep=True)``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client import RunRegistry

FILTER = {"class": "Collisions18"}
BACKEND_FILTER = {"rr_attributes.class": {"=": "Collisions18"}}


@contextlib.contextmanager
def served(runs: int) -> Iterator[str]:
    """``runql serve --runs N`` on a free port, in a subprocess; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "backend", "--runs", str(runs), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                httpx.get(f"{url}/datasets_accepted", timeout=2)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def single_request(url: str) -> list[int]:
    with httpx.Client(timeout=600) as http:
        body = {"page": 0, "page_size": 1, "filter": BACKEND_FILTER, "sortings": []}
        count = http.post(f"{url}/runs_filtered_ordered", json=body).json()["count"]
        started = time.perf_counter()
        body["page_size"] = count
        runs = http.post(f"{url}/runs_filtered_ordered", json=body).json()["runs"]
        single_request.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
    return [r["run_number"] for r in runs]


def runql(url: str, **options: Any) -> list[int]:
    with RunRegistry(url, env_file=False) as rr:
        runs = rr.get_runs(filter=FILTER, **options)
    return [r["run_number"] if isinstance(r, dict) else r.run_number for r in runs]


def public_client(url: str) -> list[int]:
    import runregistry  # the public client reads .env and configures itself at import time

    runregistry.setup("local")
    runregistry.runregistry.api_url = url
    with contextlib.redirect_stdout(io.StringIO()):
        runs = runregistry.get_runs(filter=dict(FILTER), limit=10**9)
    return [r["run_number"] for r in runs]


def speed(runs: int, repeat: int) -> None:
    """Interleaved repetitions (single request, runql models, runql dicts), so that load on the machine hits
    all three alike; the public client once (it takes minutes)."""
    single, ours, dicts = [], [], []
    with served(runs) as url:
        for _ in range(repeat):
            expected = single_request(url)
            single.append(single_request.elapsed)  # type: ignore[attr-defined]
            elapsed, ours_rows = timed(lambda: runql(url), 1)
            ours.append(elapsed)
            elapsed, dict_rows = timed(lambda: runql(url, compress_attributes=False), 1)
            dicts.append(elapsed)
        theirs, their_rows = timed(lambda: public_client(url), 1)
    assert ours_rows == dict_rows == their_rows == expected, "the clients disagree"
    ratio = statistics.median(o / s for o, s in zip(ours, single, strict=True))
    dict_ratio = statistics.median(d / s for d, s in zip(dicts, single, strict=True))
    median = statistics.median
    print(f"fetching {len(expected)} runs matching {FILTER} from runql serve --runs {runs} (median of {repeat})")
    print(f"  one raw request (page_size=count)   {median(single):8.2f} s")
    print(f"  runql get_runs (typed models)        {median(ours):8.2f} s")
    print(f"  runql get_runs (service dicts)       {median(dicts):8.2f} s")
    print(f"  public runregistry 3.1.2 get_runs    {theirs:8.2f} s")
    print(f"  runql is {theirs / median(ours):.1f}x faster than the public client (target >= 5x)")
    print(f"  runql takes {ratio:.2f}x the single request (target <= 1.5x); with dicts {dict_ratio:.2f}x")


def memory(runs: int) -> None:
    with served(runs) as url, RunRegistry(url, env_file=False) as rr:
        tracemalloc.start()
        frame = rr.get_runs(filter={}).to_pandas()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    size = int(frame.memory_usage(deep=True).sum())
    print(f"memory: get_runs(...).to_pandas() for {len(frame)} runs x {frame.shape[1]} columns")
    print(f"  DataFrame memory_usage(deep=True)     {size / 2**20:8.1f} MiB")
    print(f"  peak traced memory while building it  {peak / 2**20:8.1f} MiB  ({peak / size:.1f}x the DataFrame)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--memory-runs", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    speed(args.runs, args.repeat)
    memory(args.memory_runs)


if __name__ == "__main__":
    main()
