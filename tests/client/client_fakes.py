"""A small in-memory stand-in of the service for ``httpx.MockTransport`` unit tests.

It implements just enough of ``rr-protocol.md``: listings with ``{}`` / ``run_number`` equality and range filters
(and ``or`` lists of those), pagination with count/pages, a token endpoint, and scripted failures.
"""

from __future__ import annotations

import json
import math
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import httpx

from querylang.backend_filter import BackendFilter, Bare, Column, Junction, from_json

TOKEN_URL = "http://sso.test/token"
BASE_URL = "http://rr.test"


def make_run(number: int, **oms: Any) -> dict[str, Any]:
    return {
        "run_number": number,
        "version": 1,
        "deleted": False,
        "oms_attributes": {"energy": 6500 if number % 2 else 0, "b_field": 3.8, **oms},
        "rr_attributes": {"class": "Collisions18" if number % 2 else "Cosmics18", "state": "OPEN", "significant": True},
        "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": number % 7, "BAD": 1}}},
    }


def make_dataset(number: int, name: str) -> dict[str, Any]:
    run = make_run(number)
    return {
        "run_number": number,
        "name": name,
        "dataset_attributes": {"global_state": "OPEN"},
        "datasets_in_gui": [],
        "deleted": False,
        "version": 1,
        "Run": {"rr_attributes": run["rr_attributes"], "oms_attributes": run["oms_attributes"]},
        "DatasetTripletCache": {"triplet_summary": run["DatasetTripletCache"]["triplet_summary"], "dcs_summary": {}},
    }


def _matches(row: dict[str, Any], backend_filter: dict[str, Any]) -> bool:
    return _holds(row, from_json(backend_filter))


def _holds(row: dict[str, Any], node: BackendFilter) -> bool:
    return all(_entry_holds(row, entry) for entry in node.items)


def _entry_holds(row: dict[str, Any], entry: Column | Junction) -> bool:
    if isinstance(entry, Junction):
        check = any if entry.logic == "or" else all
        return check(_holds(row, f) for f in entry.filters)
    value: Any = row
    parts = entry.key.split(".")
    if parts[0] == "triplet_summary":
        parts = ["DatasetTripletCache", *parts]
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    condition = entry.condition
    tests = [("=", condition.value)] if isinstance(condition, Bare) else [(t.op, t.to_json()) for t in condition.tests]
    for op, expected in tests:
        ok = {
            "=": lambda v, e: v == e,
            ">": lambda v, e: v is not None and v > e,
            "<": lambda v, e: v is not None and v < e,
            ">=": lambda v, e: v is not None and v >= e,
            "<=": lambda v, e: v is not None and v <= e,
        }[op](value, expected)
        if not ok:
            return False
    return True


class FakeService:
    """``handler`` for ``httpx.MockTransport``. ``script[(path, page)]`` queues responses served first."""

    def __init__(self, runs: list[dict[str, Any]] | None = None, datasets: list[dict[str, Any]] | None = None):
        self.runs = runs if runs is not None else [make_run(n) for n in range(1000, 1100)]
        self.datasets = datasets or []
        self.requests: list[httpx.Request] = []
        self.routes: Counter[str] = Counter()
        self.script: dict[tuple[str, int | None], deque[Callable[[], httpx.Response] | httpx.Response]] = {}
        self.token_requests = 0
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] | None = None  # None: no auth
        self.count_shift = 0  # added to "count" for pages > 0 (live data)

    def fail(self, path: str, page: int | None, *responses: httpx.Response | Callable[[], httpx.Response]) -> None:
        self.script.setdefault((path, page), deque()).extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == TOKEN_URL:
            return self._token(request)
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        page = body.get("page") if isinstance(body, dict) else None
        self.routes[path] += 1
        queued = self.script.get((path, page)) or self.script.get((path, None))
        if queued:
            item = queued.popleft()
            return item() if callable(item) else item
        if self.valid_tokens is not None:
            auth = request.headers.get("authorization", "")
            if auth.removeprefix("Bearer ") not in self.valid_tokens:
                return httpx.Response(401, json={"message": "invalid token"})
        if path in ("/runs_filtered_ordered", "/datasets_filtered_ordered"):
            return self._listing(path.strip("/").split("_")[0], body)
        if path == "/cycles/global":
            return httpx.Response(200, json=[{"id_cycle": 1}])
        return httpx.Response(500, json={"err": f"no route {path}"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests += 1
        token = f"token-{self.token_requests}"
        self.tokens_issued.append(token)
        if self.valid_tokens is not None:
            self.valid_tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "expires_in": 300})

    def _listing(self, kind: str, body: dict[str, Any]) -> httpx.Response:
        rows = self.runs if kind == "runs" else self.datasets
        matching = [r for r in rows if _matches(r, body["filter"])]
        matching.sort(key=lambda r: (-r["run_number"], r.get("name", "")))
        size, page = body["page_size"], body["page"]
        count = len(matching) + (self.count_shift if page > 0 else 0)
        chunk = matching[page * size : (page + 1) * size]
        return httpx.Response(200, json={kind: chunk, "count": count, "pages": math.ceil(count / size)})
