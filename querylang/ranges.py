"""Inclusive lumisection ranges: the one :class:`Range` type and the set algebra on them, each operation linear.

A :class:`Range` is a validated ``(first, last)`` tuple (``1 <= first <= last``). A *normal* sequence of ranges is
sorted, without overlaps and without neighbours that touch: what :func:`merge` returns, and what
:func:`intersect`, :func:`subtract` and :func:`complement` take and return. Valued ranges (a status, the OMS bits
of a stretch of lumisections) are ``(first, last, value)`` triples; :func:`coalesce` joins equal neighbours.

>>> a = merge([(5, 9), (1, 3), (4, 4), (20, 21)])
>>> a
((1, 9), (20, 21))
>>> intersect(a, [(8, 20)]), subtract(a, [(2, 8)])
(((8, 9), (20, 20)), ((1, 1), (9, 9), (20, 21)))
>>> complement(a, 22), length(a), from_numbers([1, 2, 3, 7])
(((10, 19), (22, 22)), 11, ((1, 3), (7, 7)))
>>> coalesce([(1, 2, "GOOD"), (3, 5, "GOOD"), (6, 6, "BAD")])
[(1, 5, 'GOOD'), (6, 6, 'BAD')]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TypeVar

from querylang.errors import ArgumentError, ArgumentTypeError

__all__ = [
    "Range",
    "Ranges",
    "coalesce",
    "complement",
    "from_numbers",
    "from_values",
    "intersect",
    "length",
    "merge",
    "subtract",
]

V = TypeVar("V")


class Range(tuple[int, int]):
    """Lumisections ``first`` to ``last``, both included, numbered from 1: a ``(first, last)`` tuple, validated.

    >>> r = Range(3, 7)
    >>> r, r.first, r.last, r.length, r == (3, 7)
    ((3, 7), 3, 7, 5, True)
    >>> Range(7, 3)
    Traceback (most recent call last):
    ...
    querylang.errors.ArgumentError: a lumisection range needs 1 <= first <= last, got (7, 3)
    """

    __slots__ = ()

    def __new__(cls, first: int, last: int) -> Range:
        if type(first) is not int or type(last) is not int:
            raise ArgumentTypeError(f"a lumisection range needs two ints, got ({first!r}, {last!r})")
        if not 1 <= first <= last:
            raise ArgumentError(f"a lumisection range needs 1 <= first <= last, got ({first}, {last})")
        return _range(first, last)

    def __getnewargs__(self) -> tuple[int, int]:
        return self[0], self[1]

    @property
    def first(self) -> int:
        return self[0]

    @property
    def last(self) -> int:
        return self[1]

    @property
    def length(self) -> int:
        """How many lumisections the range holds."""
        return self[1] - self[0] + 1


#: A normal sequence of ranges (see the module docstring).
Ranges = tuple[Range, ...]


def _range(first: int, last: int) -> Range:
    """A :class:`Range` of bounds already known to be valid (the algebra's results)."""
    return tuple.__new__(Range, (first, last))


def _checked(pair: tuple[int, int]) -> Range:
    return pair if type(pair) is Range else Range(*pair)


def merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """The normal form of any ranges: sorted, overlapping and touching ones joined; each pair is validated.
    Linear on sorted input (``sorted`` is linear on runs), ``O(n log n)`` otherwise.

    >>> merge([(5, 6), (1, 2), (3, 3), (8, 9)])
    ((1, 3), (5, 6), (8, 9))
    """
    merged: list[Range] = []
    for first, last in sorted(_checked(pair) for pair in ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = _range(merged[-1][0], last)
        else:
            merged.append(_range(first, last))
    return tuple(merged)


def intersect(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> Ranges:
    """The lumisections in both normal sequences ``a`` and ``b``, in one pass over both.

    >>> intersect([(1, 5), (8, 12)], [(4, 9)])
    ((4, 5), (8, 9))
    """
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        first, last = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if first <= last:
            out.append(_range(first, last))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> Ranges:
    """The lumisections of normal sequence ``a`` not in normal sequence ``b``, in one pass over both.

    >>> subtract([(1, 10)], [(3, 4), (8, 20)])
    ((1, 2), (5, 7))
    """
    out: list[Range] = []
    j = 0
    for first, last in a:
        start = first
        while j < len(b) and b[j][1] < start:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= last:
            if b[k][0] > start:
                out.append(_range(start, b[k][0] - 1))
            start = max(start, b[k][1] + 1)
            k += 1
        if start <= last:
            out.append(_range(start, last))
    return tuple(out)


def complement(ranges: Sequence[tuple[int, int]], last: int) -> Ranges:
    """The lumisections ``1..last`` of a run that the normal sequence ``ranges`` does not hold.

    >>> complement([(2, 3), (6, 9)], 7), complement([], 2), complement([(1, 4)], 0)
    (((1, 1), (4, 5)), ((1, 2),), ())
    """
    return subtract(((1, last),), ranges) if last >= 1 else ()


def length(ranges: Iterable[tuple[int, int]]) -> int:
    """How many lumisections non-overlapping ``ranges`` hold.

    >>> length([(1, 3), (7, 7)])
    4
    """
    return sum(last - first + 1 for first, last in ranges)


def from_numbers(numbers: Iterable[int]) -> Ranges:
    """Lumisection numbers, in the order given, as ranges: each number that follows its predecessor by one joins
    its range (sorted input gives the normal form).

    >>> from_numbers([1, 2, 3, 7, 9, 10]), from_numbers([5, 6, 1, 2])
    (((1, 3), (7, 7), (9, 10)), ((5, 6), (1, 2)))
    """
    bounds: list[list[int]] = []
    for number in numbers:
        if bounds and bounds[-1][1] + 1 == number:
            bounds[-1][1] = number
        else:
            bounds.append([number, number])
    return tuple(Range(first, last) for first, last in bounds)


def coalesce(ranges: Iterable[tuple[int, int, V]]) -> list[tuple[int, int, V]]:
    """Valued ranges ``(first, last, value)`` with each one that starts right after its predecessor, with an equal
    value, joined to it (the input order is kept; nothing is sorted).

    >>> coalesce([(1, 1, "a"), (2, 2, "a"), (3, 3, "b"), (5, 6, "b")])
    [(1, 2, 'a'), (3, 3, 'b'), (5, 6, 'b')]
    """
    out: list[tuple[int, int, V]] = []
    for first, last, value in ranges:
        if out and out[-1][1] + 1 == first and out[-1][2] == value:
            out[-1] = (out[-1][0], last, value)
        else:
            out.append((first, last, value))
    return out


def from_values(values: Iterable[V]) -> list[tuple[int, int, V]]:
    """Per-lumisection values (lumisection ``k`` at index ``k - 1``) as coalesced ``(first, last, value)`` ranges.

    >>> from_values(["a", "a", "b", "a"])
    [(1, 2, 'a'), (3, 3, 'b'), (4, 4, 'a')]
    """
    out: list[tuple[int, int, V]] = []
    first = 1
    for value, group in itertools.groupby(values):  # equal neighbours compared in C: per-lumisection lists are long
        after = first + sum(1 for _ in group)
        out.append((first, after - 1, value))
        first = after
    return out
