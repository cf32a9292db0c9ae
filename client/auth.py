"""Bearer tokens for the client-credentials grant (``rr-protocol.md`` §1), fetched once and shared.

A :class:`TokenProvider` belongs to one client. It asks the token endpoint once, reuses the token until
shortly before it expires, lets exactly one thread (or task) refresh it, and drops it when the service answers
401 so that the next request fetches a new one. An optional on-disk cache (mode 0600, atomic writes) keyed by
token URL, client id and audience lets short scripts share a token. The secret and the token never appear in
logs, reprs or error messages.

The request and the reply are handled sans-I/O (:func:`token_request`, :func:`parse_token_reply`); the
provider takes the function that sends, so the transport's retries apply to the token endpoint too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from client.config import Secret, TokenSettings
from client.errors import AuthError

__all__ = ["Token", "TokenProvider", "parse_token_reply", "token_request"]

logger = logging.getLogger(__name__)

#: Refresh this long before expiry, at most (and at most a tenth of the token's lifetime).
REFRESH_MARGIN = 60.0


@dataclass(frozen=True)
class Token:
    """An access token and when it expires (seconds since the epoch)."""

    value: Secret
    issued_at: float
    expires_at: float

    def usable(self, now: float) -> bool:
        """Whether the token is still good for a request sent at ``now``."""
        margin = min(REFRESH_MARGIN, (self.expires_at - self.issued_at) / 10)
        return now < self.expires_at - margin


def token_request(settings: TokenSettings) -> httpx.Request:
    """The token request: HTTP Basic auth with the client's credentials, form ``grant_type`` and ``audience``."""
    body = {"grant_type": "client_credentials", "audience": settings.audience}
    request = httpx.Request("POST", settings.token_url, data=body, headers={"Accept": "application/json"})
    credentials = httpx.BasicAuth(settings.client_id, settings.client_secret.reveal())
    return next(credentials.auth_flow(request))


def parse_token_reply(response: httpx.Response, *, now: float) -> Token:
    """Turn the endpoint's reply into a :class:`Token`; refusals raise :class:`AuthError` (never with secrets)."""
    try:
        data = response.json()
    except (ValueError, RecursionError):  # json's parser recurses: brackets 1,000 deep exhaust the stack
        data = None
    if response.status_code != 200 or not isinstance(data, dict):
        raise AuthError(f"token endpoint {response.request.url} refused the credentials: {_reason(response, data)}")
    token, expires_in = data.get("access_token"), data.get("expires_in")
    if not isinstance(token, str) or not token or isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise AuthError(f"token endpoint {response.request.url} sent no access_token/expires_in")
    return Token(Secret(token), issued_at=now, expires_at=now + expires_in)


def _reason(response: httpx.Response, data: object) -> str:
    if isinstance(data, dict):
        detail = data.get("error_description") or data.get("error") or data.get("message") or data.get("err")
        if isinstance(detail, str):
            return f"HTTP {response.status_code}: {detail}"
    return f"HTTP {response.status_code}"


