"""Tokens against the embedded backend with auth enabled: reuse, expiry, 401 recovery, disk cache, no leaks.

The backend runs in-process (its ASGI app, no socket); token lifetimes run on a :class:`FakeClock` shared by
the client and the service, advanced by hand instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from testkit.clocks import FakeClock
from testkit.inprocess import InProcessService
from testkit.servers import ServerPool

from backend.auth import AuthConfig
from client import AuthError, RunRegistry
from client.auth import _cache_key, _untrusted

READER = ("reader-app", "reader-secret-7f3a")
WRITER = ("writer-app", "writer-secret-91bc")


def _auth(expires_in: int = 300, clock: FakeClock | None = None) -> AuthConfig:
    clients: dict[str, tuple[str, Any]] = {READER[0]: (READER[1], "reader"), WRITER[0]: (WRITER[1], "writer")}
    return AuthConfig(clients=clients, expires_in=expires_in, clock=clock or FakeClock())


def _credentials(service: InProcessService, who: tuple[str, str] = READER) -> dict[str, Any]:
    assert service.token_url is not None
    return {"audience": "rr-test", "token_url": service.token_url, "client_id": who[0], "client_secret": who[1]}


def _client(service: InProcessService, who: tuple[str, str] = READER, **options: Any) -> RunRegistry:
    """A client with ``who``'s credentials; ``transport`` (default: the service's) and ``clock`` may be given."""
    return service.client(**_credentials(service, who), **options)


class Observer(httpx.BaseTransport):
    """Records statuses and tokens; can lie about lifetimes and let time pass before one page."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        claimed_lifetime: int | None = None,
        before_page: tuple[int, Callable[[], None]] | None = None,
    ) -> None:
        self._inner = inner
        self.statuses: Counter[int] = Counter()
        self.tokens: list[str] = []
        self._claimed = claimed_lifetime
        self._before_page = before_page

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content and request.url.path.endswith("ordered") else {}
        if self._before_page is not None and body.get("page") == self._before_page[0]:
            self._before_page[1]()
            self._before_page = None
        response = self._inner.handle_request(request)
        response.read()
        self.statuses[response.status_code] += 1
        if request.url.path.endswith("/token") and response.status_code == 200:
            data = response.json()
            self.tokens.append(data["access_token"])
            if self._claimed is not None:
                data["expires_in"] = self._claimed
                return httpx.Response(200, json=data)
        return response


@pytest.fixture(scope="module")
def auth_server(server_pool: ServerPool) -> Iterator[InProcessService]:
    with server_pool.in_process(runs=400, seed=5, auth=_auth()) as service:
        yield service


def test_forty_pages_need_exactly_one_token(auth_server: InProcessService) -> None:
    before = auth_server.stats["token_requests"]
    with _client(auth_server, page_size=10) as rr:
        runs = rr.get_runs()
        assert len(runs) == runs.total == 400
        pages = auth_server.stats["requests"]["/runs_filtered_ordered"]
        rr.get_runs(limit=20, page_size=10)
        assert rr.token_requests == 1
    assert pages >= 40
    assert auth_server.stats["token_requests"] - before == 1


def test_without_credentials_the_service_refuses(auth_server: InProcessService) -> None:
    with auth_server.client() as rr, pytest.raises(AuthError, match="401"):
        rr.get_runs(limit=1)


def test_expiry_triggers_exactly_one_refresh(server_pool: ServerPool) -> None:
    clock = FakeClock()
    with server_pool.in_process(runs=120, seed=5, auth=_auth(expires_in=2, clock=clock)) as srv:
        observer = Observer(srv.transport())
        with _client(srv, transport=observer, clock=clock) as rr:
            rr.get_runs(page_size=10)
            clock.advance(1.9)  # inside the refresh margin (a tenth of the lifetime) but not yet expired: refreshed
            runs = rr.get_runs(page_size=10)
            assert len(runs) == 120
            assert srv.stats["token_requests"] == 2
            clock.advance(1.7)  # the second token has 0.3 s left, more than its margin: reused
            rr.get_runs(limit=1)
            assert srv.stats["token_requests"] == 2
    assert observer.statuses[401] == 0  # the client refreshed before expiry: the service never saw a dead token
    assert len(set(observer.tokens)) == 2


def test_a_401_mid_fetch_is_recovered_with_one_new_token(server_pool: ServerPool) -> None:
    clock = FakeClock()
    with server_pool.in_process(runs=120, seed=5, auth=_auth(expires_in=1, clock=clock)) as srv:
        # the client believes its token lives an hour; before page 5 the service's 1 s lifetime runs out
        observer = Observer(srv.transport(), claimed_lifetime=3600, before_page=(5, lambda: clock.advance(1.2)))
        with _client(srv, transport=observer, clock=clock) as rr:
            runs = rr.get_runs(page_size=10)
        assert [r.run_number for r in runs] == sorted((r.run_number for r in runs), reverse=True)
        assert len(runs) == runs.total == 120
        assert srv.stats["token_requests"] == 2
    assert observer.statuses[401] >= 1


def test_writes_need_a_writer_token(auth_server: InProcessService) -> None:
    with _client(auth_server) as reader:
        number = reader.get_runs(filter={"state": "OPEN"}, limit=1)[0].run_number
        report = reader.change_run_class(number, "Cosmics18", raise_on_error=False)
    assert report.failed == [number]
    assert report.done == []
    assert "401" in report[0].message


