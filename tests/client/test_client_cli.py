"""The ``runql`` command line against the embedded backend."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from backend.server import EmbeddedServer
from client import RunRegistry
from client.cli import main


def test_runs_table_json_and_csv(server: EmbeddedServer, rr: RunRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    expected = [r.run_number for r in rr.get_runs(filter={"class": "Cosmics18"}, limit=4)]
    assert main(["runs", "--target", server.url, "--filter", '{"class": "Cosmics18"}', "--limit", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["run_number", "class", "state"]
    assert [int(line.split()[0]) for line in lines[1:]] == expected
    assert main(["runs", "--target", server.url, "--filter", '{"class": "Cosmics18"}', "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == rr.get_runs(filter={"class": "Cosmics18"}, compress_attributes=False)
    assert (
        main(["runs", "--target", server.url, "--limit", "3", "--format", "csv", "--columns", "run_number,energy"]) == 0
    )
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["run_number"]) for r in table] == [r.run_number for r in rr.get_runs(limit=3)]
    assert set(table[0]) == {"run_number", "energy"}


def test_filter_from_a_file_and_datasets(
    server: EmbeddedServer, rr: RunRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f.json").write_text('{"dataset_name": {"like": "%ReReco%"}}')
    assert main(["datasets", "--target", server.url, "--filter", "@f.json", "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    expected = rr.get_datasets(filter={"dataset_name": {"like": "%ReReco%"}})
    assert [(int(r["run_number"]), r["name"]) for r in table] == [d.key for d in expected]


def test_one_run_and_its_lumisections(
    server: EmbeddedServer, rr: RunRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    number = rr.get_runs(filter={"significant": True}, limit=1)[0].run_number
    assert main(["run", str(number), "--target", server.url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_number"] == number
    assert main(["run", str(number), "--target", server.url]) == 0
    table_lines = capsys.readouterr().out.splitlines()
    assert table_lines[0].split() == ["run_number", str(number)]
    assert any(line.startswith("rr_attributes.class ") for line in table_lines)
    assert main(["lumis", str(number), "--target", server.url, "--ranges", "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    ranges = rr.get_lumisection_ranges(number)
    assert [(int(r["start"]), int(r["end"]), r["dt-dt"]) for r in table] == [
        (x.start, x.end, x.status("dt-dt")) for x in ranges
    ]
    assert main(["lumis", str(number), "--target", server.url, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(rr.get_lumisections(number))


def test_explain_sends_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", '{"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}']) == 0
    assert "2 backend filters" in capsys.readouterr().out
    assert main(["explain", '{"dataset_name": "online"}', "--datasets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["runs", "--filter", '{"hlt_kye": "x"}', "--target", "local"], 1, "did you mean 'hlt_key'"),
        (["runs", "--filter", "{oops"], 2, "not valid JSON"),
        (["runs", "--filter", "@missing.json"], 2, "cannot read missing.json"),
        (["runs"], 1, "target='embedded'"),
        (["run", "1", "--target", "http://127.0.0.1:9"], 1, "ConnectError"),
    ],
)
def test_errors_are_one_line_with_a_non_zero_exit(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNQL_RETRIES", "0")
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unknown_run_and_column(server: EmbeddedServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "1", "--target", server.url]) == 1
    assert "run 1 not found" in capsys.readouterr().err
    assert main(["runs", "--target", server.url, "--columns", "run_number,energie"]) == 2
    assert "unknown column(s) energie" in capsys.readouterr().err


def test_embedded_target_is_labelled_synthetic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--target", "embedded", "--limit", "2"]) == 0
    captured = capsys.readouterr()
    assert "synthetic data" in captured.err
    assert len(captured.out.splitlines()) == 3


def test_serve_is_the_backends_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "--runs" in capsys.readouterr().out
