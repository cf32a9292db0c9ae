"""Golden JSONs that know DIALS: RR golden minus ML-flagged lumisections equals the brute-force set difference,
the loss report gains the ML row, and DIALS golden-json intersects an RR golden JSON through LumiMask."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dials_helpers import fetch_all

from backend.server import EmbeddedServer
from client import RunRegistry
from client.dials import Dials, SecretKey
from client.dials_golden import create_json_excluding_ml, intersect_with_dials_golden
from querylang.losses import js_stringify
from schemas.golden import GoldenJson, LumiMask

RULE = json.loads((Path(__file__).parents[2] / "examples" / "golden_rule.json").read_text())
PATTERN = "/PromptReco/Collisions%"
OPTIONS = {"engine": "local", "report": True, "with_luminosity": True, "pushdown": False}


@pytest.fixture(scope="module")
def rr(server: EmbeddedServer) -> Iterator[RunRegistry]:
    with RunRegistry(target=server.url) as registry:
        yield registry


@pytest.fixture(scope="module")
def dials(dials_url: str) -> Iterator[Dials]:
    with Dials(SecretKey("any"), target=dials_url, workspace="tracker") as client:
        yield client


@pytest.fixture(scope="module")
def plain(rr: RunRegistry) -> GoldenJson:
    return rr.create_json(RULE, PATTERN, **OPTIONS)


def _flagged(http: httpx.Client, models: set[int]) -> set[tuple[int, int]]:
    rows = fetch_all(http, "ml-bad-lumisection/", Workspace="tracker")
    return {(r["run_number"], r["ls_number"]) for r in rows if r["model_id"] in models}


def test_ml_exclusion_equals_rr_golden_minus_flagged_by_brute_force(
    rr: RunRegistry, dials: Dials, plain: GoldenJson, http: httpx.Client
) -> None:
    spec = {"model_ids": [1, 2], "workspace": "tracker"}
    golden = create_json_excluding_ml(rr, RULE, PATTERN, exclude_ml=spec, dials=dials, **OPTIONS)
    flagged = _flagged(http, {1, 2})
    removed = set(plain.mask) & flagged
    assert removed, "the demo must flag some lumisections the rule keeps"
    assert set(golden.mask) == set(plain.mask) - flagged
    assert set(golden.anti_mask) == set(plain.anti_mask) | removed
    removed_per_dataset = sum(len(set(mask) & flagged) for mask in plain.by_dataset.values())
    assert golden.losses is not None
    (ml_row,) = [c for c in golden.losses.clauses if c.clause == js_stringify({"exclude_ml": spec})]
    assert ml_row.alone_lumisections == ml_row.false_lumisections == removed_per_dataset
    assert golden.losses.kept_lumisections == sum(len(m) for m in golden.by_dataset.values())
    assert golden.accounting is not None
    assert plain.accounting is not None
    assert golden.accounting.total_recorded_luminosity == pytest.approx(plain.accounting.total_recorded_luminosity)
    assert ml_row.alone_recorded > 0
    assert golden.accounting.recorded_luminosity_in_json + ml_row.alone_recorded == pytest.approx(
        plain.accounting.recorded_luminosity_in_json
    )
    assert golden.luminosity_in == golden.accounting.luminosity_in
    assert golden.losses.to_table().splitlines()[0].startswith("clause")


def test_one_model_only_removes_its_own_verdicts(
    rr: RunRegistry, dials: Dials, plain: GoldenJson, http: httpx.Client
) -> None:
    golden = create_json_excluding_ml(rr, RULE, PATTERN, exclude_ml={"model_ids": [2]}, dials=dials, **OPTIONS)
    assert set(golden.mask) == set(plain.mask) - _flagged(http, {2})


def test_bad_exclude_ml_specs_fail_before_any_request(rr: RunRegistry) -> None:
    with pytest.raises(ValueError, match="unknown key"):
        create_json_excluding_ml(rr, RULE, PATTERN, exclude_ml={"model_ids": [1], "modle": 2})
    with pytest.raises(ValueError, match="model_ids"):
        create_json_excluding_ml(rr, RULE, PATTERN, exclude_ml={"model_ids": ["1"]})


def test_dials_golden_json_intersects_the_rr_golden(dials: Dials, plain: GoldenJson, http: httpx.Client) -> None:
    datasets = [d["dataset_id"] for d in fetch_all(http, "dataset-index/") if "ZeroBias" in d["dataset"]]
    got = intersect_with_dials_golden(plain.mask, dials, {"model_ids": [1, 2]}, datasets)
    good: set[tuple[int, int]] = set()
    bad = fetch_all(http, "ml-bad-lumisection/")
    for dataset_id in datasets:
        flagged = {(r["run_number"], r["ls_number"]) for r in bad if r["dataset_id"] == dataset_id}
        ingested = {
            (r["run_number"], r["ls_number"]) for r in fetch_all(http, "lumisection/", {"dataset_id": dataset_id})
        }
        good |= ingested - flagged
    assert isinstance(got, LumiMask)
    assert set(got) == set(plain.mask) & good
    assert set(got) < set(plain.mask)


def test_cli_golden_exclude_ml(
    server: EmbeddedServer,
    dials_url: str,
    tmp_path: Path,
    plain: GoldenJson,
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from client.cli import main

    monkeypatch.setenv("DIALS_SECRET_KEY", "any")
    rule, out = tmp_path / "rule.json", tmp_path / "golden.json"
    rule.write_text(json.dumps(RULE))
    code = main(
        [
            "golden",
            "--rule",
            str(rule),
            "--dataset",
            PATTERN,
            "-o",
            str(out),
            "--target",
            server.url,
            "--exclude-ml",
            '{"model_ids": [1, 2]}',
            "--dials-target",
            dials_url,
        ]
    )
    assert code == 0
    assert set(LumiMask.from_file(out)) == set(plain.mask) - _flagged(http, {1, 2})


def test_progress_shows_the_dials_pages_and_the_luminosity_requests(
    rr: RunRegistry, dials_url: str, plain: GoldenJson, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"model_ids": [1, 2], "workspace": "tracker"}
    with Dials(SecretKey("any"), target=dials_url, workspace="tracker", page_size=5) as paged:
        golden = create_json_excluding_ml(rr, RULE, PATTERN, exclude_ml=spec, dials=paged, progress=True, **OPTIONS)
    err = capsys.readouterr().err
    removed_runs = len({run for run, _ in set(plain.mask) - set(golden.mask)})
    assert removed_runs > 1
    assert "DIALS ml-bad-lumisection pages: 100%" in err
    assert f"OMS lumisection requests: 100%|██████████| {removed_runs}/{removed_runs}" in err
