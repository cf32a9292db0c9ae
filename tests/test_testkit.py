"""The shared test helpers do what the tests rely on: the in-process service answers as the loopback server does,
fresh servers are private copies, profiles set the example budget, the fake clock only moves when told."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import settings
from testkit.clocks import FakeClock
from testkit.profiles import PROFILES, load_profile, scaled
from testkit.servers import ServerPool
from testkit.store import checksum

LISTING = {"page": 1, "page_size": 7, "filter": {"rr_attributes.significant": True}, "sortings": []}


def _replies(http: httpx.Client) -> list[Any]:
    listing = http.post("/runs_filtered_ordered", json=LISTING)
    number = listing.json()["runs"][0]["run_number"]
    single = http.get(f"/runs/{number}")
    missing = http.get("/runs/1")
    refused = http.post("/runs_filtered_ordered", json={**LISTING, "filter": {"no_such_key": 1}})
    return [
        (r.status_code, r.headers["content-type"], json.loads(r.content)) for r in (listing, single, missing, refused)
    ]


def test_the_in_process_service_answers_like_the_loopback_server(server_pool: ServerPool) -> None:
    loopback = server_pool.shared(runs=40, seed=11)
    with server_pool.in_process(runs=40, seed=11) as service, service.http() as inner:
        with httpx.Client(base_url=loopback.url) as outer:
            assert _replies(inner) == _replies(outer)
        assert service.stats["requests"]["/runs_filtered_ordered"] == 2


@pytest.mark.anyio
async def test_the_in_process_service_serves_async_clients(server_pool: ServerPool) -> None:
    with server_pool.in_process(runs=40, seed=11) as service, service.client() as rr:
        async with service.async_client() as arr:
            assert [r.run_number for r in await arr.get_runs()] == [r.run_number for r in rr.get_runs()]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_fresh_servers_are_private_copies(server_pool: ServerPool) -> None:
    shared = server_pool.shared(runs=40, seed=11)
    pristine = checksum(shared.store)
    with server_pool.fresh(runs=40, seed=11) as mine:
        assert checksum(mine.store) == pristine  # the same registry, not generated anew differently
        open_runs = {**LISTING, "filter": {"rr_attributes.state": "OPEN"}}
        number = httpx.post(f"{mine.url}/runs_filtered_ordered", json=open_runs).json()["runs"][0]["run_number"]
        changed = httpx.put(f"{mine.url}/manual_run_edit/{number}/class", json={"class": "Commissioning18"})
        assert changed.status_code == 200, changed.text
        assert checksum(mine.store) != pristine
    assert checksum(shared.store) == pristine
    assert server_pool.shared(runs=40, seed=11) is shared  # one server per configuration


def test_profiles_set_the_example_budget_and_shares_follow_it() -> None:
    current = settings.get_current_profile_name()
    try:
        assert load_profile({"HYPOTHESIS_PROFILE": "thorough"}) == "thorough"
        assert settings.default.max_examples == PROFILES["thorough"]
        assert scaled(0.2).max_examples == PROFILES["thorough"] // 5
        assert load_profile({}) == "fast"
        assert scaled(0.2).max_examples == PROFILES["fast"] // 5
        assert scaled(0.0001).max_examples == 1
        with pytest.raises(ValueError, match="expected one of fast, thorough"):
            load_profile({"HYPOTHESIS_PROFILE": "quick"})
    finally:
        settings.load_profile(current)


def test_the_fake_clock_moves_only_forward_and_only_when_told() -> None:
    clock = FakeClock(10.0)
    assert clock() == clock() == 10.0
    clock.advance(0.5)
    assert clock() == 10.5
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
