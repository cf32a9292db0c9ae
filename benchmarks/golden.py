"""Benchmark: the golden JSON of the reference rule (rr-protocol.md §8) over the default embedded demo year.

The server runs as a real deployment would: ``python -m backend`` (what ``runql serve`` runs) in a subprocess on a
free loopback port, so it does not share this process's GIL. Three ways against that one server, in one run, so
the ratios are comparable:

* **local**: runql's local engine (``create_json(engine="local")``: pushdown, ranges, per-segment evaluation), also with
  ``with_luminosity=True`` (one per-lumisection OMS request per run instead of bit ranges) and ``report=True``;
* **service**: the embedded service's json_portal job (``create_json(engine="server")``, polled every 50 ms);
* **brute force**: what a user of the public client ``runregistry`` 3.1.2 would write: list the datasets, then
  per dataset ``get_lumisections`` + ``get_oms_lumisections`` and ``json_logic.jsonLogic(rule, data)`` (the
  json-logic-qubit package) on every lumisection.

Then the **protocol floor**: the exact requests each local way sent (recorded in an untimed pass) replayed with the
standard library's ``http.client`` (the cheapest Python HTTP client), at the client's concurrency, reading every
body and doing nothing else. No client of this protocol can be faster than its requests, so this bounds the ratios
any engine could reach on this machine: brute force / floor, and luminosity's bytes alone (floor with / without).

All must produce the same golden JSON; the script says so, and exits 1 if not. It also prints the requests the
local engine sent per lumisection kept, and the CPU seconds each way cost the client process and the server process
(on a shared machine these move less than the wall times, and they show which side a way loads).

Run: ``.venv/bin/python benchmarks/golden.py`` (``--runs N`` for a smaller year, ``--repeat K`` for the local
engine's and the service's best of K).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

PATTERN = "/PromptReco/Collisions2018%/DQM"
#: The reference rule of rr-protocol.md §8, kept once in examples/golden_rule.json.
REFERENCE_RULE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "examples" / "golden_rule.json").read_text()
)


@dataclass(frozen=True)
class Cost:
    """Wall seconds, and CPU seconds of this (client) process and of the server process (``nan`` off Linux)."""

    wall: float
    client_cpu: float
    server_cpu: float


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far, from ``/proc`` (``nan`` where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(action: Callable[[], T], server_pid: int) -> tuple[Cost, T]:
    start, client, server = time.perf_counter(), time.process_time(), process_cpu(server_pid)
    result = action()
    cost = Cost(time.perf_counter() - start, time.process_time() - client, process_cpu(server_pid) - server)
    return cost, result


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


@dataclass(frozen=True)
class Served:
    url: str
    pid: int


@contextlib.contextmanager
def served(runs: int | None, *, timeout: float = 300.0) -> Iterator[Served]:
    """``python -m backend`` on a free loopback port in a subprocess; yields its URL and pid, stops it at the
    end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "backend", "--host", "127.0.0.1", "--port", str(port)]
    if runs is not None:
        command += ["--runs", str(runs)]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_until_serving(url, process, log, timeout)
            yield Served(url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read().decode(errors='replace')}")
        try:
            httpx.get(f"{url}/runs/1", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not answer within {timeout:.0f} s")


@dataclass(frozen=True)
class Recorded:
    """One request as sent: method, path (with query) and body."""

    method: str
    path: str
    body: bytes


class RecordingTransport(httpx.BaseTransport):
    """Sends through ``inner`` and keeps every request (for the replay; never in a timed run)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[Recorded] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(Recorded(request.method, request.url.raw_path.decode(), request.read()))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


_LISTINGS = ("/runs_filtered_ordered", "/datasets_filtered_ordered")


def replay(url: str, requests: list[Recorded], concurrency: int) -> int:
    """Send ``requests`` with ``http.client`` (keep-alive, one connection per thread): the listings first, in
    order (the engine needs them before the rest), then the others ``concurrency`` at a time; every body is read,
    nothing is decoded. Returns the bytes received; raises unless every answer is 200."""
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    local = threading.local()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def send(request: Recorded) -> int:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        connection.request(request.method, request.path, body=request.body or None, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"replay: {request.path} answered {response.status}: {body[:200]!r}")
        return len(body)

    listings = [r for r in requests if r.path.startswith(_LISTINGS)]
    others = [r for r in requests if not r.path.startswith(_LISTINGS)]
    received = sum(send(r) for r in listings)
    with ThreadPoolExecutor(concurrency) as pool:
        received += sum(pool.map(send, others))
    return received


def protocol_floors(
    server: Served, concurrency: int, repeat: int, local: Callable[..., Callable[[], Any]]
) -> dict[str, tuple[Cost, int, int]]:
    """Per local way: the best of ``repeat`` replays of its requests (recorded in one untimed run), with the
    requests sent and the bytes received."""
    from client.api import RunRegistry
    from client.transport import pool_limits

    floors: dict[str, tuple[Cost, int, int]] = {}
    for name, options in (("local", {}), ("local, with_luminosity=True", {"with_luminosity": True})):
        recorder = RecordingTransport(httpx.HTTPTransport(limits=pool_limits(concurrency)))
        with RunRegistry(target=server.url, concurrency=concurrency, transport=recorder) as recording:
            local(on=recording, **options)()
        requests = recorder.requests
        runs = [timed(functools.partial(replay, server.url, requests, concurrency), server.pid) for _ in range(repeat)]
        cost, received = min(runs, key=lambda run: run[0].wall)
        floors[name] = (cost, len(requests), received)
    return floors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="demo year size (default: the default year)")
    parser.add_argument("--repeat", type=int, default=3, help="local engine and service: best of N (default 3)")
    parser.add_argument("--concurrency", type=int, default=None, help="the client's concurrency (default: its own)")
    args = parser.parse_args(argv)

    from client.api import RunRegistry
    from schemas.golden import GoldenJson, LumiMask

    def local(*, with_luminosity: bool = False, report: bool = False, on: Any = None) -> Callable[[], GoldenJson]:
        return lambda: (on or registry).create_json(
            REFERENCE_RULE, PATTERN, engine="local", with_luminosity=with_luminosity, report=report
        )

    def service() -> GoldenJson:
        return registry.create_json(REFERENCE_RULE, PATTERN, engine="server", poll_interval=0.05)

    ways: dict[str, Callable[[], GoldenJson]] = {
        "local": local(),
        "local, with_luminosity=True": local(with_luminosity=True),
        "local, report=True (loss accounting)": local(report=True),
        "service json_portal": service,
    }
    started = time.perf_counter()
    with served(args.runs) as server:
        print(f"server ready in {time.perf_counter() - started:.1f} s ({args.runs or 'default'} runs) at {server.url}")
        with RunRegistry(target=server.url, concurrency=args.concurrency) as registry:
            costs: dict[str, list[Cost]] = {name: [] for name in ways}
            results: dict[str, GoldenJson] = {}
            for _ in range(args.repeat):
                for name, way in ways.items():
                    cost, results[name] = timed(way, server.pid)
                    costs[name].append(cost)
            concurrency = registry.settings.concurrency
        floors = protocol_floors(server, concurrency, args.repeat, local)
        brute, (brute_json, counts) = timed(lambda: brute_force(server.url, REFERENCE_RULE, PATTERN), server.pid)

    best = {name: min(runs, key=lambda cost: cost.wall) for name, runs in costs.items()}
    local_s = best["local"].wall
    golden = results["local"]
    print(
        f"golden JSON: {golden.run_count} runs, {golden.lumisection_count} lumisections; brute force: "
        f"{counts['lumisections']} lumisections of {counts['datasets']} datasets with {counts['requests']} requests"
    )
    header = ("seconds", "vs local", "client CPU", "server CPU", "requests", "per ls kept")
    print(f"{'engine':<58}" + "".join(f"{h:>12}" for h in header))
    for name, cost in [*best.items(), ("brute force (runregistry + qubit)", brute)]:
        result = results.get(name)
        sent = "" if result is None or result.requests is None else f"{result.requests:>12}"
        per_kept = "" if result is None or result.requests is None else f"{result.requests_per_kept_lumisection:>12.4f}"
        label = f"{name} (best of {args.repeat})" if name in best else name
        figures = f"{cost.wall:>12.3f}{cost.wall / local_s:>12.1f}{cost.client_cpu:>12.3f}{cost.server_cpu:>12.3f}"
        print(f"{label:<58}{figures}{sent}{per_kept}")
    if counts["type_errors"]:
        print(f"note: json-logic-qubit raised TypeError on {counts['type_errors']} lumisections (counted as false)")
    print(f"brute force / local: {brute.wall / local_s:.1f}x (target >= 100x)")
    lumi, plain = best["local, with_luminosity=True"], best["local"]
    cpu_ratio = (lumi.client_cpu + lumi.server_cpu) / (plain.client_cpu + plain.server_cpu)
    print(
        f"with_luminosity=True / without: {lumi.wall / local_s:.2f}x wall (target <= 1.5x), {cpu_ratio:.2f}x CPU "
        f"(client {lumi.client_cpu / plain.client_cpu:.2f}x, server {lumi.server_cpu / plain.server_cpu:.2f}x)"
    )
    print(f"protocol floor: the same requests replayed with http.client, concurrency {concurrency}, bodies read only")
    for label, (floor_cost, requests_sent, received) in floors.items():
        print(
            f"  {label:<56}{floor_cost.wall:>12.3f}{floor_cost.client_cpu:>12.3f}{floor_cost.server_cpu:>12.3f}"
            f"{requests_sent:>12}{received / 1e6:>10.1f} MB"
        )
    floor, floor_lumi = floors["local"][0].wall, floors["local, with_luminosity=True"][0].wall
    print(
        f"at most, for any client of this protocol here: brute force / local {brute.wall / floor:.1f}x; "
        f"with_luminosity=True / without {floor_lumi / floor:.2f}x (the bytes alone)"
    )
    same = all(result.mask == golden.mask for result in results.values()) and golden.mask == LumiMask(brute_json)
    print(f"identical golden JSONs ({len(results) + 1} ways):", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
