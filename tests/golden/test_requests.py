"""The local engine asks only for what can change the answer: the listing's summaries tell the rest, exactly.

Each rule runs twice on the same server: as is, and through a transport that strips ``DatasetTripletCache``
from the dataset listing (so every range is fetched). Both must give the same golden JSON, anti-JSON,
per-dataset form and loss report; the first must need fewer requests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bruteforce import BruteForce, requests_made
from test_engines_agree import PROMPT, RULES
from test_golden_local import DT_GOOD, OneDatasetService

from backend.server import EmbeddedServer
from client.api import RunRegistry
from client.cli_golden import summary_lines
from client.engine import run_sync
from client.errors import ServiceError
from client.golden_local import golden_operation
from client.transport import Call, Reply
from schemas.golden import GoldenJson, LumiMask, Luminosity

CHECKED = ("reference", "status-good", "status-null", "bit-null", "bit-not", "run-only-class", "prescale")


class Recording:
    """Sends calls through ``inner``, counts lumisection requests and, if asked, drops the listing's summaries."""

    def __init__(self, inner: Any, *, strip_summaries: bool) -> None:
        self.inner = inner
        self.strip_summaries = strip_summaries
        self.lumisection_requests: list[str] = []
        self.oms_runs: list[int] = []

    def send(self, call: Call) -> Reply:
        reply: Reply = self.inner.send(call)
        if call.path.startswith("/lumisections/"):
            self.lumisection_requests.append(call.path)
        if call.path.startswith("/lumisections/oms"):
            self.oms_runs.append(call.json["run_number"])
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


@pytest.mark.parametrize(("rule", "pattern"), [pytest.param(r, p, id=i) for i, r, p in RULES if i in CHECKED])
def test_datasets_failing_at_run_level_need_no_status_request(registry: RunRegistry, rule: Any, pattern: str) -> None:
    """Without the loss report, a dataset failing the rule's run-level clauses loses every lumisection whatever
    their statuses say: the triplet summary's count is enough. The loss report (which blames clauses per
    lumisection) fetches them; the JSONs and the luminosity figures are the same."""
    rr = "/lumisections/rr_lumisection_ranges_by_component"
    reported, reported_requests = golden(registry, rule, pattern, strip_summaries=False)
    lumi = Recording(registry._transport, strip_summaries=False)
    plain = run_sync(golden_operation(rule, pattern, with_luminosity=True, pushdown=False), lumi, pool=None)
    assert plain.mask == reported.mask
    assert dict(plain.anti_by_dataset) == dict(reported.anti_by_dataset)
    assert plain.luminosity_in == reported.luminosity_in
    assert plain.luminosity_out == reported.luminosity_out
    assert lumi.lumisection_requests.count(rr) <= reported_requests.count(rr)
    if rule == next(r for i, r, _ in RULES if i == "reference"):  # it has run-level clauses that fail
        assert lumi.lumisection_requests.count(rr) < reported_requests.count(rr)


def test_a_rule_reading_no_oms_value_fetches_no_oms_data(registry: RunRegistry) -> None:
    rule = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
    transport = Recording(registry._transport, strip_summaries=False)
    result = run_sync(golden_operation(rule, "%", pushdown=False), transport, pool=None)
    assert result.lumisection_count > 0
    assert transport.lumisection_requests
    assert transport.oms_runs == []  # a dataset without RR statuses is in neither JSON: its run's OMS data is moot


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


def test_the_loss_report_fetches_its_run_range_in_the_same_round(registry: RunRegistry) -> None:
    """The run range's luminosity comes with the candidates' data: one progress total, counted to the end, and
    one per-lumisection OMS request per run of the range."""
    rule = next(r for i, r, _ in RULES if i == "reference")
    seen: list[tuple[int, int]] = []
    transport = Recording(registry._transport, strip_summaries=False)
    operation = golden_operation(rule, PROMPT, report=True, progress=lambda done, total: seen.append((done, total)))
    golden = run_sync(operation, transport, pool=None)
    (total,) = {t for _, t in seen}
    assert [done for done, _ in seen] == list(range(total + 1))
    assert golden.accounting is not None
    assert golden.min_run_number is not None
    assert golden.max_run_number is not None
    in_range = {r.run_number for r in registry.get_runs(filter={})}
    in_range = {run for run in in_range if golden.min_run_number <= run <= golden.max_run_number}
    assert sorted(transport.oms_runs) == sorted(in_range)


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


# ---- how many requests, and which ------------------------------------------------------------------------------
def test_the_result_counts_every_request_it_sent(server: EmbeddedServer, registry: RunRegistry) -> None:
    rule = next(r for i, r, _ in RULES if i == "reference")
    before = requests_made(server)
    golden = registry.create_json(rule, "%", engine="local", report=True)
    assert golden.requests == requests_made(server) - before > 0
    assert golden.requests_per_kept_lumisection == golden.requests / golden.lumisection_count


