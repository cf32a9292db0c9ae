"""Fixtures of the hostile-input corpus: one small embedded server, an HTTP client on it and its pristine checksum."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testkit.servers import ServerPool
from testkit.store import checksum

from backend.server import EmbeddedServer

# The reference evaluator and filter strategies live next to the querylang tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "querylang"))

#: Runs of the shared server: enough for every kind of run and dataset, small enough to start fast.
RUNS = 60


@pytest.fixture(scope="session")
def hostile_server(server_pool: ServerPool) -> EmbeddedServer:
    return server_pool.shared(runs=RUNS, seed=2018)


@pytest.fixture(scope="session")
def pristine(hostile_server: EmbeddedServer) -> str:
    """The store's checksum before any hostile request."""
    return checksum(hostile_server.store)


@pytest.fixture
def http(hostile_server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hostile_server.url, timeout=30) as client:
        yield client
