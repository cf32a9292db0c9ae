"""Every read of the API, sync and async, against the embedded backend over real loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.server import EmbeddedServer
from client import AsyncRunRegistry, RunRegistry, ServiceError
from client.calls import LUMISECTION_ENDPOINTS
from querylang import QuirkWarning
from schemas import (
    ComponentRange,
    Dataset,
    JointLumisectionRange,
    OmsLumisection,
    OmsLumisectionRange,
    RRLumisectionRange,
    Run,
)


@pytest.fixture(scope="module")
def rr(server: EmbeddedServer) -> Iterator[RunRegistry]:
    """A client of the registry over real loopback HTTP (the other client tests use it in-process)."""
    with RunRegistry(server.url, page_size=40, env_file=False) as client:
        yield client


def _raw(server: EmbeddedServer, path: str, body: Any = None) -> Any:
    headers = {"email": "api@api"}
    if body is None:
        return httpx.get(server.url + path, headers=headers).json()
    return httpx.post(server.url + path, json=body, headers=headers).json()


def _everything(server: EmbeddedServer, kind: str, backend_filter: dict[str, Any] | None = None) -> list[Any]:
    body = {"page": 0, "page_size": 100_000, "filter": backend_filter or {}, "sortings": []}
    return _raw(server, f"/{kind}_filtered_ordered", body)[kind]


def test_get_runs_returns_every_run_in_the_services_order(rr: RunRegistry, server: EmbeddedServer) -> None:
    runs = rr.get_runs()
    expected = _everything(server, "runs")
    assert [r.run_number for r in runs] == [r["run_number"] for r in expected]
    assert runs.total == len(expected) == 500
    assert all(isinstance(r, Run) for r in runs)
    assert rr.get_runs(compress_attributes=False) == expected


def test_filters_are_compiled_and_mean_what_they_say(rr: RunRegistry, server: EmbeddedServer) -> None:
    runs = rr.get_runs(filter={"class": "Cosmics18", "dt-dt": "GOOD"})
    assert runs
    assert all(r.rr_attributes.class_ == "Cosmics18" and r.status_count("dt-dt", "GOOD") > 0 for r in runs)
    expected = _everything(
        server, "runs", {"rr_attributes.class": {"=": "Cosmics18"}, "triplet_summary.dt-dt.GOOD": {">": 0}}
    )
    assert [r.run_number for r in runs] == [r["run_number"] for r in expected]


def test_or_across_tables_is_a_correct_union(rr: RunRegistry, server: EmbeddedServer) -> None:
    runs = rr.get_runs(filter={"or": [{"class": "Cosmics18"}, {"lumi-lumi": "BAD"}]})
    every = _everything(server, "runs")
    expected = [
        r["run_number"]
        for r in every
        if r["rr_attributes"]["class"] == "Cosmics18"
        or r["DatasetTripletCache"]["triplet_summary"].get("lumi-lumi", {}).get("BAD", 0) > 0
    ]
    assert [r.run_number for r in runs] == expected


def test_raw_filters_and_sortings_are_sent_as_written(rr: RunRegistry, server: EmbeddedServer) -> None:
    raw = {"oms_attributes.b_field": {"<": 1}}
    runs = rr.get_runs(filter=raw, ignore_filter_transformation=True, sortings=[["run_number", "ASC"]])
    expected = sorted(r["run_number"] for r in _everything(server, "runs", raw))
    assert [r.run_number for r in runs] == expected


def test_get_datasets_and_dict_shapes(rr: RunRegistry, server: EmbeddedServer) -> None:
    datasets = rr.get_datasets(filter={"dataset_name": {"like": "%PromptReco%"}})
    expected = _everything(server, "datasets", {"name": {"like": "%PromptReco%"}})
    assert [d.key for d in datasets] == [(d["run_number"], d["name"]) for d in expected]
    assert all(isinstance(d, Dataset) for d in datasets)
    compressed = rr.get_datasets(filter={"dataset_name": {"like": "%PromptReco%"}}, compress_attributes=True, limit=3)
    first = expected[0]
    assert compressed[0]["oms_attributes"] == first["Run"]["oms_attributes"]  # kept, unlike the public client
    assert compressed[0]["class"] == first["Run"]["rr_attributes"]["class"]
    assert compressed[0]["lumisections"] == first["DatasetTripletCache"]["triplet_summary"]


def test_single_records(rr: RunRegistry, server: EmbeddedServer) -> None:
    number = _everything(server, "runs")[3]["run_number"]
    run = rr.get_run(number)
    assert run is not None
    assert run.run_number == number
    assert rr.get_run(1) is None
    assert rr.get_run(1, compress_attributes=True) == {}
    names = rr.get_dataset_names_of_run(number)
    assert "online" in names
    assert names == _raw(server, f"/get_all_dataset_names_of_run/{number}")
    for name in names:
        dataset = rr.get_dataset(number, name)
        assert dataset is not None
        assert dataset.key == (number, name)
    assert rr.get_dataset(number, "/No/Such/DQM") is None


def test_lumisection_endpoints_give_the_services_data_typed(rr: RunRegistry, server: EmbeddedServer) -> None:
    number = _everything(server, "runs", {"rr_attributes.significant": {"=": True}})[0]["run_number"]
    body = {"run_number": number, "dataset_name": "online"}
    per_ls = rr.get_lumisections(number)
    raw = _raw(server, "/lumisections/rr_lumisections", body)
    assert len(per_ls) == len(raw) > 0
    assert {k: v.status for k, v in per_ls[0].items()} == {k: v["status"] for k, v in raw[0].items()}
    oms = rr.get_oms_lumisections(number)
    assert all(isinstance(x, OmsLumisection) for x in oms)
    assert len(oms) == len(raw)
    ranges = rr.get_lumisection_ranges(number)
    assert all(isinstance(r, RRLumisectionRange) for r in ranges)
    assert [r.to_wire() for r in ranges] == _raw(server, "/lumisections/rr_lumisection_ranges", body)
    assert sum(len(r) for r in ranges) == len(per_ls)
    by_component = rr.get_lumisection_ranges_by_component(number)
    assert all(isinstance(r, ComponentRange) for ranges_ in by_component.values() for r in ranges_)
    assert set(by_component) == set(raw[0])
    oms_ranges = rr.get_oms_lumisection_ranges(number)
    assert all(isinstance(r, OmsLumisectionRange) for r in oms_ranges)
    assert oms_ranges[0].start == 1
    joint = rr.get_joint_lumisection_ranges(number)
    assert all(isinstance(r, JointLumisectionRange) for r in joint)
    assert joint[-1].end == len(per_ls)
    assert rr.get_joint_lumisection_ranges(number, output="dicts") == _raw(
        server, "/lumisections/joint_lumisection_ranges", body
    )
    assert rr.get_lumisections(1) == []
    assert rr.get_lumisection_ranges_by_component(1) == {}


@pytest.mark.parametrize("route", LUMISECTION_ENDPOINTS)
def test_get_lumisection_json_is_the_reply_as_sent(rr: RunRegistry, server: EmbeddedServer, route: str) -> None:
    number = rr.get_runs(filter={"significant": True}, limit=1)[0].run_number
    for run, dataset in ((number, "online"), (1, "online"), (number, "/No/Such/DATASET")):
        expected = _raw(server, f"/lumisections/{route}", {"run_number": run, "dataset_name": dataset})
        answer = rr.get_lumisection_json(route, run, dataset)  # type: ignore[arg-type]
        assert answer == expected
        assert type(answer) is type(expected)
    assert rr.get_lumisection_json(route, number)  # type: ignore[arg-type]


def test_get_lumisection_json_refuses_an_unknown_route(rr: RunRegistry) -> None:
    with pytest.raises(ValueError, match="unknown lumisection endpoint 'lumisections'"):
        rr.get_lumisection_json("lumisections", 1)  # type: ignore[arg-type]


def test_cycles_and_accepted_datasets(rr: RunRegistry, server: EmbeddedServer) -> None:
    assert rr.get_cycles() == _raw(server, "/cycles/global")
    assert rr.get_datasets_accepted() == _raw(server, "/datasets_accepted")


def test_the_services_err_answer_becomes_a_service_error(rr: RunRegistry) -> None:
    with pytest.raises(ServiceError) as caught, pytest.warns(QuirkWarning):
        rr.get_runs(filter={"no_such_column": {"=": 1}}, ignore_filter_transformation=True)
    assert caught.value.status == 500
    assert caught.value.message


def test_eight_threads_share_one_client(rr: RunRegistry, server: EmbeddedServer) -> None:
    filters = [{"class": "Cosmics18"}, {"class": "Collisions18"}, {"dt-dt": "BAD"}, {"significant": False}] * 2
    expected = [[r.run_number for r in rr.get_runs(filter=f)] for f in filters]
    results: list[list[int] | BaseException] = [[] for _ in filters]

    def work(index: int) -> None:
        try:
            for _ in range(3):
                results[index] = [r.run_number for r in rr.get_runs(filter=filters[index], page_size=7)]
                assert results[index] == expected[index]
        except BaseException as exc:  # reported below, in the test's thread
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(filters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


@pytest.mark.anyio
async def test_async_client_matches_the_sync_one(rr: RunRegistry, server: EmbeddedServer) -> None:
    number = rr.get_runs(filter={"significant": True}, limit=1)[0].run_number
    async with AsyncRunRegistry(server.url, page_size=30, env_file=False) as arr:
        runs = await arr.get_runs(filter={"class": "Collisions18"})
        assert [r.run_number for r in runs] == [r.run_number for r in rr.get_runs(filter={"class": "Collisions18"})]
        assert await arr.get_runs(limit=5, compress_attributes=True) == rr.get_runs(limit=5, compress_attributes=True)
        datasets = await arr.get_datasets(filter={"run_number": number})
        assert [d.key for d in datasets] == [d.key for d in rr.get_datasets(filter={"run_number": number})]
        assert await arr.get_run(number) == rr.get_run(number)
        assert await arr.get_dataset(number) == rr.get_dataset(number)
        assert await arr.get_dataset_names_of_run(number) == rr.get_dataset_names_of_run(number)
        assert await arr.get_lumisections(number) == rr.get_lumisections(number)
        assert await arr.get_oms_lumisections(number) == rr.get_oms_lumisections(number)
        assert await arr.get_lumisection_ranges(number) == rr.get_lumisection_ranges(number)
        assert await arr.get_lumisection_ranges_by_component(number) == rr.get_lumisection_ranges_by_component(number)
        assert await arr.get_oms_lumisection_ranges(number) == rr.get_oms_lumisection_ranges(number)
        assert await arr.get_joint_lumisection_ranges(number) == rr.get_joint_lumisection_ranges(number)
        assert await arr.get_lumisection_json("rr_lumisections", 1) == rr.get_lumisection_json("rr_lumisections", 1)
        assert await arr.get_cycles() == rr.get_cycles()
        assert await arr.get_datasets_accepted() == rr.get_datasets_accepted()
        frame = await arr.get_runs(output="dataframe", limit=10)
        assert list(frame["run_number"]) == [r.run_number for r in rr.get_runs(limit=10)]
