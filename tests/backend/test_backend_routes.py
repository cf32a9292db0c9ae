"""Contract tests of every read route: shapes, status codes, the error convention and empty answers."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from testkit.servers import ServerPool

from backend.lumiranges import expand, summarize
from backend.rows import DemoRegistry, DemoRun
from backend.server import EmbeddedServer
from querylang.catalogue import OMS_LUMISECTION_BITS, default_catalogue

RUN_KEYS = {"run_number", "oms_attributes", "rr_attributes", "version", "deleted", "DatasetTripletCache"}
DATASET_KEYS = {
    "run_number",
    "name",
    "dataset_attributes",
    "datasets_in_gui",
    "deleted",
    "version",
    "Run",
    "DatasetTripletCache",
}


def listing(http: httpx.Client, target: str, **body: Any) -> httpx.Response:
    payload = {"page": 0, "page_size": 50, "filter": {}, "sortings": []} | body
    return http.post(f"/{target}_filtered_ordered", json=payload)


def significant_run(registry: DemoRegistry) -> DemoRun:
    return next(r for r in registry.runs if r.rr["significant"] and len(r.datasets) > 1 and r.lumisections > 50)


def test_runs_page_shape_and_paging(http: httpx.Client, registry: DemoRegistry) -> None:
    reply = listing(http, "runs", page=1, page_size=40)
    assert reply.status_code == 200
    data = reply.json()
    assert set(data) == {"runs", "pages", "count"}
    assert data["count"] == len(registry.runs)
    assert data["pages"] == math.ceil(len(registry.runs) / 40)
    expected = sorted((r.run_number for r in registry.runs), reverse=True)[40:80]
    assert [r["run_number"] for r in data["runs"]] == expected
    run = data["runs"][0]
    assert set(run) == RUN_KEYS
    assert run["deleted"] is False
    assert set(run["rr_attributes"]) == {
        "class",
        "state",
        "significant",
        "stop_reason",
        "short_run",
        "run_needs_to_be_updated_manually",
    }
    assert set(run["DatasetTripletCache"]) == {"triplet_summary"}


def test_run_matches_the_generated_data(http: httpx.Client, registry: DemoRegistry) -> None:
    run = significant_run(registry)
    got = http.get(f"/runs/{run.run_number}").json()
    assert got["oms_attributes"] == run.oms
    assert got["rr_attributes"] == run.rr
    assert got["DatasetTripletCache"]["triplet_summary"] == summarize(run.datasets[0].statuses, run.lumisections)


def test_every_catalogue_oms_attribute_is_present(http: httpx.Client) -> None:
    run = listing(http, "runs", page_size=1).json()["runs"][0]
    oms_names = {a.name for a in default_catalogue().attributes() if a.path.startswith("oms_attributes.")}
    assert oms_names <= set(run["oms_attributes"])


def test_missing_objects_are_null_or_empty(http: httpx.Client) -> None:
    assert http.get("/runs/1").json() is None
    assert http.post("/datasets/get_dataset", json={"run_number": 1, "dataset_name": "online"}).json() is None
    assert http.get("/get_all_dataset_names_of_run/1").json() == []
    for route in (
        "rr_lumisections",
        "rr_lumisection_ranges",
        "rr_lumisection_ranges_by_component",
        "oms_lumisections",
        "oms_lumisection_ranges",
        "joint_lumisection_ranges",
    ):
        reply = http.post(f"/lumisections/{route}", json={"run_number": 1, "dataset_name": "online"})
        expected = {} if route == "rr_lumisection_ranges_by_component" else []  # as the service does (§10)
        assert (reply.status_code, reply.json()) == (200, expected)
    assert listing(http, "runs", filter={"run_number": 1}).json() == {"runs": [], "pages": 0, "count": 0}


@pytest.mark.parametrize(
    "body",
    [
        {"page": 0, "page_size": -5, "filter": {}, "sortings": []},
        {"page": 0, "page_size": 2.5, "filter": {}, "sortings": []},
        {"page": 0, "page_size": "10", "filter": {}, "sortings": []},
        {"page": -1, "page_size": 10, "filter": {}, "sortings": []},
        {"page_size": 10, "filter": {}, "sortings": []},
        {"page": 0, "page_size": 10, "filter": {}},
        {"page": 0, "page_size": 10, "sortings": []},
    ],
)
def test_bad_listing_bodies_are_500_err(http: httpx.Client, body: dict[str, Any]) -> None:
    for target in ("runs", "datasets"):
        reply = http.post(f"/{target}_filtered_ordered", json=body)
        assert reply.status_code == 500
        assert set(reply.json()) == {"err"}


def test_huge_pages_are_empty_not_errors(http: httpx.Client, registry: DemoRegistry) -> None:
    data = listing(http, "runs", page=10**30, page_size=10**30).json()
    assert data == {"runs": [], "pages": 1, "count": len(registry.runs)}
    assert len(listing(http, "runs", page_size=10**12).json()["runs"]) == len(registry.runs)


def test_dataset_shapes(http: httpx.Client, registry: DemoRegistry) -> None:
    run = significant_run(registry)
    names = http.get(f"/get_all_dataset_names_of_run/{run.run_number}").json()
    assert names == ["online", *sorted(d.name for d in run.datasets[1:])]
    offline = run.datasets[1]
    got = http.post("/datasets/get_dataset", json={"run_number": run.run_number, "dataset_name": offline.name}).json()
    assert set(got) == DATASET_KEYS
    assert got["dataset_attributes"] == offline.attributes
    assert got["Run"] == {"rr_attributes": run.rr, "oms_attributes": run.oms}
    assert got["DatasetTripletCache"]["triplet_summary"] == summarize(offline.statuses, run.lumisections)
    dcs = got["DatasetTripletCache"]["dcs_summary"]
    extra = {"recorded", "delivered", "prescale_index", "prescale_name"}
    assert set(dcs) == {*OMS_LUMISECTION_BITS, *extra, "ls_duration"}
    assert all(sum(dcs[k].values()) == run.lumisections for k in OMS_LUMISECTION_BITS)
    assert all(dcs[k]["TRUE"] == dcs[k]["FALSE"] == 0 for k in extra)  # counted like the service: never booleans
    assert dcs["ls_duration"] == {"TRUE": run.lumisections}
    page = listing(http, "datasets", filter={"run_number": run.run_number}).json()
    assert [d["name"] for d in page["datasets"]] == sorted(d.name for d in run.datasets)


def test_rr_lumisections_agree_with_ranges(http: httpx.Client, registry: DemoRegistry) -> None:
    run = significant_run(registry)
    body = {"run_number": run.run_number, "dataset_name": "online"}
    per_ls = http.post("/lumisections/rr_lumisections", json=body).json()
    assert len(per_ls) == run.lumisections
    for component, ranges in run.datasets[0].statuses.items():
        expanded = expand(ranges, run.lumisections)
        assert [ls[component]["status"] for ls in per_ls] == [r.status if r else "EMPTY" for r in expanded]
    merged = http.post("/lumisections/rr_lumisection_ranges", json=body).json()
    assert merged[0]["start"] == 1
    assert merged[-1]["end"] == run.lumisections
    for segment in merged:
        for ls in range(segment["start"], segment["end"] + 1):
            assert {k: v for k, v in segment.items() if k not in ("start", "end")} == per_ls[ls - 1]
    assert all(
        a != b
        for a, b in zip(
            [{k: v for k, v in s.items() if k not in ("start", "end")} for s in merged][:-1],
            [{k: v for k, v in s.items() if k not in ("start", "end")} for s in merged][1:],
            strict=True,
        )
    )
    by_component = http.post("/lumisections/rr_lumisection_ranges_by_component", json=body).json()
    assert set(by_component) == set(run.datasets[0].statuses)
    for ranges in by_component.values():
        assert sum(r["end"] - r["start"] + 1 for r in ranges) == run.lumisections


def test_oms_lumisections(http: httpx.Client, registry: DemoRegistry) -> None:
    run = significant_run(registry)
    body = {"run_number": run.run_number, "dataset_name": "online"}
    per_ls = http.post("/lumisections/oms_lumisections", json=body).json()
    assert len(per_ls) == run.lumisections
    assert [ls["recorded"] for ls in per_ls] == list(run.recorded)
    assert [ls["delivered"] for ls in per_ls] == list(run.delivered)
    assert set(per_ls[0]) == {*OMS_LUMISECTION_BITS, "prescale_index", "prescale_name", "recorded", "delivered"}
    ranges = http.post("/lumisections/oms_lumisection_ranges", json=body).json()
    assert set(ranges[0]) == {*OMS_LUMISECTION_BITS, "prescale_index", "prescale_name", "start", "end"}
    for rng in ranges:
        for ls in range(rng["start"], rng["end"] + 1):
            assert all(per_ls[ls - 1][bit] == rng[bit] for bit in OMS_LUMISECTION_BITS)
    joint = http.post("/lumisections/joint_lumisection_ranges", json=body).json()
    assert joint[-1]["end"] == run.lumisections
    assert sum(s["end"] - s["start"] + 1 for s in joint) == run.lumisections
    assert "dt-dt" in joint[0]
    assert "recorded" in joint[0]


def test_never_significant_run_has_no_rr_lumisections(http: httpx.Client, registry: DemoRegistry) -> None:
    run = next(r for r in registry.runs if not r.rr["significant"])
    body = {"run_number": run.run_number, "dataset_name": "online"}
    assert http.post("/lumisections/rr_lumisections", json=body).json() == []
    assert len(http.post("/lumisections/oms_lumisections", json=body).json()) == run.lumisections


def test_other_reads(http: httpx.Client) -> None:
    online = http.get("/workspaces/online").json()
    assert {"workspace": "dt", "columns": ["dt"]} in online
    assert all(set(w) == {"workspace", "columns"} for w in online)
    offline = {w["workspace"] for w in http.get("/workspaces/offline").json()}
    assert "dc" in offline
    assert http.get("/workspaces/elsewhere").status_code == 500
    cycles = http.get("/cycles/global").json()
    assert cycles
    assert set(cycles[0]) == {"id_cycle", "cycle_name", "deadline", "cycle_attributes", "datasets"}
    accepted = http.get("/datasets_accepted").json()
    assert any(a["name"] == "/PromptReco/Collisions2018A/DQM" for a in accepted)


def test_error_convention(http: httpx.Client) -> None:
    for reply in (
        http.get("/runs/abc"),
        http.post("/runs_filtered_ordered", content=b"{not json"),
        http.post("/runs_filtered_ordered", content=b'{"page": NaN}'),
        http.post("/runs_filtered_ordered", json=[1, 2]),
        http.post("/lumisections/rr_lumisections", json={"run_number": "x"}),
        http.post("/datasets/get_dataset", json={"run_number": 1, "dataset_name": 5}),
    ):
        assert reply.status_code == 500
        assert isinstance(reply.json()["err"], str)


def test_email_header_is_accepted_and_stats_count_routes(server: EmbeddedServer, http: httpx.Client) -> None:
    before = server.stats["requests"].get("/runs/{run_number}", 0)
    assert http.get("/runs/1", headers={"email": "api@api"}).status_code == 200
    assert server.stats["requests"]["/runs/{run_number}"] == before + 1


def test_concurrent_page_fetches_are_consistent(server: EmbeddedServer, registry: DemoRegistry) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def page(number: int) -> list[int]:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            reply = listing(client, "runs", page=number, page_size=10)
            return [r["run_number"] for r in reply.json()["runs"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(page, range(15)))
    assert [n for p in pages for n in p] == sorted((r.run_number for r in registry.runs), reverse=True)


def test_rr_quirks_server_reproduces_quirk_a_over_http(server_pool: ServerPool) -> None:
    quirky = server_pool.shared(runs=10, seed=2, rr_quirks=True)
    body = {
        "page": 0,
        "page_size": 5,
        "sortings": [],
        "filter": {"oms_attributes.fill_number": {"or": [{"=": 8000}, {"=": 8001}]}},
    }
    reply = httpx.post(f"{quirky.url}/runs_filtered_ordered", json=body)
    assert reply.status_code == 500
    assert "text = integer" in reply.json()["err"]