def test_disk_cache_is_private_and_shared_between_clients(auth_server: InProcessService, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "tokens.json"
    before = auth_server.stats["token_requests"]
    with _client(auth_server, token_cache=cache) as first:
        first.get_runs(limit=3)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert READER[1] not in cache.read_text()
    assert READER[0] not in cache.read_text()
    with _client(auth_server, token_cache=cache) as second:
        second.get_runs(limit=3)
        assert second.token_requests == 0
    assert auth_server.stats["token_requests"] - before == 1


def test_secrets_never_leak(auth_server: InProcessService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    observer = Observer(auth_server.transport())
    with _client(auth_server, transport=observer) as rr:
        rr.get_runs(limit=2)
        texts = [repr(rr), str(rr.settings), repr(rr.settings), repr(rr.settings.auth)]
    with _client(auth_server, who=(READER[0], "wrong-secret-55e1")) as bad, pytest.raises(AuthError) as caught:
        bad.get_runs(limit=1)
    texts += [str(caught.value), "".join(traceback.format_exception(caught.value)), caplog.text]
    secrets = [READER[1], "wrong-secret-55e1", *observer.tokens]
    assert observer.tokens
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "invalid client credentials" in str(caught.value)


@pytest.mark.anyio
async def test_async_tasks_share_one_token(auth_server: InProcessService) -> None:
    before = auth_server.stats["token_requests"]
    async with auth_server.async_client(**_credentials(auth_server), page_size=10, concurrency=8) as arr:
        runs = await arr.get_runs()
        assert len(runs) == 400
        assert arr.token_requests == 1
    assert auth_server.stats["token_requests"] - before == 1


class Headers(httpx.BaseTransport):
    """Records the Authorization header of every request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.headers.get("authorization", ""))
        return self._inner.handle_request(request)


def _plant(auth_server: InProcessService, cache: Path, mode: int) -> None:
    """A cache file holding an attacker's token for exactly our client's key, with ``mode``."""
    with _client(auth_server, token_cache=cache) as rr:
        assert rr.settings.auth is not None
        key = _cache_key(rr.settings.auth)
    entry = {"access_token": "attacker-token", "issued_at": time.time(), "expires_at": time.time() + 3600}
    cache.write_text(json.dumps({key: entry}))
    cache.chmod(mode)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o622])
def test_a_cache_file_others_can_read_or_write_is_ignored_with_a_warning(
    auth_server: InProcessService, tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    cache = tmp_path / "tokens.json"
    _plant(auth_server, cache, mode)
    headers = Headers(auth_server.transport())
    with _client(auth_server, token_cache=cache, transport=headers) as rr:
        rr.get_runs(limit=2)
        assert rr.token_requests == 1
    assert headers.sent
    assert not any("attacker-token" in h for h in headers.sent)
    assert f"ignoring the token cache {cache}" in caplog.text
    assert f"mode {mode:04o}" in caplog.text
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600  # replaced by a private file holding our own token
    assert "attacker-token" not in cache.read_text()


def test_a_private_cache_file_is_trusted(auth_server: InProcessService, tmp_path: Path) -> None:
    cache = tmp_path / "tokens.json"
    _plant(auth_server, cache, 0o600)
    headers = Headers(auth_server.transport())
    with _client(auth_server, token_cache=cache, transport=headers) as rr:
        rr.get_runs(limit=2)
        assert rr.token_requests == 1  # after the service's 401 to the cached token
    assert headers.sent[0] == "Bearer attacker-token"  # the private file was trusted


def test_a_symlinked_cache_is_ignored(
    auth_server: InProcessService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "elsewhere.json"
    _plant(auth_server, target, 0o600)
    link = tmp_path / "tokens.json"
    link.symlink_to(target)
    headers = Headers(auth_server.transport())
    with _client(auth_server, token_cache=link, transport=headers) as rr:
        rr.get_runs(limit=2)
    assert not any("attacker-token" in h for h in headers.sent)
    assert "it is a symlink" in caplog.text
    assert "attacker-token" in target.read_text()  # the link's target was not written through


def test_ownership_and_file_type_rules() -> None:
    def status(mode: int, uid: int, size: int = 100) -> os.stat_result:
        return os.stat_result((mode, 0, 0, 1, uid, 0, size, 0, 0, 0))

    me, regular = os.getuid(), stat.S_IFREG
    assert _untrusted(status(regular | 0o600, me)) is None
    assert "owned by another user (uid 4242)" in str(_untrusted(status(regular | 0o600, 4242)))
    assert "expected 0600" in str(_untrusted(status(regular | 0o660, me)))
    assert "not a regular file" in str(_untrusted(status(stat.S_IFIFO | 0o600, me)))
    assert "too large" in str(_untrusted(status(regular | 0o600, me, size=1 << 30)))


def test_a_fifo_in_place_of_the_cache_is_ignored_without_blocking(
    auth_server: InProcessService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fifo = tmp_path / "tokens.json"
    os.mkfifo(fifo, 0o600)
    with _client(auth_server, token_cache=fifo) as rr:
        rr.get_runs(limit=1)
        assert rr.token_requests == 1
    assert "it is not a regular file" in caplog.text
