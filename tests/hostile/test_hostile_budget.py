"""Time budgets: runaway SQL, slow requests and long json_portal jobs stop with a clean error, on time or as soon
as the server stops; jobs are bounded in number."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hostile_corpus import CHEAP_RULE, SLOW_RULE, listing, run_job, timed
from testkit.servers import ServerPool
from testkit.store import raw_query

from backend.app import Limits
from backend.budget import Budget, BudgetExceededError, run_guarded
from backend.demo import generate
from backend.errors import RequestError
from backend.jsonportal import JsonPortal
from backend.store import Store

ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
BOUND = 5.0


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open() as opened:
        yield opened


def test_runaway_sql_stops_when_the_budget_is_spent(store: Store) -> None:
    ticks = itertools.count(step=0.5)  # an injected clock: every budget check is half a second later
    budget = Budget(10.0, threading.Event(), clock=lambda: next(ticks))
    started = time.monotonic()
    with budget.running(), pytest.raises(BudgetExceededError, match="longer than its 10 s time budget"):
        run_guarded(budget, lambda: raw_query(store, ENDLESS))
    assert time.monotonic() - started < BOUND
    assert raw_query(store, "SELECT 1") == [(1,)]  # the connection is usable afterwards


def test_runaway_sql_stops_when_the_server_stops(store: Store) -> None:
    stop = threading.Event()
    budget = Budget(3600.0, stop)
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    started = time.monotonic()
    with budget.running(), pytest.raises(BudgetExceededError, match="server is stopping"):
        run_guarded(budget, lambda: raw_query(store, ENDLESS))
    assert time.monotonic() - started < BOUND
    timer.join()


def test_sql_outside_a_budget_and_other_errors_are_untouched(store: Store) -> None:
    assert raw_query(store, "SELECT count(*) FROM run") == [(0,)]
    budget = Budget(3600.0, threading.Event())
    with budget.running(), pytest.raises(Exception, match="no such table"):
        run_guarded(budget, lambda: raw_query(store, "SELECT * FROM nowhere"))


def test_requests_beyond_their_budget_get_a_clean_error(server_pool: ServerPool) -> None:
    with server_pool.fresh(runs=3, seed=1, limits=Limits(request_seconds=0)) as srv:
        reply = httpx.post(f"{srv.url}/runs_filtered_ordered", json=listing({}))
        assert reply.status_code == 500
        assert reply.json() == {"err": "the request took longer than its 0 s time budget"}


def test_json_portal_jobs_are_time_limited(server_pool: ServerPool) -> None:
    limits = Limits(job_seconds=0.3)
    with server_pool.fresh(runs=20, seed=1, limits=limits) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        reply, seconds = timed(lambda: run_job(http, SLOW_RULE, "%"))
        assert seconds < BOUND
        assert reply.json() == {"err": "the json generation took longer than its 0.3 s time budget"}
        later = http.post(
            "/json_portal/generate", json={"json_logic": json.dumps(CHEAP_RULE), "dataset_name_filter": "%"}
        )
        assert set(later.json()) == {"id"}  # the portal still takes jobs


def test_json_portal_jobs_are_bounded_and_cancelled_on_stop() -> None:
    with Store.open() as store:
        store.load(generate(runs=10, seed=1))
        stop = threading.Event()
        portal = JsonPortal(store, stop=stop, max_waiting=2, max_kept=1)
        first = portal.submit(json.dumps(SLOW_RULE), "%")
        portal.submit(json.dumps(SLOW_RULE), "%")
        with pytest.raises(RequestError, match="2 json_portal jobs are already queued or running"):
            portal.submit(json.dumps(CHEAP_RULE), "%")
        started = time.monotonic()
        stop.set()
        portal.close()
        assert time.monotonic() - started < BOUND
        status, text = portal.poll(first)
        assert status == 500
        assert "server is stopping" in json.loads(text)["err"]


def test_finished_jobs_are_forgotten_beyond_max_kept() -> None:
    with Store.open() as store:
        store.load(generate(runs=2, seed=1))
        portal = JsonPortal(store, max_kept=2)
        ids = []
        for _ in range(4):
            ids.append(portal.submit(json.dumps(CHEAP_RULE), "%"))
            deadline = time.monotonic() + 30
            while portal.poll(ids[-1])[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.01)
        portal.submit(json.dumps(CHEAP_RULE), "%")  # forgetting happens on submit
        portal.close()
        assert [portal.poll(i)[0] for i in ids] == [500, 500, 200, 200]


@pytest.mark.parametrize("limits", [{"request_seconds": -1}, {"workers": 0}, {"body_bytes": -5}])
def test_invalid_limits_are_refused(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid limits"):
        Limits(**limits)


def test_a_slow_request_does_not_hold_up_the_others(server_pool: ServerPool) -> None:
    slow_filter = {"or": [{"oms_attributes.hlt_key": {"like": f"%{i}%x%"}} for i in range(900)]}
    limits = Limits(request_seconds=3)
    with server_pool.fresh(runs=200, seed=1, limits=limits) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        run_number = http.post("/runs_filtered_ordered", json=listing({})).json()["runs"][0]["run_number"]
        replies: list[httpx.Response] = []
        worker = threading.Thread(
            target=lambda: replies.append(http.post("/datasets_filtered_ordered", json=listing(slow_filter)))
        )
        worker.start()
        while not srv.stats["requests"].get("/datasets_filtered_ordered"):  # waiting for the event, not for time
            assert worker.is_alive()
            time.sleep(0.01)
        assert worker.is_alive()  # the slow request is running
        reply, seconds = timed(lambda: httpx.get(f"{srv.url}/runs/{run_number}", timeout=30))
        assert worker.is_alive()  # and still running: the read did not wait for it
        assert reply.json()["run_number"] == run_number
        assert seconds < 1.0
        worker.join()
        slow = replies[0].json()  # its answer, or (usually) the end of its budget
        assert slow == {"err": "the request took longer than its 3 s time budget"} or "datasets" in slow
