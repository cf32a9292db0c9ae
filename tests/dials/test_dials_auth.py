"""DIALS credentials against the Keycloak stand-in (backend.dials.keycloak), with an injected clock: client
credentials, the device flow with refresh, the 0600 token cache, and secrets kept out of reprs and errors."""

from __future__ import annotations

import stat
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.dials import DialsAuth, Keycloak
from client.dials import ClientCredentials, DeviceLogin, SecretKey
from client.dials import Keycloak as KeycloakTarget
from client.errors import AuthError

REALM = "http://idp.test/auth/realms/cern/"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def idp_client(idp: Keycloak) -> httpx.Client:
    """An httpx client whose requests are answered by the Keycloak stand-in in-process."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.content.decode()).items()}
        path = str(request.url).removeprefix(REALM)
        if path == "protocol/openid-connect/auth/device":
            status, body = idp.device(form)
        else:
            status, body = idp.token(form, api_access=path == "api-access/token")
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def bearer(headers: Any) -> str:
    return str(headers["Authorization"].reveal()).removeprefix("Bearer ")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def idp(clock: Clock) -> Keycloak:
    return Keycloak(DialsAuth(clients={"app": "s3cret"}, expires_in=300, refresh_expires_in=3600), clock=clock)


TARGET = KeycloakTarget(url="http://idp.test/auth/")


def test_client_credentials_token_is_reused_cached_0600_and_renewed(
    idp: Keycloak, clock: Clock, tmp_path: Path
) -> None:
    cache = tmp_path / "runql" / "dials-tokens.json"
    creds = ClientCredentials("app", "s3cret", keycloak=TARGET, cache_path=cache, http=idp_client(idp), clock=clock)
    token = bearer(creds.headers())
    assert idp.check_bearer(token) is None
    assert bearer(creds.headers()) == token
    assert creds.token_requests == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    again = ClientCredentials("app", "s3cret", keycloak=TARGET, cache_path=cache, http=idp_client(idp), clock=clock)
    assert bearer(again.headers()) == token
    assert again.token_requests == 0
    clock.now += 400
    renewed = bearer(creds.headers())
    assert renewed != token
    assert idp.check_bearer(renewed) is None
    assert idp.check_bearer(token) == {"detail": "Signature has expired.", "code": "access_token_expired"}


def test_wrong_client_secret_is_an_auth_error_without_the_secret(idp: Keycloak, clock: Clock) -> None:
    creds = ClientCredentials("app", "wrong-secret", keycloak=TARGET, http=idp_client(idp), clock=clock)
    with pytest.raises(AuthError) as caught:
        creds.headers()
    assert "wrong-secret" not in str(caught.value)
    assert "wrong-secret" not in repr(creds)


def test_device_login_polls_exchanges_and_refreshes_unattended(idp: Keycloak, clock: Clock, tmp_path: Path) -> None:
    shown: list[str] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    cache = tmp_path / "tokens.json"
    login = DeviceLogin(
        keycloak=TARGET, cache_path=cache, prompt=shown.append, http=idp_client(idp), clock=clock, sleep=sleep
    )
    assert not login.logged_in
    login.login()
    assert shown[0].startswith("Open https://")
    assert sleeps == [5.0, 5.0]  # one authorization_pending, then approved
    first = bearer(login.headers())
    assert idp.check_bearer(first) is None
    clock.now += 1000  # access expired, refresh still valid
    later = DeviceLogin(keycloak=TARGET, cache_path=cache, prompt=shown.append, http=idp_client(idp), clock=clock)
    assert later.logged_in
    second = bearer(later.headers())
    assert second != first
    assert idp.check_bearer(second) is None
    assert len(shown) == 1
    clock.now += 10_000
    with pytest.raises(AuthError, match="runql login"):
        DeviceLogin(keycloak=TARGET, cache_path=cache, http=idp_client(idp), clock=clock).headers()


def test_public_tokens_are_not_accepted_by_dials(idp: Keycloak, clock: Clock) -> None:
    status, body = idp.token(
        {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret", "audience": "another-app"},
        api_access=True,
    )
    assert status == 200
    assert idp.check_bearer(body["access_token"]) == {"detail": "Client not allowed", "code": "client_not_valid"}


def test_secret_key_header_and_repr() -> None:
    key = SecretKey("top-secret")
    assert "top-secret" not in repr(key)
    with pytest.raises(AuthError):
        SecretKey("")


def _scripted(polls: list[dict[str, Any]], clock: Clock) -> httpx.Client:
    """A Keycloak that answers the device polls from ``polls`` (then exchanges any token)."""
    answers = iter(polls)

    def handler(request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.content.decode()).items()}
        if str(request.url).endswith("auth/device"):
            return httpx.Response(200, json={"device_code": "d", "verification_uri_complete": "u", "expires_in": 30})
        if form["grant_type"].endswith("device_code"):
            answer = next(answers)
            return httpx.Response(400 if "error" in answer else 200, json=answer)
        return httpx.Response(200, json={"access_token": "dials", "expires_in": 300, "token_type": "Bearer"})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_device_polling_backs_off_on_slow_down_and_gives_up_when_the_code_expires(clock: Clock) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    polls = [{"error": "slow_down"}, {"error": "authorization_pending"}, {"access_token": "p", "expires_in": 60}]
    login = DeviceLogin(keycloak=TARGET, prompt=lambda _: None, http=_scripted(polls, clock), clock=clock, sleep=sleep)
    login.login()
    assert sleeps == [5.0, 10.0, 10.0]
    assert bearer(login.headers()) == "dials"
    pending = [{"error": "authorization_pending"}] * 10
    late = DeviceLogin(keycloak=TARGET, prompt=lambda _: None, http=_scripted(pending, clock), clock=clock, sleep=sleep)
    with pytest.raises(AuthError, match="expired before it was approved"):
        late.login()
