"""``runql dials``: the same rows as the client in every format, ``--explain`` sends nothing, errors are one line."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from client.cli import main
from client.dials import Dials, SecretKey

FILTER = '{"ls_number": {"<=": 2}, "me": {"like": "%PXLayer_1"}}'


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALS_SECRET_KEY", "any")


def _expected(dials_url: str) -> list[dict[str, object]]:
    with Dials(SecretKey("any"), target=dials_url) as dials:
        return [row.model_dump(mode="json") for row in dials.h1d(json.loads(FILTER))]


def test_json_format_gives_the_clients_rows(dials_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dials", "h1d", "--filter", FILTER, "--format", "json", "--target", dials_url]) == 0
    assert json.loads(capsys.readouterr().out) == _expected(dials_url)


def test_csv_and_table_formats(dials_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _expected(dials_url)
    assert main(["dials", "th1", "--filter", FILTER, "--format", "csv", "--target", dials_url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["ls_number"]) for r in rows] == [e["ls_number"] for e in expected]
    assert "data" not in rows[0]
    assert main(["dials", "th1", "--filter", FILTER, "--columns", "run_number,me", "--target", dials_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run_number", "me"]
    assert len(lines) == len(expected) + 1


def test_explain_sends_no_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dials", "run", "--explain", "--filter", '{"or": [{"run_number": 1}, {"dataset_id": 2}]}']) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        "run filter compiled to 2 DIALS requests (their union is the answer):",
        "GET run/?run_number=1",
        "GET run/?dataset_id=2",
    ]


def test_errors_are_one_line(dials_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dials", "th1", "--filter", '{"run_numbr": 1}', "--target", dials_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith('runql dials: error: filter["run_numbr"]: unknown field of DIALS th1')
    assert err.count("\n") == 1
    assert main(["dials", "lumis", "--target", dials_url]) == 1
    assert "did you mean 'lumi'" in capsys.readouterr().err


def test_login_runs_the_device_flow_and_caches_a_private_token(
    dials_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``runql login`` against the stand-in's Keycloak: prompt, poll (no wall-clock wait), a 0600 token cache that
    a later client uses without asking again."""
    import functools
    import stat

    import client.cli_dials
    from client.dials import DeviceLogin
    from client.dials.auth import Keycloak, default_cache_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    waits: list[float] = []
    monkeypatch.setattr(client.cli_dials, "DeviceLogin", functools.partial(DeviceLogin, sleep=waits.append))
    keycloak = dials_url + "auth/"
    assert main(["login", "--keycloak", keycloak]) == 0
    captured = capsys.readouterr()
    assert "https://" in captured.out  # the verification address shown to the person
    assert "logged in" in captured.err
    assert waits == [5.0, 5.0]  # before each poll (one "authorization_pending"), at the interval asked for
    cache = default_cache_path()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    later = DeviceLogin(keycloak=Keycloak(url=keycloak), cache_path=cache, prompt=lambda _: pytest.fail("asked again"))
    assert later.logged_in
