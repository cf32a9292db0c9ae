"""A minimal stand-in for the CERN Keycloak realm DIALS trusts (``dials-protocol.md`` §1.5, §1.8).

It issues opaque bearer tokens for the DIALS audience by client credentials (``api-access/token``) and by the
device authorization flow (``auth/device``, polled at ``token``; the first poll is ``authorization_pending``,
the next one is approved), followed by a token exchange; refresh tokens give new public tokens. With
``open=True`` (the default of ``runql serve``) any non-empty bearer token or client secret is accepted.

>>> idp = Keycloak(DialsAuth(clients={"app": "s3cret"}))
>>> status, body = idp.token({"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret",
...                           "audience": "cms-dials-prod-confidential-app"}, api_access=True)
>>> status, body["token_type"], idp.check_bearer(body["access_token"]) is None
(200, 'Bearer', True)
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AUDIENCE", "PUBLIC_CLIENT", "DialsAuth", "Keycloak", "TokenAnswer"]

AUDIENCE = "cms-dials-prod-confidential-app"
PUBLIC_CLIENT = "cms-dials-prod-public-app"
_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
#: What a token endpoint answers: HTTP status and a JSON object.
TokenAnswer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class DialsAuth:
    """Who may call the stand-in: client-credential apps, legacy secrets; ``open`` accepts any token."""

    clients: Mapping[str, str] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    expires_in: int = 300
    refresh_expires_in: int = 3600
    open: bool = False


def _error(code: str, description: str, status: int = 400) -> TokenAnswer:
    return status, {"error": code, "error_description": description}


class Keycloak:
    """Token issuing and checking; ``clock`` is injectable so tests control expiry."""

    def __init__(self, auth: DialsAuth, *, clock: Callable[[], float] = time.time) -> None:
        self.auth = auth
        self.clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, tuple[float, str]] = {}  # token → (expires at, audience)
        self._refresh: dict[str, float] = {}
        self._devices: dict[str, list[Any]] = {}  # device code → [expires at, polls]

    # -- issuing -----------------------------------------------------------------------------------------
    def device(self, form: Mapping[str, str]) -> TokenAnswer:
        if form.get("client_id") != PUBLIC_CLIENT:
            return _error("invalid_client", "unknown client", 401)
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._devices[code] = [self.clock() + 600, 0]
        return 200, {
            "device_code": code,
            "user_code": code[:8].upper(),
            "verification_uri": "https://auth.example.invalid/device",
            "verification_uri_complete": f"https://auth.example.invalid/device?user_code={code[:8].upper()}",
            "expires_in": 600,
            "interval": 5,
        }

    def token(self, form: Mapping[str, str], *, api_access: bool = False) -> TokenAnswer:
        grant = form.get("grant_type", "")
        if api_access:
            return (
                self._client_credentials(form)
                if grant == "client_credentials"
                else _error("unsupported_grant_type", grant)
            )
        handlers: dict[str, Callable[[Mapping[str, str]], TokenAnswer]] = {
            _DEVICE: self._device_poll,
            _EXCHANGE: self._exchange,
            "refresh_token": self._refresh_grant,
        }
        handler = handlers.get(grant)
        return handler(form) if handler else _error("unsupported_grant_type", f"unsupported grant {grant!r}")

    def _client_credentials(self, form: Mapping[str, str]) -> TokenAnswer:
        client_id = form.get("client_id", "")
        if self.auth.clients.get(client_id) != form.get("client_secret") or client_id not in self.auth.clients:
            return _error("unauthorized_client", "Invalid client or Invalid client credentials", 401)
        return 200, self._issue(form.get("audience", ""), refresh=False)

    def _device_poll(self, form: Mapping[str, str]) -> TokenAnswer:
        with self._lock:
            state = self._devices.get(form.get("device_code", ""))
            if state is None or state[0] < self.clock():
                return _error("expired_token", "Device code expired or unknown")
            state[1] += 1
            if state[1] == 1:
                return _error("authorization_pending", "The authorization request is still pending")
            del self._devices[form["device_code"]]
        return 200, self._issue("public", refresh=True)

    def _exchange(self, form: Mapping[str, str]) -> TokenAnswer:
        if self._valid(form.get("subject_token", ""), "public") is not None:
            return _error("invalid_token", "subject token invalid or expired")
        return 200, self._issue(form.get("audience", ""), refresh=False)

    def _refresh_grant(self, form: Mapping[str, str]) -> TokenAnswer:
        with self._lock:
            expires = self._refresh.pop(form.get("refresh_token", ""), None)
        if expires is None or expires < self.clock():
            return _error("invalid_grant", "Token is not active")
        return 200, self._issue("public", refresh=True)

    def _issue(self, audience: str, *, refresh: bool) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        now = self.clock()
        body: dict[str, Any] = {"access_token": token, "expires_in": self.auth.expires_in, "token_type": "Bearer"}
        with self._lock:
            self._access[token] = (now + self.auth.expires_in, audience)
            if refresh:
                refresh_token = secrets.token_urlsafe(24)
                self._refresh[refresh_token] = now + self.auth.refresh_expires_in
                body |= {"refresh_token": refresh_token, "refresh_expires_in": self.auth.refresh_expires_in}
        return body

    # -- checking (§1.8: every failure is a 403 with detail and code) ----------------------------------------
    def check_bearer(self, token: str) -> dict[str, str] | None:
        """``None`` if ``token`` may call DIALS, else the 403 body."""
        if self.auth.open and token:
            return None
        return self._valid(token, AUDIENCE)

    def check_secret(self, secret: str) -> dict[str, str] | None:
        if (self.auth.open and secret) or secret in self.auth.secrets:
            return None
        return {"detail": "Token is invalid or expired", "code": "token_not_valid"}

    def _valid(self, token: str, audience: str) -> dict[str, str] | None:
        with self._lock:
            entry = self._access.get(token)
        if entry is None:
            return {"detail": "Token is invalid or expired", "code": "token_not_valid"}
        expires, issued_for = entry
        if issued_for != audience:
            return {"detail": "Client not allowed", "code": "client_not_valid"}
        if expires < self.clock():
            return {"detail": "Signature has expired.", "code": "access_token_expired"}
        return None
