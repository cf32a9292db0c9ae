"""json_portal: polling protocol, the service's row (golden file of its fields), two phases, SIMILAR TO patterns,
per-lumisection evaluation against a plain Python reference."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_reference import golden
from testkit.jsonportal import wait_for_job

from backend.jsonportal import JsonPortal, row_fields
from backend.rows import DemoRegistry
from backend.store import Store

ROOT = Path(__file__).resolve().parents[2]
#: The reference rule of rr-protocol.md §8, kept once in examples/golden_rule.json.
REFERENCE_RULE = json.loads((ROOT / "examples" / "golden_rule.json").read_text())
#: Every field of the service's row (rr-protocol.md §8) and its JSON type, in the service's order.
ROW_FIELDS = json.loads((ROOT / "tests" / "golden" / "json_portal_row.json").read_text())
PROMPT = "/PromptReco/Collisions2018(A|B|C|D)/DQM"
TWO_DATASETS = "/(PromptReco|ReReco)/%"


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


def json_type(value: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", dict: "object", list: "array"}.get(
        type(value), "null"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def quirky(store: Store, clock: FakeClock) -> Iterator[JsonPortal]:
    created = datetime(2018, 6, 1, 12, 0, tzinfo=timezone.utc)
    portal = JsonPortal(store, rr_quirks=True, finish_delay=30, clock=clock, now=lambda: created)
    yield portal
    portal.close()


def stored(portal: JsonPortal, rule: Any, pattern: str) -> int:
    job = portal.submit(json.dumps(rule), pattern)
    assert wait_for_job(portal, job, timeout=60)
    return job


def final_json(portal: JsonPortal, job: int) -> dict[str, Any]:
    status, text = portal.poll(job)
    assert status == 200, text
    row: dict[str, Any] = json.loads(text)["final_json"]
    return row


def test_the_row_has_every_field_of_the_service_with_its_type(http: httpx.Client) -> None:
    row, _ = run_job(http, REFERENCE_RULE, PROMPT)
    assert list(row) == list(ROW_FIELDS) == list(row_fields())
    assert {name: json_type(value) for name, value in row.items()} == ROW_FIELDS
    assert row["json_logic"] == REFERENCE_RULE  # a JSONB object, not the string sent
    for stamp in (row["createdAt"], row["updatedAt"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert row["runregistry_version"].isdigit()
    assert (row["tags"], row["official"], row["deleted"]) == ("", False, False)
    lost = [row[f"total_{kind}_luminosity_lost"] for kind in ("recorded", "delivered")]
    assert all(value > 0 for value in lost)  # without quirks, the first 200 is the finished row
    assert row["total_recorded_luminosity"] == row["recorded_luminosity_in_json"] + lost[0]
    assert row["total_delivered_luminosity"] == row["delivered_luminosity_in_json"] + lost[1]
    assert row["total_recorded_luminosity_from_run_range"] >= row["total_recorded_luminosity"]
    for key, recorded in row["rules_flagged_false_combination_luminosity"].items():
        clauses = json.loads(key)
        assert clauses
        assert all(
            json.dumps(c, separators=(",", ":")) in row["rules_flagged_false_quantity_luminosity"] for c in clauses
        )
        assert recorded >= 0
        assert all(re.fullmatch(r"\d+-/.+", ident) for ident in row["runs_lumisections_responsible_for_rule"][key])
    assert sum(row["rules_flagged_false_combination_luminosity"].values()) == lost[0]


def test_reference_rule_matches_python_evaluation(http: httpx.Client, registry: DemoRegistry) -> None:
    row, statuses = run_job(http, REFERENCE_RULE, PROMPT)
    assert statuses[-1] == 200
    matched = [
        (r.run_number, d) for r in registry.runs for d in r.datasets if d.name.startswith("/PromptReco/Collisions2018")
    ]
    want = golden(registry, REFERENCE_RULE, lambda name: name.startswith("/PromptReco/Collisions2018"))
    assert want  # the rule selects something in the demo
    assert row["generated_json_with_dataset_names"] == want
    assert row["generated_json"] == {k.split("-", 1)[0]: v for k, v in want.items()}
    # min/max span the matching datasets, whatever the rule kept
    assert (row["min_run_number"], row["max_run_number"]) == (min(matched)[0], max(matched)[0])
    wmass = {r.run_number for r in registry.runs if "WMass" in r.oms["hlt_key"]}
    assert not wmass & {int(k) for k in row["generated_json"]}
    everything = golden(registry, True, lambda name: name.startswith("/PromptReco/Collisions2018"))
    anti = row["generated_anti_json_with_dataset_names"]
    assert anti
    for key, ranges in everything.items():  # the anti-JSON is exactly the evaluated lumisections not kept
        kept = {n for a, b in want.get(key, []) for n in range(a, b + 1)}
        removed = {n for a, b in anti.get(key, []) for n in range(a, b + 1)}
        assert kept | removed == {n for a, b in ranges for n in range(a, b + 1)}
        assert not kept & removed
    assert set(anti) <= set(everything)  # datasets without RR statuses are in neither JSON


def test_rr_quirks_store_the_row_first_unfinished(quirky: JsonPortal, clock: FakeClock) -> None:
    job = stored(quirky, REFERENCE_RULE, PROMPT)
    first = final_json(quirky, job)
    assert first["generated_json"]
    assert first["generated_anti_json"] == first["generated_anti_json_with_dataset_names"] == {}
    assert all(first[name] == -1 for name in ROW_FIELDS if name.endswith(("_lost", "_from_run_range")))
    assert first["rules_flagged_false_quantity_luminosity"] == {}
    assert first["recorded_luminosity_in_json"] > 0
    clock.now += 29.9
    assert final_json(quirky, job) == first
    clock.now += 0.2
    done = final_json(quirky, job)
    assert done["generated_json"] == first["generated_json"]
    assert done["generated_anti_json"]
    assert done["total_recorded_luminosity_lost"] > 0
    assert done["rules_flagged_false_quantity_luminosity"]
    assert (first["updatedAt"], done["updatedAt"]) == ("2018-06-01T12:00:00.000Z", "2018-06-01T12:00:30.000Z")


def test_a_rule_the_service_cannot_account_for_never_finishes(quirky: JsonPortal, clock: FakeClock) -> None:
    rule = {"if": [{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, True, False]}
    job = stored(quirky, rule, PROMPT)
    clock.now += 10**6
    row = final_json(quirky, job)
    assert row["generated_json"]
    assert row["total_recorded_luminosity_lost"] == -1


def test_several_matching_datasets(http: httpx.Client, registry: DemoRegistry, quirky: JsonPortal) -> None:
    rule = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
    want = golden(registry, rule, lambda name: name.startswith(("/PromptReco/", "/ReReco/")))
    run = next(r for r in registry.runs if len([k for k in want if k.startswith(f"{r.run_number}-")]) == 2)
    parts = [want[f"{run.run_number}-{d.name}"] for d in run.datasets if f"{run.run_number}-{d.name}" in want]
    merged, _ = run_job(http, rule, TWO_DATASETS)
    assert merged["generated_json_with_dataset_names"] == want
    union = sorted({n for ranges in parts for a, b in ranges for n in range(a, b + 1)})
    assert [n for a, b in merged["generated_json"][str(run.run_number)] for n in range(a, b + 1)] == union
    concatenated = final_json(quirky, stored(quirky, rule, TWO_DATASETS))  # --rr-quirks: concatenated, any order
    assert concatenated["generated_json_with_dataset_names"] == want
    numbers = [n for a, b in concatenated["generated_json"][str(run.run_number)] for n in range(a, b + 1)]
    flat = [[n for a, b in ranges for n in range(a, b + 1)] for ranges in parts]
    assert numbers in (flat[0] + flat[1], flat[1] + flat[0])


def test_similar_to_is_anchored_and_dot_is_literal(http: httpx.Client) -> None:
    body = {"json_logic": json.dumps({"==": [1, 1]}), "dataset_name_filter": "/PromptReco/Collisions2018."}
    reply = http.post("/json_portal/generate", json=body)
    assert (reply.status_code, reply.json()) == (500, {"err": "No datasets matched that dataset name"})
    row, _ = run_job(http, {"==": [1, 1]}, "/PromptReco/Collisions2018_/DQM")
    names = {key.split("-", 1)[1] for key in row["generated_json_with_dataset_names"]}
    assert names
    assert all(re.fullmatch(r"/PromptReco/Collisions2018[A-Z]/DQM", name) for name in names)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"json_logic": "{not json", "dataset_name_filter": "%"}, "not valid JSON"),
        ({"json_logic": json.dumps({"method": ["x", "y"]}), "dataset_name_filter": "%"}, "invalid json_logic"),
        ({"json_logic": json.dumps({"no_such_op": [1]}), "dataset_name_filter": "%"}, "invalid json_logic"),
        ({"json_logic": "true", "dataset_name_filter": "%"}, "Empty json logic sent"),
        ({"json_logic": "{}", "dataset_name_filter": "%"}, "Empty json logic sent"),
        ({"json_logic": '{"var": "x"}', "dataset_name_filter": 5}, "dataset_name_filter"),
        ({"json_logic": '{"var": "x"}', "dataset_name_filter": ""}, "No dataset name specified"),
        ({"json_logic": '{"var": "x"}', "dataset_name_filter": "(unclosed"}, "dataset_name_filter"),
        ({"json_logic": {"var": "x"}, "dataset_name_filter": "%"}, "json_logic must be a JSON string"),
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
