"""DataFrames of runs and datasets with proper dtypes, built column by column.

Each column is extracted once (``map(attrgetter(...))`` over the records) and converted once: datetimes to
``datetime64[ns, UTC]``, booleans to ``boolean``, integers to ``Int64``, floats to ``Float64``, free text to
``string``, run class, run state and dataset states to ``category``. Status counts get one ``Int64`` column per
component and status seen in the data (``dt-dt.GOOD``; absent counts are 0). Only attributes present in at
least one record become columns; unknown attributes are kept (``object`` dtype, or inferred).

>>> from schemas import Run
>>> runs = [Run.model_validate({"run_number": 1, "rr_attributes": {"class": "Cosmics18"},
...                             "oms_attributes": {"energy": 0, "start_time": "2018-05-01T10:00:00Z"},
...                             "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 3}}}})]
>>> frame = runs_frame(runs)
>>> list(frame.columns)
['run_number', 'class', 'energy', 'start_time', 'dt-dt.GOOD']
>>> [str(t) for t in frame.dtypes]
['Int64', 'category', 'Float64', 'datetime64[ns, UTC]', 'Int64']
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

import pandas as pd
from pydantic import BaseModel

from schemas import Dataset, DatasetAttributes, OmsAttributes, RrAttributes, Run
from schemas.runs import STATUS_FIELDS, RawCounts

__all__ = ["datasets_frame", "records_frame", "runs_frame"]

_CATEGORIES = frozenset({"class", "state"})


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: ``run_number``, RR attributes, OMS attributes, ``version``, ``deleted``, status counts."""
    columns: dict[str, Any] = {"run_number": _typed(list(map(attrgetter("run_number"), runs)), int)}
    _add_models(columns, list(map(attrgetter("rr_attributes"), runs)), RrAttributes)
    _add_models(columns, list(map(attrgetter("oms_attributes"), runs)), OmsAttributes, skip={"run_number"})
    _add_plain(columns, runs, Run, ("version", "deleted"))
    _add_status_counts(columns, list(map(attrgetter("triplet_cache.triplet_summary"), runs)))
    return _frame(columns, len(runs))


def datasets_frame(datasets: Sequence[Dataset]) -> pd.DataFrame:
    """One row per dataset: ``run_number``, ``name``, dataset attributes, the run's attributes, status counts."""
    columns: dict[str, Any] = {
        "run_number": _typed(list(map(attrgetter("run_number"), datasets)), int),
        "name": _typed(list(map(attrgetter("name"), datasets)), str),
    }
    _add_models(columns, list(map(attrgetter("dataset_attributes"), datasets)), DatasetAttributes)
    _add_models(columns, list(map(attrgetter("run.rr_attributes"), datasets)), RrAttributes)
    _add_models(columns, list(map(attrgetter("run.oms_attributes"), datasets)), OmsAttributes, skip={"run_number"})
    _add_plain(columns, datasets, Dataset, ("version", "deleted"))
    _add_status_counts(columns, list(map(attrgetter("triplet_cache.triplet_summary"), datasets)))
    return _frame(columns, len(datasets))


def _frame(columns: dict[str, Any], length: int) -> pd.DataFrame:
    frame: pd.DataFrame = pd.DataFrame(columns, index=pd.RangeIndex(length))
    return frame


def records_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """The frame of a result: typed for runs and datasets, ``pd.json_normalize`` for dicts (nested keys dotted)."""
    if not rows or isinstance(rows[0], Mapping):
        return pd.json_normalize(list(rows))
    if isinstance(rows[0], Run):
        return runs_frame(rows)
    if isinstance(rows[0], Dataset):
        return datasets_frame(rows)
    raise TypeError(f"no DataFrame layout for {type(rows[0]).__name__} records")


def _add_models(
    columns: dict[str, Any],
    models: Sequence[BaseModel],
    cls: type[BaseModel],
    *,
    skip: frozenset[str] | set[str] = frozenset(),
) -> None:
    present = set().union(*(m.model_fields_set for m in models)) if models else set()
    for name, info in cls.model_fields.items():
        if name in present and name not in skip:
            column = info.alias or name
            values = list(map(attrgetter(name), models))
            columns[column] = _typed(values, _base_type(info.annotation), category=_is_category(column))
    extras = sorted(set().union(*((m.model_extra or {}).keys() for m in models))) if models else []
    for key in extras:
        column = key if key not in columns else f"{cls.__name__}.{key}"
        values = [(m.model_extra or {}).get(key) for m in models]
        columns[column] = pd.Series(values, dtype=object).infer_objects().array


def _add_plain(
    columns: dict[str, Any], records: Sequence[BaseModel], cls: type[BaseModel], names: Sequence[str]
) -> None:
    present = set().union(*(r.model_fields_set for r in records)) if records else set()
    for name in names:
        if name in present:
            columns[name] = _typed(list(map(attrgetter(name), records)), _base_type(cls.model_fields[name].annotation))


def _add_status_counts(columns: dict[str, Any], summaries: Sequence[Mapping[str, RawCounts]]) -> None:
    flags = sorted(set().union(*(s.keys() for s in summaries))) if summaries else []
    empty: RawCounts = {}
    for flag in flags:
        counts = [s.get(flag, empty) for s in summaries]
        seen = set().union(*(c.keys() for c in counts))
        for status in STATUS_FIELDS:
            if status in seen:
                columns[f"{flag}.{status}"] = pd.array([c.get(status, 0) for c in counts], dtype="Int64")


def _is_category(column: str) -> bool:
    return column in _CATEGORIES or column.endswith("_state")


def _base_type(annotation: Any) -> Any:
    """``int | None`` → ``int``; ``list[str] | None`` → ``list``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0] if len(args) == 1 else object
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return typing.get_origin(annotation) or annotation


def _typed(values: list[Any], kind: Any, *, category: bool = False) -> Any:
    if category:
        return pd.Categorical(values)
    if kind is bool:
        return pd.array(values, dtype="boolean")
    if kind is int:
        return pd.array(values, dtype="Int64")
    if kind is float:
        return pd.array(values, dtype="Float64")
    if kind is datetime:
        return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")
    if kind is str:
        return pd.array(values, dtype="string")
    return pd.array(values, dtype=object)
