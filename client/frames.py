"""DataFrames of runs and datasets with proper dtypes, built column by column.

Two builders share one layout and one set of conversions: :func:`wire_frame` reads the service's rows (dicts
parsed from the JSON bytes, chunk by chunk, no model is created), :func:`runs_frame`/:func:`datasets_frame` read
models. Both give the same frame: datetimes ``datetime64[ns, UTC]``, booleans ``boolean``, integers ``Int64``,
floats ``Float64``, free text ``string``, run class, run state and dataset states ``category``. Status counts get
one ``Int64`` column per component and status seen in the data (``dt-dt.GOOD``; absent counts are 0). Only
attributes present in at least one record become columns; unknown attributes are kept (``object`` dtype, or
inferred). Wire values are checked and coerced exactly as the models would (pydantic, one column at a time).

>>> from schemas import Run
>>> wire = {"run_number": 1, "rr_attributes": {"class": "Cosmics18"},
...         "oms_attributes": {"energy": 0, "start_time": "2018-05-01T10:00:00Z"},
...         "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 3}}}}
>>> frame = runs_frame([Run.model_validate(wire)])
>>> list(frame.columns)
['run_number', 'class', 'energy', 'start_time', 'dt-dt.GOOD']
>>> [str(t) for t in frame.dtypes]
['Int64', 'category', 'Float64', 'datetime64[ns, UTC]', 'Int64']
>>> wire_frame("runs", [wire]).equals(frame)
True
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import from_json

from client.errors import ArgumentError, ArgumentTypeError
from client.wire import PackedRow, row_texts
from schemas import Dataset, DatasetAttributes, OmsAttributes, RrAttributes, Run
from schemas.runs import STATUS_FIELDS, RawCounts

__all__ = ["blobs_frame", "datasets_frame", "records_frame", "release_free_memory", "runs_frame", "wire_frame"]

_CATEGORIES = frozenset({"class", "state"})
#: Rows turned into typed columns at a time (bounds the Python values alive at once).
_CHUNK = 512
#: Frames of at least this many rows first hand the memory freed by the fetch back (see release_free_memory).
_TRIM_ROWS = 10_000


# ---- the layout ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Section:
    """A nested object of a record whose fields become columns: where it is on the wire and on the model."""

    wire: tuple[str, ...]
    attribute: str
    model: type[BaseModel]
    skip: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Layout:
    """The columns of a kind of record, in order: keys, sections, plain fields, status counts."""

    model: type[BaseModel]
    keys: tuple[str, ...]
    sections: tuple[_Section, ...]
    plain: tuple[str, ...] = ("version", "deleted")
    counts: tuple[str, ...] = ("DatasetTripletCache", "triplet_summary")


_LAYOUTS: Mapping[str, _Layout] = {
    "runs": _Layout(
        Run,
        ("run_number",),
        (
            _Section(("rr_attributes",), "rr_attributes", RrAttributes),
            _Section(("oms_attributes",), "oms_attributes", OmsAttributes, frozenset({"run_number"})),
        ),
    ),
    "datasets": _Layout(
        Dataset,
        ("run_number", "name"),
        (
            _Section(("dataset_attributes",), "dataset_attributes", DatasetAttributes),
            _Section(("Run", "rr_attributes"), "run.rr_attributes", RrAttributes),
            _Section(("Run", "oms_attributes"), "run.oms_attributes", OmsAttributes, frozenset({"run_number"})),
        ),
    ),
}


# ---- from models -----------------------------------------------------------------------------------------------
def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: ``run_number``, RR attributes, OMS attributes, ``version``, ``deleted``, status counts."""
    return _models_frame(_LAYOUTS["runs"], runs)


def datasets_frame(datasets: Sequence[Dataset]) -> pd.DataFrame:
    """One row per dataset: ``run_number``, ``name``, dataset attributes, the run's attributes, status counts."""
    return _models_frame(_LAYOUTS["datasets"], datasets)


