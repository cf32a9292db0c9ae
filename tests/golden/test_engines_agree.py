"""Acceptance: the local engine, the embedded service's json_portal and a per-lumisection brute force agree.

Every rule runs through the three; golden JSONs (and the per-dataset forms) must be identical. With
``pushdown=False`` the local anti-JSON and luminosity totals must equal the service's too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from bruteforce import BruteForce

from backend.server import EmbeddedServer
from client.api import RunRegistry
from client.golden_local import create_json_local
from querylang.jsonlogic import OPERATORS
from schemas.golden import GoldenJson

PROMPT = "/PromptReco/Collisions2018%/DQM"


def var(name: str) -> dict[str, Any]:
    return {"var": name}


def good(flag: str) -> dict[str, Any]:
    return {"==": [var(f"lumisection.rr.{flag}"), "GOOD"]}


#: The reference rule of rr-protocol.md §8, kept once in examples/golden_rule.json.
REFERENCE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "golden_rule.json").read_text())

# (id, rule, dataset pattern)
RULES: list[tuple[str, Any, str]] = [
    ("reference", REFERENCE, PROMPT),
    ("status-good", good("dt-dt"), "/PromptReco/%"),
    ("status-not-bad", {"!=": [var("lumisection.rr.csc-csc"), "BAD"]}, PROMPT),
    ("status-null", {"==": [var("lumisection.rr.ctpps-ctpps"), None]}, "%"),
    ("status-strict-null", {"===": [var("lumisection.rr.castor-castor"), None]}, "%/DQM"),
    ("status-not-strict", {"!==": [var("lumisection.rr.hcal-hcal"), "GOOD"]}, PROMPT),
    ("status-in-list", {"in": [var("lumisection.rr.tracker-pixel"), ["GOOD", "EXCLUDED"]]}, PROMPT),
    ("bit-null", {"==": [var("lumisection.oms.gemp_ready"), None]}, PROMPT),
    ("bit-false-vs-null", {"==": [var("lumisection.oms.gemm_ready"), False]}, PROMPT),
    ("bit-not", {"!": var("lumisection.oms.beam1_stable")}, "%"),
    ("bit-truthy", {"!!": var("lumisection.oms.cms_active")}, PROMPT),
    ("or-statuses", {"or": [good("ecal-ecal"), {"==": [var("lumisection.rr.ecal-ecal"), "STANDBY"]}]}, PROMPT),
    (
        "if-bit-then-status",
        {"if": [var("lumisection.oms.fpix_ready"), good("tracker-strip"), {"==": [var("run.rr.class"), "Cosmics18"]}]},
        "%",
    ),
    ("ternary", {"?:": [var("lumisection.oms.tob_ready"), good("tracker-track"), False]}, "/(PromptReco|ReReco)/%"),
    ("run-only-class", {"==": [var("run.rr.class"), "Collisions18"]}, "%"),
    ("run-only-between", {"<": [316000, var("run.run_number"), 321000]}, "/PromptReco/%"),
    ("run-only-arith", {">": [{"*": [var("run.oms.energy"), 2]}, {"+": [12000, {"-": [1, 1]}]}]}, PROMPT),
    ("run-only-division", {">=": [{"/": [var("run.oms.recorded_lumi"), var("run.oms.delivered_lumi")]}, 0.9]}, "%"),
    ("dataset-name-in", {"in": ["2018B", var("dataset.name")]}, "/PromptReco/%"),
    ("dataset-substr", {"==": [{"substr": [var("dataset.name"), 0, 7]}, "/ReReco"]}, "%"),
    ("dataset-cat", {"==": [{"cat": ["x", var("dataset.name")]}, "x/PromptReco/Collisions2018A/DQM"]}, "%"),
    ("dataset-state", {"==": [var("dataset.global_state"), "OPEN"]}, "/PromptReco/%"),
    ("luminosity", {">": [var("lumisection.oms.recorded"), 150000]}, PROMPT),
    (
        "luminosity-ratio",
        {"<": [{"max": [var("lumisection.oms.recorded"), 1]}, {"min": [var("lumisection.oms.delivered"), 10**9]}]},
        PROMPT,
    ),
    ("lumisection-number", {"==": [{"%": [var("lumisection.lumisection_number"), 3]}, 0]}, PROMPT),
    ("prescale", {">=": [var("lumisection.oms.prescale_index"), 2]}, PROMPT),
    ("missing", {"!": {"missing": ["lumisection.rr.dt-dt", "lumisection.rr.rpc-rpc"]}}, "%"),
    ("missing-some", {"missing_some": [1, ["lumisection.rr.gem-gem", "lumisection.oms.gemp_ready"]]}, PROMPT),
    ("var-default", {"==": [{"var": ["lumisection.rr.gem-gem", "EMPTY"]}, "EMPTY"]}, PROMPT),
    ("merge-in", {"in": [var("lumisection.rr.muon-muon"), {"merge": [["GOOD"], "STANDBY"]}]}, "/(PromptReco|ReReco)/%"),
    ("some-components", {"some": [var("run.oms.components"), {"==": [var(""), "GEM"]}]}, PROMPT),
    (
        "all-none",
        {
            "and": [
                {"all": [{"merge": [var("run.oms.energy")]}, {">": [var(""), 0]}]},
                {"none": [[1, 2], {"==": [var(""), var("run.oms.fill_number")]}]},
            ]
        },
        PROMPT,
    ),
    (
        "map-filter-reduce",
        {
            ">": [
                {
                    "reduce": [
                        {"filter": [{"map": [[1, 2, 3], {"*": [var(""), 2]}]}, {">": [var(""), 2]}]},
                        {"+": [var("current"), var("accumulator")]},
                        0,
                    ]
                },
                5,
            ]
        },
        PROMPT,
    ),
    ("or-run-or-lumisection", {"or": [{"<": [var("run.oms.b_field"), 3.7]}, good("hcal-hcal")]}, "%"),
    (
        "nested-and",
        {"and": [{"and": [good("dt-dt"), good("rpc-rpc")]}, {"!=": [var("run.rr.state"), "OPEN"]}]},
        "%/DQM",
    ),
]


def local(registry: RunRegistry, rule: Any, pattern: str, **options: Any) -> GoldenJson:
    return create_json_local(registry, rule, pattern, **options)


def server_json(registry: RunRegistry, rule: Any, pattern: str) -> GoldenJson:
    return registry.create_json(rule, pattern, engine="server", poll_interval=0.02)


def test_rules_cover_every_operator_but_log() -> None:
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            used.update(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([rule for _, rule, _ in RULES])
    assert OPERATORS - used == {"log"}
    assert len(RULES) >= 21


@pytest.mark.parametrize(("rule", "pattern"), [pytest.param(r, p, id=i) for i, r, p in RULES])
def test_three_engines_agree(registry: RunRegistry, brute: BruteForce, rule: Any, pattern: str) -> None:
    reference = brute.evaluate(rule, pattern)
    fast = local(registry, rule, pattern)
    service = server_json(registry, rule, pattern)
    assert fast.mask == reference.mask
    assert service.mask == reference.mask
    assert dict(fast.by_dataset) == reference.by_dataset
    assert dict(service.by_dataset) == reference.by_dataset
    assert fast.anti_mask <= reference.anti_mask  # pushdown: only the datasets that passed the prefilter


def test_reference_rule_selects_something(brute: BruteForce) -> None:
    reference = brute.evaluate(REFERENCE, PROMPT)
    assert reference.mask.run_count >= 5
    assert reference.anti_mask.lumisection_count > 0


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [pytest.param(r, p, id=i) for i, r, p in RULES if i in ("reference", "status-null", "dataset-state")],
)
def test_without_pushdown_anti_json_and_luminosity_match_the_service(
    registry: RunRegistry, brute: BruteForce, rule: Any, pattern: str
) -> None:
    fast = local(registry, rule, pattern, pushdown=False, with_luminosity=True)
    service = server_json(registry, rule, pattern)
    reference = brute.evaluate(rule, pattern)
    assert fast.mask == service.mask == reference.mask
    assert fast.anti_mask == service.anti_mask == reference.anti_mask
    assert fast.luminosity_in is not None
    assert service.luminosity_in is not None
    assert fast.luminosity_out is not None
    assert service.luminosity_out is not None
    assert math.isclose(fast.luminosity_in.recorded, reference.recorded_in / 1e6, rel_tol=1e-12)
    assert math.isclose(fast.luminosity_in.recorded, service.luminosity_in.recorded, rel_tol=1e-12)
    assert math.isclose(fast.luminosity_out.recorded, reference.recorded_out / 1e6, rel_tol=1e-12)
    assert math.isclose(fast.luminosity_out.delivered, service.luminosity_out.delivered, rel_tol=1e-12)


def test_pushdown_prunes_requests(server: EmbeddedServer, registry: RunRegistry) -> None:
    def lumisection_requests() -> int:
        return sum(n for route, n in server.stats["requests"].items() if route.startswith("/lumisections/"))

    before = lumisection_requests()
    local(registry, REFERENCE, PROMPT)
    pruned = lumisection_requests() - before
    local(registry, REFERENCE, PROMPT, pushdown=False)
    full = lumisection_requests() - before - pruned
    assert 0 < pruned < full
