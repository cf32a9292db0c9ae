"""Writes against a fresh small registry: run by run, with per-run reports, dry runs and failures in the middle."""

from __future__ import annotations

import httpx
import pytest
from testkit.inprocess import InProcessService
from testkit.servers import ServerPool

from client import RunRegistry, WriteError
from client.writes import runs_argument


def _open_runs(rr: RunRegistry, count: int) -> list[int]:
    numbers = [r.run_number for r in rr.get_runs(filter={"state": "OPEN"})]
    assert len(numbers) >= count
    return numbers[:count]


def test_change_run_class_reports_every_run(small_service: InProcessService) -> None:
    with small_service.client() as rr:
        first, second = _open_runs(rr, 2)
        report = rr.change_run_class([first, second], "Commissioning18")
        assert report.done == [first, second]
        assert report.ok
        assert [a["run_number"] for a in report.responses] == [first, second]
        assert rr.get_run(first).rr_attributes.class_ == "Commissioning18"
        assert rr.get_run(second).rr_attributes.class_ == "Commissioning18"


def test_dry_run_sends_nothing(small_service: InProcessService) -> None:
    with small_service.client() as rr:
        (number,) = _open_runs(rr, 1)
        before = rr.get_run(number).rr_attributes.class_
        writes_before = small_service.stats["requests"].get("/manual_run_edit/{run_number}/class", 0)
        report = rr.change_run_class(number, "Cosmics18", dry_run=True)
        assert report.planned == [number]
        assert report.dry_run
        assert rr.get_run(number).rr_attributes.class_ == before
        assert small_service.stats["requests"].get("/manual_run_edit/{run_number}/class", 0) == writes_before


def test_a_failure_in_the_middle_never_hides_what_was_changed(small_service: InProcessService) -> None:
    with small_service.client() as rr:
        first, last = _open_runs(rr, 2)
        closed = rr.get_runs(filter={"state": {"or": ["SIGNOFF", "COMPLETED"]}}, limit=1)[0].run_number
        with pytest.raises(WriteError) as caught:
            rr.change_run_class([first, closed, last], "Special18")
        report = caught.value.report
        assert (report.done, report.failed, report.skipped) == ([first], [closed], [last])
        assert "only OPEN runs can be edited" in report[1].message
        assert f"run {closed}" in str(caught.value)
        assert rr.get_run(first).rr_attributes.class_ == "Special18"
        assert rr.get_run(last).rr_attributes.class_ != "Special18"
        report = rr.change_run_class([first, closed, last], "Special18", stop_on_error=False, raise_on_error=False)
        assert (report.done, report.failed, report.skipped) == ([first, last], [closed], [])


def test_significance_lumisection_edits_refreshes_and_moves(server_pool: ServerPool) -> None:
    # 200 runs: enough OPEN significant runs that one has a hole (EMPTY lumisections) that blocks its sign-off
    with server_pool.in_process(runs=200, seed=11) as service, service.client() as rr:
        plain = rr.get_runs(filter={"state": "OPEN", "significant": False}, limit=1)[0].run_number
        assert rr.make_significant_runs(run=plain).done == [plain]
        assert rr.get_run(plain).rr_attributes.significant is True
        again = rr.make_significant_runs(run=plain)
        assert again.skipped == [plain]  # already significant: read first, not sent
        assert "already significant" in again[0].message

        open_in_dt = {d.run_number: d.name for d in rr.get_datasets(filter={"dt_state": "OPEN"})}
        number = next(
            run.run_number
            for run in rr.get_runs(filter={"state": "OPEN", "significant": True})
            if any(counts.empty for counts in run.triplet_summary.values()) and run.run_number in open_in_dt
        )
        report = rr.edit_rr_lumisections(number, 1, 2, "dt-dt", "BAD", comment="noisy chamber", cause="Hardware")
        assert report.done == [number]
        first = rr.get_lumisection_ranges_by_component(number)["dt-dt"][0]
        assert (first.start, first.end, first.status, first.comment) == (1, 2, "BAD", "noisy chamber")
        with pytest.raises(WriteError, match="comment"):
            rr.edit_rr_lumisections(number, 1, 2, "dt-dt", "BAD")
        assert rr.manually_refresh_components_statuses_for_runs(runs=[number]).done == [number]
        assert rr.reset_RR_attributes_and_refresh_runs(runs=number).done == [number]

        refused = rr.move_runs("OPEN", "SIGNOFF", run=number, raise_on_error=False)
        assert refused.failed == [number]
        assert "EMPTY" in refused[0].message
        last = len(rr.get_lumisections(number))
        for component in rr.get_run(number).triplet_summary:
            rr.edit_rr_lumisections(number, 1, last, component, "GOOD")
        assert rr.move_runs("OPEN", "SIGNOFF", run=number).done == [number]
        assert rr.get_run(number).rr_attributes.state == "SIGNOFF"

        offline = open_in_dt[number]
        assert offline in rr.get_dataset_names_of_run(number)
        moved = rr.move_datasets("OPEN", "SIGNOFF", offline, workspace="dt", run=number)
        assert moved.done == [number]
        assert rr.get_dataset(number, offline).dataset_attributes.dt_state == "SIGNOFF"


