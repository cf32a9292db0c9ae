"""Every public call as a sans-I/O operation: argument checks, filter compilation, calls, reply parsing.

``RunRegistry`` and ``AsyncRunRegistry`` are thin drivers of these generators, so both behave identically.
Filters are compiled (and rejected with ``querylang.FilterError``) before the first request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter, ValidationError

import querylang
from client.calls import (
    Kind,
    Sorting,
    compress_dataset,
    compress_run,
    get_call,
    lumisection_call,
    require_run_number,
)
from client.engine import Batch, Operation, unwrap
from client.errors import ArgumentError, ArgumentTypeError, PartialResultError, ServiceError
from client.pagination import (
    Listing,
    ListingQuery,
    Progress,
    ResumeFrom,
    fetch_listing,
    wire_decoder,
)
from client.results import Records, WireRows
from client.transport import Call, Reply
from client.wire import PackedReader, RowReader, short_error
from schemas import (
    Dataset,
    JointLumisectionRange,
    OmsLumisection,
    OmsLumisectionRange,
    RangesByComponent,
    RRLumisection,
    RRLumisectionRange,
    Run,
)

__all__ = [
    "Output",
    "get_json",
    "get_list_of_names",
    "listing",
    "lumisection_json",
    "lumisections",
    "single_record",
    "sortings_argument",
]

T = TypeVar("T")
Output = Literal["models", "dicts", "dataframe"]
UnknownFlags = Literal["error", "warn"]

_LUMISECTION_MODELS: Mapping[str, TypeAdapter[Any]] = {
    "rr_lumisections": TypeAdapter(list[RRLumisection]),
    "oms_lumisections": TypeAdapter(list[OmsLumisection]),
    "rr_lumisection_ranges": TypeAdapter(list[RRLumisectionRange]),
    "rr_lumisection_ranges_by_component": TypeAdapter(RangesByComponent),
    "oms_lumisection_ranges": TypeAdapter(list[OmsLumisectionRange]),
    "joint_lumisection_ranges": TypeAdapter(list[JointLumisectionRange]),
}


def sortings_argument(sortings: object) -> tuple[Sorting, ...]:
    """``[["run_number", "DESC"], ...]`` checked and normalised (``None`` or ``[]``: the service's default)."""
    if sortings is None:
        return ()
    if isinstance(sortings, (str, bytes)) or not isinstance(sortings, Sequence):
        raise ArgumentTypeError(f"sortings must be a list of [attribute, 'ASC' | 'DESC'] pairs, got {sortings!r}")
    result = []
    for item in sortings:
        if (
            isinstance(item, (str, bytes))
            or not isinstance(item, Sequence)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], str)
            or item[1].upper() not in ("ASC", "DESC")
        ):
            raise ArgumentError(f"each sorting must be [attribute, 'ASC' | 'DESC'], got {item!r}")
        result.append((item[0], item[1].upper()))
    return tuple(result)


def _plan(kind: Kind, filter: object, *, raw: bool, unknown_flags: UnknownFlags) -> querylang.Plan:
    if raw:
        return querylang.raw_plan({} if filter is None else filter, kind=kind)
    return querylang.compile_filter({} if filter is None else filter, kind=kind, unknown_flags=unknown_flags)


def _reading(kind: Kind, output: Output, compress: bool | None) -> dict[str, Any]:
    """How pages become rows (``fetch_listing``'s keyword): each row's JSON, packed as the body arrives (typed
    models and frames are made from them later, see :class:`~client.results.Records`), or the public client's
    dicts."""
    if compress is False:
        return {"decode": wire_decoder(kind)}
    if output == "dicts" or compress is not None:
        shape = compress_run if kind == "runs" else compress_dataset
        return {"decode": wire_decoder(kind, lambda rows: [shape(r) for r in rows])}
    return {"read": partial(PackedReader, kind)}


def _model_maker(kind: Kind, route: str) -> Callable[[Any], Any]:
    """Creates the model of one row kept as JSON (packed); a row that does not fit the schema is a
    ``ServiceError``."""
    validate = (Run if kind == "runs" else Dataset).model_validate_json
    text = RowReader()

    def make(row: Any) -> Any:
        try:
            return validate(text(row))
        except ValidationError as exc:
            message = f"a row does not match the schema: {short_error(exc)}"
            raise ServiceError(message, status=200, route=route) from None

    return make


