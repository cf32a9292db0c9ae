"""The runql demo (``make demo``): the README's filters, a DataFrame and a golden JSON, end to end.

Nothing here needs credentials or a network. The demo starts runql's own Run-Registry-compatible service (the
``embedded`` target's ``backend.server.EmbeddedServer``) on 127.0.0.1 with deterministic, **synthetic** data (real
HTTP, real SQL), in a process of its own as ``runql serve`` would run it: the client and the service then each
have a core, as they would against CMS. The default registry spans 2018-2024 (21,040 runs); to start in a few
seconds on a fresh machine the demo serves its 2018 slice (5,240 runs: CRUZET and CRAFT, proton runs A-D, the
PbPb run and the cosmics after it). The same code runs against CMS with ``RunRegistry(target="production")`` and
SSO credentials in ``.env``.

    .venv/bin/python examples/demo.py            # what ``make demo`` runs
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import sys
import time
from collections.abc import Callable, Collection, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import querylang
from client import RunRegistry

HERE = Path(__file__).resolve().parent

#: The README's example filters: (what it asks, the filter).
RUN_FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("three runs by number", {"run_number": {"or": [319091, 319088, 319080]}}),
    (
        "runs 319000-320000 with at least one GOOD dt-dt lumisection",
        {"run_number": {"and": [{">": 319000}, {"<": 320000}]}, "dt-dt": "GOOD"},
    ),
    (
        "significant physics runs with GOOD dt-dt and GOOD tracker-strip",
        {
            "run_number": {"and": [{">": 319000}, {"<": 320000}]},
            "dt-dt": "GOOD",
            "tracker-strip": "GOOD",
            "hlt_key": {"like": "%physics%"},
            "significant": True,
        },
    ),
    (
        "cosmics, or runs with a BAD csc-csc lumisection, after run 324000 (a union of two backend queries)",
        {"or": [{"class": "Cosmics18"}, {"csc-csc": "BAD"}], "run_number": {">": 324000}},
    ),
    (
        "collision runs with the magnet off in July 2018",
        {
            "class": {"not": {"in": ["Cosmics18", "Commissioning18"]}},
            "b_field": {"<": 1},
            "start_time": {">=": "2018-07-01", "<": "2018-08-01"},
        },
    ),
]
DATASET_FILTER: dict[str, Any] = {
    "dataset_name": {"like": "/PromptReco/Collisions2018C%"},
    "tracker-track": "GOOD",
    "global_state": "OPEN",
}
#: The golden JSON's datasets: the first three proton eras, about half of 2018's collision datasets (860 of 1,776),
#: so that the demo, loss report included, stays under 10 s on two cores; ``benchmarks/golden.py`` times the year.
GOLDEN_PATTERN = "/PromptReco/Collisions2018(A|B|C)/DQM"
#: The slice of the default registry the demo serves.
YEARS = [2018]


class Clock:
    """Seconds since the demo started, printed before each step so its speed shows."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def step(self, what: str) -> None:
        print(f"[{time.perf_counter() - self.started:5.1f} s] {what}", flush=True)

    def progress(self, what: str) -> Callable[[int, int], None]:
        """``progress(done, total)`` for the golden JSON's requests: a line at each quarter."""
        shown: set[tuple[int, int]] = set()  # (total, quarter): each round of requests has its own total

        def show(done: int, total: int) -> None:
            quarter = (total, 4 * done // total if total else 4)
            if quarter not in shown:
                shown.add(quarter)
                self.step(f"{what}: {done}/{total} requests")

        return show


def _serve(years: Collection[int], pipe: Connection) -> None:
    """The service's process: the embedded Run Registry, its URL sent through ``pipe``, until the pipe closes."""
    from backend.server import EmbeddedServer

    with EmbeddedServer(years=years) as server:
        pipe.send(server.url)
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            pipe.recv()  # nothing is ever sent: returns (EOFError) when the demo closes its end or exits


@contextlib.contextmanager
def embedded_service(years: Collection[int]) -> Iterator[str]:
    """The embedded Run Registry (synthetic data) in a process of its own; yields its URL, stops it at the end."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(list(years), theirs), name="runql-demo-service", daemon=True)
    process.start()
    theirs.close()
    try:
        try:
            url = ours.recv()
        except EOFError:  # the service's process ended first: its error is on stderr
            raise SystemExit("the embedded Run Registry could not start (see its error above)") from None
        yield url
    finally:
        ours.close()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()


def show_runs(rr: RunRegistry) -> None:
    for question, run_filter in RUN_FILTERS:
        plan = querylang.compile_filter(run_filter)
        runs = rr.get_runs(filter=run_filter)
        numbers = [run.run_number for run in runs]
        print(f"\n## {question}\nfilter: {json.dumps(run_filter)}")
        print(f"compiles to {len(plan.filters)} backend filter(s): {json.dumps(list(plan.filters))}")
        print(f"{len(runs)} runs" + (f", e.g. {numbers[:8]}" if numbers else ""))


def show_datasets_and_frame(rr: RunRegistry) -> None:
    datasets = rr.get_datasets(filter=DATASET_FILTER)
    print(f"\n## datasets: {json.dumps(DATASET_FILTER)}\n{len(datasets)} datasets")
    frame = rr.get_runs(filter={"class": "Collisions18", "significant": True}).to_pandas()
    columns = ["run_number", "class", "state", "start_time", "energy", "b_field", "fill_number", "dt-dt.GOOD"]
    print(f"\n## significant Collisions18 runs as a DataFrame ({len(frame)} rows)")
    print(frame[columns].head(5).to_string(index=False))
    print("dtypes: " + ", ".join(f"{c}={frame[c].dtype}" for c in columns))


def show_golden(rr: RunRegistry, clock: Clock) -> None:
    rule = json.loads((HERE / "golden_rule.json").read_text())
    print(f"\n## golden JSON of examples/golden_rule.json over {GOLDEN_PATTERN}")
    progress = clock.progress("lumisection data")
    golden = rr.create_json(rule, GOLDEN_PATTERN, engine="local", report=True, progress=progress)
    clock.step(f"golden JSON with the service's loss accounting ({golden.requests} requests)")
    print(f"{golden.run_count} runs, {golden.lumisection_count} lumisections, luminosity {golden.luminosity_in}")
    print(f"{golden.requests_per_kept_lumisection:.4f} requests per lumisection kept (ranges, not lumisections)")
    if golden.losses is not None:
        print(golden.losses.to_table())
    print("first runs: " + json.dumps({str(r): [list(x) for x in golden.mask.ranges(r)] for r in golden.runs[:3]}))


def show_error() -> None:
    try:
        querylang.compile_filter({"hlt_kye": {"like": "%physics%"}, "dt-dt": "GOD"})
    except querylang.FilterError as error:
        print(f"\n## a typo is caught before any request\n{error}")


def main() -> int:
    clock = Clock()
    with embedded_service(YEARS) as url, RunRegistry(target=url) as rr:
        print(f"runql demo — SYNTHETIC demo Run Registry at {rr.base_url} (not CMS data)")
        print(f"serving the {YEARS} slice of the 2018-2024 demo registry (runql serve serves all of it)")
        clock.step("embedded Run Registry ready")
        show_runs(rr)
        clock.step("filters")
        show_datasets_and_frame(rr)
        clock.step("datasets and DataFrame")
        show_golden(rr, clock)
        show_error()
    clock.step("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