@pytest.mark.parametrize("rule_id", ["reference", "bit-null", "status-good"])
def test_luminosity_adds_no_request_per_dataset(registry: RunRegistry, rule_id: str) -> None:
    """With luminosity, each run's OMS data comes per lumisection in one request (the only route that carries
    luminosity besides the joint ranges, which repeat every RR status per lumisection: about 2.7x the bytes of
    the two separate replies on the demo year); the RR ranges requested stay the same."""
    rule, pattern = next((r, p) for i, r, p in RULES if i == rule_id)
    plain = Recording(registry._transport, strip_summaries=False)
    run_sync(golden_operation(rule, pattern, pushdown=False), plain, pool=None)
    lumi = Recording(registry._transport, strip_summaries=False)
    golden = run_sync(golden_operation(rule, pattern, pushdown=False, with_luminosity=True), lumi, pool=None)
    rr = "/lumisections/rr_lumisection_ranges_by_component"
    assert lumi.lumisection_requests.count(rr) == plain.lumisection_requests.count(rr)
    oms = [path for path in lumi.lumisection_requests if path != rr]
    assert set(oms) == {"/lumisections/oms_lumisections"}
    evaluated = {run for mask in golden.by_dataset.values() for run in mask.runs} | set(golden.anti_mask.runs)
    assert len(oms) == len(set(lumi.oms_runs)) >= len(evaluated)  # one per run, never per dataset
    assert set(lumi.oms_runs) >= evaluated


def test_luminosity_only_for_runs_with_an_evaluated_dataset(registry: RunRegistry, brute: BruteForce) -> None:
    """``with_luminosity`` needs the luminosity of evaluated datasets only; the loss report, whose run range
    covers every run from the first to the last candidate, fetches every candidate run's at once."""
    rule = next(r for i, r, _ in RULES if i == "reference")
    lumi = Recording(registry._transport, strip_summaries=False)
    golden = run_sync(golden_operation(rule, "%", with_luminosity=True), lumi, pool=None)
    evaluated = {d.run_number for d in brute.datasets if d.certified}
    candidates = {d.run_number for d in brute.datasets}
    assert sorted(lumi.oms_runs) == sorted(evaluated)
    assert evaluated < candidates
    reference = brute.evaluate(rule, "%")
    assert golden.luminosity_in == Luminosity(reference.recorded_in, reference.delivered_in)
    assert golden.luminosity_out == Luminosity(reference.recorded_lost, reference.delivered_lost)
    report = Recording(registry._transport, strip_summaries=False)
    run_sync(golden_operation(rule, "%", report=True), report, pool=None)
    assert set(report.oms_runs) >= candidates
    assert len(report.oms_runs) == len(set(report.oms_runs))  # one request per run, never two


class RawService(OneDatasetService):
    """:class:`OneDatasetService` answering lumisection requests with the body's bytes, as httpx does."""

    def send(self, call: Call) -> Reply:
        reply = super().send(call)
        if call.path.startswith("/lumisections/") and call.raw:
            body = self.rr_reply if isinstance(self.rr_reply, bytes) else json.dumps(reply.data).encode()
            return Reply(reply.status, body)
        return reply


def test_lumisection_replies_are_decoded_from_bytes() -> None:
    reply = {"dt-dt": [{"status": "GOOD", "start": 1, "end": 5}, {"status": "BAD", "start": 6, "end": 10}]}
    golden = run_sync(golden_operation(DT_GOOD, PROMPT), RawService(reply), pool=None)
    assert golden.mask == LumiMask({315000: [(1, 5)]})
    assert golden.anti_mask == LumiMask({315000: [(6, 10)]})
    assert golden.requests == 2  # one listing page, one RR range request


@pytest.mark.parametrize("body", [b"{not json", b'{"dt-dt": [{"status": "GOOD", "start": 1, "end": 5}'])
def test_a_reply_that_is_not_json_is_a_service_error(body: bytes) -> None:
    with pytest.raises(ServiceError, match="not JSON"):
        run_sync(golden_operation(DT_GOOD, PROMPT), RawService(body), pool=None)


def test_runql_golden_prints_the_requests_per_lumisection_kept() -> None:
    golden = GoldenJson(mask=LumiMask({315000: [(1, 40)]}), requests=4)
    assert summary_lines(golden)[-1] == "requests: 4 (0.1 per lumisection kept)"
    assert all("requests" not in line for line in summary_lines(GoldenJson(mask=LumiMask({315000: [(1, 40)]}))))
