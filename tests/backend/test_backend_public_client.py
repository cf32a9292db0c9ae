"""The public ``runregistry`` 3.1.2 client, ``setup("local")`` pointed at ``python -m backend --port 0``.

The server listens on an ephemeral port; the client's module-level ``api_url`` (``http://localhost:9500`` after
``setup("local")``) is set to the server's URL, so the test never needs port 9500.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from backend_reference import SEED, SMALL_RUNS, golden

from backend.lumiranges import expand, summarize
from backend.rows import DemoRegistry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of ``python -m backend`` on an ephemeral loopback port."""
    workdir = tmp_path_factory.mktemp("no-dotenv")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "backend", "--port", "0", "--runs", str(SMALL_RUNS), "--seed", str(SEED)]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # printed once the server accepts connections
        found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert found, banner + (process.stderr.read() if process.poll() else "")
        assert "SYNTHETIC" in banner
        assert found.group(1) != "9500"
        yield found.group(0)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def rr(served: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    saved_cwd, saved_env = os.getcwd(), os.environ.get("ENVIRONMENT")
    os.chdir(tmp_path_factory.mktemp("client-cwd"))  # no .env here
    os.environ["ENVIRONMENT"] = "local"
    module = importlib.import_module("runregistry.runregistry")
    saved_url = module.api_url
    try:
        module.setup("local")
        module.api_url = served
        yield module
    finally:
        module.api_url = saved_url
        os.chdir(saved_cwd)
        if saved_env is None:
            os.environ.pop("ENVIRONMENT", None)
        else:
            os.environ["ENVIRONMENT"] = saved_env


def test_get_run(rr: ModuleType, registry: DemoRegistry) -> None:
    run = next(r for r in registry.runs if r.rr["significant"])
    got = rr.get_run(run_number=run.run_number)
    assert got["run_number"] == run.run_number
    assert got["oms_attributes"] == run.oms
    assert got["class"] == run.rr["class"]  # compressed: rr attributes flattened
    assert got["lumisections"] == summarize(run.datasets[0].statuses, run.lumisections)
    assert rr.get_run(run_number=1) == {}


def test_get_runs_over_several_pages(rr: ModuleType, registry: DemoRegistry) -> None:
    got = rr.get_runs(filter={"oms_attributes.energy": {"=": 0}}, ignore_filter_transformation=True)
    want = sorted((r.run_number for r in registry.runs if r.oms["energy"] == 0), reverse=True)
    assert len(want) > 50  # more than one page of the client's 50
    assert [r["run_number"] for r in got] == want
    got = rr.get_runs(
        filter={"run_number": {"and": [{">=": want[-1]}, {"<=": want[0]}]}, "class": "Collisions18", "dt-dt": "GOOD"}
    )
    expected = sorted(
        (
            r.run_number
            for r in registry.runs
            if r.rr["class"] == "Collisions18"
            and want[-1] <= r.run_number <= want[0]
            and summarize(r.datasets[0].statuses, r.lumisections).get("dt-dt", {}).get("GOOD", 0) > 0
        ),
        reverse=True,
    )
    assert [r["run_number"] for r in got] == expected


def test_get_dataset_and_datasets(rr: ModuleType, registry: DemoRegistry) -> None:
    run = next(r for r in registry.runs if len(r.datasets) > 1)
    offline = run.datasets[1]
    got = rr.get_dataset(run_number=run.run_number, dataset_name=offline.name)
    assert (got["run_number"], got["name"]) == (run.run_number, offline.name)
    assert got["dataset_attributes"] == offline.attributes
    assert rr.get_dataset(run_number=1) == {}
    datasets = rr.get_datasets(filter={"dataset_name": {"like": "%/PromptReco/Collisions2018%"}})
    want = sorted(
        (
            (r.run_number, d.name)
            for r in registry.runs
            for d in r.datasets
            if d.name.startswith("/PromptReco/Collisions2018")
        ),
        key=lambda x: (-x[0], x[1]),
    )
    assert [(d["run_number"], d["name"]) for d in datasets] == want
    assert rr.get_dataset_names_of_run(run_number=run.run_number)[0] == "online"


def test_lumisections(rr: ModuleType, registry: DemoRegistry) -> None:
    run = next(r for r in registry.runs if r.rr["significant"] and r.lumisections > 20)
    per_ls = rr.get_lumisections(run.run_number, "online")
    assert len(per_ls) == run.lumisections
    expanded = expand(run.datasets[0].statuses["dt-dt"], run.lumisections)
    assert [ls["dt-dt"]["status"] for ls in per_ls] == [r.status if r else "EMPTY" for r in expanded]
    ranges = rr.get_lumisection_ranges(run.run_number, "online")
    assert (ranges[0]["start"], ranges[-1]["end"]) == (1, run.lumisections)
    oms = rr.get_oms_lumisections(run.run_number)
    assert [ls["recorded"] for ls in oms] == list(run.recorded)
    assert rr.get_lumisections(1) == []


def test_create_json(rr: ModuleType, registry: DemoRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rr, "JSON_CREATION_SLEEP_TIME", 0.05)
    rule: dict[str, Any] = {
        "and": [{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, {">=": [{"var": "run.oms.b_field"}, 3.7]}]
    }
    row = rr.create_json(json_logic=json.dumps(rule), dataset_name_filter="/PromptReco/Collisions2018_/DQM")
    want = golden(registry, rule, lambda name: name.startswith("/PromptReco/Collisions2018"))
    assert want
    assert row["generated_json"] == {k.split("-", 1)[0]: v for k, v in want.items()}
