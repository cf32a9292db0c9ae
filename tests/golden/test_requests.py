"""The local engine asks only for what can change the answer: the listing's summaries tell the rest, exactly.

Each rule runs twice on the same server: as is, and through a transport that strips ``DatasetTripletCache``
from the dataset listing (so every range is fetched). Both must give the same golden JSON, anti-JSON,
per-dataset form and loss report; the first must need fewer requests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bruteforce import BruteForce
from test_engines_agree import RULES

from client.api import RunRegistry
from client.engine import run_sync
from client.golden_local import golden_operation
from client.transport import Call, Reply
from schemas.golden import GoldenJson

CHECKED = ("reference", "status-good", "status-null", "bit-null", "bit-not", "run-only-class", "prescale")


class Recording:
    """Sends calls through ``inner``, counts lumisection requests and, if asked, drops the listing's summaries."""

    def __init__(self, inner: Any, *, strip_summaries: bool) -> None:
        self.inner = inner
        self.strip_summaries = strip_summaries
        self.lumisection_requests: list[str] = []
        self.oms_runs: set[int] = set()

    def send(self, call: Call) -> Reply:
        reply: Reply = self.inner.send(call)
        if call.path.startswith("/lumisections/"):
            self.lumisection_requests.append(call.path)
        if call.path.startswith("/lumisections/oms"):
            self.oms_runs.add(call.json["run_number"])
        if self.strip_summaries and call.path == "/datasets_filtered_ordered":
            page = json.loads(reply.data)  # listings are handed over undecoded
            for row in page["datasets"]:
                del row["DatasetTripletCache"]
            reply = Reply(reply.status, json.dumps(page).encode())
        return reply


def golden(registry: RunRegistry, rule: Any, pattern: str, *, strip_summaries: bool) -> tuple[GoldenJson, list[str]]:
    transport = Recording(registry._transport, strip_summaries=strip_summaries)
    operation = golden_operation(rule, pattern, report=True, with_luminosity=True, pushdown=False)
    return run_sync(operation, transport, pool=None), transport.lumisection_requests


@pytest.mark.parametrize(("rule", "pattern"), [pytest.param(r, p, id=i) for i, r, p in RULES if i in CHECKED])
def test_summaries_save_requests_and_change_nothing(registry: RunRegistry, rule: Any, pattern: str) -> None:
    told, told_requests = golden(registry, rule, pattern, strip_summaries=False)
    fetched, fetched_requests = golden(registry, rule, pattern, strip_summaries=True)
    assert told.mask == fetched.mask
    assert dict(told.by_dataset) == dict(fetched.by_dataset)
    assert told.anti_mask == fetched.anti_mask
    assert told.luminosity_in == fetched.luminosity_in
    assert told.luminosity_out == fetched.luminosity_out
    assert told.losses == fetched.losses
    assert len(told_requests) < len(fetched_requests)


def test_constant_components_need_no_range_request(registry: RunRegistry) -> None:
    rule = next(r for i, r, _ in RULES if i == "reference")
    _, told = golden(registry, rule, "%", strip_summaries=False)
    _, fetched = golden(registry, rule, "%", strip_summaries=True)
    rr = "/lumisections/rr_lumisection_ranges_by_component"
    assert 0 < told.count(rr) < fetched.count(rr)


def test_a_rule_reading_no_oms_value_fetches_no_oms_data(registry: RunRegistry) -> None:
    rule = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
    transport = Recording(registry._transport, strip_summaries=False)
    result = run_sync(golden_operation(rule, "%", pushdown=False), transport, pool=None)
    assert result.lumisection_count > 0
    assert transport.lumisection_requests
    # only the lumisection count of a run with a dataset without RR statuses is fetched: like the real service,
    # the embedded one gives such a dataset an empty DCS summary (rr-protocol.md §10)
    bare = {d.run_number for d in registry.get_datasets() if not d.triplet_summary}
    assert transport.oms_runs <= bare


def test_runs_whose_datasets_keep_nothing_need_no_oms_request(registry: RunRegistry, brute: BruteForce) -> None:
    rule = {"and": [{"!=": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, {"var": "lumisection.oms.bpix_ready"}]}
    transport = Recording(registry._transport, strip_summaries=False)
    result = run_sync(golden_operation(rule, "%", pushdown=False), transport, pool=None)
    reference = brute.evaluate(rule, "%")
    assert result.mask == reference.mask
    assert result.anti_mask == reference.anti_mask
    oms_requests = [path for path in transport.lumisection_requests if "oms" in path]
    assert 0 < len(oms_requests) < len({d.run_number for d in brute.datasets})


def test_progress_counts_requests_found_unnecessary_as_done(registry: RunRegistry) -> None:
    rule = {"and": [{"!=": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, {"var": "lumisection.oms.bpix_ready"}]}
    seen: list[tuple[int, int]] = []
    transport = Recording(registry._transport, strip_summaries=True)  # every RR range fetched: two rounds
    operation = golden_operation(rule, "%", progress=lambda done, total: seen.append((done, total)))
    run_sync(operation, transport, pool=None)
    total = seen[0][1]
    assert [done for done, _ in seen] == list(range(total + 1))
    assert {t for _, t in seen} == {total}
    assert len(transport.lumisection_requests) < total  # some OMS requests turned out unnecessary


class Listing(Recording):
    """Also keeps the filters sent to the dataset listing."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, strip_summaries=False)
        self.filters: list[str] = []

    def send(self, call: Call) -> Reply:
        if call.path == "/datasets_filtered_ordered":
            self.filters.append(json.dumps(call.json["filter"]))
        return super().send(call)


@pytest.mark.parametrize("pushdown", [True, False])
def test_the_status_prefilter_is_pushed_down(registry: RunRegistry, pushdown: bool) -> None:
    """``lumisection.rr.<flag> == "GOOD"`` becomes a listing filter on the triplet summary (exact: a dataset with
    no GOOD lumisection of that flag cannot pass the clause anywhere; the engines-agree tests run with it)."""
    rule = next(r for i, r, _ in RULES if i == "reference")
    transport = Listing(registry._transport)
    run_sync(golden_operation(rule, "%", pushdown=pushdown), transport, pool=None)
    assert transport.filters
    assert all(("triplet_summary.dt-dt.GOOD" in f) is pushdown for f in transport.filters)