def listing(
    kind: Kind,
    *,
    filter: object,
    limit: int | None,
    page_size: int,
    sortings: object,
    ignore_filter_transformation: bool,
    compress_attributes: bool | None,
    output: Output,
    resume_from: ResumeFrom | None,
    unknown_flags: UnknownFlags,
    progress: Progress | None,
    synthetic: bool,
) -> Operation[Any]:
    """``get_runs`` / ``get_datasets``: compile, fetch every page, assemble into ``Records`` or a DataFrame."""
    if output not in ("models", "dicts", "dataframe"):
        raise ArgumentError(f"output must be 'models', 'dicts' or 'dataframe', got {output!r}")
    if output == "dataframe" and compress_attributes is not None:
        raise ArgumentError("output='dataframe' builds typed columns: leave compress_attributes unset")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ArgumentError(f"limit must be a non-negative int or None, got {limit!r}")
    plan = _plan(kind, filter, raw=ignore_filter_transformation, unknown_flags=unknown_flags)
    query = ListingQuery(kind, plan.filters, sortings_argument(sortings), page_size, limit)
    rows = _Rows(
        kind,
        compress_attributes is None and output != "dicts",  # rows kept as JSON: models (also a frame's partial rows)
        query.call(0, 0).route if query.filters else kind,
        synthetic,
    )
    try:
        result: Listing = yield from fetch_listing(
            query, **_reading(kind, output, compress_attributes), resume_from=resume_from, progress=progress
        )
    except PartialResultError as error:
        error.rows = rows.records(error.rows)
        raise
    if output == "dataframe":
        from client.frames import blobs_frame, release_free_memory  # pandas only when a frame is asked for

        release_free_memory(len(result.rows))
        return blobs_frame(kind, _consumed(result.rows), len(result.rows))
    return rows.records(
        result.rows,
        total=result.total,
        count_changed=result.count_changed,
        duplicates_removed=result.duplicates_removed,
        notes=[*plan.warnings, *result.notes],
    )


def _consumed(rows: list[Any]) -> Iterator[Any]:
    """The rows one by one, each dropped from ``rows`` as it is handed out (the frame grows as the JSON goes)."""
    for index in range(len(rows)):
        row, rows[index] = rows[index], None
        yield row


@dataclass(frozen=True)
class _Rows:
    """How a listing's rows become :class:`Records`: lazily from JSON bytes (typed) or as they are (dicts)."""

    kind: Kind
    typed: bool
    route: str
    synthetic: bool

    def records(self, rows: Sequence[Any], **facts: Any) -> Records[Any]:
        if self.typed:
            wire = WireRows(rows, _model_maker(self.kind, self.route))
            return Records(kind=self.kind, synthetic=self.synthetic, wire=wire, **facts)
        return Records(rows, kind=self.kind, synthetic=self.synthetic, **facts)


def single_record(
    kind: Kind, run_number: int, dataset_name: str | None, *, compress_attributes: bool | None, synthetic: bool
) -> Operation[Any]:
    """``get_run`` / ``get_dataset``: the record, or ``None`` (models) / ``{}`` (dict shapes) when absent."""
    number = require_run_number(run_number)
    backend_filter: dict[str, Any] = {"run_number": {"=": number}}
    if kind == "datasets":
        if not isinstance(dataset_name, str) or not dataset_name:
            raise ArgumentTypeError(f"dataset_name must be a non-empty string, got {dataset_name!r}")
        backend_filter["name"] = {"=": dataset_name}
    query = ListingQuery(kind, (backend_filter,), (), page_size=2, limit=None)
    result: Listing = yield from fetch_listing(query, **_reading(kind, "models", compress_attributes))
    if len(result.rows) > 1:
        what = f"run {number}" if kind == "runs" else f"dataset {dataset_name!r} of run {number}"
        raise ServiceError(
            f"{len(result.rows)} records match {what}, expected one", status=200, route=query.call(0, 0).route
        )
    if not result.rows:
        return None if compress_attributes is None else {}
    if compress_attributes is None:
        return _model_maker(kind, query.call(0, 0).route)(result.rows[0])
    return result.rows[0]


def get_json(call: Call, expect: type) -> Operation[Any]:
    """One call whose JSON answer must be a ``list`` or ``dict`` (``expect``)."""
    (outcome,) = yield Batch([call])
    data = unwrap(outcome, Reply).data
    if not isinstance(data, expect):
        raise ServiceError(
            f"expected a JSON {expect.__name__}, got {type(data).__name__}", status=200, route=call.route
        )
    return data


def get_list_of_names(run_number: int) -> Operation[list[str]]:
    """``GET /get_all_dataset_names_of_run/:n``."""
    call = get_call("get_all_dataset_names_of_run", require_run_number(run_number))
    names: list[str] = yield from get_json(call, list)
    if not all(isinstance(n, str) for n in names):
        raise ServiceError("dataset names must be strings", status=200, route=call.route)
    return names


def lumisection_json(endpoint: str, run_number: int, dataset_name: str) -> Operation[Any]:
    """One of the six lumisection endpoints' replies, as the service sent it (``None``/``[]``/``{}`` included)."""
    return get_json(lumisection_call(endpoint, run_number, dataset_name), object)


def lumisections(endpoint: str, run_number: int, dataset_name: str, *, output: Output) -> Operation[Any]:
    """One of the six lumisection endpoints; typed models by default, the service's JSON with ``output="dicts"``."""
    if output not in ("models", "dicts"):
        raise ArgumentError(f"output must be 'models' or 'dicts' for lumisections, got {output!r}")
    call = lumisection_call(endpoint, run_number, dataset_name)
    expect = dict if endpoint == "rr_lumisection_ranges_by_component" else list
    (outcome,) = yield Batch([call])
    data = unwrap(outcome, Reply).data
    if data == [] or data is None:  # the service's answer for an unknown run or dataset
        return expect()
    if not isinstance(data, expect):
        raise ServiceError(
            f"expected a JSON {expect.__name__}, got {type(data).__name__}", status=200, route=call.route
        )
    if output == "dicts":
        return data
    try:
        return _LUMISECTION_MODELS[endpoint].validate_python(data)
    except ValidationError as exc:
        raise ServiceError(
            f"the reply does not match the schema: {short_error(exc)}", status=200, route=call.route
        ) from None