def _models_frame(layout: _Layout, records: Sequence[BaseModel]) -> pd.DataFrame:
    columns = _Columns(layout, len(records))
    for key in layout.keys:
        columns.add_field(key, list(map(attrgetter(key), records)), _annotation(layout.model, key))
    for section in layout.sections:
        models: list[BaseModel] = list(map(attrgetter(section.attribute), records))
        present = set().union(*(m.model_fields_set for m in models))
        for name, info in section.model.model_fields.items():
            if name in present and name not in section.skip:
                columns.add_field(info.alias or name, list(map(attrgetter(name), models)), info.annotation)
        extras = sorted(set().union(*((m.model_extra or {}).keys() for m in models)))
        for key in extras:
            columns.add_extra(section, key, [(m.model_extra or {}).get(key) for m in models])
    present = set().union(*(r.model_fields_set for r in records))
    for name in layout.plain:
        if name in present:
            columns.add_field(name, list(map(attrgetter(name), records)), _annotation(layout.model, name))
    columns.add_counts(list(map(attrgetter("triplet_cache.triplet_summary"), records)))
    return columns.frame()


# ---- from the wire ---------------------------------------------------------------------------------------------
def wire_frame(kind: str, rows: Iterable[Mapping[str, Any]], length: int | None = None) -> pd.DataFrame:
    """The frame of wire rows (dicts as the service sends them), read once: every ``_CHUNK`` rows become typed
    columns written at once into columns of the frame's full ``length`` (``None``: the rows are counted first), so
    only one chunk of Python values lives at a time and no column is ever held twice (no concatenation at the end).
    ``ValueError`` names the column of a bad value."""
    if length is None:
        rows = list(rows)
        length = len(rows)
    layout = _LAYOUTS[kind]
    iterator = iter(rows)
    frame = _Columns(layout, length)
    offset = 0
    while chunk := list(itertools.islice(iterator, _CHUNK)):
        frame.place(_wire_columns(layout, chunk), offset)
        offset += len(chunk)
    if offset != length:
        raise ArgumentError(f"wire_frame was told of {length} rows and given {offset}")
    return frame.frame() if length else pd.DataFrame()


def release_free_memory(rows: int) -> None:
    """Before a frame of ``rows`` rows is built, give back to the system the memory a large fetch freed: glibc
    keeps it in the malloc arena of each thread that read or parsed a page, where the frame, built on this thread,
    cannot reuse it (measured with 50,000 runs in pages of 5,000: peak resident growth 3.9x the frame without,
    2.9x with). A no-op for small frames and without glibc."""
    if rows >= _TRIM_ROWS:
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    function: Callable[[int], int] | None = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return function


def blobs_frame(kind: str, blobs: Iterable[PackedRow | bytes], length: int | None = None) -> pd.DataFrame:
    """:func:`wire_frame` of rows kept as JSON (packed, see :mod:`client.wire`, or ``bytes``), one row parsed at a
    time by pydantic-core (orjson's objects take about three times the memory while they live); ``length``: how
    many (``None``: ``len(blobs)``)."""
    if length is None:
        blobs = list(blobs) if not isinstance(blobs, Sequence) else blobs
        length = len(blobs)
    return wire_frame(kind, map(_parsed, row_texts(blobs)), length)


def _parsed(text: bytes) -> Any:
    """A row's JSON parsed by pydantic-core, or by orjson when pydantic-core refuses it (nested deeper than its
    limit of about 200 levels: the text was written by orjson, which reads back whatever it wrote)."""
    try:
        return from_json(text)
    except ValueError:
        return orjson.loads(text)


