"""Optional OAuth2 client-credentials auth for the embedded backend (off by default, like the service's local mode).

A token endpoint (``AuthConfig.token_path``) takes ``grant_type=client_credentials`` (and any ``audience``) with
HTTP Basic ``(client id, secret)`` and issues an opaque bearer token expiring after ``expires_in`` seconds. With
auth enabled, reads need a valid unexpired token and writes a token of a ``writer`` client; otherwise the route
answers 401 ``{"message": ...}``. Secrets and tokens are never logged or shown in reprs.

>>> config = AuthConfig(clients={"reader-app": ("s3cret", "reader")})
>>> issuer = TokenIssuer(config, clock=lambda: 100.0)
>>> grant = issuer.issue("reader-app", "s3cret")
>>> grant["token_type"], grant["expires_in"], issuer.role_of(grant["access_token"])
('Bearer', 300, 'reader')
>>> "s3cret" in repr(config)
False
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs

from backend.errors import BackendError
from querylang.errors import ArgumentError

__all__ = ["AuthConfig", "AuthError", "Role", "TokenIssuer", "basic_credentials", "bearer_token", "parse_form"]

Role = Literal["reader", "writer"]
_ROLES = ("reader", "writer")


class AuthError(BackendError):
    """Credentials or a token were refused (answered 401)."""


@dataclass(frozen=True)
class AuthConfig:
    """Clients ``{id: (secret, role)}``, the token endpoint's path, the tokens' lifetime in seconds and the
    monotonic ``clock`` (seconds) it is measured on: tests inject one they advance instead of sleeping."""

    clients: Mapping[str, tuple[str, Role]] = field(repr=False)
    token_path: str = "/auth/token"
    expires_in: int = 300
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        for client_id, entry in self.clients.items():
            if not (isinstance(entry, tuple) and len(entry) == 2 and entry[1] in _ROLES):
                raise ArgumentError(f"client {client_id!r}: expected (secret, 'reader' | 'writer')")
        if not self.token_path.startswith("/"):
            raise ArgumentError(f"token_path must start with '/', got {self.token_path!r}")
        if self.expires_in < 0:
            raise ArgumentError(f"expires_in must be >= 0, got {self.expires_in}")


class TokenIssuer:
    """Issues and checks tokens for one server; ``clock`` (default: the config's) is monotonic seconds."""

    def __init__(self, config: AuthConfig, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self._clock = clock if clock is not None else config.clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Role, float]] = {}

    def issue(self, client_id: str, secret: str) -> dict[str, str | int]:
        """A new token for valid credentials; :class:`AuthError` otherwise."""
        entry = self.config.clients.get(client_id)
        if entry is None or not hmac.compare_digest(entry[0].encode(), secret.encode()):
            raise AuthError("invalid client credentials")
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}  # forget expired tokens
            self._tokens[token] = (entry[1], now + self.config.expires_in)
        return {"access_token": token, "expires_in": self.config.expires_in, "token_type": "Bearer"}

    def role_of(self, token: str | None) -> Role:
        """The role of a valid, unexpired token; :class:`AuthError` otherwise."""
        if not token:
            raise AuthError("missing bearer token")
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None:
            raise AuthError("invalid token")
        if entry[1] <= self._clock():
            raise AuthError("token expired")
        return entry[0]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(id, secret)`` of an ``Authorization: Basic ...`` header."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (last value wins)."""
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {k: v[-1] for k, v in fields.items()}
