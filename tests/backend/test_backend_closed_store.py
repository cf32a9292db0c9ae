"""A request that reaches a closed store (the server is stopping) is answered ``{"err"}``, not logged as a crash."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from backend.app import create_app
from backend.store import Store


def test_a_request_after_the_store_closed_gets_a_clean_error(caplog: pytest.LogCaptureFixture) -> None:
    store = Store.open()
    app = create_app(store)
    store.close()

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rr.test") as http:
            return await http.get("/runs/1")

    with caplog.at_level(logging.ERROR, logger="backend.app"):
        reply = anyio.run(get)
    assert (reply.status_code, reply.json()) == (500, {"err": "the in-memory store is closed"})
    assert not caplog.records
