"""Lumisection replies (``rr-protocol.md`` §7) built from stored ranges (pure functions, no I/O).

RR statuses come from a dataset's per-component ranges; uncovered lumisections are EMPTY. OMS values come from
the run's OMS ranges plus the per-lumisection luminosity arrays.

>>> from backend.lumiranges import StatusRange
>>> rr_by_component({"dt-dt": [StatusRange(1, 2, "GOOD")]}, 3)["dt-dt"][1]
{'status': 'EMPTY', 'comment': '', 'cause': '', 'start': 3, 'end': 3}
>>> [(r["start"], r["end"]) for r in rr_ranges({"dt-dt": [StatusRange(1, 3, "GOOD")]}, 3)]
[(1, 3)]
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from backend.demo import OmsRange
from backend.lumiranges import EMPTY, StatusRange, expand
from querylang.catalogue import OMS_LUMISECTION_BITS

__all__ = [
    "joint_ranges",
    "oms_per_lumisection",
    "oms_per_lumisection_json",
    "oms_ranges",
    "rr_by_component",
    "rr_per_lumisection",
    "rr_ranges",
]

_EMPTY_VALUE = {"status": EMPTY, "comment": "", "cause": ""}


def _value(rng: StatusRange | None) -> dict[str, str]:
    if rng is None:
        return dict(_EMPTY_VALUE)
    return {"status": rng.status, "comment": rng.comment, "cause": rng.cause}


def rr_per_lumisection(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> list[dict[str, Any]]:
    """``/lumisections/rr_lumisections``: index i is lumisection i+1; ``[]`` when nothing was ever certified."""
    if not statuses:
        return []
    per_ls: list[dict[str, Any]] = [{} for _ in range(lumisections)]
    for component, ranges in sorted(statuses.items()):
        values = {id(r): _value(r) for r in ranges}
        for index, rng in enumerate(expand(ranges, lumisections)):
            per_ls[index][component] = values[id(rng)] if rng is not None else _value(None)
    return per_ls


def _merge_runs(per_ls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive equal lumisections merged into ``{..., "start", "end"}`` ranges."""
    merged: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for number, values in enumerate(per_ls, start=1):
        if previous is not None and values == previous:
            merged[-1]["end"] = number
        else:
            merged.append({**values, "start": number, "end": number})
            previous = values
    return merged


