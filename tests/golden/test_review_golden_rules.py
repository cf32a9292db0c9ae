"""Review: random rules on the embedded registry, local engine against the brute force and the json_portal.

Rules are and/or/not trees of clauses that fail at run level for some datasets, read statuses, bits, luminosity,
prescales and ``lumisection_number``; each runs through the local engine in every mode (pushdown, luminosity,
report) and must equal the per-lumisection brute force: the golden JSON always, every figure of the service's
row without pushdown. The embedded json_portal answers a few of them too.
"""

from __future__ import annotations

from typing import Any

from bruteforce import BruteForce
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines_agree import assert_reference_figures, var

from client.api import RunRegistry

CLAUSES = [
    {">=": [var("run.oms.energy"), 6000]},
    {"<": [var("run.oms.energy"), 6000]},
    {">=": [var("run.oms.b_field"), 3.7]},
    {"in": ["25ns", var("run.oms.injection_scheme")]},
    {"==": [var("run.rr.class"), "Collisions18"]},
    {"in": ["2018B", var("dataset.name")]},
    {"==": [var("dataset.global_state"), "OPEN"]},
    {"==": [var("lumisection.rr.dt-dt"), "GOOD"]},
    {"==": [var("lumisection.rr.csc-csc"), "GOOD"]},
    {"!=": [var("lumisection.rr.tracker-pixel"), "BAD"]},
    {"==": [var("lumisection.rr.hlt-hlt"), None]},
    {"==": [var("lumisection.oms.bpix_ready"), True]},
    {"==": [var("lumisection.oms.gemp_ready"), None]},
    {"!": var("lumisection.oms.beam1_stable")},
    {">": [var("lumisection.oms.recorded"), 100000]},
    {"<": [var("lumisection.oms.delivered"), 150000]},
    {">=": [var("lumisection.oms.prescale_index"), 1]},
    {"<": [{"%": [var("lumisection.lumisection_number"), 7]}, 5]},
    {">": [var("lumisection.lumisection_number"), 20]},
]
#: Patterns matching a fraction of the registry (``%`` costs the brute force seconds per rule).
PATTERNS = ["/PromptReco/Collisions2018%/DQM", "/PromptReco/Collisions2018(A|B)/DQM", "/ReReco/%"]

clauses = st.sampled_from(CLAUSES)
rules = st.recursive(
    clauses,
    lambda children: st.one_of(
        st.builds(lambda xs: {"and": xs}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda xs: {"or": xs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda x: {"!": x}, children),
    ),
    max_leaves=6,
)
top_level = st.builds(lambda xs: {"and": xs}, st.lists(rules, min_size=1, max_size=5))


@settings(max_examples=6, deadline=None)
@given(rule=top_level, pattern=st.sampled_from(PATTERNS))
def test_random_rules_agree_with_the_brute_force_in_every_mode(
    registry: RunRegistry, brute: BruteForce, rule: Any, pattern: str
) -> None:
    reference = brute.evaluate(rule, pattern)
    for options in ({}, {"with_luminosity": True, "pushdown": True}):
        golden = registry.create_json(rule, pattern, engine="local", **options)
        assert golden.mask == reference.mask
        assert dict(golden.by_dataset) == reference.by_dataset
        assert golden.anti_mask <= reference.anti_mask  # pushdown: only the datasets that passed the prefilter
    full = registry.create_json(rule, pattern, engine="local", with_luminosity=True)
    assert (full.mask, full.anti_mask) == (reference.mask, reference.anti_mask)
    assert dict(full.anti_by_dataset) == reference.anti_by_dataset
    assert_reference_figures(registry.create_json(rule, pattern, engine="local", report=True), reference)


@settings(max_examples=3, deadline=None)
@given(rule=top_level, pattern=st.sampled_from(PATTERNS))
def test_random_rules_equal_the_services_row(registry: RunRegistry, rule: Any, pattern: str) -> None:
    fast = registry.create_json(rule, pattern, engine="local", report=True)
    service = registry.create_json(rule, pattern, engine="server", poll_interval=0.02, timeout=120)
    for name in ("mask", "by_dataset", "anti_mask", "anti_by_dataset", "luminosity_in", "luminosity_out"):
        assert getattr(service, name) == getattr(fast, name), name
    assert (service.min_run_number, service.max_run_number) == (fast.min_run_number, fast.max_run_number)
    assert service.accounting == fast.accounting