def _wire_columns(layout: _Layout, rows: Sequence[Mapping[str, Any]]) -> _Columns:
    columns = _Columns(layout, len(rows))
    for key in layout.keys:
        columns.add_field(key, [row.get(key) for row in rows], _annotation(layout.model, key), validate=True)
    for section in layout.sections:
        objects = [_nested(row, section.wire) for row in rows]
        present = set().union(*objects)
        for name, info in section.model.model_fields.items():
            alias = info.alias or name
            if alias in present and name not in section.skip:
                columns.add_field(alias, [o.get(alias) for o in objects], info.annotation, validate=True)
        known = {info.alias or name for name, info in section.model.model_fields.items()}
        for key in sorted(present - known):
            columns.add_extra(section, key, [o.get(key) for o in objects])
    present = set().union(*rows) if rows else set()
    for name in layout.plain:
        if name in present:
            values = [row.get(name) for row in rows]
            columns.add_field(name, values, _annotation(layout.model, name), validate=True)
    columns.add_counts([_nested(row, layout.counts) for row in rows])
    return columns


def _nested(row: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    value: Any = row
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


# ---- columns ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Column:
    """A column and how to make more of it (``empty(n)``: n missing values, or zeros for counts); ``finish``
    gives the typed array of ``values`` kept raw while the column is filled (``None``: they are typed already)."""

    values: Any
    empty: Callable[[int], Any]
    finish: Callable[[Any], Any] | None = None

    def typed(self) -> Any:
        return self.values if self.finish is None else self.finish(self.values)


class _Columns:
    """The columns of some records, keyed in the layout's order; extras named once all are known."""

    def __init__(self, layout: _Layout, length: int) -> None:
        self.layout, self.length = layout, length
        self.fields: dict[str, _Column] = {}
        self.extras: dict[tuple[int, str], _Column] = {}
        self.counts: dict[str, _Column] = {}

    def add_field(self, name: str, values: list[Any], annotation: Any, *, validate: bool = False) -> None:
        if validate:
            values = _validated(name, values, annotation)
        with _naming(name):
            self.fields[name] = _column(values, _base_type(annotation), category=_is_category(name))

    def add_extra(self, section: _Section, key: str, values: list[Any]) -> None:
        index = self.layout.sections.index(section)
        self.extras[(index, key)] = _Column(_objects(values), _nones)

    def add_counts(self, summaries: Sequence[Mapping[str, RawCounts]]) -> None:
        flags = sorted(set().union(*(s.keys() for s in summaries))) if summaries else []
        empty: RawCounts = {}
        for flag in flags:
            counts = [s.get(flag, empty) for s in summaries]
            _check_counts(flag, counts)
            seen = set().union(*(c.keys() for c in counts))
            for status in STATUS_FIELDS:
                if status in seen:
                    with _naming(f"{flag}.{status}"):
                        values = _int64([c.get(status, 0) for c in counts])
                    self.counts[f"{flag}.{status}"] = _Column(values, _zero_counts)

    def place(self, part: _Columns, offset: int) -> None:
        """Write ``part``'s columns at row ``offset`` of these (a column first seen is made empty, full length)."""
        for mine, theirs in ((self.fields, part.fields), (self.extras, part.extras), (self.counts, part.counts)):
            for key, column in theirs.items():
                if key not in mine:
                    mine[key] = replace(column, values=column.empty(self.length).copy())  # type: ignore[index]
                mine[key].values[offset : offset + part.length] = column.values  # type: ignore[index]

    def frame(self) -> pd.DataFrame:
        """The frame, columns in the layout's order; each column typed (and its raw values dropped) in turn."""
        layout = self.layout
        present = set(self.fields)
        columns: dict[str, Any] = {}

        def add_fields(names: Iterable[str]) -> None:
            for name in names:
                if name in present:
                    columns[name] = self.fields.pop(name).typed()

        add_fields(layout.keys)
        for index, section in enumerate(layout.sections):
            add_fields(info.alias or n for n, info in section.model.model_fields.items() if n not in section.skip)
            for key in sorted(k for i, k in self.extras if i == index):
                name = key if key not in columns and key not in present else f"{section.model.__name__}.{key}"
                columns[name] = pd.Series(self.extras.pop((index, key)).values, dtype=object).infer_objects().array
        add_fields(layout.plain)
        for name in sorted(self.counts, key=_count_order):
            columns[name] = self.counts.pop(name).values
        frame: pd.DataFrame = pd.DataFrame(columns, index=pd.RangeIndex(self.length), copy=False)
        return frame


def _column(values: list[Any], kind: Any, *, category: bool) -> _Column:
    """The column of ``values`` of a field of type ``kind``: numbers, booleans and datetimes typed at once (their
    arrays take slices cheaply); text and categories kept as objects and typed once whole (a ``string`` array
    checks every value it is given)."""
    if category:
        return _Column(_objects(values), _nones, pd.Categorical)
    if kind is str:
        return _Column(_objects(values), _nones, functools.partial(pd.array, dtype="string"))
    return _Column(_typed(values, kind), functools.partial(_missing, kind))


def _objects(values: list[Any]) -> Any:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _nones(length: int) -> Any:
    return np.full(length, None, dtype=object)


def _zero_counts(length: int) -> Any:
    return pd.array(np.zeros(length, dtype="int64"), dtype="Int64")


def _missing(kind: Any, length: int) -> Any:
    return _typed([None] * length, kind)


def _count_order(name: str) -> tuple[str, int]:
    flag, _, status = name.rpartition(".")
    return flag, list(STATUS_FIELDS).index(status)


# ---- conversions -----------------------------------------------------------------------------------------------
def records_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """The frame of a result: typed for runs and datasets, ``pd.json_normalize`` for dicts (nested keys dotted)."""
    if not rows or isinstance(rows[0], Mapping):
        return pd.json_normalize(list(rows))
    if isinstance(rows[0], Run):
        return runs_frame(rows)
    if isinstance(rows[0], Dataset):
        return datasets_frame(rows)
    raise ArgumentTypeError(f"no DataFrame layout for {type(rows[0]).__name__} records")


def _annotation(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].annotation


@functools.lru_cache(maxsize=64)
def _list_adapter(annotation: Any) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[annotation])


