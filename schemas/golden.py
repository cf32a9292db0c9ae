"""Golden JSONs: the lumi mask type with its set algebra, and the ``GoldenJson`` result of a good-run-list rule.

A lumi mask is a set of ``(run, lumisection)`` pairs, written the CMS way: run → sorted, merged, inclusive
``[first, last]`` ranges, with string run keys in JSON and int runs in Python (``rr-protocol.md`` §8).

>>> a = LumiMask({"315000": [[1, 10], [11, 20]], 315001: [[5, 5]]})
>>> a.to_dict()                                     # adjacent ranges merge
{'315000': [[1, 20]], '315001': [[5, 5]]}
>>> b = LumiMask.from_json('{"315000": [[15, 30]]}')
>>> (a & b).to_dict(), (a - b).to_dict()
({'315000': [[15, 20]]}, {'315000': [[1, 14]], '315001': [[5, 5]]})
>>> (315000, 25) in (a | b), 315001 in a, a.run_count, a.lumisection_count
(True, True, 2, 21)
>>> print(a.to_json())
{"315000": [[1, 20]],
 "315001": [[5, 5]]}
"""

from __future__ import annotations

import bisect
import html
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.jsonportal import JsonPortalRow

__all__ = [
    "ClauseLoss",
    "GoldenJson",
    "LossReport",
    "LumiMask",
    "LumiMaskError",
    "Luminosity",
    "Range",
    "format_luminosity",
    "luminosity_unit",
]

#: An inclusive lumisection range ``(first, last)``.
Range = tuple[int, int]
_Ranges = tuple[Range, ...]


class LumiMaskError(ValueError):
    """A malformed lumi mask; ``path`` says where (``["315000"][1]``), e.g. a range with ``first > last``."""

    def __init__(self, message: str, *, path: Sequence[str | int] = ()) -> None:
        self.path = tuple(path)
        where = "".join(f"[{p!r}]" for p in self.path)
        super().__init__(f"lumi mask{where}: {message}")


