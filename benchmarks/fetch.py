"""Fetch every run matching a filter: runql vs the public ``runregistry`` client vs one raw request.

    .venv/bin/python benchmarks/fetch.py [--runs 20000] [--memory-runs 50000] [--repeat 3]

Starts ``runql serve --runs N`` in a subprocess on a free loopback port (the server runs in its own process, as
the real service does), then times, in the same run:

* runql: ``RunRegistry(url).get_runs(filter=...)`` (typed models; concurrent pages, default page size),
* runql returning the service's dicts (``compress_attributes=False``),
* the public client 3.1.2: ``setup("local")`` pointed at the same URL (its prints silenced),
* one raw request with ``page_size`` = count, JSON decoded (the floor for any client).

All return the same run numbers (checked). Then, against ``--memory-runs`` runs, each in a fresh process, the
peak memory of ``get_runs(...).to_pandas()`` and of ``get_runs(..., output="dataframe")`` against the DataFrame's
own ``memory_usage(deep=True)``: the peak traced by tracemalloc (Python objects) and the growth of the process's
peak resident size (which also counts pydantic-core's parse buffers, outside Python's allocator).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
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
from client.config import DEFAULT_PAGE_SIZE

#: Every run but cosmics: a filter on an RR attribute, as users write them, matching most runs of the server (the
#: demo registry spans 2018-2024, so one class such as Collisions18 is a small share of it).
FILTER = {"class": {"notlike": "Cosmics%"}}
BACKEND_FILTER = {"rr_attributes.class": {"notlike": "Cosmics%"}}


@contextlib.contextmanager
def served(runs: int | None) -> Iterator[str]:
    """``runql serve --runs N`` (``None``: the demo year) on a free port, in a subprocess; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    size = [] if runs is None else ["--runs", str(runs)]
    command = [sys.executable, "-m", "backend", *size, "--port", str(port)]
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
    """``get_runs`` timed alone (``runql.elapsed``); typed models are created on first access, so reading the run
    numbers afterwards (outside the timing) creates them."""
    with RunRegistry(url, env_file=False) as rr:
        started = time.perf_counter()
        runs = rr.get_runs(filter=FILTER, **options)
        runql.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
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
    all three alike; the public client once (it takes minutes), compared with runql timed just before and just
    after it (the load of the shared machine drifts over minutes)."""
    single, ours, dicts = [], [], []
    with served(runs) as url:
        for _ in range(repeat):
            expected = single_request(url)
            single.append(single_request.elapsed)  # type: ignore[attr-defined]
            ours_rows = runql(url)
            ours.append(runql.elapsed)  # type: ignore[attr-defined]
            dict_rows = runql(url, compress_attributes=False)
            dicts.append(runql.elapsed)  # type: ignore[attr-defined]
        theirs, their_rows = timed(lambda: public_client(url), 1)
        runql(url)
        around = (ours[-1] + runql.elapsed) / 2  # type: ignore[attr-defined]
    assert ours_rows == dict_rows == their_rows == expected, "the clients disagree"
    ratio = statistics.median(o / s for o, s in zip(ours, single, strict=True))
    dict_ratio = statistics.median(d / s for d, s in zip(dicts, single, strict=True))
    median = statistics.median
    print(f"fetching {len(expected)} runs matching {FILTER} from runql serve --runs {runs} (median of {repeat})")
    print(f"  one raw request (page_size=count)   {median(single):8.2f} s")
    print(f"  runql get_runs (typed models)        {median(ours):8.2f} s")
    print(f"  runql get_runs (service dicts)       {median(dicts):8.2f} s")
    print(f"  public runregistry 3.1.2 get_runs    {theirs:8.2f} s (runql just before and after it: {around:.2f} s)")
    print(f"  runql is {theirs / around:.1f}x faster than the public client (target >= 40x)")
    print(f"  runql takes {ratio:.2f}x the single request (target <= 1.1x); with dicts {dict_ratio:.2f}x")


MEMORY_MODES = {
    "get_runs(...).to_pandas()": lambda rr: rr.get_runs(filter={}).to_pandas(),
    'get_runs(..., output="dataframe")': lambda rr: rr.get_runs(filter={}, output="dataframe"),
}


def peak_resident() -> int:
    """This process's peak resident size in bytes: ``VmHWM`` where Linux has it (``ru_maxrss`` survives ``exec``,
    so a child started by a large parent would report the parent's peak), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(url: str, mode: str, traced: bool) -> None:
    """Measure one mode in this (fresh) process: traced, or the peak RSS growth (tracemalloc's own bookkeeping
    would inflate it); prints a JSON line."""
    with RunRegistry(url, env_file=False) as rr:
        rr.get_runs(filter={}, limit=1, output="dataframe")  # imports and first-use caches, not the fetch
        rss_before = peak_resident()
        if traced:
            tracemalloc.start()
        frame = MEMORY_MODES[mode](rr)
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        rss_growth = peak_resident() - rss_before
    size = int(frame.memory_usage(deep=True).sum())
    print(json.dumps({"rows": len(frame), "columns": frame.shape[1], "size": size, "peak": peak, "rss": rss_growth}))


def _child(url: str, mode: str, traced: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--memory-child", url, mode, "traced" if traced else "rss"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def memory(runs: int) -> None:
    with served(runs) as url:
        results = {}
        for mode in MEMORY_MODES:
            results[mode] = {**_child(url, mode, traced=True), "rss": _child(url, mode, traced=False)["rss"]}
    first = next(iter(results.values()))
    print(
        f"memory: {first['rows']} runs x {first['columns']} columns, pages of {DEFAULT_PAGE_SIZE} runs, each way in a "
        "fresh process (target <= 2x)"
    )
    print(f"  DataFrame memory_usage(deep=True)        {first['size'] / 2**20:8.1f} MiB")
    for mode, result in results.items():
        size = result["size"]
        print(
            f"  {mode:36s} peak traced {result['peak'] / 2**20:7.1f} MiB ({result['peak'] / size:.2f}x), "
            f"peak RSS growth {result['rss'] / 2**20:7.1f} MiB ({result['rss'] / size:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--memory-runs", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory-child", nargs=3, metavar=("URL", "MODE", "HOW"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-speed", action="store_true", help="only the memory part")
    parser.add_argument("--skip-memory", action="store_true", help="only the speed part")
    args = parser.parse_args()
    if args.memory_child:
        url, mode, how = args.memory_child
        memory_child(url, mode, traced=how == "traced")
        return
    if not args.skip_speed:
        speed(args.runs, args.repeat)
    if not args.skip_memory:
        memory(args.memory_runs)


if __name__ == "__main__":
    main()
