"""Fixtures of the DIALS tests: one embedded service (Run Registry + DIALS stand-in) for the session."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from testkit.servers import ServerPool

from backend.server import EmbeddedServer

RUNS, SEED = 30, 7


@pytest.fixture(scope="session")
def server(server_pool: ServerPool) -> EmbeddedServer:
    return server_pool.shared(runs=RUNS, seed=SEED)


@pytest.fixture(scope="session")
def dials_url(server: EmbeddedServer) -> str:
    return server.url + "/dials/"


@pytest.fixture(scope="session")
def http(dials_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dials_url + "api/v1/", headers={"Authorization": "Bearer any"}) as client:
        yield client


@pytest.fixture(scope="session")
def public_dials(dials_url: str) -> Any:
    """The public ``cmsdials`` 2.4.1 client on the stand-in, with the legacy secret header (no Keycloak)."""
    from cmsdials import Dials
    from cmsdials.auth.secret_key import Credentials

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        creds = Credentials(token="any-secret")
    return Dials(creds, base_url=dials_url)
