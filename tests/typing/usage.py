"""The public API's static types: mypy checks every ``assert_type`` here (``make test``), and
``test_usage.py`` runs these functions against the embedded service, where each ``_is`` check makes sure the
value really has the declared type. A declaration that drifts from what a call returns fails one or the other.

Every function takes a :class:`Sample`: a run and one of its datasets that exist on the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from typing_extensions import assert_type

import client as runregistry
from client import AsyncDials, AsyncRunRegistry, Dials, Records, RunRegistry, UnknownOptionError, WriteReport
from client.dials import DialsRecords
from schemas import (
    ComponentRange,
    ComponentStatus,
    Dataset,
    GoldenJson,
    JointLumisectionRange,
    OmsLumisection,
    OmsLumisectionRange,
    Record,
    RRLumisectionRange,
    Run,
)
from schemas.dials import DialsRow, Histogram1D, MLModel
from schemas.golden import LumiMask

Row = dict[str, Any]
RULE = {"and": [{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, {">=": [{"var": "run.oms.b_field"}, 3.7]}]}


@dataclass(frozen=True)
class Sample:
    run_number: int
    dataset_name: str


def _is(value: object, kind: type | tuple[type, ...]) -> None:
    assert isinstance(value, kind), f"{type(value).__name__} is not {kind}"


def _all(values: object, kind: type | tuple[type, ...]) -> None:
    assert isinstance(values, (list, Records)), f"expected a list, got {values!r}"
    assert values, "expected at least one value"
    for value in values:
        _is(value, kind)


def _fetched(records: Records[Record]) -> int:
    """Takes any typed listing: ``Records`` is covariant (read-only)."""
    return len(records)


def listings(rr: RunRegistry, sample: Sample) -> None:
    one = {"run_number": sample.run_number}
    runs = rr.get_runs(filter=one)
    assert_type(runs, Records[Run])
    _all(runs, Run)
    assert _fetched(runs) == 1
    datasets = rr.get_datasets(filter=one, sortings=[["name", "ASC"]], progress=False)
    assert_type(datasets, Records[Dataset])
    _all(datasets, Dataset)
    compressed = rr.get_runs(filter=one, compress_attributes=True)
    assert_type(compressed, Records[Row])
    _all(compressed, dict)
    raw = rr.get_datasets(None, False, filter=one)
    assert_type(raw, Records[Row])
    _all(raw, dict)
    dicts = rr.get_runs(filter=one, output="dicts")
    assert_type(dicts, Records[Row])
    _all(dicts, dict)
    frame = rr.get_runs(filter=one, output="dataframe")
    assert_type(frame, pd.DataFrame)
    assert frame["run_number"].tolist() == [sample.run_number]
    assert_type(runs.to_pandas(), pd.DataFrame)


def single_records(rr: RunRegistry, sample: Sample) -> None:
    run = rr.get_run(sample.run_number)
    assert_type(run, Run | None)
    _is(run, Run)
    assert_type(rr.get_run(1), Run | None)
    assert rr.get_run(1) is None
    run_dict = rr.get_run(sample.run_number, True)
    assert_type(run_dict, Row)
    _is(run_dict, dict)
    dataset = rr.get_dataset(sample.run_number, sample.dataset_name)
    assert_type(dataset, Dataset | None)
    _is(dataset, Dataset)
    dataset_dict = rr.get_dataset(sample.run_number, compress_attributes=False)
    assert_type(dataset_dict, Row)
    _is(dataset_dict, dict)
    names = rr.get_dataset_names_of_run(sample.run_number)
    assert_type(names, list[str])
    assert sample.dataset_name in names
    assert_type(rr.get_cycles(), list[Row])
    assert_type(rr.get_datasets_accepted(), list[Row])


def lumisections(rr: RunRegistry, sample: Sample) -> None:
    run, name = sample.run_number, sample.dataset_name
    statuses = rr.get_lumisections(run, name)
    assert_type(statuses, list[dict[str, ComponentStatus]])
    _all(statuses, dict)
    _all(list(statuses[0].values()), ComponentStatus)
    assert_type(rr.get_lumisections(run, name, output="dicts"), list[Row])
    _all(rr.get_lumisections(run, name, output="dicts"), dict)
    oms = rr.get_oms_lumisections(run)
    assert_type(oms, list[OmsLumisection])
    _all(oms, OmsLumisection)
    ranges = rr.get_lumisection_ranges(run, name)
    assert_type(ranges, list[RRLumisectionRange])
    _all(ranges, RRLumisectionRange)
    by_component = rr.get_lumisection_ranges_by_component(run, name)
    assert_type(by_component, dict[str, list[ComponentRange]])
    _all(next(iter(by_component.values())), ComponentRange)
    assert_type(rr.get_lumisection_ranges_by_component(run, name, output="dicts"), dict[str, list[Row]])
    oms_ranges = rr.get_oms_lumisection_ranges(run)
    assert_type(oms_ranges, list[OmsLumisectionRange])
    _all(oms_ranges, OmsLumisectionRange)
    joint = rr.get_joint_lumisection_ranges(run, name)
    assert_type(joint, list[JointLumisectionRange])
    _all(joint, JointLumisectionRange)
    assert_type(rr.get_joint_lumisection_ranges(run, name, output="dicts"), list[Row])
    assert_type(rr.get_lumisection_json("oms_lumisection_ranges", run), Any)
    table = rr.lumisection_table({"run_number": run}, name, ["dt-dt"])
    assert_type(table, pd.DataFrame)
    assert set(table["run"]) == {run}


def misuse(rr: RunRegistry, sample: Sample) -> None:
    """Calls the types refuse (each ``type: ignore`` is needed: mypy's ``warn_unused_ignores`` fails the suite
    otherwise) and that fail at run time, before any request."""
    with pytest.raises(UnknownOptionError, match="did you mean 'filter'"):
        rr.get_runs(filtr={})  # type: ignore[call-overload]
    with pytest.raises(UnknownOptionError, match="did you mean 'retries'"):
        RunRegistry("local", env_file=False, retrys=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="leave compress_attributes unset"):
        rr.get_runs(output="dataframe", compress_attributes=True)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="'models' or 'dicts'"):
        rr.get_lumisections(sample.run_number, output="dataframe")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="dry_rn"):
        rr.change_run_class([sample.run_number], "Cosmics18", dry_rn=True)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="engine must be"):
        rr.create_json(RULE, sample.dataset_name, engine="remote")  # type: ignore[arg-type]


def golden_and_writes(rr: RunRegistry, sample: Sample) -> None:
    golden = rr.create_json(RULE, sample.dataset_name, engine="local")
    assert_type(golden, GoldenJson)
    _is(golden, GoldenJson)
    report = rr.change_run_class([sample.run_number], "Cosmics18", dry_run=True, progress=False)
    assert_type(report, WriteReport)
    assert report.planned == [sample.run_number]
    moved = rr.move_runs("OPEN", "SIGNOFF", run=sample.run_number, dry_run=True, raise_on_error=False)
    assert_type(moved, WriteReport)
    assert [o.run_number for o in moved] == [sample.run_number]


async def async_client(arr: AsyncRunRegistry, sample: Sample) -> None:
    one = {"run_number": sample.run_number}
    runs = await arr.get_runs(filter=one)
    assert_type(runs, Records[Run])
    _all(runs, Run)
    frame = await arr.get_datasets(filter=one, output="dataframe")
    assert_type(frame, pd.DataFrame)
    dicts = await arr.get_datasets(filter=one, compress_attributes=True)
    assert_type(dicts, Records[Row])
    _all(dicts, dict)
    run = await arr.get_run(sample.run_number)
    assert_type(run, Run | None)
    _is(run, Run)
    dataset = await arr.get_dataset(sample.run_number, sample.dataset_name, True)
    assert_type(dataset, Row)
    ranges = await arr.get_lumisection_ranges(sample.run_number, sample.dataset_name)
    assert_type(ranges, list[RRLumisectionRange])
    _all(ranges, RRLumisectionRange)
    oms = await arr.get_oms_lumisection_ranges(sample.run_number, output="dicts")
    assert_type(oms, list[Row])
    _all(oms, dict)
    report = await arr.make_significant_runs(runs=[sample.run_number], dry_run=True)
    assert_type(report, WriteReport)
    _is(report, WriteReport)


def dials(client: Dials) -> None:
    histograms = client.h1d({"ls_number": 10, "me": {"like": "%PXLayer_1"}}, max_pages=1)
    assert_type(histograms, DialsRecords[Histogram1D])
    _all(histograms, Histogram1D)
    models = client.ml_models()
    assert_type(models, DialsRecords[MLModel])
    _all(models, MLModel)
    rows = client.list("th1", {"ls_number": 10}, max_pages=1)
    assert_type(rows, DialsRecords[DialsRow])
    _all(rows, Histogram1D)
    one = client.get("th1", *histograms[0].key)
    assert_type(one, DialsRow)
    _is(one, Histogram1D)
    assert_type(client.golden_json([models[0].id], [histograms[0].dataset_id], [1]), LumiMask)


async def async_dials(client: AsyncDials) -> None:
    histograms = await client.h1d({"ls_number": 10}, max_pages=1)
    assert_type(histograms, DialsRecords[Histogram1D])
    _all(histograms, Histogram1D)
    rows = await client.list("mes", max_pages=1)
    assert_type(rows, DialsRecords[DialsRow])
    _all(rows, DialsRow)


def compat(sample: Sample) -> None:
    """The module-level functions, after ``runregistry.setup(...)`` pointed them at the service."""
    one = {"run_number": sample.run_number}
    runs = runregistry.get_runs(filter=one)
    assert_type(runs, list[Row])
    _all(runs, dict)
    datasets = runregistry.get_datasets(filter=one, compress_attributes=False)
    assert_type(datasets, list[Row])
    _all(datasets, dict)
    run = runregistry.get_run(sample.run_number)
    assert_type(run, Row)
    assert run["run_number"] == sample.run_number
    assert_type(runregistry.get_dataset(sample.run_number, sample.dataset_name), Row)
    assert_type(runregistry.get_dataset_names_of_run(sample.run_number), list[str])
    statuses = runregistry.get_lumisections(sample.run_number, sample.dataset_name)
    assert_type(statuses, list[Row] | Row | None)
    _all(statuses, dict)
    by_component = runregistry.get_lumisection_ranges_by_component(sample.run_number, sample.dataset_name)
    assert_type(by_component, list[Row] | Row | None)
    _is(by_component, dict)
