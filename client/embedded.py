"""The ``embedded`` target: the demo backend started in-process on loopback, stopped on close or at exit."""

from __future__ import annotations

import atexit
import importlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["EmbeddedBackend", "start_embedded"]

logger = logging.getLogger(__name__)


class _Server(Protocol):
    url: str

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> Any: ...


class EmbeddedBackend:
    """A running embedded server; ``stop()`` is idempotent and also runs at interpreter exit."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.url: str = server.url
        self.server = server
        self._running = True
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._running:
            self._running = False
            atexit.unregister(self.stop)
            self._server.__exit__(None, None, None)


def start_embedded(options: Mapping[str, Any] | None = None) -> EmbeddedBackend:
    """Start ``backend.server.EmbeddedServer(**options)`` on 127.0.0.1 (an ephemeral port by default)."""
    backend = importlib.import_module("backend.server")  # lazily: only the embedded target needs the backend
    server: _Server = backend.EmbeddedServer(**dict(options or {}))
    server.__enter__()
    logger.info("embedded Run Registry (synthetic data) at %s", server.url)
    return EmbeddedBackend(server)
