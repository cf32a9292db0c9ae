"""json_portal: polling protocol, SIMILAR TO patterns, per-lumisection evaluation against a plain Python reference."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_reference import golden

from backend.demo import DemoRegistry

#: The reference rule of rr-protocol.md §8, kept once in examples/golden_rule.json.
REFERENCE_RULE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "golden_rule.json").read_text())


def run_job(http: httpx.Client, rule: Any, pattern: str) -> tuple[dict[str, Any], list[int]]:
    reply = http.post("/json_portal/generate", json={"json_logic": json.dumps(rule), "dataset_name_filter": pattern})
    assert reply.status_code == 200, reply.text
    job = reply.json()["id"]
    statuses = []
    for _ in range(2000):
        poll = http.post("/json_portal/json", json={"id_json": job})
        statuses.append(poll.status_code)
        if poll.status_code == 200:
            return poll.json()["final_json"], statuses
        assert poll.status_code in (202, 203), poll.text
        if poll.status_code == 202:
            assert 0 <= poll.json()["progress"] <= 1
        time.sleep(0.01)
    raise AssertionError("job did not finish")


def test_reference_rule_matches_python_evaluation(http: httpx.Client, registry: DemoRegistry) -> None:
    pattern = "/PromptReco/Collisions2018(A|B|C|D)/DQM"
    row, statuses = run_job(http, REFERENCE_RULE, pattern)
    assert statuses[-1] == 200
    want = golden(registry, REFERENCE_RULE, lambda name: name.startswith("/PromptReco/Collisions2018"))
    assert want  # the rule selects something in the demo
    assert row["generated_json_with_dataset_names"] == want
    assert row["generated_json"] == {k.split("-", 1)[0]: v for k, v in want.items()}
    runs = [int(k) for k in row["generated_json"]]
    assert (row["min_run_number"], row["max_run_number"]) == (min(runs), max(runs))
    assert list(row["generated_json"]) == sorted(row["generated_json"], key=int)
    wmass = {r.run_number for r in registry.runs if "WMass" in r.oms["hlt_key"]}
    assert not wmass & set(runs)
    assert row["total_recorded_luminosity"] > 0
    assert row["anti_total_recorded_luminosity"] >= 0
    assert row["generated_anti_json"]


def test_several_matching_datasets_concatenate_under_the_run_key(http: httpx.Client, registry: DemoRegistry) -> None:
    rule = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
    row, _ = run_job(http, rule, "/(PromptReco|ReReco)/%")
    want = golden(registry, rule, lambda name: name.startswith(("/PromptReco/", "/ReReco/")))
    assert row["generated_json_with_dataset_names"] == want
    run = next(r for r in registry.runs if len([k for k in want if k.startswith(f"{r.run_number}-")]) == 2)
    parts = [want[f"{run.run_number}-{d.name}"] for d in sorted(run.datasets[1:], key=lambda d: d.name)]
    assert row["generated_json"][str(run.run_number)] == parts[0] + parts[1]


def test_similar_to_is_anchored_and_dot_is_literal(http: httpx.Client) -> None:
    row, _ = run_job(http, True, "/PromptReco/Collisions2018.")
    assert row["generated_json"] == {}
    assert row["min_run_number"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"json_logic": "{not json", "dataset_name_filter": "%"}, "not valid JSON"),
        ({"json_logic": json.dumps({"method": ["x", "y"]}), "dataset_name_filter": "%"}, "invalid json_logic"),
        ({"json_logic": json.dumps({"no_such_op": [1]}), "dataset_name_filter": "%"}, "invalid json_logic"),
        ({"json_logic": "true", "dataset_name_filter": 5}, "dataset_name_filter"),
        ({"json_logic": "true", "dataset_name_filter": "(unclosed"}, "dataset_name_filter"),
        ({"json_logic": 5, "dataset_name_filter": "%"}, "json_logic"),
    ],
)
def test_bad_jobs_are_refused_up_front(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    reply = http.post("/json_portal/generate", json=body)
    assert reply.status_code == 500
    assert message in reply.json()["err"]


def test_failing_job_and_unknown_id_answer_500(http: httpx.Client) -> None:
    reply = http.post("/json_portal/json", json={"id_json": 987654})
    assert (reply.status_code, set(reply.json())) == (500, {"err"})
    bad = http.post(
        "/json_portal/generate", json={"json_logic": json.dumps({"*": []}), "dataset_name_filter": "online"}
    )
    job = bad.json()["id"]
    for _ in range(2000):
        poll = http.post("/json_portal/json", json={"id_json": job})
        if poll.status_code not in (202, 203):
            break
        time.sleep(0.01)
    assert poll.status_code == 500
    assert "json_logic failed" in poll.json()["err"]
