"""GoldenJson: the server-row wrapper, the per-dataset form, the loss table and the plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.cli_golden import plot_golden, summary_lines
from schemas.golden import ClauseLoss, GoldenJson, LossReport, LumiMask, LumiMaskError, Luminosity
from schemas.jsonportal import JsonPortalRow

ROW = {
    "id": 12,
    "json_logic": '{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}',
    "dataset_name_filter": "/PromptReco/Collisions2018%/DQM",
    # the service's quirk: two datasets of run 315000 concatenated under one key, unsorted and overlapping
    "generated_json": {"315000": [[30, 40], [1, 10], [5, 12]], "315001": [[3, 4]]},
    "generated_json_with_dataset_names": {
        "315000-/PromptReco/Collisions2018A/DQM": [[30, 40], [1, 10]],
        "315000-/PromptReco/Collisions2018B/DQM": [[5, 12]],
        "315001-/PromptReco/Collisions2018A/DQM": [[3, 4]],
    },
    "generated_anti_json": {"315000": [[11, 29]], "315001": [[1, 2]]},
    "min_run_number": 315000,
    "max_run_number": 315001,
    "custom_column": "kept",
}


def test_from_server_row_unites_the_concatenated_ranges() -> None:
    golden = GoldenJson.from_server_row(ROW)
    assert golden.engine == "server"
    assert golden.mask.to_dict() == {"315000": [[1, 12], [30, 40]], "315001": [[3, 4]]}
    assert golden.run_count == 2
    assert golden.lumisection_count == 12 + 11 + 2
    assert golden.anti_mask == LumiMask({315000: [(11, 29)], 315001: [(1, 2)]})
    assert golden.rule == {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
    assert golden.dataset_name_filter == "/PromptReco/Collisions2018%/DQM"
    assert golden.losses is None


def test_from_server_row_keeps_the_whole_row() -> None:
    golden = GoldenJson.from_server_row(JsonPortalRow.model_validate(ROW))
    assert golden.server_row is not None
    assert golden.server_row.id == 12
    assert golden.server_row.model_extra == {"custom_column": "kept"}
    assert golden.server_row.generated_json[315000] == [(30, 40), (1, 10), (5, 12)]


def test_per_dataset_form_roundtrips() -> None:
    golden = GoldenJson.from_server_row(ROW)
    assert golden.by_dataset["/PromptReco/Collisions2018B/DQM"] == LumiMask({315000: [(5, 12)]})
    assert golden.with_dataset_names() == {
        "315000-/PromptReco/Collisions2018A/DQM": [[1, 10], [30, 40]],
        "315000-/PromptReco/Collisions2018B/DQM": [[5, 12]],
        "315001-/PromptReco/Collisions2018A/DQM": [[3, 4]],
    }


def test_bad_dataset_key_is_an_error() -> None:
    with pytest.raises(LumiMaskError, match="'<run>-<dataset>' key"):
        GoldenJson.from_server_row({"generated_json_with_dataset_names": {"online": [[1, 2]]}})


def report(with_lumi: bool) -> LossReport:
    def lumi(recorded: float, delivered: float) -> Luminosity | None:
        return Luminosity(recorded, delivered) if with_lumi else None

    return LossReport(
        clauses=(
            ClauseLoss(0, {">=": [{"var": "run.oms.energy"}, 6000]}, 40, lumi(4.0, 5.0)),
            ClauseLoss(1, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, 7, lumi(0.5, 0.75)),
        ),
        several_lumisections=3,
        universe_lumisections=100,
        kept_lumisections=50,
        several_luminosity=lumi(0.25, 0.25),
        universe_luminosity=lumi(10.0, 12.0),
    )


def test_loss_table_lists_every_clause_and_totals() -> None:
    lines = report(with_lumi=True).to_table().splitlines()
    assert lines[0].split() == ["clause", "lumisections", "recorded", "delivered"]
    assert lines[1].split() == ['{">=":[{"var":"run.oms.energy"},6000]}', "40", "4", "5"]
    assert lines[2].split() == ['{"==":[{"var":"lumisection.rr.dt-dt"},"GOOD"]}', "7", "0.5", "0.75"]
    assert lines[3].split()[-3:] == ["3", "0.25", "0.25"]
    assert lines[4].split() == ["(kept)", "50", "5.25", "6"]
    assert lines[5].split() == ["(evaluated)", "100", "10", "12"]


def test_loss_table_without_luminosity_shows_dashes() -> None:
    lines = report(with_lumi=False).to_table().splitlines()
    assert lines[1].split()[-3:] == ["40", "-", "-"]


def golden(with_lumi: bool) -> GoldenJson:
    return GoldenJson(
        mask=LumiMask({315000: [(1, 30)], 315001: [(1, 20)]}),
        anti_mask=LumiMask({315000: [(31, 60)], 315002: [(1, 20)]}),
        losses=report(with_lumi),
        luminosity_in=Luminosity(5.25, 6.0) if with_lumi else None,
    )


def test_summary_lines() -> None:
    lines = summary_lines(golden(with_lumi=True))
    assert lines[0] == "golden JSON: 2 runs, 50 lumisections (local engine)"
    assert lines[1] == "excluded (anti-JSON): 2 runs, 50 ls"
    assert lines[2] == "luminosity in: recorded 5.25, delivered 6"
    assert len(summary_lines(golden(with_lumi=False))) == 2


@pytest.mark.parametrize("with_lumi", [True, False])
def test_plot_writes_a_png(tmp_path: Path, with_lumi: bool) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "losses.png"
    plot_golden(golden(with_lumi), target)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000


def test_plot_without_a_loss_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "server.png"
    plot_golden(GoldenJson.from_server_row(ROW), target)
    assert target.read_bytes()[:4] == b"\x89PNG"
