"""DIALS credentials (``dials-protocol.md`` §1.4-1.6): the secret-key header, client credentials, device login.

Each credential object gives the headers of one request. Bearer tokens are fetched from Keycloak directly, with
the transport's retries, reused until shortly before they expire, and cached in the user's cache directory
(``$XDG_CACHE_HOME/runql/dials-tokens.json``, mode 0600, replaced atomically: the cache code of
:mod:`client.auth`). Device login keeps the public refresh token too and refreshes (then re-exchanges) the
DIALS token without asking the user again; only an expired refresh token needs a new ``runql login``.
Secrets and tokens never appear in reprs, logs or errors.

>>> SecretKey("s3cret")
SecretKey(secret=********)
>>> SecretKey("s3cret").headers()["X-CLIENT-SECRET"].reveal()
's3cret'
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from client.auth import Token, _DiskCache
from client.config import Secret
from client.errors import AuthError
from client.transport import TOKEN_ACCEPT, Call, Outcome, RetryPolicy, Wait, exchange

__all__ = [
    "AUDIENCE",
    "KEYCLOAK_URL",
    "PUBLIC_CLIENT",
    "ClientCredentials",
    "DeviceLogin",
    "DialsCredentials",
    "Keycloak",
    "SecretKey",
    "default_cache_path",
]

KEYCLOAK_URL = "https://auth.cern.ch/auth/"
AUDIENCE = "cms-dials-prod-confidential-app"
PUBLIC_CLIENT = "cms-dials-prod-public-app"
_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
_ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class DialsCredentials(Protocol):
    """Anything that gives the authentication headers of the next request."""

    def headers(self) -> Mapping[str, Secret]: ...


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/runql/dials-tokens.json`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runql" / "dials-tokens.json"


class SecretKey:
    """The legacy ``X-CLIENT-SECRET`` header (no token, never expires)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise AuthError("the DIALS secret key is empty")
        self._secret = Secret(secret)

    def __repr__(self) -> str:
        return "SecretKey(secret=********)"

    def headers(self) -> Mapping[str, Secret]:
        return {"X-CLIENT-SECRET": self._secret}


@dataclass(frozen=True)
class Keycloak:
    """Where tokens come from: the Keycloak base URL, realm, public client and DIALS audience."""

    url: str = KEYCLOAK_URL
    realm: str = "cern"
    public_client: str = PUBLIC_CLIENT
    audience: str = AUDIENCE
    retries: int = 4
    backoff: float = 0.25

    @property
    def realm_url(self) -> str:
        return f"{self.url.rstrip('/')}/realms/{self.realm}/"

    def post(self, path: str, form: Mapping[str, str], *, http: httpx.Client, sleep: Callable[[float], None]) -> Any:
        """POST a form with the transport's retry core; the JSON reply, or the status and reply on a refusal."""
        url = self.realm_url + path
        flow = exchange(
            Call("POST", url, accept=TOKEN_ACCEPT),
            RetryPolicy(self.retries, self.backoff),
            random.Random(),
            uses_token=False,
        )
        outcome: Outcome = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value.status, done.value.data
            if isinstance(step, Wait):
                sleep(step.seconds)
                outcome = None
                continue
            try:
                outcome = http.post(url, data=dict(form), headers={"Accept": "application/json"})
            except httpx.TransportError as error:
                outcome = error


def _token(status: int, data: Any, *, now: float, what: str) -> tuple[Token, dict[str, Any]]:
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        reason = data.get("error_description") or data.get("error") if isinstance(data, dict) else None
        raise AuthError(f"Keycloak refused the {what}: HTTP {status}" + (f": {reason}" if reason else ""))
    expires_in = data.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else 300
    return Token(Secret(data["access_token"]), issued_at=now, expires_at=now + lifetime), data


