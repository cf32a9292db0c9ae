"""Runs the typed usage file (``usage.py``, checked by mypy in ``make test``) against the embedded service, so
its ``assert_type`` lines describe what the calls really return."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import usage
from usage import Sample

import client as runregistry
from backend.server import EmbeddedServer
from client import AsyncDials, AsyncRunRegistry, Dials, RunRegistry
from client.dials import SecretKey
from client.dials.api import _Lister, _Resources
from querylang.dials_catalogue import dials_resource
from schemas.dials import DIALS_MODELS


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(runs=30, seed=5) as srv:
        yield srv


@pytest.fixture(scope="module")
def rr(server: EmbeddedServer) -> Iterator[RunRegistry]:
    with RunRegistry(server.url, env_file=False) as client:
        yield client


@pytest.fixture(scope="module")
def sample(rr: RunRegistry) -> Sample:
    """A run of class Collisions18 and its first offline dataset (both with lumisections)."""
    dataset = rr.get_datasets(1, filter={"dataset_name": {"like": "%Prompt%"}, "class": {"like": "Collisions%"}})[0]
    return Sample(dataset.run_number, dataset.name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    "use", [usage.listings, usage.single_records, usage.lumisections, usage.misuse, usage.golden_and_writes]
)
def test_sync_client(use: Callable[[RunRegistry, Sample], None], rr: RunRegistry, sample: Sample) -> None:
    use(rr, sample)


@pytest.mark.anyio
async def test_async_client(server: EmbeddedServer, sample: Sample) -> None:
    async with AsyncRunRegistry(server.url, env_file=False) as arr:
        await usage.async_client(arr, sample)


def test_dials(server: EmbeddedServer) -> None:
    with Dials(SecretKey("typed"), target=f"{server.url}/dials/") as client:
        usage.dials(client)


@pytest.mark.anyio
async def test_async_dials(server: EmbeddedServer) -> None:
    async with AsyncDials(SecretKey("typed"), target=f"{server.url}/dials/") as client:
        await usage.async_dials(client)


def test_compat(server: EmbeddedServer, sample: Sample) -> None:
    runregistry.setup(server.url, env_file=False)
    try:
        usage.compat(sample)
    finally:
        runregistry.setup("local")  # closes the default client


def test_each_dials_resource_method_is_typed_by_its_model() -> None:
    listers = {name: value for name, value in vars(_Resources).items() if isinstance(value, _Lister)}
    assert {dials_resource(lister.resource).name for lister in listers.values()} == set(DIALS_MODELS)
    for name, lister in listers.items():
        assert lister.model is DIALS_MODELS[dials_resource(lister.resource).name], name
        assert getattr(Dials, name) is lister
