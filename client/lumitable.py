"""Lumisection tables: one row per lumisection of every matching dataset, built from ranges, run by run.

For each dataset matching ``filter`` (the dataset filter language) and ``dataset`` (SQL ``SIMILAR TO``, as in
``create_json``), the table has ``run``, ``dataset``, ``lumisection``, then the selected RR statuses
(``category`` with the seven status values, from ``rr_lumisection_ranges_by_component``) and OMS bits
(``boolean``, from the run's ``oms_lumisection_ranges``). Ranges become columns with numpy slices: no
per-lumisection JSON is fetched. Luminosity has no range form on the service, so ``recorded``/``delivered``
(``Float64``, /ub per lumisection, as the service gives them) are read from ``oms_lumisections`` when selected.

Runs are fetched and turned into frames a chunk at a time and handed to a sink, so ``to_parquet`` writes a
hive-partitioned Parquet dataset (``dataset=<name>/part-<first run>.parquet``) in constant memory.

>>> from client.api import RunRegistry
>>> with RunRegistry(target="embedded", embedded_options={"runs": 20}) as rr:    # synthetic demo data
...     table = rr.lumisection_table(dataset="online", columns=["dt-dt", "bpix_ready"])
>>> list(table.columns), str(table["dt-dt"].dtype), str(table["bpix_ready"].dtype)
(['run', 'dataset', 'lumisection', 'dt-dt', 'bpix_ready'], 'category', 'boolean')
"""

from __future__ import annotations

import os
import reprlib
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from client.calls import lumisection_call, range_status
from client.engine import Batch, Operation, unwrap
from client.errors import ArgumentError, ArgumentTypeError, ServiceError
from client.pagination import ListingQuery, fetch_listing
from client.progress import Progress, RequestCounter
from client.transport import Call, Reply
from client.wire import PackedReader
from querylang.catalogue import OMS_LUMISECTION_BITS, STATUS_VALUES, Catalogue, default_catalogue
from querylang.compile import compile_filter
from querylang.errors import FilterError
from querylang.similar import compile_similar

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LUMINOSITY_COLUMNS",
    "ParquetSink",
    "Sink",
    "TableColumns",
    "concat_frames",
    "lumisection_table_operation",
    "resolve_columns",
]

#: Per-lumisection luminosity columns (the service's unit, /ub).
LUMINOSITY_COLUMNS = ("recorded", "delivered")
#: Runs fetched and turned into frames at a time.
RUNS_PER_CHUNK = 64
Sink = Callable[["pd.DataFrame"], None]


@dataclass(frozen=True)
class TableColumns:
    """The columns of a table beyond ``run``, ``dataset``, ``lumisection``: RR components, OMS bits, luminosity."""

    rr: tuple[str, ...]
    oms: tuple[str, ...]
    luminosity: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.rr, *self.oms, *self.luminosity)


def resolve_columns(columns: Sequence[str] | None, components: Iterable[str], catalogue: Catalogue) -> TableColumns:
    """``columns`` sorted into RR components, OMS bits and luminosity (``None``: every component of the datasets
    and every OMS bit); an unknown name is a :class:`~querylang.FilterError` with suggestions.

    >>> resolve_columns(["recorded", "dt-dt", "bpix_ready"], [], default_catalogue())
    TableColumns(rr=('dt-dt',), oms=('bpix_ready',), luminosity=('recorded',))
    """
    if columns is None:
        return TableColumns(tuple(sorted(set(components))), OMS_LUMISECTION_BITS)
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise ArgumentTypeError(f"columns must be a list of column names, got {columns!r}")
    flags = set(catalogue.flag_names())
    known = [*LUMINOSITY_COLUMNS, *OMS_LUMISECTION_BITS, *sorted(flags)]
    for name in columns:
        if name not in flags and name not in OMS_LUMISECTION_BITS and name not in LUMINOSITY_COLUMNS:
            raise FilterError(
                "unknown lumisection column",
                path=("columns",),
                value=name,
                allowed="an RR component (dt-dt), an OMS bit (bpix_ready), recorded or delivered",
                suggestions=catalogue.suggest(name, known),
            )
    unique = list(dict.fromkeys(columns))
    return TableColumns(
        tuple(c for c in unique if c in flags),
        tuple(c for c in unique if c in OMS_LUMISECTION_BITS),
        tuple(c for c in unique if c in LUMINOSITY_COLUMNS),
    )


# ---- the operation ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dataset:
    run: int
    name: str
    components: tuple[str, ...]


def _brief(row: Any) -> _Dataset:
    """What a table needs of a dataset row (converted as soon as the row is parsed)."""
    cache = row.get("DatasetTripletCache") or {}
    summary = cache.get("triplet_summary") or {}
    if not isinstance(summary, dict):  # never read as "no components": the table would silently lack columns
        raise ValueError(f"triplet_summary is not an object: {reprlib.repr(summary)}")
    return _Dataset(row["run_number"], row["name"], tuple(summary))


