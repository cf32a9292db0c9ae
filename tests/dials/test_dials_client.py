"""runql's DIALS client against the stand-in: the same rows as the public ``cmsdials`` client, unions,
``max_pages``/``resume_from``, resumable failures, retries, the async twin, histograms as arrays, DataFrames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import numpy as np
import pytest
from dials_helpers import fetch_all, public_filters

from client.dials import AsyncDials, Dials, SecretKey
from client.errors import PartialResultError, ServiceError


@pytest.fixture(scope="module")
def dials(dials_url: str) -> Iterator[Dials]:
    with Dials(SecretKey("any"), target=dials_url) as client:
        yield client


def _dump(rows: Any) -> list[dict[str, Any]]:
    return [row.model_dump(mode="json") for row in rows]


@pytest.mark.parametrize(
    ("resource", "ours", "public_attr", "their_filters"),
    [
        ("dataset-index", {"dataset": {"like": "%zerobias%"}}, "dataset_index", {"dataset__regex": "ZeroBias"}),
        ("file-index", {"status": "FINISHED"}, "file_index", {"status": "FINISHED"}),
        ("run", {"run_number": {">=": 1}}, "run", {"run_number__gte": 1}),
        ("lumisection", {"ls_number": {"<=": 2}}, "lumi", {"ls_number__lte": 2}),
        ("th1", {"ls_number": 1, "me": {"like": "%PXLayer_3"}}, "h1d", {"ls_number": 1, "me__regex": "PXLayer_3$"}),
        ("th2", {"ls_number": 2, "entries": {">=": 900}}, "h2d", {"ls_number": 2, "entries__gte": 900}),
        ("mes", {"dim": 1}, "mes", {"dim": 1}),
        ("ml-models-index", {"active": True}, "ml_models_index", {"active": True}),
        ("ml-bad-lumisection", {"model_id": [1]}, "ml_bad_lumis", {"model_id__in": [1]}),
    ],
)
def test_same_rows_as_the_public_client(
    dials: Dials, public_dials: Any, resource: str, ours: Any, public_attr: str, their_filters: Any
) -> None:
    client = getattr(public_dials, public_attr)
    if public_attr == "mes":
        theirs = client.list(public_filters(public_attr)(**their_filters))
    else:
        theirs = client.list_all(public_filters(public_attr)(**their_filters, page_size=500)).results
    got = dials.list(resource, ours)
    assert got
    assert _dump(got) == [row.model_dump(mode="json") for row in theirs]


def test_the_public_clients_typo_does_not_hurt_runql(dials: Dials, public_dials: Any) -> None:
    """cmsdials sends ls_numbet__lte (ignored); runql's upper bound reaches the service."""
    from cmsdials.filters import LumisectionHistogram1DFilters

    theirs = public_dials.h1d.list(LumisectionHistogram1DFilters(ls_numbet__lte=1, me_id=1, page_size=50)).results
    ours = dials.h1d({"ls_number": {"<=": 1}, "me_id": 1})
    assert {h.ls_number for h in ours} == {1}
    assert {h.ls_number for h in theirs} != {1}


def test_or_is_a_union_fetched_as_branches(dials: Dials, http: httpx.Client) -> None:
    runs = fetch_all(http, "run/")
    picked = sorted({r["run_number"] for r in runs})[:3]
    got = dials.runs({"or": [{"run_number": picked[0]}, {"run_number": picked[2]}, {"run_number": picked[0]}]})
    expected = [r for r in runs if r["run_number"] in (picked[0], picked[2])]
    assert _dump(got) == sorted(expected, key=lambda r: (r["dataset_id"], r["run_number"]))


def test_not_and_notlike_are_checked_on_rows(dials: Dials, http: httpx.Client) -> None:
    everything = fetch_all(http, "mes/")
    got = dials.mes({"not": {"me": {"like": "%pixel%"}}, "dim": {"<>": 2}})
    assert _dump(got) == [m for m in everything if "pixel" not in m["me"].lower() and m["dim"] != 2]


def test_max_pages_then_resume_from_completes_the_listing(dials_url: str, http: httpx.Client) -> None:
    with Dials(SecretKey("any"), target=dials_url, page_size=25) as small:
        first = small.lumisections({"ls_number": {"<=": 40}}, max_pages=2)
        assert len(first) == 50
        assert not first.complete
        rest = small.lumisections({"ls_number": {"<=": 40}}, resume_from=first.resume_from)
    assert rest.complete
    assert _dump(rest) == fetch_all(http, "lumisection/", {"ls_number__lte": 40})


