"""Frames straight from the wire equal frames built from models; typed Records create each model on first access."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
import pytest
from client_fakes import make_dataset, make_run

from client import Records, RunRegistry
from client import frames as frames_module
from client.frames import blobs_frame, datasets_frame, runs_frame, wire_frame
from client.results import WireRows
from schemas import Dataset, Run


def _varied_runs() -> list[dict[str, Any]]:
    runs = [make_run(n, start_time="2018-05-01T10:00:00Z", fill_number=6500 + n) for n in range(1, 9)]
    runs[1]["oms_attributes"]["start_time"] = None  # null
    runs[2]["oms_attributes"]["start_time"] = "2018-05-01T12:00:00+02:00"  # an offset
    runs[3]["oms_attributes"]["start_time"] = "2018-05-01T10:00:00"  # no zone: UTC
    del runs[4]["oms_attributes"]["energy"]  # a missing key
    runs[5]["oms_attributes"]["energy"] = 6500.5
    runs[6].pop("rr_attributes")  # a missing section
    runs[6]["oms_attributes"]["new_key"] = "x"  # unknown attributes: kept
    runs[7]["oms_attributes"]["new_key"] = 3
    runs[7]["rr_attributes"]["energy"] = "clash"  # an unknown RR attribute named like an OMS one
    runs[7]["DatasetTripletCache"]["triplet_summary"]["csc-csc"] = {"STANDBY": 4, "EMPTY": 0, "comments": ["c"]}
    runs[0]["oms_attributes"]["hlt_key"] = "/cdaq/physics"  # present in the first row only
    runs[7]["oms_attributes"]["components"] = ["DT", "CSC"]
    runs[5]["version"] = None
    del runs[3]["deleted"]
    return runs


def _models_and_wire(kind: str, wire: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    if kind == "runs":
        return runs_frame([Run.model_validate(w) for w in wire]), wire_frame("runs", wire)
    return datasets_frame([Dataset.model_validate(w) for w in wire]), wire_frame("datasets", wire)


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_wire_frame_equals_model_frame_on_varied_runs(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames_module, "_CHUNK", chunk)  # columns that appear in a later chunk only, too
    by_models, by_wire = _models_and_wire("runs", _varied_runs())
    pd.testing.assert_frame_equal(by_wire, by_models)
    assert str(by_wire["start_time"].dtype) == "datetime64[ns, UTC]"
    assert by_wire["start_time"].isna().tolist() == [False, True, False, False, False, False, False, False]
    assert by_wire.loc[2, "start_time"] == pd.Timestamp("2018-05-01T10:00:00", tz="UTC")
    assert by_wire["csc-csc.STANDBY"].tolist() == [0] * 7 + [4]
    assert by_wire["new_key"].tolist() == [None] * 6 + ["x", 3]
    assert "RrAttributes.energy" in by_wire.columns


@pytest.mark.parametrize("chunk", [2, 4096])
def test_wire_frame_equals_model_frame_on_datasets(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames_module, "_CHUNK", chunk)
    wire = [make_dataset(n, f"/PromptReco/Collisions2018{'AB'[n % 2]}/DQM") for n in range(1, 6)]
    wire[1]["dataset_attributes"]["dt_state"] = "SIGNOFF"
    wire[2]["Run"]["oms_attributes"]["start_time"] = "2018-06-01T00:00:00Z"
    wire[3]["dataset_attributes"] = {}
    by_models, by_wire = _models_and_wire("datasets", wire)
    pd.testing.assert_frame_equal(by_wire, by_models)
    assert str(by_wire["dt_state"].dtype) == "category"


def test_wire_values_are_coerced_and_checked_like_the_models() -> None:
    wire = [make_run(1, fill_number=6500.0, stable_beam=1), make_run(2, fill_number="6501", stable_beam="false")]
    by_models, by_wire = _models_and_wire("runs", wire)
    pd.testing.assert_frame_equal(by_wire, by_models)
    with pytest.raises(ValueError, match="column 'start_time'"):
        wire_frame("runs", [make_run(1, start_time="yesterday")])


def test_the_service_frame_equals_the_models_frame(rr: RunRegistry) -> None:
    runs = rr.get_runs(filter={"run_number": {">": 0}})
    direct = rr.get_runs(filter={"run_number": {">": 0}}, output="dataframe")
    pd.testing.assert_frame_equal(direct, runs.to_pandas())
    pd.testing.assert_frame_equal(direct, runs_frame(list(runs)))
    datasets = rr.get_datasets(filter={"run_number": {">": 0}})
    pd.testing.assert_frame_equal(datasets.to_pandas(), datasets_frame(list(datasets)))


def test_typed_records_create_each_model_on_first_access() -> None:
    made: list[bytes] = []

    def make(blob: bytes) -> Run:
        made.append(blob)
        return Run.model_validate_json(blob)

    blobs = [orjson.dumps(make_run(n)) for n in (1, 2, 3)]
    records: Records[Run] = Records(kind="runs", total=3, wire=WireRows(blobs, make))
    assert len(records) == 3
    assert not made
    assert records[1].run_number == 2
    assert len(made) == 1
    assert records[1] is records[1]
    assert len(made) == 1
    assert records.to_pandas()["run_number"].tolist() == [1, 2, 3]
    assert len(made) == 1
    assert [r.run_number for r in records] == [1, 2, 3]
    assert len(made) == 3
    assert records[-1].run_number == 3
    assert [r.run_number for r in records[:2]] == [1, 2]
    with pytest.raises(IndexError):
        records[3]


def test_records_keep_list_behaviour() -> None:
    blobs = [orjson.dumps(make_run(n)) for n in (1, 2)]
    typed: Records[Run] = Records(kind="runs", total=2, synthetic=True, wire=WireRows(blobs, Run.model_validate_json))
    models = [Run.model_validate(make_run(n)) for n in (1, 2)]
    assert typed == models
    assert models == list(typed)
    assert typed == Records(models, kind="runs")
    assert typed != models[:1]
    assert typed.total == 2
    assert typed.synthetic
    assert not typed.count_changed
    assert "synthetic=True" in repr(typed)
    assert "run_number=1" in repr(typed)
    assert typed.index(models[1]) == 1
    assert models[0] in typed
    with pytest.raises(ValueError, match="not both"):
        Records(models, kind="runs", wire=WireRows(blobs, Run.model_validate_json))
    assert blobs_frame("runs", blobs).equals(typed.to_pandas())