def _validated(name: str, values: list[Any], annotation: Any) -> list[Any]:
    """``values`` checked and coerced as the model's field would be (``ValueError`` naming the column)."""
    try:
        return _list_adapter(annotation).validate_python(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ArgumentError(f"column {name!r}: {first['msg']} (got {first.get('input')!r:.80})") from None


def _check_counts(flag: str, counts: list[Any]) -> None:
    """Each component's counts must be an object, as the models require (``ArgumentError`` naming the column)."""
    wrong = [c for c in counts if not isinstance(c, Mapping)]
    if wrong:
        raise ArgumentError(f"column {flag!r}: status counts should be an object (got {wrong[0]!r:.80})")


def _int64(values: list[Any]) -> Any:
    """The ``Int64`` array of ``values``; ``OverflowError`` if one is not an integer it holds (pandas raises
    ``TypeError`` for ``2**63`` or ``1.5``)."""
    try:
        return pd.array(values, dtype="Int64")
    except (TypeError, ValueError, OverflowError) as exc:
        raise OverflowError(f"a value that does not fit Int64 ({exc})") from None


def _datetimes(values: list[Any]) -> Any:
    """The ``datetime64[ns, UTC]`` array of ``values``; ``OverflowError`` for one outside its years (1677-2262)."""
    try:
        return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]").array
    except pd.errors.OutOfBoundsDatetime as exc:
        raise OverflowError(f"a datetime outside datetime64[ns] ({exc})") from None


@contextlib.contextmanager
def _naming(column: str) -> Iterator[None]:
    """A value that does not fit its column's dtype is an :class:`ArgumentError` naming the column."""
    try:
        yield
    except OverflowError as exc:
        raise ArgumentError(f"column {column!r}: {exc}") from None


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
        return _int64(values)
    if kind is float:
        return pd.array(values, dtype="Float64")
    if kind is datetime:
        return _datetimes(values)
    if kind is str:
        return pd.array(values, dtype="string")
    return pd.array(values, dtype=object)
