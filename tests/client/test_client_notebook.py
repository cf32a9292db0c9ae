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
    return LossReport(
        clauses=(
            ClauseLoss(0, {"in": [SCRIPT, {"var": "run.oms.hlt_key"}]}, 40, Luminosity(4000.0, 5000.0)),
            ClauseLoss(1, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, 7, Luminosity(500.0, 750.0)),
        ),
        several_lumisections=3,
        universe_lumisections=100,
        kept_lumisections=50,
        several_luminosity=Luminosity(250.0, 250.0),
        universe_luminosity=Luminosity(10000.0, 12000.0),
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
        losses=_report(),
        luminosity_in=Luminosity(5250.0, 6000.0),
        dataset_name_filter="/PromptReco/Collisions2018%/DQM",
    )
    page = _html(golden)
    assert "1 runs, 50 lumisections" in page
    assert "recorded 5.25 /fb, delivered 6 /fb" in page
    assert "recorded (/fb)" in page  # the loss report, in the unit that fits
    assert "&lt;script&gt;" in page
    assert SCRIPT not in page
    assert _html(golden.losses).count("<tr>") == 1 + 5  # header, two clauses, several, kept, evaluated
    assert repr(golden.luminosity_in) == "Luminosity(recorded=5.25 /fb, delivered=6 /fb)"
    assert "GoldenJson(engine='local'" in repr(golden)
    assert golden.losses is not None
    assert golden.losses.to_table().splitlines()[-1] == "(luminosity in /fb)"


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


def test_the_loss_plot_reads_on_its_own() -> None:
    golden = GoldenJson(mask=LumiMask({315000: [(1, 50)]}), losses=_report(), luminosity_in=Luminosity(5250.0, 6e3))
    figure = loss_figure(golden)
    title = figure._suptitle.get_text()
    assert "50 lumisections kept" in title
    assert "5.25 /fb" in title
    losses, runs = figure.axes
    assert losses.get_xlabel() == "recorded luminosity removed (/fb)"
    assert losses.get_ylabel()
    assert losses.get_title()
    assert runs.get_xlabel() == "run"
    assert runs.get_ylabel() == "fraction of lumisections kept"
