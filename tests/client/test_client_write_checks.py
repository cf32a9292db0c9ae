"""Write checks with ``httpx.MockTransport``: the read before sending, and the read back after a lost answer."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from client import RunRegistry
from client.write_report import APPLIED_DESPITE_ERROR

Handler = Callable[[httpx.Request], httpx.Response]


class ClassService:
    """One run's class behind ``GET /runs/:n`` and ``PUT /manual_run_edit/:n/class``, with scripted failures."""

    def __init__(self) -> None:
        self.run_class = "Collisions18"
        self.reads = 0
        self.fail_reads_from = 10**9  # reads numbered from this one fail with 503
        self.commit_then_time_out = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.reads += 1
            if self.reads >= self.fail_reads_from:
                return httpx.Response(503, json={"err": "unavailable"})
            return httpx.Response(200, json={"run_number": 7, "rr_attributes": {"class": self.run_class}})
        self.run_class = json.loads(request.content)["class"]
        if self.commit_then_time_out:
            raise httpx.ReadTimeout("the answer was lost")
        return httpx.Response(200, json={"run_number": 7, "rr_attributes": {"class": self.run_class}})


def _client(service: Handler) -> RunRegistry:
    return RunRegistry("http://rr.test", transport=httpx.MockTransport(service), retries=0, env_file=False)


def test_a_lost_answer_after_the_commit_is_reported_as_applied() -> None:
    service = ClassService()
    service.commit_then_time_out = True
    with _client(service) as rr:
        report = rr.change_run_class(7, "Cosmics18")
    assert report.done == report.applied_despite_error == [7]
    assert report[0].message.startswith(f"{APPLIED_DESPITE_ERROR}: ")
    assert service.reads == 2  # before and after


def test_a_failed_read_back_leaves_the_write_failed() -> None:
    service = ClassService()
    service.commit_then_time_out = True
    service.fail_reads_from = 2
    with _client(service) as rr:
        report = rr.change_run_class(7, "Cosmics18", raise_on_error=False)
    assert report.failed == [7]
    assert "reading it back failed" in report[0].message


def test_a_failed_read_before_sends_nothing() -> None:
    service = ClassService()
    service.fail_reads_from = 1
    with _client(service) as rr:
        report = rr.change_run_class([7, 8], "Cosmics18", raise_on_error=False, stop_on_error=False)
    assert report.failed == [7, 8]
    assert all("not sent: reading its current state failed" in o.message for o in report)
    assert service.run_class == "Collisions18"


def test_an_unchanged_value_is_never_taken_for_an_applied_write() -> None:
    service = ClassService()
    service.commit_then_time_out = True
    with _client(service) as rr:
        report = rr.change_run_class(7, "Collisions18", raise_on_error=False)  # already that class
    assert report.failed == [7]
    assert report[0].message.startswith("not applied: ")
