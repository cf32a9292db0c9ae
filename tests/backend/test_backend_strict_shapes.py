"""The embedded service as strict as the real one (``rr-protocol.md`` §10): summary shapes, JavaScript numbers,
listing arguments, and the tie order across pages with and without ``rr_quirks``."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from backend_reference import SEED, SMALL_RUNS
from testkit.servers import ServerPool


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(path, json=body)


def _page(http: httpx.Client, kind: str, **body: Any) -> httpx.Response:
    return _post(http, f"/{kind}_filtered_ordered", {"page": 0, "page_size": 50, "filter": {}, "sortings": []} | body)


def _all_pages(http: httpx.Client, kind: str, sortings: list[list[str]], size: int) -> tuple[int, list[Any]]:
    count = _page(http, kind, page_size=size, sortings=sortings).json()["count"]
    rows = []
    for page in range(math.ceil(count / size)):
        rows += _page(http, kind, page=page, page_size=size, sortings=sortings).json()[kind]
    return count, rows


@pytest.fixture(scope="module")
def lax_http(server_pool: ServerPool) -> Iterator[httpx.Client]:
    srv = server_pool.shared(runs=SMALL_RUNS, seed=SEED, rr_quirks=True)
    with httpx.Client(base_url=srv.url) as client:
        yield client


def test_triplet_summaries_always_carry_empty(http: httpx.Client) -> None:
    runs = _page(http, "runs", page_size=500).json()["runs"]
    summaries = [s for r in runs for s in r["DatasetTripletCache"]["triplet_summary"].values()]
    assert summaries
    assert all(isinstance(s["EMPTY"], int) for s in summaries)
    assert any(s["EMPTY"] == 0 for s in summaries)
    assert all(list(s)[:3] == ["EMPTY", "comments", "causes"] for s in summaries)


def test_dcs_summary_is_empty_for_a_dataset_without_rr_lumisections(http: httpx.Client) -> None:
    datasets = _page(http, "datasets", page_size=5000).json()["datasets"]
    bare = [d for d in datasets if not d["DatasetTripletCache"]["triplet_summary"]]
    full = [d for d in datasets if d["DatasetTripletCache"]["triplet_summary"]]
    assert bare
    assert full
    assert all(d["DatasetTripletCache"]["dcs_summary"] == {} for d in bare)
    assert all("ls_duration" in d["DatasetTripletCache"]["dcs_summary"] for d in full)


def test_integral_floats_are_written_as_javascript_does(http: httpx.Client) -> None:
    text = _page(http, "runs", page_size=500).text
    assert not any(token.endswith(".0") for token in text.replace(",", " ").replace("}", " ").split())
    zeros = [r for r in json.loads(text)["runs"] if r["oms_attributes"].get("recorded_lumi") == 0]
    assert zeros
    assert all(type(r["oms_attributes"]["recorded_lumi"]) is int for r in zeros)


def test_page_size_zero_answers_pages_null(http: httpx.Client) -> None:
    for kind in ("runs", "datasets"):
        reply = _page(http, kind, page_size=0)
        assert reply.status_code == 200
        body = reply.json()
        assert body[kind] == []
        assert body["pages"] is None
        assert body["count"] > 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"page": -1}, "OFFSET must not be negative"),
        ({"page_size": -5}, "LIMIT must not be negative"),
        ({"page": "abc"}, 'invalid input syntax for type bigint: "abc"'),
        ({"sortings": [["run_number", "UP"]]}, "ASC or DESC"),
    ],
)
def test_bad_listing_arguments_answer_database_like_errors(http: httpx.Client, body: Any, message: str) -> None:
    reply = _page(http, "runs", **body)
    assert reply.status_code == 500
    assert message in reply.json()["err"]


def test_the_default_service_pages_ties_stably(http: httpx.Client) -> None:
    count, rows = _all_pages(http, "runs", [["rr_attributes.class", "DESC"]], 7)
    assert len({r["run_number"] for r in rows}) == count


@pytest.mark.parametrize("kind", ["runs", "datasets"])
def test_rr_quirks_pages_ties_unstably_and_deterministically(lax_http: httpx.Client, kind: str) -> None:
    sortings = [["rr_attributes.class", "DESC"]]
    count, rows = _all_pages(lax_http, kind, sortings, 7)
    keys = [(r["run_number"], r.get("name")) for r in rows]
    assert len(keys) == count
    assert len(set(keys)) < count  # rows repeat, others go missing
    classes = [(r.get("Run") or r)["rr_attributes"]["class"] for r in rows]
    assert classes == sorted(classes, reverse=True)  # still ordered by the requested key
    assert _all_pages(lax_http, kind, sortings, 7)[1] == rows  # the same query, the same pages
    unique = (
        [*sortings, ["run_number", "DESC"], ["name", "ASC"]]
        if kind == "datasets"
        else [*sortings, ["run_number", "DESC"]]
    )
    count, rows = _all_pages(lax_http, kind, unique, 7)
    assert len({(r["run_number"], r.get("name")) for r in rows}) == count


def test_rr_lumisection_ranges_by_component_of_an_unknown_run_is_an_empty_object(http: httpx.Client) -> None:
    reply = _post(http, "/lumisections/rr_lumisection_ranges_by_component", {"run_number": 1, "dataset_name": "online"})
    assert reply.json() == {}


def test_oms_ranges_carry_the_prescale(http: httpx.Client) -> None:
    run = _page(http, "runs", page_size=1).json()["runs"][0]["run_number"]
    ranges = _post(http, "/lumisections/oms_lumisection_ranges", {"run_number": run, "dataset_name": "online"}).json()
    assert ranges
    assert all({"prescale_index", "prescale_name"} <= set(r) for r in ranges)
    assert all("recorded" not in r for r in ranges)


def test_lax_edits_reach_past_the_run_but_not_without_bound(lax_http: httpx.Client) -> None:
    flt = {"rr_attributes.state": "OPEN", "rr_attributes.significant": True}
    run = _page(lax_http, "runs", filter=flt, page_size=1).json()["runs"][0]["run_number"]
    body = {"run_number": run, "dataset_name": "online", "component": "dt-dt"}
    spec = {"start": 1, "end": 100_001, "status": "GOOD", "comment": "", "cause": ""}
    reply = lax_http.put("/lumisections/edit_rr_lumisections", json={**body, "new_lumisection_range": spec})
    assert reply.status_code == 500
    assert "invalid range" in reply.json()["err"]
