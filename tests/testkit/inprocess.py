"""The embedded Run Registry's ASGI app served in-process, without a socket, as ``httpx`` transports.

The app is the one ``runql serve`` runs (``backend.app.create_app`` over a generated store), so replies have the
real backend's shapes and semantics; only the HTTP layer (uvicorn, loopback TCP) is left out. Its event loop runs
on a thread of its own (an ``anyio`` blocking portal) whichever client calls it, so sync and async clients share
one app. Fault injection's dropped connections need a real socket: fault tests keep ``EmbeddedServer``.

    with InProcessService(runs=40, seed=11) as service, service.client() as rr:
        rr.get_runs(limit=3)
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any

import anyio.to_thread
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from backend.app import create_app
from backend.auth import AuthConfig
from backend.server import build_store
from backend.stats import ServerStats
from backend.store import Store
from client import AsyncRunRegistry, RunRegistry

__all__ = ["BASE_URL", "InProcessService"]

#: The base URL clients are given; no request leaves the process.
BASE_URL = "http://rr.in-process"


class InProcessService:
    """The embedded service over ``runs`` generated runs (or the registry file ``db``); ``with`` starts it."""

    def __init__(
        self,
        *,
        runs: int,
        seed: int,
        years: Any = None,
        db: str | None = None,
        rr_quirks: bool = False,
        auth: AuthConfig | None = None,
    ) -> None:
        self.url = BASE_URL
        self._options: dict[str, Any] = {"runs": runs, "seed": seed, "years": years, "db": db}
        self._app_options: dict[str, Any] = {"rr_quirks": rr_quirks, "auth": auth}
        self._stats = ServerStats()
        self._store: Store | None = None
        self._portal: BlockingPortal | None = None
        self._stack = contextlib.ExitStack()
        self.token_url = None if auth is None else BASE_URL + auth.token_path

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the in-process service is not running")
        return self._store

    @property
    def stats(self) -> dict[str, Any]:
        """The counters, as ``EmbeddedServer.stats``."""
        return self._stats.snapshot()

    def __enter__(self) -> InProcessService:
        with self._stack as stack:
            self._store = stack.enter_context(build_store(**self._options))
            app = create_app(self._store, stats=self._stats, **self._app_options)
            self._portal = stack.enter_context(start_blocking_portal())
            stack.enter_context(self._portal.wrap_async_context_manager(app.router.lifespan_context(app)))
            self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500, as uvicorn answers
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()
        self._store, self._portal = None, None

    def transport(self) -> httpx.MockTransport:
        """A transport for sync clients (``httpx.Client``, ``RunRegistry``)."""
        return httpx.MockTransport(self._handle)

    def async_transport(self) -> httpx.MockTransport:
        """A transport for async clients; the request is served on the service's own event loop."""

        async def handle(request: httpx.Request) -> httpx.Response:
            return await anyio.to_thread.run_sync(self._handle, request)

        return httpx.MockTransport(handle)

    def http(self, **options: Any) -> httpx.Client:
        """A plain ``httpx.Client`` on the service."""
        return httpx.Client(base_url=self.url, transport=self.transport(), **options)

    def client(self, **options: Any) -> RunRegistry:
        """A ``RunRegistry`` on the service (no ``.env`` read; ``transport`` may wrap :meth:`transport`)."""
        options.setdefault("transport", self.transport())
        return RunRegistry(self.url, env_file=False, **options)

    def async_client(self, **options: Any) -> AsyncRunRegistry:
        """An ``AsyncRunRegistry`` on the service (no ``.env`` read)."""
        options.setdefault("transport", self.async_transport())
        return AsyncRunRegistry(self.url, env_file=False, **options)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if self._portal is None:
            raise httpx.ConnectError("the in-process service is not running", request=request)
        return self._portal.call(self._serve, request)

    async def _serve(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)
