"""Acceptance: the local engine, the embedded service's json_portal and a per-lumisection brute force agree.

Every rule runs through the three; golden JSONs (and the per-dataset forms) must be identical. With the loss
report (no pushdown) the local engine equals the brute force in every field of the service's row (anti-JSON,
luminosity, the service's own loss accounting), and so does the service behind ``--rr-quirks``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bruteforce import BruteForce, Reference

from backend.server import EmbeddedServer
from client.api import RunRegistry
from querylang.jsonlogic import OPERATORS
from schemas.golden import GoldenJson, LumiMask, Luminosity

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
    return registry.create_json(rule, pattern, engine="local", **options)


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


#: Rules whose loss accounting is compared field by field: and/or trees, nested and, a clause the service's
#: walk skips (``if``), run-level clauses, and a top-level ``if`` (the service never finishes that row).
ACCOUNTED = [
    pytest.param(r, p, id=i)
    for i, r, p in RULES
    if i in ("reference", "status-null", "dataset-state", "or-run-or-lumisection", "nested-and", "if-bit-then-status")
]


def assert_reference_figures(golden: GoldenJson, reference: Reference) -> None:
    """``golden`` equals the brute force in every field of the service's row."""
    assert golden.mask == reference.mask
    assert dict(golden.by_dataset) == reference.by_dataset
    assert golden.anti_mask == reference.anti_mask
    assert dict(golden.anti_by_dataset) == reference.anti_by_dataset
    assert (golden.min_run_number, golden.max_run_number) == (reference.min_run_number, reference.max_run_number)
    assert golden.luminosity_in == Luminosity(reference.recorded_in, reference.delivered_in)
    assert golden.luminosity_out == Luminosity(reference.recorded_lost, reference.delivered_lost)
    if reference.accounting is None:
        assert golden.accounting is None
        return
    accounting = golden.accounting
    assert accounting is not None
    assert accounting.total_recorded_luminosity == reference.recorded_in + reference.recorded_lost
    assert (
        accounting.total_recorded_luminosity_from_run_range,
        accounting.total_delivered_luminosity_from_run_range,
    ) == reference.run_range
    assert accounting.rules_flagged_false_quantity_luminosity == reference.accounting["quantity"]
    assert accounting.rules_flagged_false_combination_luminosity == reference.accounting["combination"]
    assert accounting.runs_lumisections_responsible_for_rule == reference.accounting["responsible"]


@pytest.mark.parametrize(("rule", "pattern"), ACCOUNTED)
def test_local_figures_equal_a_brute_force_per_lumisection(
    registry: RunRegistry, brute: BruteForce, rule: Any, pattern: str
) -> None:
    reference = brute.evaluate(rule, pattern)
    assert_reference_figures(local(registry, rule, pattern, report=True), reference)


@pytest.mark.parametrize(("rule", "pattern"), ACCOUNTED)
def test_server_engine_on_rr_quirks_equals_the_local_engine_in_every_field(
    quirky_registry: RunRegistry, brute: BruteForce, rule: Any, pattern: str
) -> None:
    fast = local(quirky_registry, rule, pattern, report=True)
    service = quirky_registry.create_json(rule, pattern, engine="server", poll_interval=0.02, timeout=120)
    assert service.server_row is not None
    assert service.server_row.finished is (fast.accounting is not None)
    compared = ["mask", "by_dataset", "luminosity_in", "min_run_number", "max_run_number", "rule", "accounting"]
    if service.server_row.finished:  # else the service never fills in the anti-JSON and what was lost
        compared += ["anti_mask", "anti_by_dataset", "luminosity_out"]
        assert service.to_row()["total_recorded_luminosity"] == fast.to_row()["total_recorded_luminosity"]
    else:
        assert (service.anti_mask, service.luminosity_out) == (LumiMask(), None)
    for name in compared:
        assert getattr(service, name) == getattr(fast, name), name
    assert_reference_figures(fast, brute.evaluate(rule, pattern))


def test_pushdown_prunes_datasets_and_never_adds_requests(server: EmbeddedServer, registry: RunRegistry) -> None:
    """Pushdown evaluates fewer datasets; it cannot save their lumisection requests on this sample, since a dataset
    failing the run-level clauses costs none without it either (its count comes from the triplet summary)."""

    def lumisection_requests() -> int:
        return sum(n for route, n in server.stats["requests"].items() if route.startswith("/lumisections/"))

    before = lumisection_requests()
    pushed = local(registry, REFERENCE, PROMPT)
    pruned = lumisection_requests() - before
    everything = local(registry, REFERENCE, PROMPT, pushdown=False)
    full = lumisection_requests() - before - pruned
    assert 0 < pruned <= full
    assert pushed.mask == everything.mask
    assert pushed.anti_mask <= everything.anti_mask
    assert pushed.anti_mask != everything.anti_mask  # fewer datasets evaluated


def test_without_quirks_the_first_row_is_complete_and_equal(registry: RunRegistry) -> None:
    progress: list[float | str | None] = []
    service = registry.create_json(REFERENCE, PROMPT, engine="server", poll_interval=0.02, on_progress=progress.append)
    fast = local(registry, REFERENCE, PROMPT, report=True)
    assert "finishing" not in progress
    assert service.accounting is not None
    assert service.accounting == fast.accounting
    assert (service.anti_mask, dict(service.anti_by_dataset)) == (fast.anti_mask, dict(fast.anti_by_dataset))
