"""Shared fixtures: one embedded server with a small demo year, a client on it, and a brute-force reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bruteforce import BruteForce
from testkit.servers import ServerPool

from backend.server import EmbeddedServer
from client.api import RunRegistry

#: A 2018 slice: its proton runs are what the rules select (about as many as the former 40-run 2018 sample).
DATA: dict[str, Any] = {"runs": 60, "seed": 2018, "years": [2018]}


@pytest.fixture(scope="session")
def server(server_pool: ServerPool) -> EmbeddedServer:
    return server_pool.shared(**DATA)


def _client(server: EmbeddedServer) -> Iterator[RunRegistry]:
    with RunRegistry(target=server.url) as rr:
        yield rr


@pytest.fixture(scope="session")
def registry(server: EmbeddedServer) -> Iterator[RunRegistry]:
    yield from _client(server)


@pytest.fixture(scope="session")
def quirky_server(server_pool: ServerPool) -> EmbeddedServer:
    """The same data behind ``--rr-quirks``: two-phase json_portal rows, concatenated ranges."""
    return server_pool.shared(**DATA, rr_quirks=True)


@pytest.fixture(scope="session")
def quirky_registry(quirky_server: EmbeddedServer) -> Iterator[RunRegistry]:
    yield from _client(quirky_server)


@pytest.fixture(scope="session")
def brute(registry: RunRegistry) -> BruteForce:
    return BruteForce.load(registry)
