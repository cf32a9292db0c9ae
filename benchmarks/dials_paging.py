"""DIALS paging: runql's Dials (union branches concurrently) vs the public ``cmsdials`` 2.4.1 client vs raw paging.

    .venv/bin/python benchmarks/dials_paging.py [--runs 2000] [--repeat 3] [--ls 50]

Starts ``runql serve --runs N`` in a subprocess (the DIALS stand-in is under ``/dials/``) and fetches the
lumisections ``ls_number <= --ls`` of every ZeroBias dataset, in the same run:

* raw sequential cursor paging with httpx, one dataset after the other, page size 500 (the sequential floor),
* the public client: ``list_all(LumisectionFilters(dataset=..., ls_number__lte=..., page_size=500))`` per
  dataset (it has no ``or``),
* runql: ``Dials(...).lumisections({"or": [{"dataset": d}, ...], "ls_number": {"<=": ...}})`` (the branches'
  pages are fetched concurrently).

All three must return the same rows (checked); the ratios are against the raw paging.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fetch import served, timed  # benchmarks/fetch.py, next to this script

from client.dials import Dials, SecretKey


def raw_paging(api: str, datasets: list[str], ls: int) -> list[tuple[int, int, int]]:
    rows: list[tuple[int, int, int]] = []
    with httpx.Client(headers={"Authorization": "Bearer benchmark"}, timeout=600) as http:
        for name in datasets:
            body = http.get(
                f"{api}lumisection/", params={"dataset": name, "ls_number__lte": ls, "page_size": 500}
            ).json()
            rows += [(r["dataset_id"], r["run_number"], r["ls_number"]) for r in body["results"]]
            while body["next"]:
                body = http.get(body["next"]).json()
                rows += [(r["dataset_id"], r["run_number"], r["ls_number"]) for r in body["results"]]
    return sorted(rows)


def public_client(base: str, datasets: list[str], ls: int) -> list[tuple[int, int, int]]:
    from cmsdials import Dials as PublicDials
    from cmsdials.auth.secret_key import Credentials
    from cmsdials.filters import LumisectionFilters

    logging.getLogger().setLevel(logging.WARNING)  # importing cmsdials turned the root logger to INFO
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dials = PublicDials(Credentials(token="benchmark"), base_url=base)
    rows: list[tuple[int, int, int]] = []
    for name in datasets:
        page = dials.lumi.list_all(LumisectionFilters(dataset=name, ls_number__lte=ls, page_size=500))
        rows += [(r.dataset_id, r.run_number, r.ls_number) for r in page.results]
    return sorted(rows)


def runql(base: str, datasets: list[str], ls: int) -> list[tuple[int, int, int]]:
    with Dials(SecretKey("benchmark"), target=base) as dials:
        rows = dials.lumisections({"or": [{"dataset": name} for name in datasets], "ls_number": {"<=": ls}})
    return sorted((r.dataset_id, r.run_number, r.ls_number) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ls", type=int, default=50)
    args = parser.parse_args(argv)
    with served(args.runs) as url:
        base = url + "/dials/"
        api = base + "api/v1/"
        listing: Any = httpx.get(f"{api}dataset-index/", params={"page_size": 500}, headers={"X-CLIENT-SECRET": "b"})
        datasets = [d["dataset"] for d in listing.json()["results"] if d["primary_ds_name"] == "ZeroBias"]
        floor, expected = timed(lambda: raw_paging(api, datasets, args.ls), args.repeat)
        results = {"raw sequential paging (httpx)": (floor, expected)}
        results["public cmsdials 2.4.1 list_all"] = timed(lambda: public_client(base, datasets, args.ls), args.repeat)
        results["runql Dials, one `or` filter"] = timed(lambda: runql(base, datasets, args.ls), args.repeat)
    print(f"{len(expected)} lumisections of {len(datasets)} datasets, median of {args.repeat}")
    for name, (seconds, rows) in results.items():
        if rows != expected:
            print(f"{name}: DIFFERENT ROWS", file=sys.stderr)
            return 1
        print(f"{name:<34} {seconds:8.2f} s  {seconds / floor:5.2f}x the raw paging")
    return 0


if __name__ == "__main__":
    sys.exit(main())
