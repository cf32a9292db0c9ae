"""Storage rows of the embedded Run Registry: the generated runs, and the table rows the store inserts for them.

:class:`DemoRun` (with its :class:`DemoDataset` s and :class:`OmsRange` s) is what :mod:`backend.demo`
generates; :class:`RunRows` turns runs into the tuples of the store's tables (``run``, ``oms_range``, ``lumi``,
``dataset``, ``ls_status``; see :mod:`backend.store`) in any process: it is plain picklable data, so
:mod:`backend.parallel_build` builds it in worker processes. Nothing here touches a database.

>>> run = DemoRun(1, 2, {"energy": 6500.0}, {"class": "Collisions18"}, [OmsRange(1, 2, 1, 0, 0, "Emergency")],
...               array("q", [5, 7]), array("q", [6, 8]), [DemoDataset("online", {})])
>>> rows = RunRows.of([run])
>>> rows.run[0][:3], rows.dataset[0][:3], unpack_lumi(rows.lumi[0][1])
((1, 2, '{"energy":6500}'), (16, 1, 'online'), [5, 7])
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.errors import StoreError
from backend.lumiranges import StatusRange, summarize
from backend.omsbits import decode_bits
from querylang.catalogue import OMS_LUMISECTION_BITS

__all__ = [
    "DATASET_STRIDE",
    "DemoDataset",
    "DemoRegistry",
    "DemoRun",
    "OmsRange",
    "RunRows",
    "dcs_summary",
    "dumps",
    "pack_lumi",
    "status_rows",
    "unpack_lumi",
]

#: A loaded run's datasets get ids ``run_number * DATASET_STRIDE + position``: the same in any loading order.
DATASET_STRIDE = 16


@dataclass(frozen=True)
class OmsRange:
    """OMS lumisection values constant over ``start``..``end``: booleans as bit masks over OMS_LUMISECTION_BITS."""

    start: int
    end: int
    true_bits: int
    null_bits: int
    prescale_index: int
    prescale_name: str


@dataclass
class DemoDataset:
    """A dataset of a generated run: its name, attributes and RR status ranges per component."""

    name: str
    attributes: dict[str, Any]
    statuses: dict[str, list[StatusRange]] = field(default_factory=dict)


@dataclass
class DemoRun:
    """A generated run: attributes, OMS bit ranges, per-lumisection luminosity and datasets."""

    run_number: int
    lumisections: int
    oms: dict[str, Any]
    rr: dict[str, Any]
    oms_ranges: list[OmsRange]
    recorded: array[int]  # per lumisection, in inverse microbarns (whole numbers)
    delivered: array[int]
    datasets: list[DemoDataset]
    era: str = ""  # the name of its era in backend.eras


@dataclass
class DemoRegistry:
    """A generated registry: its seed and runs."""

    seed: int
    runs: list[DemoRun]


def pack_lumi(values: Sequence[int]) -> bytes:
    """Per-lumisection luminosity (whole inverse microbarns) as little-endian int64 bytes."""
    packed = array("q", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_lumi(blob: bytes) -> list[int]:
    """Inverse of :func:`pack_lumi`."""
    packed = array("q")
    packed.frombytes(blob)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


#: OMS values the service's DCS summary also lists although they are never booleans: their counts stay 0
#: except NULL (a null value) and EMPTY (not covered), as in the service (which counts only true/false/null).
_NON_BOOLEAN_DCS = ("recorded", "delivered", "prescale_index", "prescale_name")
_DCS_STATES = {True: "TRUE", False: "FALSE", None: "NULL"}


def dcs_summary(ranges: Sequence[OmsRange], lumisections: int) -> dict[str, dict[str, int]]:
    """Per OMS bit, how many lumisections are TRUE, FALSE, NULL or EMPTY (not covered by any range); the
    luminosity and prescale values too (never TRUE or FALSE), and ``ls_duration`` ``{"TRUE": lumisections}``.

    >>> summary = dcs_summary([OmsRange(1, 3, 1, 0, None, "Emergency")], 4)
    >>> summary["prescale_index"], summary["recorded"], summary["ls_duration"]
    ({'TRUE': 0, 'FALSE': 0, 'NULL': 3, 'EMPTY': 1}, {'TRUE': 0, 'FALSE': 0, 'NULL': 0, 'EMPTY': 1}, {'TRUE': 4})
    """
    lengths: dict[tuple[int, int], int] = {}  # lumisections per distinct (true bits, null bits): a few per run
    for rng in ranges:
        key = (rng.true_bits, rng.null_bits)
        lengths[key] = lengths.get(key, 0) + rng.end - rng.start + 1
    empty = lumisections - sum(lengths.values())
    summary = {}
    decoded = {key: decode_bits(*key) for key in lengths}
    for bit in OMS_LUMISECTION_BITS:
        counts = {"TRUE": 0, "FALSE": 0, "NULL": 0, "EMPTY": empty}
        for key, length in lengths.items():
            counts[_DCS_STATES[decoded[key][bit]]] += length
        summary[bit] = counts
    for name in _NON_BOOLEAN_DCS:
        nulls = sum(r.end - r.start + 1 for r in ranges if getattr(r, name, 0) is None)
        summary[name] = {"TRUE": 0, "FALSE": 0, "NULL": nulls, "EMPTY": empty}
    summary["ls_duration"] = {"TRUE": lumisections}
    return summary


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # stateless; built once, not per value


def dumps(value: Any) -> str:
    """Compact JSON as the store writes it.

    >>> dumps({"a": [1, None]})
    '{"a":[1,null]}'
    """
    return _ENCODER.encode(value)


def _js_numbers(value: Any) -> Any:
    """``value`` with integral floats as ints, as JavaScript's ``JSON.stringify`` writes them (``0``, not ``0.0``).

    >>> _js_numbers({"b_field": 0.0, "energy": 6500.0, "x": [3.8, {"y": -2.0}]})
    {'b_field': 0, 'energy': 6500, 'x': [3.8, {'y': -2}]}
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def status_rows(dataset_id: int, statuses: Mapping[str, Sequence[StatusRange]]) -> list[tuple[Any, ...]]:
    """The ``ls_status`` rows of one dataset's status ranges."""
    return [
        (dataset_id, comp, r.start, r.end, r.status, r.comment, r.cause)
        for comp, ranges in statuses.items()
        for r in ranges
    ]


