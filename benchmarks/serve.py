"""Benchmark: the embedded service's CPU per request, against a bare ASGI app on the same uvicorn (the floor).

Two servers run in subprocesses on free loopback ports: ``python -m backend`` (what ``runql serve`` runs) and this
script's ``--floor`` mode, uvicorn (same configuration: httptools, no access log) serving a bare ASGI app that reads
the body and answers a constant. One keep-alive connection (the standard library's ``http.client``, so the client
costs little) sends requests one at a time; each server's CPU seconds are read from ``/proc`` before and after.

* **small requests** (what the golden JSON's local engine sends 1,900 of): the lumisection range routes, ``GET
  /runs/:n`` (a path-parameter route), a one-row listing; printed as server milliseconds of CPU per request and
  as a ratio to the floor;
* **large replies**: ``oms_lumisections``, ``rr_lumisections`` and ``joint_lumisection_ranges`` of the longest
  runs, and one page of every ``/PromptReco/Collisions2018%/DQM`` dataset (11.6 MB on the default registry);
  printed as server milliseconds of CPU per request and megabytes of reply per CPU second.

Run: ``.venv/bin/python benchmarks/serve.py`` (``--runs N`` for a smaller registry, ``--requests`` per small route,
``--large`` per-lumisection OMS requests, ``--repeat`` for the best of N measurements of each route).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from golden import process_cpu, served  # the golden benchmark's server launcher and /proc reader (same folder)

PATTERN = "/PromptReco/Collisions2018%/DQM"


def floor_app() -> Callable[..., Any]:
    """The floor: a bare ASGI app that reads the request body and answers a constant JSON."""
    body = b"[]"
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve_floor(port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=port, log_config=None, log_level="warning", access_log=False)


@contextlib.contextmanager
def floor_server() -> Iterator[tuple[str, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, __file__, "--floor", str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the floor server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None


class Connection:
    """One keep-alive HTTP/1.1 connection; :meth:`send` returns the reply's bytes (and checks its status)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def send(self, request: Request) -> bytes:
        body = None if request.body is None else json.dumps(request.body).encode()
        headers = {} if body is None else {"content-type": "application/json"}
        self._conn.request(request.method, request.path, body=body, headers=headers)
        reply = self._conn.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{request.method} {request.path}: HTTP {reply.status} {data[:200]!r}")
        return data

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class Measured:
    cpu_ms: float  # server CPU milliseconds per request
    reply_bytes: int  # per request, on average


