"""Fixtures of the backend tests: a small generated registry, its store and a running embedded server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from backend_reference import SEED, SMALL_RUNS
from testkit.servers import ServerPool

from backend.demo import generate
from backend.rows import DemoRegistry, DemoRun
from backend.server import EmbeddedServer
from backend.store import Store


@pytest.fixture(scope="session")
def registry() -> DemoRegistry:
    return generate(runs=SMALL_RUNS, seed=SEED)


@pytest.fixture(scope="session")
def runs_by_number(registry: DemoRegistry) -> dict[int, DemoRun]:
    return {r.run_number: r for r in registry.runs}


@pytest.fixture(scope="session")
def store(registry: DemoRegistry) -> Iterator[Store]:
    with Store.open() as opened:
        opened.load(registry)
        yield opened


@pytest.fixture(scope="session")
def server(server_pool: ServerPool) -> EmbeddedServer:
    """The small registry, served for the session: tests leave its store as they found it."""
    return server_pool.shared(runs=SMALL_RUNS, seed=SEED)


@pytest.fixture(scope="module")
def http(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
