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

__all__ = ["ServerPool"]


def _key(config: dict[str, Any]) -> tuple[tuple[str, Hashable], ...]:
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in config.items()))


class ServerPool:
    """Servers and registry files of one session, kept under ``directory``; :meth:`close` stops the servers."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._registries: dict[tuple[tuple[str, Hashable], ...], Path] = {}
        self._servers: dict[tuple[tuple[str, Hashable], ...], EmbeddedServer] = {}
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
        self._copies += 1
        copy = self._directory / f"copy-{self._copies}.db"
        shutil.copyfile(self.registry(runs=runs, seed=seed, years=years), copy)
        return EmbeddedServer(runs=runs, seed=seed, years=years, db=str(copy), **options)

    def shared(self, *, runs: int, seed: int, years: list[int] | None = None, **options: Any) -> EmbeddedServer:
        """The session's running server of this configuration. Callers must leave its store as they found it."""
        key = _key({"runs": runs, "seed": seed, "years": years, **options})
        if key not in self._servers:
            server = self.fresh(runs=runs, seed=seed, years=years, **options)
            self._servers[key] = self._stack.enter_context(server)
        return self._servers[key]

    def close(self) -> None:
        self._stack.close()