class _FailOnce(httpx.BaseTransport):
    """Passes requests to the real server, but answers the ``fail_at``-th one with an HTML 500."""

    def __init__(self, fail_at: int, status: int = 500, times: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.count, self.fail_at, self.status, self.times = 0, fail_at, status, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.fail_at <= self.count < self.fail_at + self.times:
            return httpx.Response(self.status, text="<h1>Server Error</h1>")
        return self.inner.handle_request(request)


def test_a_failed_page_raises_a_resumable_partial_result(dials_url: str, http: httpx.Client) -> None:
    with Dials(SecretKey("any"), target=dials_url, page_size=20, transport=_FailOnce(3)) as flaky:
        with pytest.raises(PartialResultError) as caught:
            flaky.lumisections({"ls_number": {"<=": 30}})
        assert len(caught.value.rows) == 40
        done = flaky.lumisections({"ls_number": {"<=": 30}}, resume_from=caught.value.resume_from)
    assert _dump(done) == fetch_all(http, "lumisection/", {"ls_number__lte": 30})


def test_gateway_errors_are_retried_on_any_target(dials_url: str) -> None:
    sleeps: list[float] = []
    transport = _FailOnce(1, status=503, times=2)
    with Dials(SecretKey("any"), target=dials_url, transport=transport, sleep=sleeps.append) as retrying:
        assert retrying.ml_models()
    assert len(sleeps) == 2


def test_histograms_are_arrays_with_their_binning(dials: Dials) -> None:
    (h1,) = dials.h1d({"ls_number": 1, "me_id": 1, "run_number": {">": 0}}, max_pages=1)[:1]
    assert isinstance(h1.values, np.ndarray)
    assert h1.values.shape == (h1.x_bin,)
    assert h1.x_edges[0] == h1.x_min
    assert h1.x_edges[-1] == h1.x_max
    h2 = dials.h2d({"ls_number": 1}, max_pages=1)[0]
    assert h2.values.shape == (h2.y_bin, h2.x_bin)
    assert len(h2.y_edges) == h2.y_bin + 1
    frame = dials.h2d({"ls_number": 1, "me_id": h2.me_id, "run_number": h2.run_number}).to_pandas(long=True)
    first = frame[frame["dataset_id"] == h2.dataset_id]
    assert first["value"].to_numpy().reshape(h2.y_bin, h2.x_bin).tolist() == h2.data
    wide = dials.h1d({"ls_number": 1, "me_id": 1}).to_pandas()
    assert wide["data"].map(len).eq(wide["x_bin"]).all()


def test_get_by_composite_keys_and_a_clear_404(dials: Dials, http: httpx.Client) -> None:
    row = http.get("th1/", params={"page_size": 1}).json()["results"][0]
    key = (row["dataset_id"], row["run_number"], row["ls_number"], row["me_id"])
    assert dials.get("th1", *key).model_dump(mode="json") == row
    with pytest.raises(ServiceError, match="404"):
        dials.get("run", 1, 2)
    with pytest.raises(ValueError, match="identified by 4 integers"):
        dials.get("th1", 1, 2)


def test_golden_json_is_a_lumimask_matching_the_public_client(
    dials: Dials, public_dials: Any, http: httpx.Client
) -> None:
    bad = http.get("ml-bad-lumisection/", params={"page_size": 1}).json()["results"][0]
    args = ([1, 2], [bad["dataset_id"]], [bad["run_number"]])
    mask = dials.golden_json(*args)
    assert mask.to_dict() == public_dials.ml_bad_lumis.golden_json(*args)
    assert (bad["run_number"], bad["ls_number"]) not in mask
    assert dials.cert_json(*args) == public_dials.ml_bad_lumis.cert_json(*args)


def test_async_client_gives_the_same_rows(dials_url: str, dials: Dials) -> None:
    async def main() -> tuple[list[Any], Any]:
        async with AsyncDials(SecretKey("any"), target=dials_url) as client:
            runs = await client.runs({"or": [{"dataset": {"like": "%Express%"}}, {"run_number": {"<": 0}}]})
            return list(runs), await client.get("run", runs[0].dataset_id, runs[0].run_number)

    runs, first = anyio.run(main)
    assert _dump(runs) == _dump(dials.runs({"dataset": {"like": "%express%"}}))
    assert first == runs[0]


def test_workspace_is_chosen_per_client(dials_url: str, dials: Dials) -> None:
    with Dials(SecretKey("any"), target=dials_url, workspace="ecal") as ecal:
        assert {m.me for m in ecal.mes()}.isdisjoint(m.me for m in dials.mes())


class _Recording(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return self.inner.handle_request(request)


def test_union_branches_advance_together_page_by_page(dials_url: str) -> None:
    """Each round sends the next page of every branch (concurrently), not one branch after the other."""
    recording = _Recording()
    with Dials(SecretKey("any"), target=dials_url, page_size=5, transport=recording) as dials:
        rows = dials.lumisections({"or": [{"ls_number": 1}, {"ls_number": 2}]}, max_pages=2)
    assert len(rows) == 20
    first_round, second_round = recording.urls[:2], recording.urls[2:]
    assert all("next_token" not in url for url in first_round)
    assert len(second_round) == 2
    assert all("next_token" in url for url in second_round)
