"""Lumisection replies (``rr-protocol.md`` §7) built from stored ranges (pure functions, no I/O).

RR statuses come from a dataset's per-component ranges; uncovered lumisections are EMPTY. OMS values come from
the run's OMS ranges plus the per-lumisection luminosity arrays. The routes answer the ``*_json`` functions'
bytes: each distinct value encoded once and the reply joined once, byte for byte ``json.dumps`` of the dict forms
(which stay the reference, and encode the odd component named like another key).

>>> from backend.lumiranges import StatusRange
>>> rr_by_component({"dt-dt": [StatusRange(1, 2, "GOOD")]}, 3)["dt-dt"][1]
{'status': 'EMPTY', 'comment': '', 'cause': '', 'start': 3, 'end': 3}
>>> [(r["start"], r["end"]) for r in rr_ranges({"dt-dt": [StatusRange(1, 3, "GOOD")]}, 3)]
[(1, 3)]
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.lumiranges import EMPTY, StatusRange, expand
from backend.omsbits import oms_values
from backend.rows import OmsRange
from querylang.catalogue import OMS_LUMISECTION_BITS
from querylang.ranges import coalesce, complement, from_values, merge

__all__ = [
    "joint_ranges",
    "joint_ranges_json",
    "oms_per_lumisection",
    "oms_per_lumisection_json",
    "oms_ranges",
    "oms_ranges_json",
    "rr_by_component",
    "rr_per_lumisection",
    "rr_per_lumisection_json",
    "rr_ranges",
    "rr_ranges_json",
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


def rr_per_lumisection_json(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> bytes:
    """``json.dumps(rr_per_lumisection(...)).encode()``, byte for byte: each stretch of equal statuses encoded
    once, its text repeated for each of its lumisections (``[]`` when nothing was ever certified)."""
    if not statuses:
        return b"[]"
    objects: list[bytes] = []
    for first, after, _, text in _rr_segments(statuses, lumisections, first_wins=False):
        objects += [b"{%s}" % text[2:]] * (after - first)  # the first component opens the object: no ", "
    return b"[%s]" % b", ".join(objects)


def _as_json(ranges: Iterable[tuple[int, int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Valued ranges as the service writes them: the values, then ``start`` and ``end``."""
    return [{**values, "start": first, "end": last} for first, last, values in ranges]


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
    return _as_json(coalesce(segments))


def _covering(ranges: Sequence[StatusRange], lumisection: int) -> StatusRange | None:
    return next((r for r in ranges if r.start <= lumisection <= r.end), None)