def lumisection_table_operation(
    filter: object,
    dataset: str,
    columns: Sequence[str] | None,
    sink: Sink,
    *,
    page_size: int,
    progress: Progress | None = None,
    runs_per_chunk: int = RUNS_PER_CHUNK,
) -> Operation[int]:
    """List the matching datasets, then fetch their ranges ``runs_per_chunk`` runs at a time and hand each chunk's
    frame to ``sink``; returns the number of rows. Bad arguments raise before any request. ``progress(done,
    total)`` counts every request: the listing's pages, then the ranges (the total grows once the datasets are
    known)."""
    pattern = compile_similar(dataset)
    parts = [] if filter is None else [filter]
    if pattern.like.strip("%"):
        parts.append({"dataset_name": {"like": pattern.like}})
    plan = compile_filter({"and": parts} if len(parts) > 1 else (parts or [{}])[0], kind="datasets")
    catalogue = default_catalogue()
    if columns is not None:
        resolve_columns(columns, (), catalogue)  # fail before any request
    query = ListingQuery("datasets", plan.filters, (), page_size=page_size)
    listing = yield from fetch_listing(query, read=partial(PackedReader, "datasets", convert=_brief), progress=progress)
    datasets = sorted((d for d in listing.rows if pattern.matches(d.name)), key=lambda d: (d.run, d.name))
    spec = resolve_columns(columns, (c for d in datasets for c in d.components), catalogue)
    names = sorted({d.name for d in datasets})
    by_run: dict[int, list[_Dataset]] = {}
    for d in datasets:
        by_run.setdefault(d.run, []).append(d)
    runs = list(by_run)
    chunks = [_Chunk(spec, runs[i : i + runs_per_chunk], by_run) for i in range(0, len(runs), runs_per_chunk)]
    if not chunks:
        sink(_chunk_frame(spec, [], names, {}))  # an empty table, with its columns
        return 0
    ranges = sum(len(chunk.calls) for chunk in chunks)
    counter = RequestCounter(progress, total=listing.requests + ranges, done=listing.requests)
    rows = 0
    for chunk in chunks:
        outcomes = yield Batch(chunk.calls, on_each=counter.tick)
        replies = {_reply_key(c): outcome for c, outcome in zip(chunk.calls, outcomes, strict=True)}
        frame = _chunk_frame(spec, chunk.datasets, names, replies)
        rows += len(frame)
        sink(frame)
    return rows


def _reply_key(call: Call) -> tuple[str, int, str]:
    return call.path, call.json["run_number"], call.json["dataset_name"]


class _Chunk:
    """Some runs, their datasets, and the calls that fetch what their rows need."""

    def __init__(self, spec: TableColumns, runs: Sequence[int], by_run: Mapping[int, Sequence[_Dataset]]) -> None:
        self.datasets = [d for run in runs for d in by_run[run]]
        rr = [lumisection_call("rr_lumisection_ranges_by_component", d.run, d.name) for d in self.datasets]
        self.calls: list[Call] = rr if spec.rr else []
        if spec.oms or not spec.rr:  # OMS ranges also give the length of datasets without RR statuses
            self.calls += [lumisection_call("oms_lumisection_ranges", run, "online") for run in runs]
        if spec.luminosity:
            self.calls += [lumisection_call("oms_lumisections", run, "online") for run in runs]


# ---- ranges → columns ------------------------------------------------------------------------------------------
_Replies = Mapping[tuple[str, int, str], Any]


def _data(replies: _Replies, endpoint: str, run: int, name: str, expect: type) -> Any:
    path = f"/lumisections/{endpoint}"
    outcome = replies.get((path, run, name))
    if outcome is None:  # not asked for: these columns were not selected
        return expect()
    data = unwrap(outcome, Reply).data
    if data is None or data == [] or data == {}:
        return expect()
    if not isinstance(data, expect):
        raise ServiceError(f"expected a JSON {expect.__name__}, got {type(data).__name__}", status=200, route=path)
    return data


def _end(ranges: Iterable[Any]) -> int:
    return max((int(r["end"]) for r in ranges if isinstance(r, dict) and "end" in r), default=0)


