"""Per-lumisection OMS replies (``/lumisections/oms_lumisections``) decoded into the few columns an engine reads.

A year of these replies is hundreds of megabytes: every OMS bit repeated per lumisection (about 875 bytes each).
The golden engine reads two or three keys of each object (the bits its rule reads, ``recorded`` and
``delivered``), so :class:`OmsColumnDecoder` decodes the bytes with msgspec into a struct holding only those keys
(the other keys are skipped by its C parser, no dict per lumisection) and hands them over as columns.

The values are exactly those of ``orjson.loads`` (what the engine decoded before, and what json-logic sees:
bools, ``null``, ints and floats apart, strings). A body the fast path cannot vouch for yields ``None`` from
:meth:`OmsColumnDecoder.decode`: not UTF-8, not a list of objects, a value that is no JSON scalar or an integer
beyond 64 bits, a nested value (even under a key it skips), not JSON at all. The caller then decodes it with
orjson and :func:`columns_of` (which also gives the error its message). One leniency: a number literal beyond
the double range (``1e400``) under a key it skips is not parsed, so the reply is read, where orjson refuses it
whole (checking every number would cost more than the decoding; the values read are unaffected). A key an
object lacks is :data:`ABSENT` in its column, which is not ``None`` (``null``).

>>> decoder = OmsColumnDecoder(["bpix_ready", "recorded"])
>>> columns = decoder.decode(b'[{"bpix_ready": true, "recorded": 1.5, "cms_active": true}, {"recorded": null}]')
>>> columns.count, columns["bpix_ready"], columns["recorded"]
(2, [True, UNSET], [1.5, None])
>>> columns == columns_of([{"bpix_ready": True, "recorded": 1.5}, {"recorded": None}], ["bpix_ready", "recorded"])
True
>>> decoder.decode(b'{"err": "no such run"}') is None  # not a list of objects: the caller's slow path says why
True
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec
import numpy as np

from querylang.ranges import from_values

__all__ = ["ABSENT", "OmsColumnDecoder", "OmsColumns", "columns_of"]

#: A key missing from a lumisection's object (``lumisection.oms.<key>`` is then missing, not ``null``); it is
#: msgspec's ``UNSET``.
ABSENT: Final = msgspec.UNSET

#: JSON scalars as orjson decodes them; anything else (a list, an object, an integer orjson turns into a float)
#: fails the struct's validation and so takes the slow path.
_Scalar = None | bool | Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | float | str


@dataclass(frozen=True)
class OmsColumns:
    """A run's per-lumisection values of some keys: ``self[key][k - 1]`` is lumisection k's (:data:`ABSENT`
    where its object lacks the key); ``count`` lumisections."""

    count: int
    columns: Mapping[str, Sequence[Any]]

    def __getitem__(self, key: str) -> Sequence[Any]:
        return self.columns[key]

    def ranges(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """The lumisections cut into ranges where ``keys`` keep their values (compared in C, one pass); a key an
        object lacks stays absent from its range.

        >>> columns_of([{"a": 1}, {"a": 1}, {}, {"a": None}], ["a"]).ranges(["a"])
        [{'a': 1, 'start': 1, 'end': 2}, {'start': 3, 'end': 3}, {'a': None, 'start': 4, 'end': 4}]
        """
        return [
            {**_present(keys, values), "start": first, "end": last}
            for first, last, values in from_values(self._rows(keys))
        ]

    def objects(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """Each lumisection's object reduced to ``keys`` (those it has).

        >>> columns_of([{"a": 1, "b": 2}, {"b": None}], ["a", "b"]).objects(["a"])
        [{'a': 1}, {}]
        """
        return [_present(keys, values) for values in self._rows(keys)]

    def _rows(self, keys: Sequence[str]) -> Iterable[tuple[Any, ...]]:
        if not keys:
            return itertools.repeat((), self.count)
        return zip(*(self.columns[key] for key in keys), strict=True)


def _present(keys: Sequence[str], values: Iterable[Any]) -> dict[str, Any]:
    return {key: value for key, value in zip(keys, values, strict=True) if value is not ABSENT}


def columns_of(lumisections: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> OmsColumns:
    """The columns of ``keys`` of already decoded per-lumisection objects (the reference the decoder matches).

    >>> columns_of([{"a": 1}, {}], ["a"]).columns
    {'a': [1, UNSET]}
    """
    return OmsColumns(len(lumisections), {key: [item.get(key, ABSENT) for item in lumisections] for key in keys})


class OmsColumnDecoder:
    """Decodes per-lumisection OMS replies into the columns of ``keys`` (see the module doc)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(sorted(set(keys)))
        fields = [f"f{index}" for index in range(len(self.keys))]  # any key, even one that is no identifier
        struct = msgspec.defstruct(
            "OmsLumisection",
            [(name, _Scalar, ABSENT) for name in fields],
            rename=dict(zip(fields, self.keys, strict=True)),
            gc=False,  # scalars only: no reference cycles, and a million objects the collector never scans
        )
        self._fields = fields
        self._decoder = msgspec.json.Decoder(list[struct] | None)  # type: ignore[valid-type]

    def decode(self, body: bytes) -> OmsColumns | None:
        """The columns, or ``None`` where only orjson can tell (see the module doc); ``null`` is no lumisection."""
        if not (body.isascii() or _is_utf8(body)):  # msgspec does not check the UTF-8 of the keys it skips
            return None
        try:
            items = self._decoder.decode(body) or []
        except (msgspec.MsgspecError, RecursionError):
            return None
        if not _flat(body, len(items)):
            return None
        fields = zip(self.keys, self._fields, strict=True)
        return OmsColumns(len(items), {key: list(map(operator.attrgetter(name), items)) for key, name in fields})


def _flat(body: bytes, objects: int) -> bool:
    """Whether the brackets of a decoded reply are only its list's and its ``objects`` objects' (so no value is
    nested at all, and orjson's limit of 1,024 levels, which msgspec's skipping does not keep, cannot be reached);
    a bracket inside a string also says no. Two vectorized scans, a small fraction of the decoding's time."""
    first = body.find(b"[")
    if body.find(b"[", first + 1) != -1:
        return False
    return int(np.count_nonzero(np.frombuffer(body, dtype=np.uint8) == ord("{"))) == objects


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True
