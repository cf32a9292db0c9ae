"""GoldenJson: the server-row wrapper, the per-dataset form, the loss table and the plot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from client.cli_golden import plot_golden, summary_lines
from schemas.golden import ClauseLoss, GoldenJson, LossAccounting, LossReport, LumiMask, LumiMaskError, Luminosity
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


ENERGY = '{">=":[{"var":"run.oms.energy"},6000]}'
DT = '{"==":[{"var":"lumisection.rr.dt-dt"},"GOOD"]}'
A = "315000-/PromptReco/Collisions2018A/DQM"
#: The service's figures: energy alone removed 40 ls (4.0), dt-dt alone 7 (0.5), both together 3 (0.25).
ACCOUNTING = LossAccounting(
    recorded_luminosity_in_json=5.25,
    delivered_luminosity_in_json=6.0,
    total_recorded_luminosity_lost=4.75,
    total_delivered_luminosity_lost=5.5,
    total_recorded_luminosity_from_run_range=20.0,
    total_delivered_luminosity_from_run_range=22.0,
    rules_flagged_false_quantity_luminosity={ENERGY: 4.25, DT: 0.75},
    rules_flagged_false_combination_luminosity={f"[{ENERGY}]": 4.0, f"[{DT}]": 0.5, f"[{ENERGY},{DT}]": 0.25},
    runs_lumisections_responsible_for_rule={
        f"[{ENERGY}]": {A: [[11, 40], [51, 60]]},
        f"[{DT}]": {A: [[41, 47]]},
        f"[{ENERGY},{DT}]": {A: [[48, 50]]},
    },
)


def test_accounting_totals_are_in_plus_lost() -> None:
    assert ACCOUNTING.total_recorded_luminosity == 10.0
    assert ACCOUNTING.total_delivered_luminosity == 11.5
    row = ACCOUNTING.to_row()
    assert list(row)[:2] == ["total_delivered_luminosity", "total_recorded_luminosity"]
    assert row["runs_lumisections_responsible_for_rule"][f"[{DT}]"] == {A: [[41, 47]]}


def test_loss_report_is_derived_from_the_accounting() -> None:
    report = LossReport.of(ACCOUNTING, kept_lumisections=50)
    assert [c.clause for c in report.clauses] == [ENERGY, DT]  # most recorded luminosity lost first
    assert report.clauses[0] == ClauseLoss(ENERGY, 43, 4.25, 40, 4.0)
    assert report.clauses[1] == ClauseLoss(DT, 10, 0.75, 7, 0.5)
    assert (report.several_lumisections, report.several_recorded) == (3, 0.25)
    assert (report.removed_lumisections, report.removed) == (50, Luminosity(4.75, 5.5))
    lines = report.to_table().splitlines()
    header = "clause lumisections false recorded false (/ub) lumisections alone recorded alone (/ub)"
    assert lines[0].split() == header.split()  # the values are µb⁻¹ sums: shown in the unit that fits them
    assert lines[1].split() == [ENERGY, "43", "4.25", "40", "4"]
    assert lines[3].split()[-2:] == ["3", "0.25"]
    assert lines[4] == "kept (golden JSON): 50 lumisections, recorded 5.25 /ub, delivered 6 /ub"
    assert "shown in the unit that fits" in lines[-1]
    big = LossReport.of(dataclasses.replace(ACCOUNTING, recorded_luminosity_in_json=8.5e10), kept_lumisections=50)
    assert "recorded false (/fb)" in big.to_table().splitlines()[0]
    assert "recorded 85 /fb" in big.to_table()


def test_from_a_finished_server_row() -> None:
    row = {**ROW, **ACCOUNTING.to_row(), "generated_anti_json_with_dataset_names": {A: [[11, 29]]}}
    golden = GoldenJson.from_server_row(row)
    assert golden.accounting == ACCOUNTING
    assert golden.luminosity_in == Luminosity(5.25, 6.0)
    assert golden.luminosity_out == Luminosity(4.75, 5.5)  # total_*_lost, not total_* (that is in + lost)
    assert golden.anti_by_dataset == {"/PromptReco/Collisions2018A/DQM": LumiMask({315000: [(11, 29)]})}
    assert golden.losses is not None
    assert golden["total_recorded_luminosity"] == 10.0


def test_an_unfinished_server_row_has_no_losses() -> None:
    lost = {"total_recorded_luminosity_lost": -1, "total_delivered_luminosity_lost": -1}
    golden = GoldenJson.from_server_row({**ROW, **ACCOUNTING.to_row(), **lost})
    assert golden.server_row is not None
    assert not golden.server_row.finished
    assert (golden.accounting, golden.losses, golden.luminosity_out) == (None, None, None)
    assert golden.luminosity_in == Luminosity(5.25, 6.0)


def golden(with_lumi: bool) -> GoldenJson:
    return GoldenJson(
        mask=LumiMask({315000: [(1, 30)], 315001: [(1, 20)]}),
        anti_mask=LumiMask({315000: [(31, 60)], 315002: [(1, 20)]}),
        accounting=ACCOUNTING if with_lumi else None,
        luminosity_in=Luminosity(5.25, 6.0) if with_lumi else None,
    )


def test_summary_lines() -> None:
    lines = summary_lines(golden(with_lumi=True))
    assert lines[0] == "golden JSON: 2 runs, 50 lumisections (local engine)"
    assert lines[1] == "excluded (anti-JSON): 2 runs, 50 ls"
    assert lines[2] == "luminosity in the JSON: recorded 5.25 /ub, delivered 6 /ub (sums of per-lumisection values)"
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
