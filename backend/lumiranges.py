"""Lumisection status ranges: the compact form the store keeps instead of one row per lumisection.

A component's statuses are a sorted list of non-overlapping inclusive :class:`StatusRange` s; lumisections
not covered are *EMPTY* (no value). Edits overlay a new range and merge equal neighbours.

>>> ranges = [StatusRange(1, 10, "GOOD")]
>>> [(r.start, r.end, r.status) for r in overlay(ranges, StatusRange(4, 5, "BAD", "HV trip"))]
[(1, 3, 'GOOD'), (4, 5, 'BAD'), (6, 10, 'GOOD')]
>>> summarize({"dt-dt": ranges}, lumisections=12)["dt-dt"]
{'EMPTY': 2, 'comments': [], 'causes': [], 'GOOD': 10}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from querylang.ranges import Range, coalesce

__all__ = ["EMPTY", "StatusRange", "expand", "merge_equal", "overlay", "summarize"]

#: The status of a lumisection no range covers.
EMPTY = "EMPTY"


@dataclass(frozen=True)
class StatusRange:
    """Lumisections ``start``..``end`` (inclusive, numbered from 1) of one component share one status."""

    start: int
    end: int
    status: str
    comment: str = ""
    cause: str = ""

    def __post_init__(self) -> None:
        Range(self.start, self.end)  # validates the bounds

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def value(self) -> tuple[str, str, str]:
        """``(status, comment, cause)``: what two neighbours must share to merge."""
        return self.status, self.comment, self.cause

    def with_bounds(self, start: int, end: int) -> StatusRange:
        return StatusRange(start, end, self.status, self.comment, self.cause)

    def with_status(self, status: str) -> StatusRange:
        """The same lumisections with another status (comment and cause dropped)."""
        return StatusRange(self.start, self.end, status)


def merge_equal(ranges: Iterable[StatusRange]) -> list[StatusRange]:
    """Merge adjacent ranges carrying the same value; the input must be sorted and non-overlapping."""
    valued = coalesce((rng.start, rng.end, rng.value) for rng in ranges)
    return [StatusRange(first, last, *value) for first, last, value in valued]


def overlay(ranges: Sequence[StatusRange], new: StatusRange) -> list[StatusRange]:
    """``ranges`` with ``new`` written over them (cutting what it covers), neighbours merged."""
    out: list[StatusRange] = []
    for rng in ranges:
        if rng.end < new.start or rng.start > new.end:
            out.append(rng)
            continue
        if rng.start < new.start:
            out.append(rng.with_bounds(rng.start, new.start - 1))
        if rng.end > new.end:
            out.append(rng.with_bounds(new.end + 1, rng.end))
    out.append(new)
    out.sort(key=lambda r: r.start)
    return merge_equal(out)


def expand(ranges: Sequence[StatusRange], lumisections: int) -> list[StatusRange | None]:
    """One entry per lumisection (index i is lumisection i+1); ``None`` where no range covers it."""
    per_ls: list[StatusRange | None] = [None] * lumisections
    for rng in ranges:
        last = min(rng.end, lumisections)
        per_ls[rng.start - 1 : last] = [rng] * max(0, last - rng.start + 1)
    return per_ls


def summarize(statuses: Mapping[str, Sequence[StatusRange]], lumisections: int) -> dict[str, dict[str, Any]]:
    """The triplet summary of one dataset, shaped like the service's: ``EMPTY`` (uncovered lumisections, always
    present, possibly 0), distinct ``comments`` and ``causes``, then a count per status that occurs.
    """
    summary: dict[str, dict[str, Any]] = {}
    for component, ranges in statuses.items():
        covered = sum(rng.length for rng in ranges)
        counts: dict[str, Any] = {EMPTY: lumisections - covered, "comments": [], "causes": []}
        for rng in ranges:
            counts[rng.status] = counts.get(rng.status, 0) + rng.length
        counts["comments"] = sorted({r.comment for r in ranges if r.comment})
        counts["causes"] = sorted({r.cause for r in ranges if r.cause})
        summary[component] = counts
    return summary
