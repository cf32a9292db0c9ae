"""Configuration: targets, .env files, RUNQL_* overrides, clear errors, no secrets in reprs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import client
from client import ConfigError, RunRegistry
from client.config import TOKEN_URL, Secret, resolve_settings


def test_named_targets() -> None:
    local = resolve_settings("local", environ={})
    assert (local.base_url, local.auth, local.email) == ("http://localhost:9500", None, "api@api")
    dev = resolve_settings("development", environ={"SSO_CLIENT_ID": "id", "SSO_CLIENT_SECRET": "pw"})
    assert dev.base_url == "https://dev-cmsrunregistry.web.cern.ch/api"
    assert dev.auth is not None
    assert (dev.auth.audience, dev.auth.token_url, dev.email) == ("dev-cmsrunregistry-sso-proxy", TOKEN_URL, None)
    url = resolve_settings("http://127.0.0.1:9999/", environ={})
    assert (url.target, url.base_url, url.auth) == ("url", "http://127.0.0.1:9999", None)


def test_environment_picks_the_default_target() -> None:
    assert resolve_settings(environ={"ENVIRONMENT": "local"}).base_url == "http://localhost:9500"
    with pytest.raises(ConfigError, match='Invalid setup target "staging"'):
        resolve_settings(environ={"ENVIRONMENT": "staging"})


def test_missing_credentials_point_to_the_embedded_target() -> None:
    with pytest.raises(ConfigError, match=r"SSO_CLIENT_ID.*target='embedded'"):
        resolve_settings("production", environ={})
    with pytest.raises(ConfigError, match="target='embedded'"):
        RunRegistry()  # the module default: production


def test_dotenv_is_read_at_configuration_and_never_exported(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SSO_CLIENT_ID=from-file\nSSO_CLIENT_SECRET=file-secret\nENVIRONMENT=development\nRUNQL_CONCURRENCY=7\n"
    )
    settings = resolve_settings()  # the clean_environment fixture made tmp_path the working directory
    assert settings.target == "development"
    assert settings.auth is not None
    assert (settings.auth.client_id, settings.auth.client_secret.reveal()) == ("from-file", "file-secret")
    assert settings.concurrency == 7
    assert "SSO_CLIENT_ID" not in os.environ
    assert resolve_settings(env_file=False, environ={}, target="local").concurrency == 4


def test_process_environment_wins_over_the_file_and_arguments_win_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("RUNQL_READ_TIMEOUT=5\nRUNQL_RETRIES=2\n")
    monkeypatch.setenv("RUNQL_READ_TIMEOUT", "9")
    settings = resolve_settings("local", env_file=env_file)
    assert (settings.read_timeout, settings.retries) == (9.0, 2)
    assert resolve_settings("local", env_file=env_file, retries=0).retries == 0
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_settings("local", env_file=tmp_path / "missing.env")


def test_runql_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environ = {
        "SSO_CLIENT_ID": "me",
        "SSO_CLIENT_SECRET": "pw",
        "RUNQL_BASE_URL": "https://rr.example.org/api/",
        "RUNQL_TOKEN_URL": "https://sso.example.org/token",
        "RUNQL_AUDIENCE": "my-audience",
        "RUNQL_CONNECT_TIMEOUT": "2.5",
        "RUNQL_PAGE_SIZE": "1234",
        "RUNQL_BACKOFF": "0.5",
        "RUNQL_TOKEN_CACHE": str(tmp_path / "tokens.json"),
    }
    settings = resolve_settings("production", environ=environ)
    assert settings.base_url == "https://rr.example.org/api"
    assert settings.auth is not None
    assert (settings.auth.token_url, settings.auth.audience) == ("https://sso.example.org/token", "my-audience")
    assert (settings.connect_timeout, settings.page_size, settings.backoff) == (2.5, 1234, 0.5)
    assert settings.auth.cache_path == tmp_path / "tokens.json"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RUNQL_CONCURRENCY": "many"}, "RUNQL_CONCURRENCY must be int"),
        ({"RUNQL_CONCURRENCY": "0"}, r"concurrency \(RUNQL_CONCURRENCY\) must be >= 1"),
        ({"RUNQL_READ_TIMEOUT": "-1"}, "must be positive"),
        ({"RUNQL_BASE_URL": "ftp://x"}, "invalid base URL"),
    ],
)
def test_bad_values_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_settings("local", environ=environ)


def test_secrets_stay_hidden() -> None:
    settings = resolve_settings("production", environ={"SSO_CLIENT_ID": "me", "SSO_CLIENT_SECRET": "hunter2-secret"})
    for text in (repr(settings), str(settings), repr(settings.auth), f"{settings.auth}"):
        assert "hunter2-secret" not in text
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    with pytest.raises(TypeError, match="pickled"):
        Secret("a").__reduce__()


def test_module_functions_use_a_replaceable_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")
    try:
        first = client.default_client()
        assert first.base_url == "http://localhost:9500"
        assert client.setup("http://127.0.0.1:1") is None  # like the public client's setup
        replaced = client.default_client()
        assert replaced is not first
        assert replaced is client.default_client()
        assert replaced.base_url == "http://127.0.0.1:1"
    finally:
        client.setup("local")


def test_the_embedded_target_is_synthetic_and_stops_on_close() -> None:
    with RunRegistry("embedded", embedded_options={"runs": 20, "seed": 1}) as rr:
        runs = rr.get_runs()
        assert rr.synthetic
        assert runs.synthetic
        assert len(runs) == 20
        assert "synthetic" in repr(rr)
        url = rr.base_url
    import httpx

    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/cycles/global", timeout=1)
    with pytest.raises(ConfigError, match="embedded_options"):
        RunRegistry("local", embedded_options={"runs": 1})
