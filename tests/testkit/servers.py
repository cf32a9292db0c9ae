"""Embedded servers shared by a test session: one running server per configuration, registries generated once.

Tests that only read share :meth:`ServerPool.shared`; tests that write get :meth:`ServerPool.fresh`, a server of
their own over a copy of the registry file generated for the first test that asked for it (copying a file is much
cheaper than generating a registry again).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from backend.server import EmbeddedServer, build_store
from testkit.inprocess import InProcessService

__all__ = ["ServerPool"]


def _key(config: dict[str, Any]) -> tuple[tuple[str, Hashable], ...]:
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in config.items()))


class ServerPool:
    """Servers and registry files of one session, kept under ``directory``; :meth:`close` stops the servers."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._registries: dict[tuple[tuple[str, Hashable], ...], Path] = {}
        self._servers: dict[tuple[tuple[str, Hashable], ...], EmbeddedServer] = {}
        self._in_process: dict[tuple[tuple[str, Hashable], ...], InProcessService] = {}
        self._stack = contextlib.ExitStack()
        self._copies = 0

    def registry(self, *, runs: int, seed: int, years: list[int] | None = None) -> Path:
        """A file holding the generated registry (generated on the first call with these arguments)."""
        key = _key({"runs": runs, "seed": seed, "years": years})
        if key not in self._registries:
            path = self._directory / f"registry-{len(self._registries)}.db"
            with build_store(runs=runs, seed=seed, years=years) as store:
                store.save(path)
            self._registries[key] = path
        return self._registries[key]

    def fresh(self, *, runs: int, seed: int, years: list[int] | None = None, **options: Any) -> EmbeddedServer:
        """An unstarted server of its own (``with pool.fresh(...) as srv``) over a copy of the registry."""
        copy = self._copy(runs=runs, seed=seed, years=years)
        return EmbeddedServer(runs=runs, seed=seed, years=years, db=copy, **options)

    def in_process(self, *, runs: int, seed: int, years: list[int] | None = None, **options: Any) -> InProcessService:
        """An unstarted in-process service of its own (no socket) over a copy of the registry."""
        copy = self._copy(runs=runs, seed=seed, years=years)
        return InProcessService(runs=runs, seed=seed, years=years, db=copy, **options)

    def shared_in_process(self, *, runs: int, seed: int, **options: Any) -> InProcessService:
        """The session's running in-process service of this configuration, left as found by its callers."""
        key = _key({"in process": True, "runs": runs, "seed": seed, **options})
        if key not in self._in_process:
            self._in_process[key] = self._stack.enter_context(self.in_process(runs=runs, seed=seed, **options))
        return self._in_process[key]

    def _copy(self, *, runs: int, seed: int, years: list[int] | None) -> str:
        self._copies += 1
        copy = self._directory / f"copy-{self._copies}.db"
        shutil.copyfile(self.registry(runs=runs, seed=seed, years=years), copy)
        return str(copy)

    def shared(self, *, runs: int, seed: int, years: list[int] | None = None, **options: Any) -> EmbeddedServer:
        """The session's running server of this configuration. Callers must leave its store as they found it."""
        key = _key({"runs": runs, "seed": seed, "years": years, **options})
        if key not in self._servers:
            server = self.fresh(runs=runs, seed=seed, years=years, **options)
            self._servers[key] = self._stack.enter_context(server)
        return self._servers[key]

    def close(self) -> None:
        self._stack.close()
