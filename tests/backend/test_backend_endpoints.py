"""The service's endpoints as ASGI apps: the same answer through the route table and through Starlette's router
(taken when middleware is on), and a client that leaves while sending its body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from backend_reference import SEED
from starlette.types import ASGIApp

from backend.app import create_app
from backend.demo import generate
from backend.store import Store


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open() as opened:
        opened.load(generate(runs=6, seed=SEED))
        yield opened


def call(app: ASGIApp, method: str, path: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everything ``app`` sends for one request whose body arrives as ``messages``."""
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def body(value: Any) -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": json.dumps(value).encode(), "more_body": False}]


def test_the_table_and_starlettes_router_answer_alike(store: Store) -> None:
    direct = create_app(store)
    routed = create_app(store, faults=1e-12)  # fault injection's middleware: every request takes Starlette's way
    run_number = store.registry_runs()[0][0]
    key = {"run_number": run_number, "dataset_name": "online"}
    requests = [
        ("GET", f"/runs/{run_number}", []),
        ("GET", f"/get_all_dataset_names_of_run/{run_number}", []),
        ("POST", "/lumisections/oms_lumisection_ranges", body(key)),
        ("POST", "/lumisections/rr_lumisections", body(key)),
        ("POST", "/runs_filtered_ordered", body({"page": 0, "page_size": 2, "filter": {}, "sortings": []})),
        ("POST", "/runs_filtered_ordered", body({"page": 0})),  # a 500 {"err"}
        ("GET", "/workspaces/nowhere", []),
        ("POST", "/runs/1", []),  # 405
        ("GET", "/no/such/route", []),  # 404
    ]
    for method, path, messages in requests:
        empty = [{"type": "http.request", "body": b"", "more_body": False}]
        assert call(direct, method, path, list(messages or empty)) == call(routed, method, path, messages or empty)


def test_a_client_leaving_while_it_sends_its_body_gets_499_without_a_body(store: Store) -> None:
    messages = [{"type": "http.request", "body": b'{"run', "more_body": True}, {"type": "http.disconnect"}]
    sent = call(create_app(store), "POST", "/lumisections/oms_lumisection_ranges", messages)
    assert sent == [
        {"type": "http.response.start", "status": 499, "headers": [(b"content-length", b"0")]},
        {"type": "http.response.body", "body": b""},
    ]
