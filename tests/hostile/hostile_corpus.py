"""The hostile-input corpus shared by the tests of this folder: evil patterns, slow work, and small helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

#: LIKE patterns a backtracking matcher needs exponential or high-polynomial time for; none ends in a character
#: of the demo's HLT keys ("!" or "b"), so each matches nothing there.
EVIL_LIKES = ("%_%_%_%_%_%_%_%_%_%_%!", "%%%%%%%%%%%%%%%%%%%%%%%%!", "%a%a%a%a%a%a%a%a%a%a%a%a%b", "_%" * 40 + "!")
#: A json-logic rule that keeps nothing, at once.
CHEAP_RULE = {"==": [1, 2]}
#: A json-logic rule costing about a millisecond per lumisection: a job over a registry takes minutes.
SLOW_RULE = {"reduce": [list(range(2000)), {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and the seconds it took (monotonic clock)."""
    started = time.monotonic()
    result = work()
    return result, time.monotonic() - started


def listing(backend_filter: Any, page_size: int = 5) -> dict[str, Any]:
    """A ``/runs_filtered_ordered`` (or datasets) body for ``backend_filter``."""
    return {"page": 0, "page_size": page_size, "sortings": [], "filter": backend_filter}


def submit_job(http: httpx.Client, rule: Any, pattern: str) -> httpx.Response:
    """``POST /json_portal/generate`` for ``rule`` (sent as JSON text, like the service wants) and ``pattern``."""
    return http.post("/json_portal/generate", json={"json_logic": json.dumps(rule), "dataset_name_filter": pattern})


def run_job(http: httpx.Client, rule: Any, pattern: str, *, limit: float = 60.0) -> httpx.Response:
    """Submit a json_portal job and poll it to its end; the final 200 or 500 reply."""
    submitted = submit_job(http, rule, pattern)
    assert submitted.status_code == 200, submitted.text
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        reply = http.post("/json_portal/json", json={"id_json": submitted.json()["id"]})
        if reply.status_code in (200, 500):
            return reply
        time.sleep(0.02)
    raise AssertionError("the json_portal job did not end")
