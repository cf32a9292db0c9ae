"""Writes (§9): every rule, and transactions (a refused write changes nothing: same checksum)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from testkit.servers import ServerPool
from testkit.store import checksum, raw_writing

from backend.server import EmbeddedServer
from backend.store import Store


@pytest.fixture(scope="module")
def srv(server_pool: ServerPool) -> Iterator[EmbeddedServer]:
    with server_pool.fresh(runs=120, seed=11) as server:
        yield server


@pytest.fixture(scope="module")
def api(srv: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        yield client


def runs(api: httpx.Client, flt: dict[str, Any]) -> list[dict[str, Any]]:
    body = {"page": 0, "page_size": 1000, "filter": flt, "sortings": [["run_number", "ASC"]]}
    return list(api.post("/runs_filtered_ordered", json=body).json()["runs"])


def refused(api: httpx.Client, store: Store, method: str, url: str, body: Any, message: str) -> None:
    """The write answers 500 {"err"} mentioning ``message`` and the store is unchanged."""
    before = checksum(store)
    reply = api.request(method, url, json=body)
    assert reply.status_code == 500, reply.text
    assert message in reply.json()["err"]
    assert checksum(store) == before


def open_significant(api: httpx.Client) -> list[dict[str, Any]]:
    return runs(api, {"rr_attributes.state": "OPEN", "rr_attributes.significant": True})


def clean(run: dict[str, Any]) -> bool:
    summary = run["DatasetTripletCache"]["triplet_summary"]
    return all(not c.get("EMPTY") and "NO VALUE FOUND" not in c for c in summary.values())


def test_move_run_checks_the_current_state(api: httpx.Client, srv: EmbeddedServer) -> None:
    run = next(r for r in runs(api, {"rr_attributes.state": "COMPLETED"}))
    refused(api, srv.store, "POST", "/runs/move_run/OPEN/SIGNOFF", {"run_number": run["run_number"]}, "not OPEN")
    refused(api, srv.store, "POST", "/runs/move_run/OPEN/DONE", {"run_number": run["run_number"]}, "unknown state")
    refused(api, srv.store, "POST", "/runs/move_run/OPEN/OPEN", {"run_number": run["run_number"]}, "itself")
    refused(api, srv.store, "POST", "/runs/move_run/OPEN/SIGNOFF", {"run_number": 1}, "does not exist")
    refused(api, srv.store, "POST", "/runs/move_run/OPEN/SIGNOFF", {"run_number": "x"}, "integer")


def test_sign_off_needs_no_empty_lumisections(api: httpx.Client, srv: EmbeddedServer) -> None:
    run = next(r for r in open_significant(api) if clean(r))
    number, n = run["run_number"], run["oms_attributes"]["ls_duration"]
    # punch a hole: edits cannot create EMPTY, so rewrite the stored ranges directly (a test-only shortcut)
    with raw_writing(srv.store) as conn:
        conn.execute(
            "DELETE FROM ls_status WHERE component = 'dt-dt' AND dataset_id = "
            "(SELECT dataset_id FROM dataset WHERE run_number = ? AND name = 'online')",
            (number,),
        )
    refused(api, srv.store, "POST", "/runs/move_run/OPEN/SIGNOFF", {"run_number": number}, "dt-dt")
    edit = {
        "run_number": number,
        "dataset_name": "online",
        "component": "dt-dt",
        "new_lumisection_range": {"start": 1, "end": n, "status": "GOOD", "comment": "", "cause": ""},
    }
    assert api.put("/lumisections/edit_rr_lumisections", json=edit).status_code == 200
    reply = api.post("/runs/move_run/OPEN/SIGNOFF", json={"run_number": number})
    assert reply.status_code == 200, reply.text
    moved = reply.json()
    assert moved["rr_attributes"]["state"] == "SIGNOFF"
    assert moved["version"] == run["version"] + 1
    names = api.get(f"/get_all_dataset_names_of_run/{number}").json()
    prompt = [x for x in names if x.startswith("/PromptReco/")]
    assert prompt
    dataset = api.post("/datasets/get_dataset", json={"run_number": number, "dataset_name": prompt[0]}).json()
    assert dataset["dataset_attributes"]["global_state"] in ("waiting dqm gui", "OPEN", "SIGNOFF", "COMPLETED")
    # and back: SIGNOFF → OPEN is allowed
    assert api.post("/runs/move_run/SIGNOFF/OPEN", json={"run_number": number}).status_code == 200


def test_sign_off_creates_waiting_dataset(api: httpx.Client, srv: EmbeddedServer) -> None:
    candidates = [r for r in open_significant(api) if clean(r)]
    run = next(
        (r for r in candidates if len(api.get(f"/get_all_dataset_names_of_run/{r['run_number']}").json()) == 1), None
    )
    if run is None:  # every clean OPEN run already has an offline dataset: drop one to test the creation
        run = candidates[0]
        with raw_writing(srv.store) as conn:
            ids = [
                i
                for (i,) in conn.execute(
                    "SELECT dataset_id FROM dataset WHERE run_number = ? AND name != 'online'", (run["run_number"],)
                )
            ]
            for dataset_id in ids:
                conn.execute("DELETE FROM ls_status WHERE dataset_id = ?", (dataset_id,))
                conn.execute("DELETE FROM dataset WHERE dataset_id = ?", (dataset_id,))
    number = run["run_number"]
    assert api.post("/runs/move_run/OPEN/SIGNOFF", json={"run_number": number}).status_code == 200
    names = api.get(f"/get_all_dataset_names_of_run/{number}").json()
    assert len(names) == 2
    created = api.post("/datasets/get_dataset", json={"run_number": number, "dataset_name": names[1]}).json()
    assert created["dataset_attributes"]["global_state"] == "waiting dqm gui"
    assert created["DatasetTripletCache"]["triplet_summary"] == {}


def test_mark_significant(api: httpx.Client, srv: EmbeddedServer) -> None:
    run = runs(api, {"rr_attributes.significant": False, "rr_attributes.state": "OPEN"})[0]
    number = run["run_number"]
    assert run["DatasetTripletCache"]["triplet_summary"] == {}
    reply = api.post("/runs/mark_significant", json={"run_number": number})
    assert reply.status_code == 200, reply.text
    summary = reply.json()["DatasetTripletCache"]["triplet_summary"]
    assert summary["dt-dt"]["NOTSET"] == run["oms_attributes"]["ls_duration"]
    assert reply.json()["rr_attributes"]["significant"] is True
    refused(api, srv.store, "POST", "/runs/mark_significant", {"run_number": number}, "already significant")
    closed = runs(api, {"rr_attributes.state": "COMPLETED"})[0]
    refused(api, srv.store, "POST", "/runs/mark_significant", {"run_number": closed["run_number"]}, "only OPEN")


def test_edit_lumisections_rules(api: httpx.Client, srv: EmbeddedServer) -> None:
    run = open_significant(api)[0]
    number, n = run["run_number"], run["oms_attributes"]["ls_duration"]

    def edit(**range_: Any) -> dict[str, Any]:
        spec = {"start": 1, "end": 2, "status": "BAD", "comment": "HV trip", "cause": "Hardware"} | range_
        return {"run_number": number, "dataset_name": "online", "component": "csc-csc", "new_lumisection_range": spec}

    url = "/lumisections/edit_rr_lumisections"
    refused(api, srv.store, "PUT", url, edit(comment=""), "comment of at least 3")
    refused(api, srv.store, "PUT", url, edit(comment=" x "), "comment of at least 3")
    refused(api, srv.store, "PUT", url, edit(status="SUPERB"), "invalid status")
    refused(api, srv.store, "PUT", url, edit(start=0), "invalid range")
    refused(api, srv.store, "PUT", url, edit(end=n + 1), "invalid range")
    refused(api, srv.store, "PUT", url, edit(start=3, end=2), "invalid range")
    refused(api, srv.store, "PUT", url, {**edit(), "component": "xx-yy"}, "unknown component")
    refused(api, srv.store, "PUT", url, {**edit(), "run_number": 2**80}, "run_number must be a 64-bit integer")
    refused(api, srv.store, "PUT", url, edit(end=2**63), "end must be a 64-bit integer")
    refused(api, srv.store, "PUT", url, {**edit(), "dataset_name": "/nope/DQM"}, "does not exist")
    closed = runs(api, {"rr_attributes.state": "COMPLETED"})[0]
    refused(api, srv.store, "PUT", url, {**edit(), "run_number": closed["run_number"]}, "only OPEN")

    reply = api.put(url, json=edit(start=2, end=3))
    assert reply.status_code == 200, reply.text
    event = reply.json()  # the stored lumisection event row, as the service answers
    assert set(event) == {"version", "run_number", "name", "lumisection_metadata_id", "manual_change"}
    assert (event["run_number"], event["name"], event["manual_change"]) == (number, "online", True)
    by_component = {"run_number": number, "dataset_name": "online"}
    ranges = api.post("/lumisections/rr_lumisection_ranges_by_component", json=by_component).json()["csc-csc"]
    assert {"status": "BAD", "comment": "HV trip", "cause": "Hardware", "start": 2, "end": 3} in ranges
    assert sum(r["end"] - r["start"] + 1 for r in ranges) == n
    summary = api.get(f"/runs/{number}").json()["DatasetTripletCache"]["triplet_summary"]["csc-csc"]
    assert summary["BAD"] >= 2
    assert "HV trip" in summary["comments"]
    per_ls = api.post("/lumisections/rr_lumisections", json={"run_number": number, "dataset_name": "online"}).json()
    assert [per_ls[i]["csc-csc"]["status"] for i in (1, 2)] == ["BAD", "BAD"]


def test_change_class(api: httpx.Client, srv: EmbeddedServer) -> None:
    run = open_significant(api)[0]
    number = run["run_number"]
    refused(api, srv.store, "PUT", f"/manual_run_edit/{number}/class", {"class": ""}, "invalid class")
    refused(
        api, srv.store, "PUT", f"/manual_run_edit/{number}/class", {"class": "a'; DROP TABLE run;--"}, "invalid class"
    )
    refused(api, srv.store, "PUT", f"/manual_run_edit/{number}/class", {}, "class must be a string")
    reply = api.put(f"/manual_run_edit/{number}/class", json={"class": "Commissioning18"})
    assert reply.json()["rr_attributes"]["class"] == "Commissioning18"


def test_refresh_and_reset(api: httpx.Client, srv: EmbeddedServer) -> None:
    run = open_significant(api)[0]
    number = run["run_number"]
    refreshed = api.post(f"/runs/refresh_run/{number}").json()
    assert refreshed["version"] > run["version"]
    reset = api.post(f"/runs/reset_and_refresh_run/{number}").json()
    assert reset["rr_attributes"]["stop_reason"] is None
    closed = runs(api, {"rr_attributes.state": "COMPLETED"})[0]
    refused(api, srv.store, "POST", f"/runs/reset_and_refresh_run/{closed['run_number']}", None, "only OPEN")
    refused(api, srv.store, "POST", "/runs/refresh_run/1", None, "does not exist")


def test_move_dataset(api: httpx.Client, srv: EmbeddedServer) -> None:
    body = {
        "page": 0,
        "page_size": 500,
        "filter": {"dataset_attributes.global_state": "OPEN", "name": {"like": "/PromptReco/%"}},
        "sortings": [],
    }
    datasets = api.post("/datasets_filtered_ordered", json=body).json()["datasets"]
    dataset = next(d for d in datasets if d["DatasetTripletCache"]["triplet_summary"])
    key = {"run_number": dataset["run_number"], "dataset_name": dataset["name"]}
    refused(
        api,
        srv.store,
        "POST",
        "/datasets/global/move_dataset/SIGNOFF/COMPLETED",
        key | {"workspace": "global"},
        "is OPEN",
    )
    refused(api, srv.store, "POST", "/datasets/nowhere/move_dataset/OPEN/SIGNOFF", key, "unknown workspace")
    refused(api, srv.store, "POST", "/datasets/global/move_dataset/OPEN/waiting dqm gui", key, "cannot be moved back")
    refused(api, srv.store, "POST", "/datasets/csc/move_dataset/OPEN/SIGNOFF", key | {"workspace": "dt"}, "differs")
    refused(
        api,
        srv.store,
        "POST",
        "/datasets/global/move_dataset/OPEN/SIGNOFF",
        {"run_number": dataset["run_number"], "dataset_name": "online"},
        "moves with its run",
    )
    reply = api.post("/datasets/csc/move_dataset/OPEN/SIGNOFF", json=key | {"workspace": "csc"})
    assert reply.status_code == 200, reply.text
    attributes = reply.json()["dataset_attributes"]
    assert (attributes["csc_state"], attributes["global_state"]) == ("SIGNOFF", "OPEN")


def test_writes_are_transactional(srv: EmbeddedServer) -> None:
    before = checksum(srv.store)

    def half_done_write() -> None:
        with raw_writing(srv.store) as conn:
            conn.execute("UPDATE run SET version = version + 100")
            raise RuntimeError("fails half-way")

    with pytest.raises(RuntimeError):
        half_done_write()
    assert checksum(srv.store) == before
