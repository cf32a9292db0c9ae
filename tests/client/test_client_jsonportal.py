"""create_json with the service's json_portal: one token, progress, timeout, cancellation, failures."""

from __future__ import annotations

import io
import json
import threading

import httpx
import pytest
from testkit.inprocess import InProcessService

from client import AsyncRunRegistry, JobError, RunRegistry
from client.jsonportal import generate_call
from client.progress import job_reporting
from schemas import GoldenJson, JsonPortalRow, LumiMask

RULE = {
    "and": [
        {">=": [{"var": "run.oms.energy"}, 6000]},
        {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
        {"==": [{"var": "lumisection.oms.beam1_present"}, True]},
    ]
}


def test_create_json_returns_the_services_row(small_service: InProcessService) -> None:
    progress: list[float | None] = []
    with small_service.client() as rr:
        golden = rr.create_json(RULE, "online", poll_interval=0.05, on_progress=progress.append)
        collisions = {r.run_number for r in rr.get_runs(filter={"energy": {">=": 6000}})}
    assert isinstance(golden, GoldenJson)
    assert golden.engine == "server"
    row = golden.server_row
    assert isinstance(row, JsonPortalRow)
    assert row.generated_json
    assert golden.mask == LumiMask(row.generated_json)
    # scripts ported from runregistry index the row: the wire form, string run keys
    assert golden["generated_json"] == {str(run): [list(r) for r in rs] for run, rs in row.generated_json.items()}
    assert set(row.generated_json) <= collisions
    for ranges in row.generated_json.values():
        assert all(first <= last for first, last in ranges)
    assert all(p is None or 0 <= p <= 1 for p in progress)


@pytest.mark.anyio
async def test_async_create_json_matches(small_service: InProcessService) -> None:
    with small_service.client() as rr:
        expected = rr.create_json(RULE, "online", poll_interval=0.05).mask
        local = rr.create_json(RULE, "online", engine="local").mask
    async with small_service.async_client() as arr:
        golden = await arr.create_json(json.dumps(RULE), "online", poll_interval=0.05)
        golden_local = await arr.create_json(RULE, "online", engine="local")
    assert golden.mask == expected == local
    assert golden_local.engine == "local"
    assert golden_local.mask == expected


class PortalScript:
    """A json_portal that stays at 202 for ``pending`` polls, then answers ``final``."""

    def __init__(self, pending: int, final: httpx.Response) -> None:
        self.pending, self.final, self.polls = pending, final, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/json_portal/generate":
            return httpx.Response(200, json={"id": 42})
        self.polls += 1
        if self.polls == 1:
            return httpx.Response(203)  # the service answers a queued job with an empty body
        if self.polls <= self.pending:
            return httpx.Response(202, json={"progress": self.polls / (self.pending + 1)})
        return self.final


def _client(script: PortalScript) -> RunRegistry:
    return RunRegistry("http://rr.test", transport=httpx.MockTransport(script), env_file=False)


def test_progress_then_result() -> None:
    script = PortalScript(3, httpx.Response(200, json={"final_json": {"generated_json": {"1": [[1, 2]]}}}))
    progress: list[float | None] = []
    with _client(script) as rr:
        golden = rr.create_json(RULE, "online", poll_interval=0.001, on_progress=progress.append)
    assert golden.mask == LumiMask({1: [(1, 2)]})
    assert progress == [None, 0.5, 0.75]


UNFINISHED = {
    "generated_json": {"1": [[1, 2]]},
    "generated_anti_json": {},
    "recorded_luminosity_in_json": 7,
    "delivered_luminosity_in_json": 8,
    "total_recorded_luminosity_lost": -1,
    "total_delivered_luminosity_lost": -1,
}
FINISHED = {
    **UNFINISHED,
    "generated_anti_json": {"1": [[3, 9]]},
    "total_recorded_luminosity_lost": 5,
    "total_delivered_luminosity_lost": 6,
    "total_recorded_luminosity_from_run_range": 30,
    "total_delivered_luminosity_from_run_range": 40,
    "rules_flagged_false_quantity_luminosity": {'{"var":"x"}': 5},
    "rules_flagged_false_combination_luminosity": {'[{"var":"x"}]': 5},
    "runs_lumisections_responsible_for_rule": {'[{"var":"x"}]': {"1-/A/B/DQM": [[3, 9]]}},
}


class TwoPhasePortal(PortalScript):
    """After the job ran, answers 200 with the row as first stored ``unfinished`` times, then finished."""

    def __init__(self, unfinished: int) -> None:
        super().__init__(2, httpx.Response(200, json={"final_json": FINISHED}))
        self.unfinished = unfinished

    def __call__(self, request: httpx.Request) -> httpx.Response:
        reply = super().__call__(request)
        if reply is self.final and self.polls <= 2 + self.unfinished:
            return httpx.Response(200, json={"final_json": UNFINISHED})
        return reply


def test_the_client_waits_until_the_row_is_finished() -> None:
    script = TwoPhasePortal(unfinished=3)
    progress: list[float | str | None] = []
    with _client(script) as rr:
        golden = rr.create_json(RULE, "online", poll_interval=0.001, on_progress=progress.append)
    assert script.polls == 6
    assert progress == [None, 2 / 3, "finishing", "finishing", "finishing"]
    assert golden.server_row is not None
    assert golden.server_row.finished
    assert golden.anti_mask == LumiMask({1: [(3, 9)]})
    assert golden.luminosity_out is not None
    assert (golden.luminosity_out.recorded, golden.luminosity_out.delivered) == (5, 6)
    assert golden.accounting is not None
    assert golden.accounting.total_recorded_luminosity == 12


@pytest.mark.anyio
async def test_the_async_client_waits_too() -> None:
    script = TwoPhasePortal(unfinished=2)
    async with AsyncRunRegistry("http://rr.test", transport=httpx.MockTransport(script), env_file=False) as arr:
        golden = await arr.create_json(RULE, "online", poll_interval=0.001)
    assert script.polls == 5
    assert golden.anti_mask == LumiMask({1: [(3, 9)]})


def test_an_unfinished_row_counts_against_the_timeout() -> None:
    script = TwoPhasePortal(unfinished=10**6)
    with _client(script) as rr, pytest.raises(JobError, match="still lacks the anti-JSON"):
        rr.create_json(RULE, "online", poll_interval=0.001, timeout=0.05)


def test_a_rule_the_service_never_finishes_is_returned_as_stored() -> None:
    script = TwoPhasePortal(unfinished=10**6)
    rule = {"if": [{"var": "lumisection.oms.beam1_present"}, True, False]}  # the service's accounting throws
    with _client(script) as rr:
        golden = rr.create_json(rule, "online", poll_interval=0.001, timeout=5)
    assert script.polls == 3
    assert golden.accounting is None
    assert golden.luminosity_out is None
    assert golden.mask == LumiMask({1: [(1, 2)]})


def test_a_failed_job_raises_job_error() -> None:
    script = PortalScript(1, httpx.Response(500, json={"err": "rule evaluation failed"}))
    with _client(script) as rr, pytest.raises(JobError, match="rule evaluation failed") as caught:
        rr.create_json(RULE, "online", poll_interval=0.001)
    assert caught.value.job_id == 42


def test_timeout_and_cancellation() -> None:
    script = PortalScript(10**6, httpx.Response(200, json={}))
    with _client(script) as rr, pytest.raises(JobError, match="not finished after"):
        rr.create_json(RULE, "online", poll_interval=0.01, timeout=0.05)
    cancel = threading.Event()
    cancel.set()
    with _client(script) as rr, pytest.raises(JobError, match="cancelled"):
        rr.create_json(RULE, "online", poll_interval=5.0, cancel=cancel)


def test_bad_rules_fail_before_any_request() -> None:
    script = PortalScript(0, httpx.Response(200, json={}))
    with _client(script) as rr:
        with pytest.raises(ValueError, match="Expecting"):
            rr.create_json("{not json", "online")
        with pytest.raises(TypeError, match="dataset_name_filter"):
            rr.create_json(RULE, "")
        with pytest.raises(ValueError, match="engine"):
            rr.create_json(RULE, "online", engine="magic")
    assert script.polls == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_shows_finishing() -> None:
    err = Terminal()
    with job_reporting(err.isatty(), "json_portal job", file=err) as show, _client(TwoPhasePortal(unfinished=1)) as rr:
        rr.create_json(RULE, "online", poll_interval=0.001, on_progress=show)
    text = err.getvalue()
    assert "json_portal job:   0%" in text  # queued
    assert "67/100" in text
    assert "finishing" in text


@pytest.mark.parametrize("rule", [[1, 2], "[1, 2]", True, '{"!": true, "!": false}', "{"])
def test_the_server_engine_refuses_a_rule_that_is_not_a_json_object_before_sending(rule: object) -> None:
    """A list rule would keep every lumisection on the service: a RuleError, and nothing is submitted."""
    from querylang import RuleError

    with pytest.raises(RuleError):
        generate_call(rule, "%")
