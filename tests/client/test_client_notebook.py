"""At home in a notebook: IPython's display formatter shows Records, GoldenJson, the loss report and explain plans as
escaped HTML; progress bars come from tqdm; luminosity prints with units; the loss plot reads on its own."""

from __future__ import annotations

import httpx
import pytest
from client_fakes import FakeService, make_run
from IPython.core.formatters import DisplayFormatter

from client import RunRegistry
from client.cli_golden import loss_figure
from querylang import explain
from schemas.golden import ClauseLoss, GoldenJson, LossReport, LumiMask, Luminosity

SCRIPT = "<script>alert(1)</script>"


def _html(obj: object) -> str:
    data, _ = DisplayFormatter().format(obj)
    assert "text/plain" in data
    return str(data["text/html"])


def _report() -> LossReport:
    clause = '{"in":["' + SCRIPT + '",{"var":"run.oms.hlt_key"}]}'
    return LossReport(
        clauses=(
            ClauseLoss(clause, 40, 4.0e9, 30, 3.0e9),
            ClauseLoss('{"==":[{"var":"lumisection.rr.dt-dt"},"GOOD"]}', 7, 0.5e9, 5, 0.25e9),
        ),
        several_lumisections=3,
        several_recorded=0.25e9,
        kept_lumisections=50,
        kept=Luminosity(5.25e9, 6.0e9),
        removed_lumisections=50,
        removed=Luminosity(4.75e9, 5.0e9),
    )


def test_records_display_as_an_escaped_table() -> None:
    fake = FakeService(runs=[make_run(n, hlt_key=SCRIPT) for n in range(1, 31)])
    with RunRegistry("http://rr.test", transport=httpx.MockTransport(fake), env_file=False) as rr:
        runs = rr.get_runs()
    page = _html(runs)
    assert "Records: 30 runs of 30 matching" in page
    assert "<table" in page
    assert "&lt;script&gt;" in page
    assert SCRIPT not in page
    assert "20 more rows" in page


def test_golden_json_and_loss_report_display_with_units() -> None:
    golden = GoldenJson(
        mask=LumiMask({315000: [(1, 50)]}),
        anti_mask=LumiMask({315000: [(51, 100)]}),
        luminosity_in=Luminosity(5.25e9, 6.0e9),
        dataset_name_filter="/PromptReco/Collisions2018%/DQM",
    )
    page = _html(golden)
    assert "1 runs, 50 lumisections" in page
    assert "recorded 5.25 /fb, delivered 6 /fb" in page  # sums of per-lumisection values in /ub
    losses = _html(_report())
    assert "recorded false (/fb)" in losses  # the loss report, in the unit that fits
    assert "&lt;script&gt;" in losses
    assert SCRIPT not in losses
    assert losses.count("<tr>") == 1 + 3  # header, two clauses, several
    assert "kept (golden JSON): 50 lumisections, recorded 5.25 /fb" in losses
    assert repr(golden.luminosity_in) == "Luminosity(recorded=5.25 /fb, delivered=6 /fb)"
    assert "GoldenJson(engine='local'" in repr(golden)


def test_explain_displays_as_escaped_preformatted_text() -> None:
    plan = explain({"hlt_key": {"like": "%<b>%"}})
    page = _html(plan)
    assert page.startswith("<pre>")
    assert "&lt;b&gt;" in page
    assert isinstance(plan, str)
    assert "<b>" in plan


def test_progress_bars_come_from_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeService(runs=[make_run(n) for n in range(1, 31)])
    with RunRegistry("http://rr.test", transport=httpx.MockTransport(fake), env_file=False, page_size=10) as rr:
        rr.get_runs(progress=True)
    err = capsys.readouterr().err
    assert "runs pages: 100%" in err
    assert "3/3" in err


def test_the_loss_plot_reads_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    golden = GoldenJson(mask=LumiMask({315000: [(1, 50)]}), luminosity_in=Luminosity(5.25e9, 6e9))
    monkeypatch.setattr(GoldenJson, "losses", property(lambda self: _report()))
    figure = loss_figure(golden)
    title = figure._suptitle.get_text()
    assert "50 lumisections kept" in title
    assert "5.25 /fb" in title
    losses, runs = figure.axes
    assert losses.get_xlabel() == "recorded luminosity removed (/fb)"
    assert losses.get_ylabel() == "clause of the rule"
    assert losses.get_title()
    assert runs.get_xlabel() == "run"
    assert runs.get_ylabel() == "fraction of lumisections kept"