def _chunk_frame(spec: TableColumns, datasets: Sequence[_Dataset], names: Sequence[str], replies: _Replies) -> Any:
    """One frame for the chunk: each column's numpy arrays of every dataset joined, then typed once."""
    import pandas as pd

    parts = [_DatasetArrays(spec, d, replies) for d in datasets]
    lengths = [p.length for p in parts]
    joined = _Joined(parts)
    columns: dict[str, Any] = {
        "run": np.repeat(np.array([d.run for d in datasets], dtype=np.int64), lengths),
        "dataset": pd.Categorical.from_codes(
            np.repeat(np.array([names.index(d.name) for d in datasets], dtype=np.int32), lengths),
            dtype=pd.CategoricalDtype(list(names)),
        ),
        "lumisection": joined.numbers(),
    }
    statuses = pd.CategoricalDtype(list(STATUS_VALUES))
    for component in spec.rr:
        columns[component] = pd.Categorical.from_codes(joined.of("codes", component), dtype=statuses)
    for bit in spec.oms:
        columns[bit] = pd.arrays.BooleanArray(joined.of("bits", bit), joined.of("missing", bit))
    for name in spec.luminosity:
        columns[name] = pd.arrays.FloatingArray(joined.of("floats", name), joined.of("missing", name))
    return pd.DataFrame(columns)


class _DatasetArrays:
    """One dataset's columns as numpy arrays, filled range by range (lumisection ``i`` at index ``i - 1``)."""

    def __init__(self, spec: TableColumns, dataset: _Dataset, replies: _Replies) -> None:
        by_component = _data(replies, "rr_lumisection_ranges_by_component", dataset.run, dataset.name, dict)
        oms = _data(replies, "oms_lumisection_ranges", dataset.run, "online", list)
        per_ls = _data(replies, "oms_lumisections", dataset.run, "online", list) if spec.luminosity else []
        ends = [_end(oms), len(per_ls), *(_end(r) for r in by_component.values() if isinstance(r, list))]
        self.length = n = max(ends, default=0)
        self.codes = {c: _statuses(by_component.get(c) or [], n, c) for c in spec.rr}
        self.bits: dict[str, Any] = {}
        self.missing: dict[str, Any] = {}
        for bit in spec.oms:
            self.bits[bit], self.missing[bit] = _bits(oms, n, bit)
        self.floats: dict[str, Any] = {}
        for name in spec.luminosity:
            values = [row.get(name) if isinstance(row, dict) else None for row in per_ls]
            self.missing[name] = np.array([v is None for v in values], dtype=bool)
            self.floats[name] = np.array([0.0 if v is None else v for v in values], dtype=np.float64)


class _Joined:
    """The chunk's datasets' arrays, end to end."""

    def __init__(self, parts: Sequence[_DatasetArrays]) -> None:
        self.parts = parts

    def of(self, kind: str, column: str) -> Any:
        arrays = [getattr(p, kind)[column] for p in self.parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=_EMPTY_DTYPES[kind])

    def numbers(self) -> Any:
        arrays = [np.arange(1, p.length + 1, dtype=np.int32) for p in self.parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32)


_EMPTY_DTYPES = {"codes": np.int8, "bits": bool, "missing": bool, "floats": np.float64}


def _statuses(ranges: Sequence[Any], n: int, component: str) -> Any:
    codes = np.full(n, -1, dtype=np.int8)
    for rng in ranges:
        status = range_status(rng)
        if status not in STATUS_VALUES:
            route = "POST /lumisections/rr_lumisection_ranges_by_component"
            raise ServiceError(f"{component}: unknown status {status!r}", status=200, route=route)
        codes[int(rng["start"]) - 1 : int(rng["end"])] = STATUS_VALUES.index(status)
    return codes


def _bits(ranges: Sequence[Any], n: int, bit: str) -> tuple[Any, Any]:
    values = np.zeros(n, dtype=bool)
    missing = np.ones(n, dtype=bool)
    for rng in ranges:
        value = rng.get(bit)
        if value is not None:
            start, end = int(rng["start"]) - 1, int(rng["end"])
            values[start:end] = bool(value)
            missing[start:end] = False
    return values, missing


def concat_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' frames as one (the columns of an empty table when there are none)."""
    import pandas as pd

    if not frames:
        raise ArgumentError("no frames")  # the operation hands over at least one frame
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


# ---- Parquet ---------------------------------------------------------------------------------------------------
class ParquetSink:
    """Writes each chunk into a hive-partitioned Parquet dataset under ``path``: one file per dataset name and
    chunk, ``dataset=<name, URI-escaped>/part-<first run>.parquet`` (read back by pandas, Polars, DuckDB, Dask,
    Spark). Needs ``pyarrow`` (``pip install runql[parquet]``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("to_parquet needs pyarrow: pip install 'runql[parquet]'") from None
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.files = 0

    def __call__(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        for name, part in frame.groupby("dataset", observed=True, sort=True):
            folder = self.path / f"dataset={urllib.parse.quote(str(name), safe='')}"
            folder.mkdir(exist_ok=True)
            table = pa.Table.from_pandas(part.drop(columns="dataset"), preserve_index=False)
            pq.write_table(table, folder / f"part-{int(part['run'].iloc[0]):09d}.parquet")
            self.files += 1
