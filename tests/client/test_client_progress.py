"""Progress lines appear on a terminal's stderr only, for listings and for both golden-JSON engines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from backend.server import EmbeddedServer
from client import RunRegistry
from client.cli import build_parser
from client.cli_golden import run_golden
from client.progress import job_reporting, on_terminal

RULE = Path(__file__).resolve().parents[2] / "examples" / "golden_rule.json"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_shown_off_a_terminal() -> None:
    with on_terminal(io.StringIO(), "pages") as progress:
        assert progress is None


def test_tqdm_bars_for_pages_and_jobs() -> None:
    err = Terminal()
    with on_terminal(err, "runs pages") as progress:
        assert progress is not None
        progress(1, 1)  # a single request shows nothing
        assert err.getvalue() == ""
        progress(2, 3)
        progress(3, 3)
    with job_reporting(True, "json_portal job", file=err) as show:
        assert show is not None
        show(None)
        show(1.0)
    text = err.getvalue()
    assert "runs pages" in text
    assert "3/3" in text
    assert "json_portal job" in text
    assert "100/100" in text


def test_progress_option_is_checked_and_callables_are_called(mock_client: RunRegistry) -> None:
    seen: list[tuple[int, int]] = []
    mock_client.get_runs(progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (10, 10)
    with pytest.raises(TypeError, match="progress must be"):
        mock_client.get_runs(progress="yes")  # type: ignore[arg-type]


def test_progress_true_draws_a_tqdm_bar_on_stderr(mock_client: RunRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    mock_client.get_runs(progress=True)
    err = capsys.readouterr().err
    assert "runs pages" in err
    assert "10/10" in err
    mock_client.get_runs()
    assert capsys.readouterr().err == ""  # off by default in the API


@pytest.mark.parametrize("engine", ["local", "server"])
def test_runql_golden_shows_progress_on_a_terminal(engine: str, small_server: EmbeddedServer, tmp_path: Path) -> None:
    argv = ["golden", "--rule", str(RULE), "--dataset", "/PromptReco/%", "--engine", engine, "-o", str(tmp_path / "g")]
    args = build_parser().parse_args(argv)
    err = Terminal()
    with RunRegistry(small_server.url, env_file=False) as registry:
        assert run_golden(args, registry=registry, out=io.StringIO(), err=err) == 0
    expected = "lumisection ranges: 100%" if engine == "local" else "json_portal job: "
    assert expected in err.getvalue()
