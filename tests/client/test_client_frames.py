"""DataFrames: one typed column per attribute present, one Int64 column per status count."""

from __future__ import annotations

import pandas as pd
import pytest
from client_fakes import make_dataset, make_run

from client import Records, RunRegistry
from client.frames import datasets_frame, runs_frame
from schemas import Dataset, Run


def _runs() -> list[Run]:
    wire = [make_run(n, start_time="2018-05-01T10:00:00Z", fill_number=6500 + n, new_key="x") for n in (1, 2, 3)]
    wire[1]["oms_attributes"]["start_time"] = None
    wire[2]["DatasetTripletCache"]["triplet_summary"]["csc-csc"] = {"STANDBY": 4}
    return [Run.model_validate(w) for w in wire]


def test_run_columns_have_proper_dtypes() -> None:
    frame = runs_frame(_runs())
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes["run_number"] == "Int64"
    assert dtypes["class"] == "category"
    assert dtypes["state"] == "category"
    assert dtypes["significant"] == "boolean"
    assert dtypes["energy"] == "Float64"
    assert dtypes["fill_number"] == "Int64"
    assert dtypes["start_time"] == "datetime64[ns, UTC]"
    assert dtypes["deleted"] == "boolean"
    assert frame["start_time"].isna().tolist() == [False, True, False]
    assert frame.loc[0, "start_time"] == pd.Timestamp("2018-05-01T10:00:00", tz="UTC")


def test_one_column_per_status_count_absent_counts_are_zero() -> None:
    frame = runs_frame(_runs())
    assert [c for c in frame.columns if "." in c] == ["csc-csc.STANDBY", "dt-dt.GOOD", "dt-dt.BAD"]
    assert frame["dt-dt.GOOD"].tolist() == [1, 2, 3]
    assert frame["csc-csc.STANDBY"].tolist() == [0, 0, 4]
    assert str(frame["csc-csc.STANDBY"].dtype) == "Int64"


def test_unknown_attributes_are_kept_and_absent_attributes_are_not_invented() -> None:
    frame = runs_frame(_runs())
    assert frame["new_key"].tolist() == ["x", "x", "x"]
    assert "hlt_key" not in frame.columns  # no run has it


def test_dataset_frame() -> None:
    datasets = [Dataset.model_validate(make_dataset(n, "/PromptReco/Collisions2018A/DQM")) for n in (1, 2)]
    frame = datasets_frame(datasets)
    assert frame["name"].tolist() == ["/PromptReco/Collisions2018A/DQM"] * 2
    assert str(frame["name"].dtype) == "string"
    assert str(frame["global_state"].dtype) == "category"
    assert str(frame["class"].dtype) == "category"
    assert frame["energy"].tolist() == [6500.0, 0.0]
    assert frame["dt-dt.GOOD"].tolist() == [1, 2]


def test_dict_results_are_normalised_and_empty_results_are_empty() -> None:
    frame = Records([make_run(1)], kind="runs").to_pandas()
    assert frame.loc[0, "oms_attributes.energy"] == 6500
    assert Records([], kind="runs").to_pandas().empty
    with pytest.raises(TypeError, match="no DataFrame layout"):
        Records([object()], kind="runs").to_pandas()


def test_output_dataframe_from_the_service(rr: RunRegistry) -> None:
    frame = rr.get_runs(filter={"class": "Collisions18"}, output="dataframe")
    runs = rr.get_runs(filter={"class": "Collisions18"})
    assert frame["run_number"].tolist() == [r.run_number for r in runs]
    assert set(frame["class"].unique()) == {"Collisions18"}
    assert str(frame["start_time"].dtype) == "datetime64[ns, UTC]"
    assert all(str(frame[c].dtype) == "Int64" for c in frame.columns if c.endswith((".GOOD", ".BAD")))
    with pytest.raises(ValueError, match="compress_attributes"):
        rr.get_runs(output="dataframe", compress_attributes=True)