def test_bad_arguments_fail_before_any_request(small_service: InProcessService) -> None:
    with small_service.client() as rr:
        before = dict(small_service.stats["requests"])
        with pytest.raises(ValueError, match="must be one of"):
            rr.move_runs("OPEN", "DONE", run=1)
        with pytest.raises(ValueError, match="either run= or runs="):
            rr.make_significant_runs(run=1, runs=[2])
        with pytest.raises(ValueError, match="more than once"):
            rr.change_run_class([1, 1], "Cosmics18")
        with pytest.raises(TypeError, match="must be an int"):
            rr.change_run_class([1, "2x"], "Cosmics18")
        with pytest.raises(ValueError, match="before lumi_start"):
            rr.edit_rr_lumisections(1, 5, 2, "dt-dt", "GOOD")
        with pytest.raises(TypeError, match="unexpected keyword"):
            rr.change_run_class(1, "Cosmics18", dryrun=True)
        assert small_service.stats["requests"] == before


def test_runs_argument_accepts_the_public_clients_forms() -> None:
    assert runs_argument(runs="315000", function="f") == (315000,)
    assert runs_argument(run=315000, function="f") == (315000,)
    assert runs_argument(runs=[1, 2], function="f") == (1, 2)
    with pytest.raises(ValueError, match="no run given"):
        runs_argument(runs=[], function="f")


def test_a_write_that_keeps_timing_out_is_retried_within_bounds_then_reported() -> None:
    calls: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the run as it is, read before and after the write
            number = int(request.url.path.rsplit("/", 1)[1])
            return httpx.Response(200, json={"run_number": number, "rr_attributes": {"class": "Collisions18"}})
        calls.append(request)
        raise httpx.ReadTimeout("slow")

    transport = httpx.MockTransport(handler)
    with RunRegistry("http://rr.test", transport=transport, env_file=False, sleep=sleeps.append) as rr:
        report = rr.change_run_class([1, 2], "Cosmics18", raise_on_error=False)
    assert report.failed == [1]
    assert report.skipped == [2]
    assert report[0].message.startswith("not applied")
    assert "ReadTimeout" in report[0].message
    # setting a class again is harmless, so it is retried: its own 4 retries, then the operation's spare ones
    assert len(calls) == 1 + len(sleeps)
    assert 7 <= len(calls) <= 17


@pytest.mark.anyio
async def test_async_writes(small_service: InProcessService) -> None:
    with small_service.client() as rr:
        (number,) = _open_runs(rr, 1)
    async with small_service.async_client() as arr:
        report = await arr.change_run_class(number, "Cosmics18")
        assert report.done == [number]
        assert (await arr.get_run(number)).rr_attributes.class_ == "Cosmics18"
        dry = await arr.move_runs("OPEN", "SIGNOFF", run=number, dry_run=True)
        assert dry.planned == [number]