class _BearerBase:
    """Token reuse, the disk cache and the one-refresher lock shared by both bearer flows."""

    def __init__(
        self,
        keycloak: Keycloak,
        identity: str,
        cache_path: Path | None,
        *,
        http: httpx.Client | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.keycloak = keycloak
        self._clock, self._sleep = clock, sleep
        self._http = http or httpx.Client(timeout=30.0)
        self._lock = threading.Lock()
        key = hashlib.sha256(f"{keycloak.realm_url}\n{identity}\n{keycloak.audience}".encode()).hexdigest()
        self._access_cache = _DiskCache(cache_path, key) if cache_path else None
        self._refresh_cache = _DiskCache(cache_path, key + ":refresh") if cache_path else None
        self._access: Token | None = self._access_cache.load() if self._access_cache else None
        self.token_requests = 0

    def headers(self) -> Mapping[str, Secret]:
        with self._lock:
            if self._access is None or not self._access.usable(self._clock()):
                self._access = self._renew()
                if self._access_cache is not None:
                    self._access_cache.store(self._access)
            return {"Authorization": Secret(f"Bearer {self._access.value.reveal()}")}

    def _post(self, path: str, form: Mapping[str, str]) -> Any:
        self.token_requests += 1
        return self.keycloak.post(path, form, http=self._http, sleep=self._sleep)

    def _renew(self) -> Token:
        raise NotImplementedError


class ClientCredentials(_BearerBase):
    """Machine access: a Keycloak ``api-access`` token for the DIALS audience (renewed, never refreshed)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        keycloak: Keycloak | None = None,
        cache_path: Path | None = None,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not client_id or not client_secret:
            raise AuthError("DIALS client credentials need a client id and a client secret")
        self._client_id, self._secret = client_id, Secret(client_secret)
        super().__init__(keycloak or Keycloak(), client_id, cache_path, http=http, clock=clock, sleep=sleep)

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, secret=********)"

    def _renew(self) -> Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.reveal(),
            "audience": self.keycloak.audience,
        }
        status, data = self._post("api-access/token", form)
        return _token(status, data, now=self._clock(), what="client credentials")[0]


class DeviceLogin(_BearerBase):
    """A person's login by the device authorization flow; :meth:`login` asks once, refreshes go unattended."""

    def __init__(
        self,
        *,
        keycloak: Keycloak | None = None,
        cache_path: Path | None = None,
        prompt: Callable[[str], None] = print,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._prompt = prompt
        keycloak = keycloak or Keycloak()
        super().__init__(keycloak, "device:" + keycloak.public_client, cache_path, http=http, clock=clock, sleep=sleep)
        self._refresh: Token | None = self._refresh_cache.load() if self._refresh_cache else None

    def __repr__(self) -> str:
        return f"DeviceLogin(realm={self.keycloak.realm_url!r})"

    @property
    def logged_in(self) -> bool:
        """Whether a usable access or refresh token is at hand (no prompt needed)."""
        now = self._clock()
        return any(t is not None and t.usable(now) for t in (self._access, self._refresh))

    def login(self) -> None:
        """Run the device flow: show the verification URL, poll until approved (honouring ``slow_down``)."""
        status, device = self._post("protocol/openid-connect/auth/device", {"client_id": self.keycloak.public_client})
        if status != 200 or not isinstance(device, dict) or "device_code" not in device:
            raise AuthError(f"Keycloak refused the device authorization: HTTP {status}")
        self._prompt(f"Open {device.get('verification_uri_complete')} to log in to DIALS")
        interval = float(device.get("interval", 5))
        deadline = self._clock() + float(device.get("expires_in", 600))
        form = {
            "client_id": self.keycloak.public_client,
            "grant_type": _DEVICE_GRANT,
            "device_code": device["device_code"],
        }
        while self._clock() < deadline:
            self._sleep(interval)
            status, data = self._post("protocol/openid-connect/token", form)
            error = data.get("error") if isinstance(data, dict) else None
            if status == 400 and error in ("authorization_pending", "slow_down"):
                interval += 5 if error == "slow_down" else 0
                continue
            self._accept_public(status, data)
            return
        raise AuthError("the device login expired before it was approved: run `runql login` again")

    def _accept_public(self, status: int, data: Any) -> None:
        public, body = _token(status, data, now=self._clock(), what="device login")
        refresh_in = body.get("refresh_expires_in")
        if isinstance(body.get("refresh_token"), str) and isinstance(refresh_in, (int, float)):
            now = self._clock()
            self._refresh = Token(Secret(body["refresh_token"]), issued_at=now, expires_at=now + refresh_in)
            if self._refresh_cache is not None:
                self._refresh_cache.store(self._refresh)
        with self._lock:
            self._access = self._exchange(public)
            if self._access_cache is not None:
                self._access_cache.store(self._access)

    def _exchange(self, public: Token) -> Token:
        form = {
            "client_id": self.keycloak.public_client,
            "grant_type": _EXCHANGE_GRANT,
            "subject_token": public.value.reveal(),
            "subject_token_type": _ACCESS_TOKEN_TYPE,
            "audience": self.keycloak.audience,
        }
        status, data = self._post("protocol/openid-connect/token", form)
        return _token(status, data, now=self._clock(), what="token exchange")[0]

    def _renew(self) -> Token:
        refresh = self._refresh
        if refresh is None or not refresh.usable(self._clock()):
            raise AuthError("no usable DIALS login: run `runql login` (device authorization) first")
        form = {
            "client_id": self.keycloak.public_client,
            "grant_type": "refresh_token",
            "refresh_token": refresh.value.reveal(),
        }
        status, data = self._post("protocol/openid-connect/token", form)
        if status == 400 and isinstance(data, dict) and data.get("error") == "invalid_grant":
            raise AuthError("the DIALS login expired or was revoked: run `runql login` again")
        public, body = _token(status, data, now=self._clock(), what="token refresh")
        if isinstance(body.get("refresh_token"), str):
            now = self._clock()
            lifetime = float(body.get("refresh_expires_in") or 0)
            self._refresh = Token(Secret(body["refresh_token"]), issued_at=now, expires_at=now + lifetime)
            if self._refresh_cache is not None:
                self._refresh_cache.store(self._refresh)
        return self._exchange(public)
