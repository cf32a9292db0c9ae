"""Session-wide setup: the Hypothesis profile (``HYPOTHESIS_PROFILE``: ``fast`` or ``thorough``) and the pool of
embedded servers shared by the test packages."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from testkit.profiles import load_profile

if TYPE_CHECKING:
    from testkit.servers import ServerPool


def pytest_configure(config: pytest.Config) -> None:
    load_profile()


def pytest_report_header(config: pytest.Config) -> str:
    from hypothesis import settings

    return f"hypothesis profile: {settings.get_current_profile_name()}"


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """Embedded servers shared by the session (one per configuration) and fresh ones over copied registries."""
    from testkit.servers import ServerPool  # the backend is imported only by the sessions that serve it

    pool = ServerPool(tmp_path_factory.mktemp("registries"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(autouse=True)
def _signal_handlers_are_restored() -> Iterator[None]:
    """A test that changes how this process handles SIGINT or SIGTERM must put it back: the processes later tests
    start inherit an ignored signal, and Ctrl-C tests then wait for an interrupt that never comes."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    after = {sig: signal.getsignal(sig) for sig in before}
    assert after == before, f"signal handlers changed by the test: {before} -> {after}"