def _boundaries(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> list[int]:
    marks = {1, lumisections + 1}
    for ranges in statuses.values():
        for rng in ranges:
            marks.update((rng.start, min(rng.end, lumisections) + 1))
    return sorted(m for m in marks if m <= lumisections + 1)


def rr_ranges(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> list[dict[str, Any]]:
    """``/lumisections/rr_lumisection_ranges``: all components together, equal neighbours merged."""
    if not statuses:
        return []
    bounds = _boundaries(statuses, lumisections)
    segments = []
    for start, after in itertools.pairwise(bounds):
        values = {c: _value(_covering(ranges, start)) for c, ranges in sorted(statuses.items())}
        segments.append((start, after - 1, values))
    merged: list[dict[str, Any]] = []
    for start, end, values in segments:
        if merged and merged[-1]["end"] + 1 == start and _strip(merged[-1]) == values:
            merged[-1]["end"] = end
        else:
            merged.append({**values, "start": start, "end": end})
    return merged


def _strip(segment: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in segment.items() if k not in ("start", "end")}


def _covering(ranges: Sequence[StatusRange], lumisection: int) -> StatusRange | None:
    return next((r for r in ranges if r.start <= lumisection <= r.end), None)


def rr_by_component(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> dict[str, list[Any]]:
    """``/lumisections/rr_lumisection_ranges_by_component``: each component's ranges, holes as EMPTY."""
    out: dict[str, list[Any]] = {}
    for component, ranges in sorted(statuses.items()):
        filled: list[dict[str, Any]] = []
        cursor = 1
        for rng in ranges:
            if rng.start > cursor:
                filled.append({**_EMPTY_VALUE, "start": cursor, "end": rng.start - 1})
            filled.append({**_value(rng), "start": rng.start, "end": rng.end})
            cursor = rng.end + 1
        if cursor <= lumisections:
            filled.append({**_EMPTY_VALUE, "start": cursor, "end": lumisections})
        out[component] = filled
    return out


#: Each whitelisted OMS bit with its mask in ``OmsRange.true_bits`` / ``null_bits``.
_BIT_MASKS = tuple((bit, 1 << i) for i, bit in enumerate(OMS_LUMISECTION_BITS))


def _bits(rng: OmsRange) -> dict[str, bool | None]:
    true_bits, null_bits = rng.true_bits, rng.null_bits
    return {bit: None if null_bits & mask else true_bits & mask != 0 for bit, mask in _BIT_MASKS}


def _values(rng: OmsRange) -> dict[str, Any]:
    """What every lumisection of ``rng`` reads: the bits, then the prescale."""
    return {**_bits(rng), "prescale_index": rng.prescale_index, "prescale_name": rng.prescale_name}


def oms_per_lumisection(
    ranges: Sequence[OmsRange], lumisections: int, recorded: Sequence[int], delivered: Sequence[int]
) -> list[dict[str, Any]]:
    """``/lumisections/oms_lumisections``: bits, prescale and luminosity (inverse microbarns) per lumisection."""
    out: list[dict[str, Any]] = []
    for rng in ranges:
        bits = _values(rng)
        for ls in range(rng.start, min(rng.end, lumisections) + 1):
            out.append({**bits, "recorded": recorded[ls - 1], "delivered": delivered[ls - 1]})
    return out


def oms_per_lumisection_json(
    ranges: Sequence[OmsRange], lumisections: int, recorded: Sequence[int], delivered: Sequence[int]
) -> str:
    """``json.dumps(oms_per_lumisection(...))``, byte for byte, without a dict per lumisection: each range's
    values are encoded once (the route's cost on a year of lumisections is otherwise mostly encoding)."""
    parts: list[str] = []
    for rng in ranges:
        head = json.dumps(_values(rng))
        head = head[:-1] + ', "recorded": '
        for ls in range(rng.start, min(rng.end, lumisections) + 1):
            parts.append(f'{head}{recorded[ls - 1]!r}, "delivered": {delivered[ls - 1]!r}}}')  # repr: JSON
    return "[" + ", ".join(parts) + "]"


def oms_ranges(ranges: Sequence[OmsRange]) -> list[dict[str, Any]]:
    """``/lumisections/oms_lumisection_ranges``: the whitelisted bits and the prescale (no luminosity), equal
    neighbours merged (compared by their masks: the values' dict is built once per merged range)."""
    merged: list[tuple[tuple[Any, ...], OmsRange, int]] = []
    for rng in ranges:
        key = _values_key(rng)
        if merged and merged[-1][2] + 1 == rng.start and merged[-1][0] == key:
            merged[-1] = (key, merged[-1][1], rng.end)
        else:
            merged.append((key, rng, rng.end))
    return [{**_values(rng), "start": rng.start, "end": end} for _, rng, end in merged]


#: Every whitelisted bit's mask at once.
_ALL_BITS = (1 << len(OMS_LUMISECTION_BITS)) - 1


def _values_key(rng: OmsRange) -> tuple[Any, ...]:
    """Equal for two ranges exactly when their bits and prescale read the same (a null bit's true mask is moot)."""
    null_bits = rng.null_bits & _ALL_BITS
    return null_bits, rng.true_bits & _ALL_BITS & ~null_bits, rng.prescale_index, rng.prescale_name


def joint_ranges(
    statuses: Mapping[str, Sequence[StatusRange]],
    ranges: Sequence[OmsRange],
    lumisections: int,
    recorded: Sequence[int],
    delivered: Sequence[int],
) -> list[dict[str, Any]]:
    """``/lumisections/joint_lumisection_ranges``: OMS values (luminosity included) and RR statuses together."""
    oms = oms_per_lumisection(ranges, lumisections, recorded, delivered)
    rr = rr_per_lumisection(statuses, lumisections) or [{} for _ in range(lumisections)]
    return _merge_runs([{**o, **r} for o, r in zip(oms, rr, strict=False)])