def rr_by_component(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> dict[str, list[Any]]:
    """``/lumisections/rr_lumisection_ranges_by_component``: each component's ranges, holes as EMPTY."""
    out: dict[str, list[Any]] = {}
    for component, ranges in sorted(statuses.items()):
        covered = [(rng.start, rng.end, _value(rng)) for rng in ranges]
        last = max([lumisections, *(rng.end for rng in ranges)])
        holes = [(first, end, _value(None)) for first, end in complement(merge(r[:2] for r in covered), last)]
        out[component] = _as_json(sorted([*covered, *holes], key=lambda item: item[0]))
    return out


def oms_per_lumisection(
    ranges: Sequence[OmsRange], lumisections: int, recorded: Sequence[int], delivered: Sequence[int]
) -> list[dict[str, Any]]:
    """``/lumisections/oms_lumisections``: bits, prescale and luminosity (inverse microbarns) per lumisection."""
    out: list[dict[str, Any]] = []
    for rng in ranges:
        bits = oms_values(rng)
        for ls in range(rng.start, min(rng.end, lumisections) + 1):
            out.append({**bits, "recorded": recorded[ls - 1], "delivered": delivered[ls - 1]})
    return out


def oms_per_lumisection_json(
    ranges: Sequence[OmsRange], lumisections: int, recorded: Sequence[int], delivered: Sequence[int]
) -> bytes:
    """``json.dumps(oms_per_lumisection(...)).encode()``, byte for byte, without a dict per lumisection: each
    range's values are encoded once and the numbers all at once, and the reply is one join of bytes."""
    oms = _oms_column(ranges, lumisections, recorded, delivered)
    return _objects(len(oms.heads), [oms.heads, oms.recorded_texts, _DELIVERED, oms.delivered_texts, b"}"])


@dataclass(frozen=True)
class _OmsColumn:
    """Per OMS lumisection (in range order): the text of its values up to ``"recorded": ``, the values compared
    (a tuple), and its luminosity as numbers and as text."""

    heads: list[bytes] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    recorded: list[Any] = field(default_factory=list)
    delivered: list[Any] = field(default_factory=list)
    recorded_texts: list[bytes] = field(default_factory=list)
    delivered_texts: list[bytes] = field(default_factory=list)


def _oms_column(
    ranges: Sequence[OmsRange], lumisections: int, recorded: Sequence[Any], delivered: Sequence[Any]
) -> _OmsColumn:
    recorded_texts, delivered_texts = _number_texts(recorded), _number_texts(delivered)
    column = _OmsColumn()
    for rng in ranges:
        first, last = rng.start - 1, min(rng.end, lumisections)  # indices of the range's lumisections
        if last <= first:
            continue
        if last > min(len(recorded), len(delivered)):
            raise IndexError(f"no luminosity for lumisection {last}")
        encoded = _oms_encoded(rng.true_bits, rng.null_bits, rng.prescale_index, rng.prescale_name)
        column.heads.extend([(encoded.text + ', "recorded": ').encode()] * (last - first))
        column.keys.extend([encoded.key] * (last - first))
        column.recorded.extend(recorded[first:last])
        column.delivered.extend(delivered[first:last])
        column.recorded_texts.extend(recorded_texts[first:last])
        column.delivered_texts.extend(delivered_texts[first:last])
    return column


_DELIVERED = b', "delivered": '


def _number_texts(values: Sequence[Any]) -> list[bytes]:
    """Each value's text in ``json.dumps(values)`` (one call encodes them all)."""
    return json.dumps(list(values))[1:-1].encode().split(b", ") if values else []


def _objects(count: int, pieces: Sequence[bytes | Sequence[bytes]]) -> bytes:
    """A JSON array of ``count`` objects separated as ``json.dumps`` separates them; object ``k`` is the
    concatenation of the pieces: a constant, or the ``k``-th item of a column.

    >>> _objects(2, [b'{"a": ', [b"1", b"2"], b"}"])
    b'[{"a": 1}, {"a": 2}]'
    """
    if not count:
        return b"[]"
    width = len(pieces) + 1  # each object's pieces, then a separator
    parts = [b", "] * (width * count + 1)
    parts[0] = b"["
    for offset, piece in enumerate(pieces, start=1):
        parts[offset::width] = [piece] * count if isinstance(piece, bytes) else piece
    parts[-1] = b"]"
    return b"".join(parts)


def oms_ranges(ranges: Sequence[OmsRange]) -> list[dict[str, Any]]:
    """``/lumisections/oms_lumisection_ranges``: the whitelisted bits and the prescale (no luminosity), equal
    neighbours merged."""
    return _as_json(coalesce((rng.start, rng.end, oms_values(rng)) for rng in ranges))


def oms_ranges_json(ranges: Sequence[OmsRange]) -> bytes:
    """``json.dumps(oms_ranges(...)).encode()``, byte for byte, each distinct range value encoded once."""
    merged = coalesce(
        (rng.start, rng.end, _oms_encoded(rng.true_bits, rng.null_bits, rng.prescale_index, rng.prescale_name))
        for rng in ranges
    )
    return _objects(
        len(merged),
        [
            [encoded.text.encode() for _, _, encoded in merged],
            b', "start": ',
            _number_texts([first for first, _, _ in merged]),
            b', "end": ',
            _number_texts([last for _, last, _ in merged]),
            b"}",
        ],
    )


@dataclass(frozen=True)
class _OmsEncoded:
    """A range's OMS values: compared as a tuple (what the dicts' equality compares), and their text as
    ``json.dumps`` writes the dict, without its closing brace."""

    key: tuple[Any, ...]
    text: str = field(compare=False)


@functools.lru_cache(maxsize=4096, typed=True)
def _oms_encoded(true_bits: int, null_bits: int, prescale_index: int | None, prescale_name: str) -> _OmsEncoded:
    values = oms_values(OmsRange(1, 1, true_bits, null_bits, prescale_index, prescale_name))  # type: ignore[arg-type]
    return _OmsEncoded(tuple(values.values()), json.dumps(values)[:-1])


def joint_ranges(
    statuses: Mapping[str, Sequence[StatusRange]],
    ranges: Sequence[OmsRange],
    lumisections: int,
    recorded: Sequence[int],
    delivered: Sequence[int],
    *,
    rr_lumisections: int | None = None,
) -> list[dict[str, Any]]:
    """``/lumisections/joint_lumisection_ranges``: OMS values (luminosity included) and RR statuses together.

    The i-th OMS lumisection (in range order) goes with the i-th RR one over the longer of the two, as the service
    pairs them: past the end of one, the other's values stand alone. The RR side has ``rr_lumisections``
    lumisections (default ``lumisections``; more after a lax edit past the run's end), none without statuses.
    """
    oms = oms_per_lumisection(ranges, lumisections, recorded, delivered)
    rr = rr_per_lumisection(statuses, lumisections if rr_lumisections is None else rr_lumisections)
    neither: dict[str, Any] = {}
    return _as_json(from_values([{**o, **r} for o, r in itertools.zip_longest(oms, rr, fillvalue=neither)]))


#: A joint range's keys besides the components (a component named like one replaces it in the object).
_OBJECT_KEYS = frozenset({*OMS_LUMISECTION_BITS, "prescale_index", "prescale_name", "recorded", "delivered"})
_EMPTY_KEY = (EMPTY, "", "")


#: Stands for the values of a side (OMS or RR) a joint lumisection does not have; equal only to itself.
_MISSING: Any = object()


def joint_ranges_json(
    statuses: Mapping[str, Sequence[StatusRange]],
    ranges: Sequence[OmsRange],
    lumisections: int,
    recorded: Sequence[int],
    delivered: Sequence[int],
    *,
    rr_lumisections: int | None = None,
) -> bytes:
    """``json.dumps(joint_ranges(...)).encode()``, byte for byte, without a dict per lumisection.

    The reply pairs the i-th OMS lumisection (in range order) with the i-th RR one and merges equal neighbours;
    here the OMS values and the RR statuses are compared and encoded once per stretch where they are constant,
    the luminosity is compared in C. A component named like another key is encoded the slow way.
    """
    if not _OBJECT_KEYS.union(("start", "end")).isdisjoint(statuses):
        return json.dumps(
            joint_ranges(statuses, ranges, lumisections, recorded, delivered, rr_lumisections=rr_lumisections)
        ).encode()
    oms = _oms_column(ranges, lumisections, recorded, delivered)
    rr_keys: list[_RrKey] = []
    rr_texts: list[bytes] = []
    if statuses:  # else no RR lumisection: the OMS ones alone
        length = lumisections if rr_lumisections is None else rr_lumisections
        for first, after, key, text in _rr_segments(statuses, length, first_wins=False):
            rr_keys.extend([key] * (after - first))
            rr_texts.extend([text] * (after - first))
    paired, count = min(len(oms.keys), len(rr_keys)), max(len(oms.keys), len(rr_keys))
    rr_only, oms_only = [_MISSING] * (count - len(oms.keys)), [_MISSING] * (count - len(rr_keys))
    keys = list(
        zip(oms.keys + rr_only, rr_keys + oms_only, oms.recorded + rr_only, oms.delivered + rr_only, strict=True)
    )
    changed = map(operator.ne, keys[1:], keys[:-1])  # tuples: items compared as dict values are
    starts = [0, *itertools.compress(range(1, count), changed)] if count else []
    no_oms = [b""] * len(rr_only)  # an RR-only object opens with its first component
    heads, recorded_texts = oms.heads + [b"{"] * len(rr_only), oms.recorded_texts + no_oms
    delivered_keys, delivered_texts = [_DELIVERED] * len(oms.keys) + no_oms, oms.delivered_texts + no_oms
    rr_pieces = rr_texts[:paired] + [text[2:] for text in rr_texts[paired:]] + [b""] * len(oms_only)
    return _objects(
        len(starts),
        [
            [heads[i] for i in starts],
            [recorded_texts[i] for i in starts],
            [delivered_keys[i] for i in starts],
            [delivered_texts[i] for i in starts],
            [rr_pieces[i] for i in starts],
            b', "start": ',
            _number_texts([i + 1 for i in starts]),
            b', "end": ',
            _number_texts([*starts[1:], count]),
            b"}",
        ],
    )


#: A lumisection's RR statuses: every component's ``(status, comment, cause)``, components sorted.
_RrKey = tuple[tuple[str, str, str], ...]


def _rr_segments(
    statuses: Mapping[str, Sequence[StatusRange]], lumisections: int, *, first_wins: bool
) -> list[tuple[int, int, _RrKey, bytes]]:
    """Stretches ``(first index, index after, key, text)`` of lumisections ``1..lumisections`` where every
    component's status is constant; the text is the statuses in an object after other keys (``, "dt-dt": {...},
    ...``). Where ranges overlap, the first (``first_wins``, as :func:`rr_ranges` finds them) or the last (as
    :func:`rr_per_lumisection` does) covering a lumisection gives its status."""
    components = sorted(statuses)
    changes: dict[int, list[tuple[int, tuple[str, str, str]]]] = {}
    for index, component in enumerate(components):
        for position, value in _changes(statuses[component], lumisections, first_wins=first_wins):
            changes.setdefault(position, []).append((index, value))
    current = [_EMPTY_KEY] * len(components)
    segments: list[tuple[int, int, _RrKey, bytes]] = []
    encoded: dict[_RrKey, bytes] = {}
    for first, after in itertools.pairwise(sorted({0, lumisections, *changes})):
        for index, value in changes.get(first, ()):
            current[index] = value
        key = tuple(current)
        if key not in encoded:
            encoded[key] = "".join(map(_status_piece, components, key)).encode()
        segments.append((first, after, key, encoded[key]))
    return segments


def _changes(
    ranges: Sequence[StatusRange], lumisections: int, *, first_wins: bool
) -> list[tuple[int, tuple[str, str, str]]]:
    """Where one component's status may change: ``(index of the lumisection, its status from there on)``, in
    order (a later entry at the same index wins)."""
    if all(a.end < b.start for a, b in itertools.pairwise(ranges)):  # sorted and apart: read off the ranges
        out: list[tuple[int, tuple[str, str, str]]] = []
        for rng in ranges:
            if rng.start > lumisections:
                break
            out.append((rng.start - 1, rng.value))
            if rng.end < lumisections:
                out.append((rng.end, _EMPTY_KEY))
        return out
    per_ls = expand(ranges[::-1] if first_wins else ranges, lumisections)
    marks = sorted({b for rng in ranges for b in (0, rng.start - 1, rng.end) if b < lumisections})
    return [(m, _EMPTY_KEY if (covering := per_ls[m]) is None else covering.value) for m in marks]


@functools.lru_cache(maxsize=4096)
def _status_piece(component: str, value: tuple[str, str, str]) -> str:
    """``, "<component>": {"status": ..., "comment": ..., "cause": ...}`` as ``json.dumps`` writes it."""
    status = dict(zip(("status", "comment", "cause"), value, strict=True))
    return f", {json.dumps(component)}: {json.dumps(status)}"


def rr_ranges_json(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> bytes:
    """``json.dumps(rr_ranges(...)).encode()``, byte for byte, each distinct set of statuses encoded once."""
    if not statuses:
        return b"[]"
    if not {"start", "end"}.isdisjoint(statuses):
        return json.dumps(rr_ranges(statuses, lumisections)).encode()
    segments = _rr_segments(statuses, lumisections, first_wins=True)
    merged = coalesce((first, after - 1, (key, text)) for first, after, key, text in segments)
    return _objects(
        len(merged),
        [
            b"{",
            [text[2:] for _, _, (_, text) in merged],  # the first component opens the object: no ", "
            b', "start": ',
            _number_texts([first + 1 for first, _, _ in merged]),
            b', "end": ',
            _number_texts([last + 1 for _, last, _ in merged]),
            b"}",
        ],
    )
