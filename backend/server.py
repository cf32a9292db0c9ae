"""Run the embedded service in-process: uvicorn on a background thread, on an ephemeral loopback port.

>>> import httpx
>>> with EmbeddedServer(runs=20, seed=1) as srv:
...     reply = httpx.post(f"{srv.url}/runs_filtered_ordered",
...                        json={"page": 0, "page_size": 5, "filter": {}, "sortings": []}).json()
...     on_loopback = srv.url.startswith("http://127.0.0.1:")
>>> reply["count"], len(reply["runs"]), on_loopback
(20, 5, True)
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Collection
from contextlib import closing
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from backend import parallel_build, registry_cache
from backend.app import Limits, create_app
from backend.auth import AuthConfig
from backend.demo import RunSlot, build_runs, plan_runs
from backend.eras import ERAS
from backend.stats import ServerStats
from backend.store import Store, StoreError
from querylang.errors import ArgumentError

__all__ = ["PARALLEL_MIN_RUNS", "EmbeddedServer", "build_store"]

logger = logging.getLogger(__name__)
_START_TIMEOUT = 60.0
#: Seconds uvicorn waits for requests in flight when stopping (they are told to stop at once, see ``stop``).
_GRACE = 1
#: Registries this large are generated in several processes by default.
PARALLEL_MIN_RUNS = 5000


def build_store(
    *,
    db: str | None = None,
    runs: int | None = None,
    seed: int = 2018,
    years: Collection[int] | None = None,
    cache: bool = True,
    workers: int | None = None,
    scratch: bool = False,
) -> Store:
    """A store holding the demo registry: a file ``db`` that already holds runs is reused as is (persistence).

    An in-memory registry (or one in a ``scratch`` file, private to one server) of at least
    :data:`~backend.registry_cache.CACHE_MIN_RUNS` runs is copied from the disk cache when it was built before
    (see :mod:`backend.registry_cache`; ``cache=False`` always generates).
    Generating uses ``workers`` processes (default: one per core, up to 4, for :data:`PARALLEL_MIN_RUNS` runs or
    more); the rows are the same however many build them.
    """
    store = Store.open(db)
    try:
        if not store.is_empty():
            logger.info("reusing the registry stored in %s", db)
            return store
        cached = _cache_file(runs, seed, years) if cache and (db is None or scratch) else None
        if cached is not None and cached.exists():
            try:
                store.restore(cached)
                logger.info("copied the registry from the cache %s", cached)
                return store
            except (OSError, sqlite3.Error, StoreError) as exc:  # pruned or damaged meanwhile: generate instead
                logger.warning("could not read the cached registry %s: %s", cached, exc)
                store.close()
                store = Store.open(db)
        started = time.perf_counter()
        _generate(store, plan_runs(runs, seed, years), seed, workers)
        logger.info("generated and loaded the demo registry in %.2f s", time.perf_counter() - started)
        if cached is not None:
            _save(store, cached)
    except BaseException:
        store.close()
        raise
    return store


def _generate(store: Store, slots: list[RunSlot], seed: int, workers: int | None) -> None:
    count = workers if workers is not None else (min(os.cpu_count() or 1, 4) if len(slots) >= PARALLEL_MIN_RUNS else 1)
    if count > 1:
        try:
            # closing(): the workers are stopped at once when loading ends early (Ctrl-C), not whenever the
            # suspended generator happens to be collected
            with closing(parallel_build.build_rows(slots, seed, count)) as rows:
                store.load_rows(rows, seed=seed)
            return
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:  # rolled back: build here instead
            logger.warning("building the registry in %d processes failed (%s); building it in this one", count, exc)
    store.load_runs(build_runs(slots, seed), seed=seed)


def _cache_file(runs: int | None, seed: int, years: Collection[int] | None) -> Path | None:
    directory = registry_cache.cache_dir()
    size = runs if runs is not None else sum(era.runs for era in ERAS if years is None or era.year in years)
    if directory is None or size < registry_cache.CACHE_MIN_RUNS:
        return None
    return registry_cache.cache_file(directory, runs=runs, seed=seed, years=years)


def _save(store: Store, path: Path) -> None:
    try:
        store.save(path)
        registry_cache.prune(path.parent)
    except (OSError, sqlite3.Error) as exc:  # a read-only home must not stop the server
        logger.warning("could not cache the registry in %s: %s", path, exc)


class EmbeddedServer:
    """The embedded Run Registry as a context manager: ``with EmbeddedServer() as srv: srv.url``.

    ``sock``: a socket already bound and listening (``runql serve`` binds its port before building the registry,
    so no other process can take the port in between); the server serves on it and closes it when it stops.
    """

    def __init__(
        self,
        runs: int | None = None,
        seed: int = 2018,
        db: str | None = None,
        rr_quirks: bool = False,
        faults: float = 0.0,
        fault_seed: int = 0,
        fault_delay: float = 2.0,
        auth: AuthConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        years: Collection[int] | None = None,
        limits: Limits | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        if not 0.0 <= faults <= 1.0:
            raise ArgumentError(f"faults must be within [0, 1], got {faults}")
        self.limits = limits or Limits()
        self._stopping = threading.Event()
        self.runs, self.seed, self.db, self.years = runs, seed, db, years
        self.rr_quirks, self.auth, self.host, self.port = rr_quirks, auth, host, port
        self.faults, self.fault_seed, self.fault_delay = faults, fault_seed, fault_delay
        self._sock = sock
        if sock is not None:
            self.host, self.port = sock.getsockname()[:2]
        self._stats = ServerStats()
        self._store: Store | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://<host>:<port>`` of the running server (no ``/api`` prefix)."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def serving(self) -> bool:
        """Whether the server is accepting connections."""
        return self._server is not None and self._server.started

    @property
    def token_url(self) -> str | None:
        """The token endpoint's URL when auth is enabled, else ``None``."""
        return None if self.auth is None else self.url + self.auth.token_path

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (requests per route, token requests, injected faults)."""
        return self._stats.snapshot()

    @property
    def store(self) -> Store:
        """The running server's store (tests inspect it)."""
        if self._store is None:
            raise RuntimeError("the server is not running")
        return self._store

    def start(self) -> EmbeddedServer:
        """Generate/load the store and serve it; returns once the server accepts connections.

        Interrupted (Ctrl-C, an error), it stops what it had started before re-raising.
        """
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> EmbeddedServer:
        self._stopping.clear()
        db, scratch = (self.db, False) if self.db else (self._scratch_db(), True)
        self._store = build_store(db=db, runs=self.runs, seed=self.seed, years=self.years, scratch=scratch)
        app = create_app(
            self._store,
            rr_quirks=self.rr_quirks,
            auth=self.auth,
            faults=self.faults,
            fault_seed=self.fault_seed,
            fault_delay=self.fault_delay,
            stats=self._stats,
            limits=self.limits,
            stop=self._stopping,
        )
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=_GRACE,
        )
        self._server = uvicorn.Server(config)
        sockets = None if self._sock is None else [self._sock]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name="runql-embedded-server", daemon=True
        )
        self._thread.start()
        self._wait_started()
        return self

    def _scratch_db(self) -> str:
        """A private file for a registry without ``db``, deleted on :meth:`stop`.

        Not an in-memory database: SQLite serialises the statements of shared-cache connections, so one slow
        request would hold up every other; a file in WAL mode lets reads run side by side.
        """
        self._scratch = tempfile.TemporaryDirectory(prefix="runql-registry-")
        return os.path.join(self._scratch.name, "registry.db")

    def _wait_started(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded server did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Stop serving and close the store (one without ``db`` is deleted), in about a second whatever runs:
        requests in flight and json_portal jobs are interrupted with an ``{"err"}``."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_GRACE + 0.5)
        if self._store is not None:
            self._store.close()
        if self._scratch is not None:
            self._scratch.cleanup()
        self._server, self._thread, self._store, self._scratch = None, None, None, None

    def wait(self) -> None:
        """Block until the server stops (the CLI's foreground mode)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
