"""Fixtures of the client tests: a clean environment, MockTransport clients, and embedded backends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from client_fakes import BASE_URL, FakeService
from testkit.inprocess import InProcessService
from testkit.servers import ServerPool

from backend.server import EmbeddedServer
from client import RunRegistry

_OUR_VARIABLES = ("SSO_CLIENT_ID", "SSO_CLIENT_SECRET", "ENVIRONMENT")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RUNQL_*/SSO_* variables and no ./.env leak into a test."""
    for name in list(os.environ):
        if name.startswith("RUNQL_") or name in _OUR_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> FakeService:
    return FakeService()


@pytest.fixture
def mock_client(fake: FakeService) -> Iterator[RunRegistry]:
    with RunRegistry(BASE_URL, transport=httpx.MockTransport(fake), backoff=0.001, page_size=10) as rr:
        yield rr


@pytest.fixture(scope="session")
def server(server_pool: ServerPool) -> EmbeddedServer:
    """The demo registry (500 runs) served over loopback HTTP for the read-only tests."""
    return server_pool.shared(runs=500, seed=7)


@pytest.fixture(scope="session")
def service(server_pool: ServerPool) -> InProcessService:
    """The same registry as ``server``, served in-process (no socket) for the tests of client logic."""
    return server_pool.shared_in_process(runs=500, seed=7)


@pytest.fixture(scope="session")
def rr(service: InProcessService) -> Iterator[RunRegistry]:
    with service.client(page_size=40) as client:
        yield client


@pytest.fixture
def small_server(server_pool: ServerPool) -> Iterator[EmbeddedServer]:
    """A fresh small registry per test, served over loopback HTTP (for the CLI)."""
    with server_pool.fresh(runs=40, seed=11) as srv:
        yield srv


@pytest.fixture
def small_service(server_pool: ServerPool) -> Iterator[InProcessService]:
    """A fresh small registry per test, served in-process, for writes."""
    with server_pool.in_process(runs=40, seed=11) as service:
        yield service
