"""``runql serve`` options: secrets kept off the command line, ``--db`` and ``--port`` checked before any work."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import httpx
import pytest

from backend.cli import AUTH_CLIENTS_VARIABLE, auth_clients, listen, main
from backend.eras import era_of
from backend.server import EmbeddedServer, build_store

SECRET = "s3cret-from-the-environment-77"


def _serve(argv: list[str], capsys: pytest.CaptureFixture[str], **environ: str) -> tuple[int, str]:
    code = main(argv, environ=environ)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    return code, err


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "rr.db"
    build_store(db=str(path), runs=12, seed=5).close()
    return path


def test_db_contradicted_by_runs_or_seed_is_an_error_that_says_so(
    registry_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _serve(["--port", "0", "--db", str(registry_file), "--runs", "50"], capsys)
    assert code == 1
    assert f"--db {registry_file} holds 12 runs, not --runs 50" in err
    code, err = _serve(["--port", "0", "--db", str(registry_file), "--seed", "6"], capsys)
    assert code == 1
    assert "generated with seed 5, not --seed 6" in err


def test_db_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello, this is not a database\n" * 50)
    code, err = _serve(["--port", "0", "--db", str(not_sqlite)], capsys)
    assert code == 1
    assert f"--db {not_sqlite}: not a usable SQLite database (file is not a database)" in err
    assert not_sqlite.read_text().startswith("hello")  # left as it was
    code, err = _serve(["--port", "0", "--db", str(tmp_path / "missing" / "rr.db")], capsys)
    assert code == 1
    assert "does not exist" in err
    code, err = _serve(["--port", "0", "--db", str(tmp_path)], capsys)
    assert code == 1
    assert "is a directory" in err
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    code, err = _serve(["--port", "0", "--db", str(other)], capsys)
    assert code == 1
    assert "not a runql registry" in err


def test_a_busy_port_is_reported_before_the_registry_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        database = tmp_path / "never.db"
        code, err = _serve(["--port", str(port), "--db", str(database), "--runs", "20000"], capsys)
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert not database.exists()  # nothing was built


def _clients_file(tmp_path: Path, mode: int, text: str) -> Path:
    path = tmp_path / "clients"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_auth_secrets_from_the_command_line_and_the_environment() -> None:
    args = Namespace(auth_client=[("cli-app", "visible", "reader")], auth_clients_file=None)
    clients = auth_clients(args, {AUTH_CLIENTS_VARIABLE: f"env-app:{SECRET}:writer  other:x:y:reader"})
    assert clients == {"cli-app": ("visible", "reader"), "env-app": (SECRET, "writer"), "other": ("x:y", "reader")}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_clients_file_others_can_read_is_refused(
    mode: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _clients_file(tmp_path, mode, f"app:{SECRET}:reader\n")
    code, err = _serve(["--port", "0", "--runs", "1", "--auth-clients-file", str(path)], capsys)
    assert code == 1
    assert "must be a regular file of yours with mode 0600" in err
    assert f"chmod 600 {path}" in err
    assert SECRET not in err


def test_a_symlinked_clients_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _clients_file(tmp_path, 0o600, f"app:{SECRET}:reader\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    code, err = _serve(["--port", "0", "--runs", "1", "--auth-clients-file", str(link)], capsys)
    assert code == 1
    assert "cannot read the clients file" in err


def test_a_malformed_entry_is_reported_without_showing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _clients_file(tmp_path, 0o600, f"# comment\n\napp:{SECRET}:admin\n")
    code, err = _serve(["--port", "0", "--runs", "1", "--auth-clients-file", str(path)], capsys)
    assert code == 1
    assert "expected ID:SECRET:ROLE" in err
    assert SECRET not in err
    code, err = _serve(
        ["--port", "0", "--runs", "1"], capsys, **{AUTH_CLIENTS_VARIABLE: f"a:{SECRET}:reader a:b:reader"}
    )
    assert code == 1
    assert "client 'a' is given more than once" in err


def test_serve_with_secrets_from_the_environment_end_to_end(tmp_path: Path) -> None:
    path = _clients_file(tmp_path, 0o600, f"file-app:{SECRET}-file:writer\n")
    env = {**os.environ, AUTH_CLIENTS_VARIABLE: f"env-app:{SECRET}:reader"}
    argv = ["--port", "0", "--runs", "3", "--auth-clients-file", str(path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "runql", "serve", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        url = line.rsplit(" at ", 1)[1].strip()
        token_url = process.stdout.readline().decode().rsplit(" ", 1)[1].strip()
        for client_id, secret in (("env-app", SECRET), ("file-app", f"{SECRET}-file")):
            grant = httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret))
            assert grant.status_code == 200
            reply = httpx.get(f"{url}/runs/1", headers={"Authorization": f"Bearer {grant.json()['access_token']}"})
            assert reply.status_code != 401
        assert (
            httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=("env-app", "x")).status_code == 401
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_a_fifo_as_clients_file_is_refused_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "clients"
    os.mkfifo(fifo, 0o600)
    code, err = _serve(["--port", "0", "--runs", "1", "--auth-clients-file", str(fifo)], capsys)
    assert code == 1
    assert "must be a regular file" in err


def test_the_port_is_held_from_the_check_until_the_server_serves_on_it() -> None:
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    try:
        with socket.socket() as rival, pytest.raises(OSError, match="in use"):
            rival.bind(("127.0.0.1", port))  # nobody else can take it while the registry is being built
        with EmbeddedServer(runs=2, sock=sock) as server:
            assert server.url == f"http://127.0.0.1:{port}"
            assert httpx.get(f"{server.url}/runs/1").status_code in (200, 404)
    finally:
        sock.close()


def test_years_outside_the_registry_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--years", "2010"]) == 2
    err = capsys.readouterr().err
    assert "no era in 2010: the registry spans 2018" in err
    assert len(err.strip().splitlines()) == 1


def test_db_contradicted_by_years_is_an_error_that_says_so(
    registry_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(registry_file) as conn:
        stored = sorted({era.year for (n,) in conn.execute("SELECT run_number FROM run") if (era := era_of(n))})
    other = 2024 if stored != [2024] else 2018
    code, err = _serve(["--port", "0", "--db", str(registry_file), "--years", str(other)], capsys)
    assert code == 1
    assert f"holds runs of {' '.join(map(str, stored))}, not only of --years {other}" in err


def test_an_unusable_token_path_is_one_line_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _serve(["--port", "0", "--runs", "1", "--auth-client", "app:x:reader", "--token-path", "token"], capsys)
    assert code == 1
    assert "token_path must start with '/', got 'token'" in err
