"""runql's plans against the embedded Run Registry, with and without its reproduction of the service's quirks.

For every golden filter (and a few tuned to the demo year so that they select proper subsets), the union of
the rows each backend filter of the plan selects must equal what ``tests/querylang/reference.py`` says the
*user* filter means, evaluated in Python over every raw run/dataset fetched with an empty filter. Where the
public client's transform is right, its output selects the same rows; where it is wrong, the quirk-mode
server proves it.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from testkit.servers import ServerPool

HERE = Path(__file__).parent / "querylang"


def _import_real_querylang() -> None:
    """Import the querylang package itself: with tests/ on sys.path, tests/querylang would shadow it."""
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE.parent.resolve()]
    try:
        importlib.import_module("querylang")
    finally:
        sys.path[:] = saved
    if str(HERE) not in sys.path:  # the helpers live next to the querylang tests
        sys.path.insert(0, str(HERE))


_import_real_querylang()

import reference  # noqa: E402
from public_cases import AGREED, public_utils, transform  # noqa: E402

from querylang import compile_filter  # noqa: E402

Key = tuple[int, str]
#: An eighth of the default demo year: the same generator and spread of runs, at a test-friendly size.
RUNS = 250

DEMO_FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("runs", {"run_number": {">": 320000, "<": 321000}, "dt-dt": "GOOD"}),
    ("runs", {"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}),
    ("runs", {"not": {"dt-dt": "GOOD"}}),
    ("runs", {"not": {"dt-dt": ["BAD", "STANDBY"]}, "class": "Collisions18"}),
    ("runs", {"hlt_key": {"like": "%cosmic%"}, "significant": True}),
    ("runs", {"start_time": {">=": "2018-04-01", "<": "2018-04-20T02:00:00+02:00"}}),
    ("runs", {"energy": {"in": [0]}, "b_field": {">": 3.0}}),
    ("runs", {"state": {"notin": ["OPEN"]}, "tracker-strip": ["BAD", "STANDBY"]}),
    (
        "runs",
        {
            "and": [
                {"or": [{"class": "Commissioning18"}, {"csc-csc": "BAD"}]},
                {"or": [{"significant": False}, {"hlt-hlt": "STANDBY"}]},
            ]
        },
    ),
    ("runs", {"triplet_summary.dt-dt.BAD": {"<": 5}, "significant": True}),
    ("runs", {"stable_beam": {"<>": True}}),
    ("runs", {"injection_scheme": {"like": "%25ns%"}}),
    ("runs", {"not": {"injection_scheme": {"like": "%25ns%"}}}),
    ("runs", {"fill_number": {"or": [{"<": 6600}, {">": 7400}]}}),
    ("runs", {"not": {"or": [{"class": "Cosmics18"}, {"run_number": {"<": 318000}}]}}),
    ("datasets", {"dataset_name": {"like": "%PromptReco%"}, "global_state": "OPEN"}),
    ("datasets", {"or": [{"dataset_name": {"like": "/ReReco/%"}}, {"class": "Cosmics18"}]}),
    ("datasets", {"dt-dt": "GOOD", "run_number": {">=": 322000}}),
    ("datasets", {"not": {"csc-csc": "GOOD"}, "dataset_name": {"notlike": "online"}}),
    ("datasets", {"or": [{"global_state": "COMPLETED"}, {"dt-dt": "BAD"}, {"energy": 0}]}),
]


def _golden_filters() -> list[tuple[str, dict[str, Any], str]]:
    cases = [c for p in sorted((HERE / "golden").glob("*.json")) for c in json.loads(p.read_text())]
    # Unknown flags passed through (unknown_flags="warn") are for drifted live catalogues: the embedded service
    # knows only the catalogue's flags and answers 500 for others, so those cases are checked offline only.
    return [
        (c["kind"], c["filter"], "error")
        for c in cases
        if c["mode"] == "compile" and "filters" in c["expected"] and c.get("unknown_flags", "error") == "error"
    ]


CASES = [(k, f, "error") for k, f in DEMO_FILTERS] + _golden_filters()


@dataclass
class Service:
    client: httpx.Client
    quirks: bool
    runs: list[dict[str, Any]]
    datasets: list[dict[str, Any]]

    def records(self, kind: str) -> list[dict[str, Any]]:
        return self.datasets if kind == "datasets" else self.runs

    def post(self, kind: str, backend_filter: dict[str, Any]) -> httpx.Response:
        body = {"page": 0, "page_size": 100000, "filter": backend_filter, "sortings": []}
        return self.client.post(f"/{kind}_filtered_ordered", json=body)

    def select(self, kind: str, filters: Any) -> set[Key]:
        chosen: set[Key] = set()
        for backend_filter in filters:
            reply = self.post(kind, backend_filter)
            assert reply.status_code == 200, reply.text
            chosen |= {_key(row) for row in reply.json()[kind]}
        return chosen

    def meaning(self, kind: str, user_filter: dict[str, Any]) -> set[Key]:
        return {_key(row) for row in reference.matching(user_filter, self.records(kind), kind=kind)}


def _key(row: dict[str, Any]) -> Key:
    return row["run_number"], row.get("name", "")


@pytest.fixture(scope="module", params=[False, True], ids=["exact", "rr_quirks"])
def service(request: pytest.FixtureRequest, server_pool: ServerPool) -> Iterator[Service]:
    srv = server_pool.shared(runs=RUNS, seed=2018, rr_quirks=request.param)
    with httpx.Client(base_url=srv.url, timeout=120) as client:
        service = Service(client, request.param, [], [])
        service.runs = service.post("runs", {}).json()["runs"]
        service.datasets = service.post("datasets", {}).json()["datasets"]
        assert len(service.runs) == RUNS
        yield service


@pytest.mark.parametrize(("kind", "user_filter", "policy"), CASES, ids=[json.dumps(c[1])[:80] for c in CASES])
def test_plan_union_is_what_the_filter_means(service: Service, kind: str, user_filter: Any, policy: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_filter(user_filter, kind=kind, unknown_flags=policy)
    assert service.select(kind, plan.filters) == service.meaning(kind, user_filter)


def test_demo_filters_select_proper_subsets(service: Service) -> None:
    for kind, user_filter in DEMO_FILTERS:
        count = len(service.meaning(kind, user_filter))
        assert 0 < count < len(service.records(kind)), user_filter


@pytest.mark.parametrize(("kind", "user_filter"), AGREED, ids=[json.dumps(f)[:80] for _, f in AGREED])
def test_public_transform_where_right_selects_the_same(
    service: Service, tmp_path: Path, kind: str, user_filter: dict[str, Any]
) -> None:
    with public_utils(tmp_path) as utils:
        theirs = transform(utils, kind)(copy.deepcopy(user_filter))
    assert service.select(kind, [theirs]) == service.select(kind, compile_filter(user_filter, kind=kind).filters)


def test_quirk_mode_breaks_what_runql_avoids(service: Service) -> None:
    numeric_or = {"oms_attributes.fill_number": {"or": [{"<": 6600}, {">": 7400}]}}
    mixed_or = {"or": [{"rr_attributes.class": "Cosmics18"}, {"triplet_summary.dt-dt.BAD": {">": 0}}]}
    user_mixed = {"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}
    if service.quirks:
        assert service.post("runs", numeric_or).status_code == 500
        assert service.select("runs", [mixed_or]) != service.meaning("runs", user_mixed)
    else:
        assert service.select("runs", [mixed_or]) == service.meaning("runs", user_mixed)
    assert service.select("runs", compile_filter(user_mixed).filters) == service.meaning("runs", user_mixed)