class TokenProvider:
    """The token of one client, shared by its threads and tasks. ``requests`` counts token-endpoint calls."""

    def __init__(self, settings: TokenSettings, *, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()
        self._async_lock: anyio.Lock | None = None
        self._disk = _DiskCache(settings.cache_path, _cache_key(settings)) if settings.cache_path else None
        self.requests = 0

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self._settings.client_id!r}, audience={self._settings.audience!r})"

    def get(self, send: Callable[[httpx.Request], httpx.Response]) -> Secret:
        """A usable token, fetching one (once, whatever the number of threads) when needed."""
        token = self._usable()
        if token is not None:
            return token.value
        with self._lock:
            token = self._usable() or self._load()
            if token is None:
                token = self._accept(parse_token_reply(send(self._request()), now=self._clock()))
            return token.value

    async def aget(self, send: Callable[[httpx.Request], Awaitable[httpx.Response]]) -> Secret:
        """Async :meth:`get`: one task fetches, the others wait for its token."""
        token = self._usable()
        if token is not None:
            return token.value
        if self._async_lock is None:
            self._async_lock = anyio.Lock()
        async with self._async_lock:
            token = self._usable() or self._load()
            if token is None:
                token = self._accept(parse_token_reply(await send(self._request()), now=self._clock()))
            return token.value

    def invalidate(self, rejected: Secret) -> None:
        """Forget ``rejected`` (the service answered 401 to it) unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == rejected:
                logger.info("token rejected by the service; a new one will be fetched")
                self._token = None
                if self._disk is not None:
                    self._disk.forget()

    def _usable(self) -> Token | None:
        token = self._token
        return token if token is not None and token.usable(self._clock()) else None

    def _load(self) -> Token | None:
        if self._disk is None:
            return None
        token = self._disk.load()
        if token is None or not token.usable(self._clock()):
            return None
        self._token = token
        return token

    def _request(self) -> httpx.Request:
        self.requests += 1
        logger.debug("requesting a token for client %s, audience %s", self._settings.client_id, self._settings.audience)
        return token_request(self._settings)

    def _accept(self, token: Token) -> Token:
        self._token = token
        if self._disk is not None:
            self._disk.store(token)
        return token


def _read_private_file(path: Path) -> str | None:
    """The text of ``path`` if it is a regular file private to the current user, else ``None``.

    A missing file is ``None`` silently; a symlink, a file owned by another user or one that the group or others
    may read or write is ``None`` with a warning (it could hold a planted token). The checks are made on the
    opened file (``O_NOFOLLOW`` and ``fstat``), so the file cannot be swapped between check and read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        _distrust(path, "a symlink" if path.is_symlink() else f"unreadable ({exc.strerror})")
        return None
    with os.fdopen(fd, "rb") as handle:
        problem = _untrusted(os.fstat(fd))
        if problem is not None:
            _distrust(path, problem)
            return None
        try:
            return handle.read(_MAX_CACHE_BYTES + 1).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _distrust(path, f"unreadable ({exc})")
            return None


_MAX_CACHE_BYTES = 1 << 20


def _untrusted(status: os.stat_result) -> str | None:
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file"
    getuid = getattr(os, "getuid", None)  # POSIX only: elsewhere the mode bits say nothing about other users
    if getuid is not None and status.st_uid != getuid():
        return f"owned by another user (uid {status.st_uid})"
    if getuid is not None and status.st_mode & 0o077:
        return f"accessible to other users (mode {stat.S_IMODE(status.st_mode):04o}; expected 0600)"
    if status.st_size > _MAX_CACHE_BYTES:
        return f"too large ({status.st_size} bytes)"
    return None


def _distrust(path: Path, problem: str) -> None:
    logger.warning("ignoring the token cache %s: it is %s", path, problem)


def _cache_key(settings: TokenSettings) -> str:
    raw = f"{settings.token_url}\n{settings.client_id}\n{settings.audience}"
    return hashlib.sha256(raw.encode()).hexdigest()


class _DiskCache:
    """A JSON file ``{key: {"access_token", "issued_at", "expires_at"}}``, mode 0600, replaced atomically."""

    def __init__(self, path: Path, key: str) -> None:
        self._path = path
        self._key = key

    def load(self) -> Token | None:
        entry = self._read().get(self._key)
        if not isinstance(entry, dict):
            return None
        try:
            return Token(Secret(str(entry["access_token"])), float(entry["issued_at"]), float(entry["expires_at"]))
        except (KeyError, TypeError, ValueError):
            return None

    def store(self, token: Token) -> None:
        entries = self._read()
        entries[self._key] = {
            "access_token": token.value.reveal(),
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
        }
        self._write(entries)

    def forget(self) -> None:
        entries = self._read()
        if entries.pop(self._key, None) is not None:
            self._write(entries)

    def _read(self) -> dict[str, object]:
        text = _read_private_file(self._path)
        if text is None:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, object]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".runql-token-", dir=self._path.parent)  # created with mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            logger.warning("could not write the token cache %s", self._path)
