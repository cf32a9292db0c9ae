"""The DIALS stand-in against the public ``cmsdials`` 2.4.1 client and raw HTTP: routes, shapes, pagination,
filters on every resource, composite-key details, cert/golden JSON and the documented error bodies."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest
import requests
from dials_helpers import fetch_all, public_filters

from backend.dials import DialsUniverse
from backend.server import EmbeddedServer


@pytest.fixture(scope="module")
def runs(http: httpx.Client) -> list[dict[str, Any]]:
    return fetch_all(http, "run/")


def test_datasets_follow_the_registry_eras(server: EmbeddedServer, http: httpx.Client) -> None:
    registry = server.store.registry_runs()
    era_of_run = {}
    for number, _, names in registry:
        found = [m for name in names if (m := re.search(r"(20\d\d)([A-Z]?)", name))]
        if found:
            era_of_run[number] = f"Run{found[0].group(1)}{found[0].group(2)}"
    datasets = fetch_all(http, "dataset-index/")
    assert {d["era"] for d in datasets} == set(era_of_run.values())
    assert all(d["dataset"].endswith("-v1/DQMIO") and f"/{d['era']}-" in d["dataset"] for d in datasets)
    by_id = {d["dataset_id"]: d for d in datasets}
    runs = fetch_all(http, "run/")
    assert {r["run_number"] for r in runs} == set(era_of_run)
    assert all(by_id[r["dataset_id"]]["era"] == era_of_run[r["run_number"]] for r in runs)


def test_lumisections_are_the_registry_runs_lumisections_minus_a_few(server: EmbeddedServer, runs: list[Any]) -> None:
    counts = {number: count for number, count, _ in server.store.registry_runs()}
    for run in runs:
        assert run["ls_count"] <= counts[run["run_number"]]
        assert run["ls_count"] >= counts[run["run_number"]] * 0.98


def test_public_client_lists_every_resource(public_dials: Any) -> None:
    from cmsdials import filters as f

    assert public_dials.dataset_index.list(f.DatasetIndexFilters()).results
    assert public_dials.file_index.list(f.FileIndexFilters()).results
    assert public_dials.run.list(f.RunFilters()).results
    assert public_dials.lumi.list(f.LumisectionFilters()).results
    h1 = public_dials.h1d.list(f.LumisectionHistogram1DFilters(page_size=3)).results
    assert len(h1) == 3
    assert len(h1[0].data) == int(h1[0].x_bin)
    h2 = public_dials.h2d.list(f.LumisectionHistogram2DFilters(page_size=2)).results
    assert len(h2[0].data) == h2[0].y_bin
    assert len(h2[0].data[0]) == int(h2[0].x_bin)
    mes = public_dials.mes.list(f.MEFilters())
    assert isinstance(mes, list)
    assert len(mes) >= 20
    models = public_dials.ml_models_index.list(f.MLModelsIndexFilters()).results
    assert [m.id for m in models] == [1, 2]
    assert public_dials.ml_bad_lumis.list(f.MLBadLumisectionFilters()).results


def test_list_all_with_max_pages_resumes_to_the_full_listing(public_dials: Any, http: httpx.Client) -> None:
    from cmsdials.filters import LumisectionFilters

    first = public_dials.lumi.list_all(LumisectionFilters(page_size=7), max_pages=3)
    assert len(first.results) == 21
    assert first.next is not None
    rest = public_dials.lumi.list_all(LumisectionFilters(page_size=500), resume_from=first)
    everything = fetch_all(http, "lumisection/")
    assert [r.model_dump() for r in rest.results] == everything
    assert rest.next is None


@pytest.mark.parametrize(
    ("resource", "filters", "route", "params"),
    [
        ("dataset_index", {"dataset__regex": "ZeroBias"}, "dataset-index/", None),
        ("file_index", {"status": "FINISHED", "min_size": 2_000_000_000}, "file-index/", None),
        ("run", {"run_number__gte": 0, "dataset__regex": "Express"}, "run/", None),
        ("lumi", {"ls_number__gte": 5, "ls_number__lte": 6}, "lumisection/", None),
        ("h1d", {"ls_number": 3, "me__regex": "PXLayer_[12]$"}, "th1/", None),
        ("h2d", {"ls_number": 2, "entries__gte": 800}, "th2/", None),
        ("mes", {"dim": 2}, "mes/", None),
        ("ml_models_index", {"active": True}, "ml-models-index/", None),
        ("ml_bad_lumis", {"model_id__in": [2]}, "ml-bad-lumisection/", None),
    ],
)
def test_public_client_filters_agree_with_brute_force(
    public_dials: Any, http: httpx.Client, resource: str, filters: dict[str, Any], route: str, params: Any
) -> None:
    """Each filter gives exactly the unfiltered rows that satisfy it (checked here, independently)."""
    client = getattr(public_dials, resource)
    got = (
        client.list(public_filters(resource)(**filters))
        if resource == "mes"
        else client.list_all(public_filters(resource)(**filters, page_size=500)).results
    )
    got = [row.model_dump(mode="json") for row in got]
    narrow = {"ls_number": filters["ls_number"]} if "ls_number" in filters else None
    expected = [row for row in fetch_all(http, route, narrow) if _satisfies(row, filters)]
    assert got == expected
    assert expected


def _satisfies(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    for name, wanted in filters.items():
        field, _, lookup = name.partition("__")
        if field == "min_size":
            field, lookup = "file_size", "gte"
        value = row[field]
        ok = {
            "": lambda v, w: v == w,
            "gte": lambda v, w: v >= w,
            "lte": lambda v, w: v <= w,
            "in": lambda v, w: v in w,
            "regex": lambda v, w: re.search(w, v) is not None,
        }[lookup](value, wanted)
        if not ok:
            return False
    return True


def test_public_client_gets_by_composite_keys(public_dials: Any, http: httpx.Client) -> None:
    lumi = http.get("lumisection/", params={"page_size": 1}).json()["results"][0]
    h1 = http.get("th1/", params={"page_size": 1, "ls_number": 4}).json()["results"][0]
    h2 = http.get("th2/", params={"page_size": 1}).json()["results"][0]
    bad = http.get("ml-bad-lumisection/", params={"page_size": 1}).json()["results"][0]
    f = http.get("file-index/", params={"page_size": 1}).json()["results"][0]
    key = (lumi["dataset_id"], lumi["run_number"])
    assert public_dials.run.get(*key).run_number == lumi["run_number"]
    assert public_dials.lumi.get(*key, lumi["ls_number"]).model_dump(mode="json") == lumi
    assert public_dials.h1d.get(h1["dataset_id"], h1["run_number"], 4, h1["me_id"]).model_dump(mode="json") == h1
    assert public_dials.h2d.get(h2["dataset_id"], h2["run_number"], h2["ls_number"], h2["me_id"]).data == h2["data"]
    got = public_dials.ml_bad_lumis.get(bad["model_id"], bad["dataset_id"], bad["run_number"], bad["ls_number"])
    assert got.model_dump(mode="json") == bad
    assert public_dials.file_index.get(f["dataset_id"], f["file_id"]).logical_file_name == f["logical_file_name"]
    assert public_dials.mes.get(1).me_id == 1
    assert public_dials.ml_models_index.get(2).name.endswith("_v2")
    with pytest.raises(requests.HTTPError, match="404"):
        public_dials.lumi.get(*key, 10**6)


def test_cert_and_golden_json_agree_with_bad_lumisections(public_dials: Any, http: httpx.Client) -> None:
    bad = fetch_all(http, "ml-bad-lumisection/", {"model_id__in": "1,2"})
    dataset_id, run = bad[0]["dataset_id"], bad[0]["run_number"]
    flagged = {r["ls_number"] for r in bad if r["dataset_id"] == dataset_id and r["run_number"] == run}
    cert = public_dials.ml_bad_lumis.cert_json(model_id__in=[1, 2], dataset_id__in=[dataset_id], run_number__in=[run])
    assert {int(ls) for ls in cert[str(run)]} == flagged
    golden = public_dials.ml_bad_lumis.golden_json(
        model_id__in=[1, 2], dataset_id__in=[dataset_id], run_number__in=[run]
    )
    good = {ls for first, last in golden[str(run)] for ls in range(first, last + 1)}
    ingested = {r["ls_number"] for r in fetch_all(http, "lumisection/", {"dataset_id": dataset_id, "run_number": run})}
    assert good == ingested - flagged
    ranges = golden[str(run)]
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(ranges)), "ranges are sorted and maximal"


def test_page_size_is_clamped_and_defaults(http: httpx.Client) -> None:
    assert len(http.get("lumisection/", params={"page_size": 10_000}).json()["results"]) == 500
    for bad in ("0", "-3", "x"):
        assert len(http.get("lumisection/", params={"page_size": bad}).json()["results"]) == 10


def test_next_is_an_absolute_url_keeping_the_parameters(http: httpx.Client, dials_url: str) -> None:
    body = http.get("lumisection/", params={"ls_number__lte": 3, "page_size": 2}).json()
    assert body["next"].startswith(dials_url + "api/v1/lumisection/?")
    assert "ls_number__lte=3" in body["next"]
    assert "next_token=" in body["next"]
    assert body["previous"] is None
    second = http.get(body["next"]).json()
    assert second["previous"] is not None
    assert second["results"][0] != body["results"][-1]


@pytest.mark.parametrize(
    ("request_args", "status", "body"),
    [
        (("GET", "run/", {"run_number": "abc"}, {}), 400, {"run_number": ["Enter a number."]}),
        (("GET", "ml-bad-lumisection/", {"model_id__in": "1,x"}, {}), 400, {"model_id__in": ["Enter a number."]}),
        (("GET", "run/", {"next_token": "garbage"}, {}), 404, {"detail": "Invalid cursor"}),
        (("GET", "run/", {}, {"Workspace": "nope"}), 404, {"detail": "Workspace 'nope' not found"}),
        (("GET", "run/1/2/", {}, {}), 404, {"detail": "No Run matches the given query."}),
        (("POST", "run/", {}, {}), 405, {"detail": 'Method "POST" not allowed.'}),
        (
            ("GET", "run/", {}, {"Authorization": ""}),
            403,
            {"detail": "Authorization header not found.", "code": "authorization_not_found"},
        ),
    ],
)
def test_documented_error_bodies(http: httpx.Client, request_args: Any, status: int, body: Any) -> None:
    method, route, params, headers = request_args
    if headers.get("Authorization") == "":
        reply = httpx.request(method, str(http.base_url) + route, params=params)
    else:
        reply = http.request(method, route, params=params, headers=headers)
    assert (reply.status_code, reply.json()) == (status, body)


def test_unknown_parameters_are_ignored_like_the_public_clients_typo(http: httpx.Client) -> None:
    everything = http.get("lumisection/", params={"page_size": 50}).json()["results"]
    typo = http.get("lumisection/", params={"page_size": 50, "ls_numbet__lte": 1}).json()["results"]
    assert typo == everything


def test_unmatched_routes_are_html_404(http: httpx.Client) -> None:
    reply = http.get("nothing-here/")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("text/html")


def test_workspaces_have_their_own_data(http: httpx.Client) -> None:
    tracker = fetch_all(http, "mes/")
    ecal = fetch_all(http, "mes/", Workspace="ecal")
    assert {m["me_id"] for m in tracker}.isdisjoint(m["me_id"] for m in ecal)
    assert http.get("workspaces/").json() == {"workspaces": ["tracker", "jetmet", "ecal"]}


def test_the_universe_is_deterministic_and_lazy() -> None:
    calls = []

    def source() -> list[tuple[int, int, tuple[str, ...]]]:
        calls.append(1)
        return [(315300, 50, ("/PromptReco/Collisions2018A/DQM",)), (315400, 0, ())]

    universe = DialsUniverse(source, seed=3)
    assert calls == []
    one = universe.workspace("tracker")
    two = DialsUniverse(source, seed=3).workspace("tracker")
    assert [one.flagged(1, d["dataset_id"], 315300) for d in one.datasets] == [
        two.flagged(1, d["dataset_id"], 315300) for d in two.datasets
    ]
    assert calls == [1, 1]


def test_public_client_workspace_routes(public_dials: Any) -> None:
    assert public_dials.workspace.list() == {"workspaces": ["tracker", "jetmet", "ecal"]}
    assert public_dials.workspace.my_workspace() == {"workspace": "tracker"}


def test_golden_json_of_several_datasets_repeats_the_real_services_overlapping_ranges(http: httpx.Client) -> None:
    """dials-protocol.md §8 defect 18: never kinder than the real service."""
    run = fetch_all(http, "run/")[0]
    datasets = sorted({r["dataset_id"] for r in fetch_all(http, "run/", {"run_number": run["run_number"]})})
    assert len(datasets) == 2
    body = {"model_id__in": [1, 2], "dataset_id__in": datasets, "run_number__in": [run["run_number"]]}
    both = http.post("ml-bad-lumisection/golden-json/", json=body).json()[str(run["run_number"])]
    one = http.post("ml-bad-lumisection/golden-json/", json=body | {"dataset_id__in": datasets[:1]}).json()
    assert any(b[0] <= a[1] for a, b in itertools.pairwise(both)), "overlapping ranges"
    covered = {ls for first, last in both for ls in range(first, last + 1)}
    assert covered == {ls for first, last in one[str(run["run_number"])] for ls in range(first, last + 1)}


def test_what_fails_on_the_real_service_fails_here(http: httpx.Client) -> None:
    """An invalid regex and a cert-json without all three lists are HTML 500s there (dials-protocol.md §6.6, §8)."""
    broken = http.get("mes/", params={"me__regex": "("})
    missing = http.post("ml-bad-lumisection/cert-json/", json={"model_id__in": [1], "dataset_id__in": [1]})
    bad_id = http.post(
        "ml-bad-lumisection/cert-json/", json={"model_id__in": ["x"], "dataset_id__in": [1], "run_number__in": [1]}
    )
    assert (broken.status_code, missing.status_code, bad_id.status_code) == (500, 500, 400)
    assert broken.headers["content-type"].startswith("text/html")
    assert isinstance(bad_id.json(), list)


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x+x+)+y", "(.*a){25}!", "^(([a-z])+.)+[A-Z]([a-z])+$"])
def test_a_pathological_regex_cannot_wedge_the_stand_in(http: httpx.Client, pattern: str) -> None:
    """User regexes run on RE2 (linear time): a backtracking pattern answers like any other, in bounded time."""
    import time

    started = time.monotonic()
    answer = http.get("mes/", params={"me__regex": pattern})
    assert answer.status_code == 200
    assert isinstance(answer.json(), list)  # the monitoring-element list is not paginated
    assert time.monotonic() - started < 5.0


def test_a_regex_re2_cannot_run_is_a_server_error_not_a_hang(http: httpx.Client) -> None:
    answer = http.get("mes/", params={"me__regex": r"(PX)\1"})
    assert answer.status_code == 500


def test_user_regexes_match_in_linear_time() -> None:
    """``(a+)+$`` against 40 ``a``s and a ``!`` takes 2^40 steps in a backtracking engine; RE2 answers at once."""
    import time

    from backend.dials.query import posix_regex

    started = time.monotonic()
    assert posix_regex("(a+)+$").search("a" * 40 + "!") is None
    assert time.monotonic() - started < 1.0
