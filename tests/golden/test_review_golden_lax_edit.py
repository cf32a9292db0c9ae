"""Review: a dataset given more RR lumisections than its run has OMS lumisections, on the embedded service.

Behind ``--rr-quirks`` the service accepts an RR edit past the run's last lumisection (``rr-protocol.md`` §10):
the dataset then has that many RR lumisections, the last ones without OMS values or luminosity. The local engine
evaluates them as the service's per-lumisection routes give them (the brute force), in every mode, for rules
that read luminosity too, and so does the service's own json_portal job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bruteforce import BruteForce
from test_engines_agree import assert_reference_figures
from testkit.servers import ServerPool

from client.api import RunRegistry
from client.transport import Call

DATASET = "online"
RULES = {
    "status-and-luminosity": {
        "and": [{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, {">": [{"var": "lumisection.oms.recorded"}, 10]}]
    },
    "bit": {"!=": [{"var": "lumisection.oms.bpix_ready"}, False]},
    "fails-at-run-level": {"and": [{"<": [{"var": "run.run_number"}, 0]}, {"var": "lumisection.oms.delivered"}]},
}


@pytest.fixture(scope="module")
def lax(server_pool: ServerPool) -> Iterator[tuple[RunRegistry, int, int]]:
    """A quirky service where an OPEN run's ``online`` dataset got 3 RR lumisections past its OMS ones."""
    server = server_pool.fresh(runs=20, seed=2018, years=[2018], rr_quirks=True)
    with server, RunRegistry(target=server.url) as rr:
        run = next(
            r.run_number
            for r in rr.get_runs(filter={})
            if r.rr_attributes.state == "OPEN" and rr.get_lumisections(r.run_number, DATASET, output="dicts")
        )
        count = len(rr.get_oms_lumisections(run, output="dicts"))
        edit = {
            "run_number": run,
            "dataset_name": DATASET,
            "component": "dt-dt",
            "new_lumisection_range": {"start": count + 1, "end": count + 3, "status": "GOOD", "comment": ""},
        }
        rr._transport.send(Call("PUT", "/lumisections/edit_rr_lumisections", json=edit))  # past the end: raw
        yield rr, run, count


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rr_lumisections_past_the_oms_ones_are_evaluated_without_oms_values(
    lax: tuple[RunRegistry, int, int], rule_id: str
) -> None:
    rr, run, count = lax
    assert len(rr.get_lumisections(run, DATASET, output="dicts")) == count + 3
    rule: Any = RULES[rule_id]
    pattern = DATASET
    reference = BruteForce.load(rr).evaluate(rule, pattern)
    assert (reference.mask | reference.anti_mask).ranges(run)[-1][-1] == count + 3
    for options in ({}, {"with_luminosity": True}, {"with_luminosity": True, "pushdown": True}):
        golden = rr.create_json(rule, pattern, engine="local", **options)
        assert golden.mask == reference.mask
        assert dict(golden.by_dataset) == reference.by_dataset
    assert_reference_figures(rr.create_json(rule, pattern, engine="local", report=True), reference)
    service = rr.create_json(rule, pattern, engine="server", poll_interval=0.01)  # its job failed (IndexError)
    assert_reference_figures(service, reference)