class RunRows:
    """The table rows of generated runs, one list per table (picklable: built in any process)."""

    def __init__(self) -> None:
        self.run: list[tuple[Any, ...]] = []
        self.oms_range: list[tuple[Any, ...]] = []
        self.lumi: list[tuple[Any, ...]] = []
        self.dataset: list[tuple[Any, ...]] = []
        self.ls_status: list[tuple[Any, ...]] = []

    @classmethod
    def of(cls, runs: Iterable[DemoRun]) -> RunRows:
        rows = cls()
        for run in runs:
            rows.add(run)
        return rows

    def add(self, run: DemoRun) -> None:
        """Add one run's rows."""
        n, number = run.lumisections, run.run_number
        if len(run.datasets) > DATASET_STRIDE:
            raise StoreError(f"run {number} has {len(run.datasets)} datasets; at most {DATASET_STRIDE} can be loaded")
        oms = dumps(_js_numbers(run.oms))  # the only floats of a run
        self.run.append((number, n, oms, dumps(run.rr), dumps(dcs_summary(run.oms_ranges, n))))
        self.oms_range += [
            (number, r.start, r.end, r.true_bits, r.null_bits, r.prescale_index, r.prescale_name)
            for r in run.oms_ranges
        ]
        self.lumi.append((number, pack_lumi(run.recorded), pack_lumi(run.delivered)))
        for position, dataset in enumerate(run.datasets):
            dataset_id = number * DATASET_STRIDE + position
            summary = dumps(summarize(dataset.statuses, n))
            self.dataset.append((dataset_id, number, dataset.name, dumps(dataset.attributes), summary))
            self.ls_status += status_rows(dataset_id, dataset.statuses)
