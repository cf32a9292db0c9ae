"""DIALS requests go through :mod:`client.transport` (the same retry core, on every target): an httpx transport
wrapper adds the DIALS headers — the credentials' ``Authorization`` or ``X-CLIENT-SECRET``, and ``Workspace``.

>>> import httpx
>>> from client.dials.auth import SecretKey
>>> seen = []
>>> inner = httpx.MockTransport(lambda r: seen.append(dict(r.headers)) or httpx.Response(200, json=[]))
>>> t = dials_transport("http://dials.test/", SecretKey("s"), workspace="ecal", transport=inner)
>>> t.send(Call("GET", "api/v1/mes/")).data, seen[0]["workspace"], seen[0]["x-client-secret"]
([], 'ecal', 's')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import anyio.to_thread
import httpx

from client.config import Secret, Settings
from client.dials.auth import DialsCredentials
from client.transport import AsyncTransport, Call, SyncTransport, pool_limits

__all__ = ["Call", "async_dials_transport", "dials_settings", "dials_transport"]


def dials_settings(base_url: str, *, retries: int = 4, backoff: float = 0.25, concurrency: int = 4) -> Settings:
    """Transport settings for a DIALS base URL (authentication is added per request by the wrapper)."""
    url = base_url if base_url.endswith("/") else base_url + "/"
    return Settings(
        target="dials", base_url=url, auth=None, email=None, retries=retries, backoff=backoff, concurrency=concurrency
    )


def _with_headers(request: httpx.Request, headers: Mapping[str, Secret], workspace: str | None) -> None:
    for name, value in headers.items():
        request.headers[name] = value.reveal()
    if workspace:
        request.headers["Workspace"] = workspace


class _Headers(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, credentials: DialsCredentials, workspace: str | None) -> None:
        self.inner, self.credentials, self.workspace = inner, credentials, workspace

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _with_headers(request, self.credentials.headers(), self.workspace)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _AsyncHeaders(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, credentials: DialsCredentials, workspace: str | None) -> None:
        self.inner, self.credentials, self.workspace = inner, credentials, workspace

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = await anyio.to_thread.run_sync(self.credentials.headers)  # a token refresh may block
        _with_headers(request, headers, self.workspace)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def dials_transport(
    base_url: str,
    credentials: DialsCredentials,
    *,
    workspace: str | None = None,
    retries: int = 4,
    backoff: float = 0.25,
    concurrency: int = 4,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncTransport:
    """A :class:`~client.transport.SyncTransport` to DIALS at ``base_url`` with ``credentials``' headers."""
    settings = dials_settings(base_url, retries=retries, backoff=backoff, concurrency=concurrency)
    inner = transport or httpx.HTTPTransport(limits=pool_limits(concurrency))
    return SyncTransport(settings, transport=_Headers(inner, credentials, workspace), sleep=sleep)


def async_dials_transport(
    base_url: str,
    credentials: DialsCredentials,
    *,
    workspace: str | None = None,
    retries: int = 4,
    backoff: float = 0.25,
    concurrency: int = 4,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncTransport:
    """The async twin of :func:`dials_transport`."""
    settings = dials_settings(base_url, retries=retries, backoff=backoff, concurrency=concurrency)
    inner = transport or httpx.AsyncHTTPTransport(limits=pool_limits(concurrency))
    return AsyncTransport(settings, transport=_AsyncHeaders(inner, credentials, workspace))
