"""Progress lines appear on a terminal's stderr only, for listings and for both golden-JSON engines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from backend.server import EmbeddedServer
from client import RunRegistry
from client.cli import build_parser
from client.cli_golden import run_golden
from client.progress import counter, fraction

RULE = Path(__file__).resolve().parents[2] / "examples" / "golden_rule.json"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_shown_off_a_terminal() -> None:
    assert counter(io.StringIO(), "pages") is None
    assert fraction(io.StringIO(), "job") is None


def test_counter_and_fraction_lines() -> None:
    err = Terminal()
    show = counter(err, "pages")
    assert show is not None
    show(1, 1)  # a single page shows nothing
    show(2, 3)
    show(3, 3)
    job = fraction(err, "json_portal job")
    assert job is not None
    job(None)
    job(1.0)
    assert (
        err.getvalue()
        == "\rfetching pages 2/3\rfetching pages 3/3\n\rjson_portal job: queued\rjson_portal job: 100.0%\n"
    )


@pytest.mark.parametrize("engine", ["local", "server"])
def test_runql_golden_shows_progress_on_a_terminal(engine: str, small_server: EmbeddedServer, tmp_path: Path) -> None:
    argv = ["golden", "--rule", str(RULE), "--dataset", "/PromptReco/%", "--engine", engine, "-o", str(tmp_path / "g")]
    args = build_parser().parse_args(argv)
    err = Terminal()
    with RunRegistry(small_server.url, env_file=False) as registry:
        assert run_golden(args, registry=registry, out=io.StringIO(), err=err) == 0
    expected = "fetching lumisection ranges" if engine == "local" else "json_portal job: "
    assert expected in err.getvalue()