def _positive_int(value: object, what: str, path: Sequence[str | int]) -> int:
    """``value`` as an int ≥ 1; decimal strings are accepted (JSON keys), bools and floats are not."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LumiMaskError(f"{what} must be an integer, got {value!r}", path=path)
    if value < 1:
        raise LumiMaskError(f"{what} must be >= 1, got {value}", path=path)
    return value


def _parse_range(item: object, path: Sequence[str | int]) -> Range:
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
        raise LumiMaskError(f"a range must be a [first, last] pair, got {item!r}", path=path)
    first = _positive_int(item[0], "first lumisection", path)
    last = _positive_int(item[1], "last lumisection", path)
    if first > last:
        raise LumiMaskError(f"range [{first}, {last}] has first > last", path=path)
    return first, last


def merge_ranges(ranges: Iterable[Range]) -> _Ranges:
    """Sort and merge overlapping or adjacent inclusive ranges.

    >>> merge_ranges([(5, 9), (1, 3), (4, 4), (20, 21)])
    ((1, 9), (20, 21))
    """
    merged: list[Range] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return tuple(merged)


def _intersect(a: _Ranges, b: _Ranges) -> _Ranges:
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        first, last = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if first <= last:
            out.append((first, last))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _subtract(a: _Ranges, b: _Ranges) -> _Ranges:
    out: list[Range] = []
    j = 0
    for first, last in a:
        start = first
        while j < len(b) and b[j][1] < start:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= last:
            if b[k][0] > start:
                out.append((start, b[k][0] - 1))
            start = max(start, b[k][1] + 1)
            k += 1
        if start <= last:
            out.append((start, last))
    return tuple(out)


def _length(ranges: _Ranges) -> int:
    return sum(last - first + 1 for first, last in ranges)


class LumiMask:
    """An immutable set of ``(run, lumisection)`` pairs stored as merged inclusive ranges per run.

    Built from any mapping run → ranges (run keys as ints or decimal strings, ranges as pairs); validated on
    construction (:class:`LumiMaskError` names the bad entry). Runs whose range list is empty select nothing and
    are not kept. ``len`` and iteration are over ``(run, lumisection)`` pairs; use :meth:`items` for ranges.

    >>> m = LumiMask({1: [(3, 4)], 2: [(1, 1)]})
    >>> list(m), len(m), m.runs, m.ranges(1)
    ([(1, 3), (1, 4), (2, 1)], 3, (1, 2), ((3, 4),))
    >>> LumiMask({"1": [[4, 3]]})
    Traceback (most recent call last):
    ...
    schemas.golden.LumiMaskError: lumi mask['1'][0]: range [4, 3] has first > last
    """

    __slots__ = ("_runs",)
    _runs: dict[int, _Ranges]

    def __init__(self, ranges: Mapping[Any, Iterable[Any]] | None = None) -> None:
        if ranges is not None and not isinstance(ranges, Mapping):
            raise LumiMaskError(f"expected a mapping run -> ranges, got {type(ranges).__name__}")
        runs: dict[int, _Ranges] = {}
        for key, items in (ranges or {}).items():
            run = _positive_int(key, "run number", (key,))
            if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
                raise LumiMaskError(f"expected a list of ranges, got {items!r}", path=(key,))
            parsed = [_parse_range(item, (key, i)) for i, item in enumerate(items)]
            merged = merge_ranges([*runs.get(run, ()), *parsed])
            if merged:
                runs[run] = merged
        self._set(runs)

    def _set(self, runs: Mapping[int, _Ranges]) -> None:
        object.__setattr__(self, "_runs", {run: runs[run] for run in sorted(runs) if runs[run]})

    @classmethod
    def _trusted(cls, runs: Mapping[int, _Ranges]) -> LumiMask:
        """Build from already merged ranges (internal: skips validation)."""
        mask = cls.__new__(cls)
        mask._set(runs)
        return mask

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("LumiMask is immutable")

    # ---- reading and writing -----------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str | bytes) -> LumiMask:
        """Parse the CMS JSON form ``{"<run>": [[first, last], ...]}``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise LumiMaskError(f"not valid JSON: {err}") from err
        return cls(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LumiMask:
        """Read a CMS golden JSON file."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_json(handle.read())

    def to_dict(self) -> dict[str, list[list[int]]]:
        """The JSON-ready form: string run keys, ``[first, last]`` lists."""
        return {str(run): [[first, last] for first, last in ranges] for run, ranges in self._runs.items()}

    def to_json(self) -> str:
        """Compact CMS JSON, one run per line, like the official golden JSONs."""
        lines = [f"{json.dumps(str(run))}: {json.dumps(ranges)}" for run, ranges in self.to_dict().items()]
        return "{" + ",\n ".join(lines) + "}"

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` (plus a final newline) to ``path``."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json() + "\n")

    # ---- queries -----------------------------------------------------------------------------------------------
    @property
    def runs(self) -> tuple[int, ...]:
        """The run numbers, ascending."""
        return tuple(self._runs)

    @property
    def run_count(self) -> int:
        return len(self._runs)

    @property
    def lumisection_count(self) -> int:
        return sum(_length(ranges) for ranges in self._runs.values())

    def ranges(self, run: int) -> _Ranges:
        """The merged ranges of ``run`` (empty if the run is not in the mask)."""
        return self._runs.get(run, ())

    def count(self, run: int) -> int:
        """Number of lumisections of ``run`` in the mask."""
        return _length(self.ranges(run))

    def items(self) -> Iterator[tuple[int, _Ranges]]:
        """``(run, ranges)`` pairs in run order."""
        return iter(self._runs.items())

    def __contains__(self, item: object) -> bool:
        """``run in mask`` or ``(run, lumisection) in mask``."""
        if isinstance(item, tuple) and len(item) == 2:
            ranges = self._runs.get(item[0], ())
            at = bisect.bisect_right(ranges, (item[1], float("inf"))) - 1
            return at >= 0 and ranges[at][0] <= item[1] <= ranges[at][1]
        return item in self._runs

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for run, ranges in self._runs.items():
            for first, last in ranges:
                for lumisection in range(first, last + 1):
                    yield run, lumisection

    def __len__(self) -> int:
        return self.lumisection_count

    def __bool__(self) -> bool:
        return bool(self._runs)

    # ---- set algebra -------------------------------------------------------------------------------------------
    def __or__(self, other: LumiMask) -> LumiMask:
        if not isinstance(other, LumiMask):
            return NotImplemented
        runs = dict(self._runs)
        for run, ranges in other._runs.items():
            runs[run] = merge_ranges([*runs.get(run, ()), *ranges])
        return LumiMask._trusted(runs)

    def __and__(self, other: LumiMask) -> LumiMask:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return LumiMask._trusted(
            {run: _intersect(ranges, other._runs[run]) for run, ranges in self._runs.items() if run in other._runs}
        )

    def __sub__(self, other: LumiMask) -> LumiMask:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return LumiMask._trusted(
            {run: _subtract(ranges, other._runs.get(run, ())) for run, ranges in self._runs.items()}
        )

    def __xor__(self, other: LumiMask) -> LumiMask:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return (self - other) | (other - self)

    def __le__(self, other: LumiMask) -> bool:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return not (self - other)

    def __ge__(self, other: LumiMask) -> bool:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return not (other - self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return self._runs == other._runs

    def __hash__(self) -> int:
        return hash(tuple(self._runs.items()))

    def __repr__(self) -> str:
        return f"LumiMask({self.to_dict()!r})"

    @classmethod
    def union(cls, masks: Iterable[LumiMask]) -> LumiMask:
        """The union of many masks (merges once, unlike a chain of ``|``)."""
        collected: dict[int, list[Range]] = {}
        for mask in masks:
            for run, ranges in mask._runs.items():
                collected.setdefault(run, []).extend(ranges)
        return cls._trusted({run: merge_ranges(ranges) for run, ranges in collected.items()})

    @classmethod
    def from_lumisections(cls, pairs: Iterable[tuple[int, int]]) -> LumiMask:
        """Build from ``(run, lumisection)`` pairs, in any order.

        >>> LumiMask.from_lumisections([(7, 2), (7, 1), (7, 5)]).to_dict()
        {'7': [[1, 2], [5, 5]]}
        """
        collected: dict[Any, list[list[int]]] = {}
        for run, lumisection in pairs:
            collected.setdefault(run, []).append([lumisection, lumisection])
        return cls(collected)


def luminosity_unit(largest: float) -> tuple[str, float]:
    """The unit that fits values up to ``largest`` /pb, and the factor from /pb to it: /fb from 1000 /pb.

    >>> luminosity_unit(97919.8), luminosity_unit(12.5)
    (('/fb', 0.001), ('/pb', 1.0))
    """
    return ("/fb", 1e-3) if abs(largest) >= 1000 else ("/pb", 1.0)


def format_luminosity(value: float | None) -> str:
    """A luminosity in /pb printed with the unit that fits, four significant digits (``-`` for ``None``).

    >>> format_luminosity(97919.83918), format_luminosity(5.25), format_luminosity(None)
    ('97.92 /fb', '5.25 /pb', '-')
    """
    if value is None:
        return "-"
    unit, factor = luminosity_unit(value)
    return f"{value * factor:.4g} {unit}"


@dataclass(frozen=True)
class Luminosity:
    """Recorded and delivered luminosity in /pb, summed per lumisection; printed with the unit that fits.

    >>> Luminosity(97919.83918, 104502.4)
    Luminosity(recorded=97.92 /fb, delivered=104.5 /fb)
    >>> print(Luminosity(5.25, 6.0))
    recorded 5.25 /pb, delivered 6 /pb
    """

    recorded: float = 0.0
    delivered: float = 0.0

    def __add__(self, other: Luminosity) -> Luminosity:
        return Luminosity(self.recorded + other.recorded, self.delivered + other.delivered)

    def __repr__(self) -> str:
        return f"Luminosity(recorded={format_luminosity(self.recorded)}, delivered={format_luminosity(self.delivered)})"

    def __str__(self) -> str:
        return f"recorded {format_luminosity(self.recorded)}, delivered {format_luminosity(self.delivered)}"


@dataclass(frozen=True)
class ClauseLoss:
    """What one top-level clause of the rule removed *on its own* (every other clause was true there)."""

    index: int
    clause: Any
    lumisections: int
    luminosity: Luminosity | None = None

    @property
    def label(self) -> str:
        """The clause as compact JSON, for tables and plots."""
        return json.dumps(self.clause, separators=(",", ":"))


@dataclass(frozen=True)
class LossReport:
    """Per-clause losses of an ``and`` rule over the lumisections it was evaluated on (``universe``).

    ``clauses[i]`` counts the lumisections where clause ``i`` alone was false; ``several`` those where two or more
    clauses were false. ``universe`` counts every evaluated lumisection of datasets with RR statuses, ``kept``
    those in the golden JSON, so ``kept + sum(alone) + several == universe``. ``uncertified`` counts the
    lumisections of datasets without any RR status (never in a golden JSON, whatever the rule says).
    """

    clauses: tuple[ClauseLoss, ...]
    several_lumisections: int
    universe_lumisections: int
    kept_lumisections: int
    several_luminosity: Luminosity | None = None
    universe_luminosity: Luminosity | None = None
    uncertified_lumisections: int = 0
    uncertified_luminosity: Luminosity | None = None

    def rows(self) -> list[tuple[str, int, float | None, float | None]]:
        """Table rows ``(clause, lumisections, recorded, delivered)``, the "several" row last."""
        rows = [(c.label, c.lumisections, _rec(c.luminosity), _deliv(c.luminosity)) for c in self.clauses]
        rows.append(
            (
                "(removed by several clauses)",
                self.several_lumisections,
                _rec(self.several_luminosity),
                _deliv(self.several_luminosity),
            )
        )
        return rows

    def table_rows(self) -> list[tuple[str, int, float | None, float | None]]:
        """:meth:`rows` followed by the kept and evaluated totals (and the uncertified ones, when any)."""
        kept_lumi = None
        if self.universe_luminosity is not None and self.several_luminosity is not None:
            lost = self.several_luminosity
            for c in self.clauses:
                lost = lost + (c.luminosity or Luminosity())
            kept_lumi = Luminosity(
                self.universe_luminosity.recorded - lost.recorded, self.universe_luminosity.delivered - lost.delivered
            )
        rows = [
            *self.rows(),
            ("(kept)", self.kept_lumisections, _rec(kept_lumi), _deliv(kept_lumi)),
            (
                "(evaluated)",
                self.universe_lumisections,
                _rec(self.universe_luminosity),
                _deliv(self.universe_luminosity),
            ),
        ]
        if self.uncertified_lumisections:
            uncertified = self.uncertified_luminosity
            rows.append(
                ("(no RR statuses, never kept)", self.uncertified_lumisections, _rec(uncertified), _deliv(uncertified))
            )
        return rows

    def _unit(self) -> tuple[str, float] | None:
        values = [abs(v) for row in self.table_rows() for v in row[2:] if v is not None]
        return luminosity_unit(max(values)) if values else None

    def to_table(self) -> str:
        """A plain-text table of :meth:`table_rows`; luminosity in the unit that fits, named on the last line.

        >>> report = LossReport((ClauseLoss(0, {"==": [1, 1]}, 3),), 2, 10, 5)
        >>> print(report.to_table())
        clause                        lumisections  recorded  delivered
        {"==":[1,1]}                             3         -          -
        (removed by several clauses)             2         -          -
        (kept)                                   5         -          -
        (evaluated)                             10         -          -
        """
        unit = self._unit()
        factor = 1.0 if unit is None else unit[1]
        rows = [(c, n, _scaled(r, factor), _scaled(d, factor)) for c, n, r, d in self.table_rows()]
        table = _format_table(("clause", "lumisections", "recorded", "delivered"), rows)
        return table if unit is None else f"{table}\n(luminosity in {unit[0]})"

    def _repr_html_(self) -> str:
        """The notebook display: the table of :meth:`to_table`, every clause escaped."""
        unit = self._unit()
        factor = 1.0 if unit is None else unit[1]
        suffix = "" if unit is None else f" ({unit[0]})"
        header = ("clause", "lumisections", f"recorded{suffix}", f"delivered{suffix}")
        rows = [(c, n, _scaled(r, factor), _scaled(d, factor)) for c, n, r, d in self.table_rows()]
        return _html_table(header, rows, caption="Lumisections and luminosity removed by each clause alone")


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _html_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, caption: str) -> str:
    """A small HTML table; every cell is escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td><code>{html.escape(_cell(v))}</code></td>"
            if i == 0
            else f"<td style='text-align:right'>{html.escape(_cell(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _rec(lumi: Luminosity | None) -> float | None:
    return None if lumi is None else lumi.recorded


def _deliv(lumi: Luminosity | None) -> float | None:
    return None if lumi is None else lumi.delivered


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(header), *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def _split_dataset_key(key: str) -> tuple[int, str]:
    """``"315000-/PromptReco/Collisions2018A/DQM"`` → ``(315000, "/PromptReco/Collisions2018A/DQM")``."""
    run, sep, name = key.partition("-")
    if not sep or not run.isdigit() or not name:
        raise LumiMaskError(f"expected a '<run>-<dataset>' key, got {key!r}", path=(key,))
    return int(run), name


@dataclass(frozen=True)
class GoldenJson:
    """The result of a good-run-list rule, from either engine.

    ``mask`` is the golden JSON (when several datasets of one run match, their lumisections are united; the
    real service concatenates them instead, see ``server_row``); ``by_dataset`` keeps each dataset apart;
    ``anti_mask`` holds the evaluated lumisections that failed the rule. Luminosity is ``None`` when it was not
    computed; ``losses`` (the per-clause loss report) is ``None`` unless the local engine was asked for it.

    >>> g = GoldenJson(mask=LumiMask({315000: [(1, 40)]}),
    ...                by_dataset={"/PromptReco/Collisions2018A/DQM": LumiMask({315000: [(1, 40)]})})
    >>> g.run_count, g.lumisection_count, g.with_dataset_names()
    (1, 40, {'315000-/PromptReco/Collisions2018A/DQM': [[1, 40]]})
    """

    mask: LumiMask
    by_dataset: Mapping[str, LumiMask] = field(default_factory=dict)
    anti_mask: LumiMask = field(default_factory=LumiMask)
    luminosity_in: Luminosity | None = None
    luminosity_out: Luminosity | None = None
    losses: LossReport | None = None
    rule: Any = None
    dataset_name_filter: str | None = None
    engine: Literal["local", "server"] = "local"
    server_row: JsonPortalRow | None = None

    @property
    def run_count(self) -> int:
        return self.mask.run_count

    @property
    def lumisection_count(self) -> int:
        return self.mask.lumisection_count

    @property
    def runs(self) -> tuple[int, ...]:
        return self.mask.runs

    def with_dataset_names(self) -> dict[str, list[list[int]]]:
        """The per-dataset form with ``"<run>-<dataset>"`` keys, like the service's
        ``generated_json_with_dataset_names`` (ordered by run, then dataset name)."""
        entries = [(run, name, ranges) for name, mask in self.by_dataset.items() for run, ranges in mask.items()]
        return {f"{run}-{name}": [list(r) for r in ranges] for run, name, ranges in sorted(entries)}

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the golden JSON (the mask) as a CMS JSON file."""
        self.mask.to_file(path)

    def to_row(self) -> dict[str, Any]:
        """The service's json_portal row: its own row for ``engine="server"``, else the same fields built here.

        >>> g = GoldenJson(mask=LumiMask({315000: [(1, 40)]}), luminosity_in=Luminosity(1.5, 2.0))
        >>> row = g.to_row()
        >>> row["generated_json"], row["min_run_number"], row["total_recorded_luminosity"]
        ({'315000': [[1, 40]]}, 315000, 1.5)
        """
        if self.server_row is not None:
            return self.server_row.to_wire()
        runs = self.mask.runs
        row: dict[str, Any] = {
            "json_logic": None if self.rule is None else json.dumps(self.rule),
            "dataset_name_filter": self.dataset_name_filter,
            "generated_json": self.mask.to_dict(),
            "generated_json_with_dataset_names": self.with_dataset_names(),
            "generated_anti_json": self.anti_mask.to_dict(),
            "min_run_number": min(runs) if runs else None,
            "max_run_number": max(runs) if runs else None,
        }
        for prefix, lumi in (("", self.luminosity_in), ("anti_", self.luminosity_out)):
            if lumi is not None:
                row[f"{prefix}total_recorded_luminosity"] = lumi.recorded
                row[f"{prefix}total_delivered_luminosity"] = lumi.delivered
        return row

    def __repr__(self) -> str:
        lumi = "" if self.luminosity_in is None else f", luminosity_in={self.luminosity_in!r}"
        losses = "" if self.losses is None else f", losses=<{len(self.losses.clauses)} clauses>"
        return (
            f"GoldenJson(engine={self.engine!r}, dataset_name_filter={self.dataset_name_filter!r}, "
            f"runs={self.run_count}, lumisections={self.lumisection_count}{lumi}{losses})"
        )

    def _repr_html_(self) -> str:
        """The notebook display: what was kept and excluded, luminosity with units, and the loss report."""
        rows: list[tuple[str, object]] = [
            ("engine", self.engine),
            ("datasets", self.dataset_name_filter),
            ("kept (golden JSON)", f"{self.run_count:,} runs, {self.lumisection_count:,} lumisections"),
            ("excluded (anti-JSON)", f"{self.anti_mask.run_count:,} runs, {self.anti_mask.lumisection_count:,} ls"),
        ]
        for side, lumi in (("luminosity in", self.luminosity_in), ("luminosity out", self.luminosity_out)):
            if lumi is not None:
                rows.append((side, str(lumi)))
        summary = _html_table(("", ""), rows, caption="Golden JSON")
        return summary + ("" if self.losses is None else self.losses._repr_html_())

    def __getitem__(self, key: str) -> Any:
        """A field of :meth:`to_row`, so scripts ported from ``runregistry`` keep ``result["generated_json"]``."""
        return self.to_row()[key]

    @classmethod
    def from_server_row(cls, row: JsonPortalRow | Mapping[str, Any]) -> GoldenJson:
        """Wrap a finished json_portal row; the whole row stays available as ``server_row``.

        >>> g = GoldenJson.from_server_row({"generated_json": {"315000": [[1, 5], [3, 9]]},
        ...     "generated_json_with_dataset_names": {"315000-/A/B/DQM": [[1, 5]], "315000-/A/C/DQM": [[3, 9]]},
        ...     "dataset_name_filter": "/A/%/DQM"})
        >>> g.mask.to_dict(), sorted(g.by_dataset), g.server_row.dataset_name_filter
        ({'315000': [[1, 9]]}, ['/A/B/DQM', '/A/C/DQM'], '/A/%/DQM')
        """
        if not isinstance(row, JsonPortalRow):
            row = JsonPortalRow.model_validate(row)
        per_dataset: dict[str, dict[int, list[Range]]] = {}
        for key, ranges in row.generated_json_with_dataset_names.items():
            run, name = _split_dataset_key(key)
            per_dataset.setdefault(name, {}).setdefault(run, []).extend(ranges)
        extra = row.model_extra or {}
        return cls(
            mask=LumiMask(row.generated_json),
            by_dataset={name: LumiMask(runs) for name, runs in sorted(per_dataset.items())},
            anti_mask=LumiMask(row.generated_anti_json),
            luminosity_in=_row_luminosity(extra, "in"),
            luminosity_out=_row_luminosity(extra, "out"),
            rule=_decode_rule(row.json_logic),
            dataset_name_filter=row.dataset_name_filter,
            engine="server",
            server_row=row,
        )


def _row_luminosity(extra: Mapping[str, Any], side: Literal["in", "out"]) -> Luminosity | None:
    """Luminosity totals of a json_portal row (``total_recorded_luminosity`` … ``anti_``), when present."""
    names = {
        "in": ("total_recorded_luminosity", "total_delivered_luminosity"),
        "out": ("anti_total_recorded_luminosity", "anti_total_delivered_luminosity"),
    }[side]
    recorded, delivered = (extra.get(name) for name in names)
    if recorded is None and delivered is None:
        return None
    return Luminosity(float(recorded or 0.0), float(delivered or 0.0))


def _decode_rule(rule: object) -> Any:
    """The service stores the rule as a JSON string; give it back as data when it parses."""
    if isinstance(rule, str):
        try:
            return json.loads(rule)
        except json.JSONDecodeError:
            return rule
    return rule