def measure(url: str, pid: int, requests: list[Request], *, warmup: int) -> Measured:
    """Server CPU per request over ``requests`` sent in sequence (after ``warmup`` of them, not counted)."""
    conn = Connection(url)
    try:
        for request in requests[:warmup]:
            conn.send(request)
        size, before = 0, process_cpu(pid)
        for request in requests:
            size += len(conn.send(request))
        cpu = process_cpu(pid) - before
    finally:
        conn.close()
    return Measured(1000 * cpu / len(requests), size // len(requests))


def cycle(items: list[Request], count: int) -> list[Request]:
    return [items[i % len(items)] for i in range(count)]


def candidates(url: str) -> list[dict[str, Any]]:
    """Every dataset matching :data:`PATTERN`: ``run_number``, ``name`` and the run's length."""
    body = {"page": 0, "page_size": 100_000, "filter": {"name": {"like": PATTERN}}, "sortings": []}
    reply = json.loads(Connection(url).send(Request("POST", "/datasets_filtered_ordered", body)))
    return [
        {"run_number": d["run_number"], "name": d["name"], "ls": d["Run"]["oms_attributes"].get("ls_duration") or 0}
        for d in reply["datasets"]
    ]


def small_routes(datasets: list[dict[str, Any]], count: int) -> dict[str, list[Request]]:
    keys = [{"run_number": d["run_number"], "dataset_name": d["name"]} for d in datasets]
    runs = sorted({d["run_number"] for d in datasets})
    one_row = [
        {"page": 0, "page_size": 1, "filter": {"run_number": n}, "sortings": [["run_number", "DESC"]]} for n in runs
    ]
    return {
        "POST /lumisections/oms_lumisection_ranges": cycle(
            [Request("POST", "/lumisections/oms_lumisection_ranges", k) for k in keys], count
        ),
        "POST /lumisections/rr_lumisection_ranges": cycle(
            [Request("POST", "/lumisections/rr_lumisection_ranges", k) for k in keys], count
        ),
        "GET /runs/{run_number}": cycle([Request("GET", f"/runs/{n}") for n in runs], count),
        "POST /runs_filtered_ordered (1 row)": cycle(
            [Request("POST", "/runs_filtered_ordered", b) for b in one_row], count
        ),
    }


def large_routes(datasets: list[dict[str, Any]], count: int) -> dict[str, list[Request]]:
    """``count`` per-lumisection OMS replies, a fifth as many per-lumisection RR replies and joint ranges (of the
    longest runs), and a fortieth as many listings of every candidate dataset (the server's CPU clock ticks every
    10 ms: each route needs seconds)."""
    longest = sorted(datasets, key=lambda d: -d["ls"])
    keys = [{"run_number": d["run_number"], "dataset_name": d["name"]} for d in longest]
    listing = {"page": 0, "page_size": 100_000, "filter": {"name": {"like": PATTERN}}, "sortings": []}
    return {
        "POST /lumisections/oms_lumisections": [
            Request("POST", "/lumisections/oms_lumisections", k) for k in keys[:count]
        ],
        "POST /lumisections/rr_lumisections": [
            Request("POST", "/lumisections/rr_lumisections", k) for k in keys[: max(1, count // 5)]
        ],
        "POST /lumisections/joint_lumisection_ranges": [
            Request("POST", "/lumisections/joint_lumisection_ranges", k) for k in keys[: max(1, count // 5)]
        ],
        f"POST /datasets_filtered_ordered ({len(datasets)} rows)": [
            Request("POST", "/datasets_filtered_ordered", listing)
        ]
        * max(1, count // 40),
    }


def best(url: str, pid: int, requests: list[Request], *, warmup: int, repeat: int) -> Measured:
    """The least server CPU per request of ``repeat`` measurements (the others lost time to other processes)."""
    return min((measure(url, pid, requests, warmup=warmup) for _ in range(repeat)), key=lambda m: m.cpu_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="registry size (default: the default registry)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per small route (default 2000)")
    parser.add_argument("--large", type=int, default=200, help="oms_lumisections requests (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N measurements of each route (default 3)")
    parser.add_argument("--floor", type=int, default=None, help=argparse.SUPPRESS)  # the floor server's port
    args = parser.parse_args(argv)
    if args.floor is not None:
        serve_floor(args.floor)
        return 0

    with floor_server() as (floor_url, floor_pid), served(args.runs) as server:
        datasets = candidates(server.url)
        constant = [Request("POST", "/floor", {"run_number": 1})] * args.requests
        print(f"server CPU per request: best of {args.repeat}, {args.requests} sequential requests on one keep-alive")
        print("connection; the floor (a bare ASGI app on the same uvicorn) measured just before each route")
        print(f"{'route':<52} {'ms CPU':>8} {'floor ms':>8} {'x floor':>8} {'bytes':>10}")
        for name, requests in small_routes(datasets, args.requests).items():
            floor = best(floor_url, floor_pid, constant, warmup=200, repeat=args.repeat)
            got = best(server.url, server.pid, requests, warmup=200, repeat=args.repeat)
            ratio = got.cpu_ms / floor.cpu_ms
            print(f"{name:<52} {got.cpu_ms:8.3f} {floor.cpu_ms:8.3f} {ratio:8.2f} {got.reply_bytes:>10,}")
        print(f"\nlarge replies (the longest runs' datasets), best of {args.repeat}")
        print(f"{'route':<52} {'requests':>8} {'ms CPU':>8} {'MB/CPU s':>8} {'bytes':>10}")
        for name, requests in large_routes(datasets, args.large).items():
            got = best(server.url, server.pid, requests, warmup=1, repeat=args.repeat)
            rate = got.reply_bytes / 1e6 / (got.cpu_ms / 1000) if got.cpu_ms else float("inf")
            print(f"{name:<52} {len(requests):>8} {got.cpu_ms:8.1f} {rate:8.1f} {got.reply_bytes:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
