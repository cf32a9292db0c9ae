"""Client CPU per small request: runql's transport against a bare ``httpx.Client`` and ``http.client``.

    .venv/bin/python benchmarks/request_cpu.py [--requests 1000] [--repeat 5] [--runs 2000]

Starts ``python -m backend --runs N`` in a subprocess on a free loopback port, then sends, one after the other over
one kept-alive connection, ``--requests`` small ``POST /lumisections/oms_lumisection_ranges`` (the request the
local golden engine sends most) in three ways, interleaved ``--repeat`` times so that the load of the machine hits
all alike:

* runql: ``RunRegistry.get_oms_lumisection_ranges(n, output="dicts")`` (one operation each, as users call it),
* runql: ``client.transport.SyncTransport.send`` (what every operation sends through: retries, error mapping),
* a bare ``httpx.Client.post`` (body decoded with ``response.json()``),
* the standard library's ``http.client.HTTPConnection`` (the baseline; body decoded with ``json.loads``).

It prints the median client CPU (``time.process_time``) per request of each, and the ratios to ``http.client``.
Every way must get the same answer (checked). (Not named ``requests.py``: a script in this folder by that name
would shadow the ``requests`` package that the public client imports in ``fetch.py`` and ``golden.py``.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client import RunRegistry
from client.calls import lumisection_call
from client.config import resolve_settings
from client.transport import SyncTransport

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch import served  # this folder's fetch.py: the server in a subprocess

ROUTE = "/lumisections/oms_lumisection_ranges"
Sender = Callable[[dict[str, Any]], Any]


def first_run(url: str) -> dict[str, Any]:
    """The body of every request: a run of the server's registry, its ``online`` dataset."""
    body = {"page": 0, "page_size": 1, "filter": {}, "sortings": []}
    run = httpx.post(f"{url}/runs_filtered_ordered", json=body, timeout=60).json()["runs"][0]
    return {"run_number": run["run_number"], "dataset_name": "online"}


def registry_sender(url: str) -> tuple[Sender, Callable[[], None]]:
    rr = RunRegistry(url, env_file=False)
    return (lambda body: rr.get_oms_lumisection_ranges(body["run_number"], output="dicts")), rr.close


def runql_sender(url: str) -> tuple[Sender, Callable[[], None]]:
    transport = SyncTransport(resolve_settings(url, environ={}, env_file=False))

    def send(body: dict[str, Any]) -> Any:
        return transport.send(lumisection_call("oms_lumisection_ranges", body["run_number"], body["dataset_name"])).data

    return send, transport.close


def httpx_sender(url: str) -> tuple[Sender, Callable[[], None]]:
    client = httpx.Client(base_url=url)
    return (lambda body: client.post(ROUTE, json=body).json()), client.close


def stdlib_sender(url: str) -> tuple[Sender, Callable[[], None]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def send(body: dict[str, Any]) -> Any:
        connection.request("POST", ROUTE, body=json.dumps(body), headers=headers)
        return json.loads(connection.getresponse().read())

    return send, connection.close


WAYS: dict[str, Callable[[str], tuple[Sender, Callable[[], None]]]] = {
    "runql RunRegistry": registry_sender,
    "runql SyncTransport.send": runql_sender,
    "bare httpx.Client.post": httpx_sender,
    "http.client (baseline)": stdlib_sender,
}


def cpu_per_request(
    make: Callable[[str], tuple[Sender, Callable[[], None]]], url: str, body: dict[str, Any], n: int
) -> tuple[float, Any]:
    """Client CPU seconds per request over ``n`` requests (after one to open the connection), and the answer."""
    send, close = make(url)
    try:
        answer = send(body)
        started = time.process_time()
        for _ in range(n):
            send(body)
        return (time.process_time() - started) / n, answer
    finally:
        close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    cpu: dict[str, list[float]] = {name: [] for name in WAYS}
    answers: dict[str, Any] = {}
    with served(args.runs) as url:
        body = first_run(url)
        for _ in range(args.repeat):
            for name, make in WAYS.items():
                seconds, answers[name] = cpu_per_request(make, url, body, args.requests)
                cpu[name].append(seconds)
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, "the ways disagree"
    baseline = statistics.median(cpu["http.client (baseline)"])
    print(f"{args.requests} sequential POST {ROUTE} to python -m backend --runs {args.runs}, median of {args.repeat}")
    for name, samples in cpu.items():
        median = statistics.median(samples)
        print(f"  {name:28s} {median * 1e3:6.3f} ms of client CPU per request ({median / baseline:.2f}x http.client)")


if __name__ == "__main__":
    main()
