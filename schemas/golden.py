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
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from querylang.errors import RunQLError
from querylang.jsontext import JsonTextError, loads_strict
from querylang.losses import js_stringify
from querylang.ranges import Range, Ranges, intersect, length, merge, subtract
from querylang.units import format_luminosity, luminosity_unit
from schemas.jsonportal import JsonPortalRow

__all__ = [
    "ClauseLoss",
    "GoldenJson",
    "LossAccounting",
    "LossReport",
    "LumiMask",
    "LumiMaskError",
    "Luminosity",
    "NamedRanges",
    "Range",
    "format_luminosity",
    "luminosity_unit",
]


#: The largest run or lumisection number (PostgreSQL ``integer``, as in the Run Registry).
MAX_NUMBER = 2**31 - 1
#: The largest lumi mask file read (official golden JSONs are well under 1 MB).
MAX_FILE_BYTES = 64 * 2**20


class LumiMaskError(RunQLError, ValueError):
    """A malformed lumi mask; ``path`` says where (``["315000"][1]``), e.g. a range with ``first > last``;
    ``source`` names the file it came from, if any."""

    def __init__(self, message: str, *, path: Sequence[str | int] = (), source: str | None = None) -> None:
        self.reason = message
        self.path = tuple(path)
        self.source = source
        where = "".join(f"[{_excerpt(p)}]" for p in self.path)
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}lumi mask{where}: {message}")


def _excerpt(value: object, size: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def _positive_int(value: object, what: str, path: Sequence[str | int]) -> int:
    """``value`` as an int in ``[1, MAX_NUMBER]``; ASCII decimal strings are accepted (JSON keys), bools and floats
    are not."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LumiMaskError(f"{what} must be an integer, got {_excerpt(value)}", path=path)
    if value < 1:
        raise LumiMaskError(f"{what} must be >= 1, got {_excerpt(value)}", path=path)
    if value > MAX_NUMBER:
        raise LumiMaskError(f"{what} must be <= {MAX_NUMBER}, got {_excerpt(value)}", path=path)
    return value


def _parse_range(item: object, path: Sequence[str | int]) -> Range:
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
        raise LumiMaskError(f"a range must be a [first, last] pair, got {item!r}", path=path)
    first = _positive_int(item[0], "first lumisection", path)
    last = _positive_int(item[1], "last lumisection", path)
    if first > last:
        raise LumiMaskError(f"range [{first}, {last}] has first > last", path=path)
    return Range(first, last)


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
    _runs: dict[int, Ranges]

    def __init__(self, ranges: Mapping[Any, Iterable[Any]] | None = None) -> None:
        if ranges is not None and not isinstance(ranges, Mapping):
            raise LumiMaskError(f"expected a mapping run -> ranges, got {type(ranges).__name__}")
        runs: dict[int, Ranges] = {}
        for key, items in (ranges or {}).items():
            run = _positive_int(key, "run number", (key,))
            if run in runs:
                raise LumiMaskError(f"run {run} appears more than once", path=(key,))
            if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
                raise LumiMaskError(f"expected a list of ranges, got {_excerpt(items)}", path=(key,))
            runs[run] = merge([_parse_range(item, (key, i)) for i, item in enumerate(items)])
        self._set(runs)

    def _set(self, runs: Mapping[int, Ranges]) -> None:
        object.__setattr__(self, "_runs", {run: runs[run] for run in sorted(runs) if runs[run]})

    @classmethod
    def _trusted(cls, runs: Mapping[int, Ranges]) -> LumiMask:
        """Build from already merged ranges (internal: skips validation)."""
        mask = cls.__new__(cls)
        mask._set(runs)
        return mask

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("LumiMask is immutable")

    # ---- reading and writing -----------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str | bytes) -> LumiMask:
        """Parse the CMS JSON form ``{"<run>": [[first, last], ...]}``; a run given twice is an error.

        >>> LumiMask.from_json('{"1": [[1, 2]], "1": [[5, 6]]}')
        Traceback (most recent call last):
        ...
        schemas.golden.LumiMaskError: lumi mask: key '1' appears more than once in one object
        """
        try:
            data = loads_strict(text)
        except JsonTextError as err:
            raise LumiMaskError(err.reason) from None
        if not isinstance(data, dict):
            raise LumiMaskError(f"expected a mapping run -> ranges, got {type(data).__name__}")
        return cls(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LumiMask:
        """Read a CMS golden JSON file (at most :data:`MAX_FILE_BYTES`); errors name the file."""
        source = os.fspath(path)
        with open(path, "rb") as handle:
            content = handle.read(MAX_FILE_BYTES + 1)
        try:
            if len(content) > MAX_FILE_BYTES:
                raise LumiMaskError(f"larger than {MAX_FILE_BYTES} bytes")
            return cls.from_json(content)
        except LumiMaskError as err:
            raise LumiMaskError(err.reason, path=err.path, source=source) from None

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
        return sum(length(ranges) for ranges in self._runs.values())

    def ranges(self, run: int) -> Ranges:
        """The merged ranges of ``run`` (empty if the run is not in the mask)."""
        return self._runs.get(run, ())

    def count(self, run: int) -> int:
        """Number of lumisections of ``run`` in the mask."""
        return length(self.ranges(run))

    def items(self) -> Iterator[tuple[int, Ranges]]:
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
            runs[run] = merge([*runs.get(run, ()), *ranges])
        return LumiMask._trusted(runs)

    def __and__(self, other: LumiMask) -> LumiMask:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return LumiMask._trusted(
            {run: intersect(ranges, other._runs[run]) for run, ranges in self._runs.items() if run in other._runs}
        )

    def __sub__(self, other: LumiMask) -> LumiMask:
        if not isinstance(other, LumiMask):
            return NotImplemented
        return LumiMask._trusted(
            {run: subtract(ranges, other._runs.get(run, ())) for run, ranges in self._runs.items()}
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
        collected: dict[int, list[tuple[int, int]]] = {}
        for mask in masks:
            for run, ranges in mask._runs.items():
                collected.setdefault(run, []).extend(ranges)
        return cls._trusted({run: merge(ranges) for run, ranges in collected.items()})

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


@dataclass(frozen=True)
class Luminosity:
    """Recorded and delivered luminosity: plain sums of the per-lumisection values, in their unit (µb⁻¹ in the
    demo data), like the service's row.

    >>> Luminosity(5.25e9, 6e9)
    Luminosity(recorded=5.25 /fb, delivered=6 /fb)
    """

    recorded: float = 0
    delivered: float = 0

    def __add__(self, other: Luminosity) -> Luminosity:
        return Luminosity(self.recorded + other.recorded, self.delivered + other.delivered)

    def __repr__(self) -> str:
        return f"Luminosity(recorded={format_luminosity(self.recorded)}, delivered={format_luminosity(self.delivered)})"

    def __str__(self) -> str:
        return f"recorded {format_luminosity(self.recorded)}, delivered {format_luminosity(self.delivered)}"


#: ``"<run>-<dataset>"`` → inclusive ``[first, last]`` ranges.
NamedRanges = Mapping[str, Sequence[Sequence[int]]]


@dataclass(frozen=True)
class LossAccounting:
    """The service's own figures of a golden JSON (``rr-protocol.md`` §8), under its field names and in its unit
    (plain sums of the per-lumisection values), from either engine.

    ``*_in_json``: the lumisections kept; ``total_*_lost``: those evaluated and removed (the anti-JSON);
    ``total_*_luminosity`` = in + lost; ``*_from_run_range``: every lumisection of the runs from
    ``min_run_number`` to ``max_run_number``. ``rules_flagged_false_quantity_luminosity``: per clause (its compact
    JSON), the recorded luminosity of the removed lumisections where it was false, whatever the others say;
    ``rules_flagged_false_combination_luminosity``: per set of clauses false together (compact JSON list), the
    recorded luminosity where exactly that set failed; ``runs_lumisections_responsible_for_rule``: the same keys →
    ``{"<run>-<dataset>": ranges}``.

    >>> a = LossAccounting(10, 12, 4, 5, 20, 25, {'{"var":"x"}': 4}, {'[{"var":"x"}]': 4},
    ...                    {'[{"var":"x"}]': {"7-/A/B/DQM": [[3, 4]]}})
    >>> a.total_recorded_luminosity, a.to_row()["total_delivered_luminosity"]
    (14, 17)
    """

    recorded_luminosity_in_json: float
    delivered_luminosity_in_json: float
    total_recorded_luminosity_lost: float
    total_delivered_luminosity_lost: float
    total_recorded_luminosity_from_run_range: float
    total_delivered_luminosity_from_run_range: float
    rules_flagged_false_quantity_luminosity: Mapping[str, float] = field(default_factory=dict)
    rules_flagged_false_combination_luminosity: Mapping[str, float] = field(default_factory=dict)
    runs_lumisections_responsible_for_rule: Mapping[str, NamedRanges] = field(default_factory=dict)

    @property
    def total_recorded_luminosity(self) -> float:
        return self.recorded_luminosity_in_json + self.total_recorded_luminosity_lost

    @property
    def total_delivered_luminosity(self) -> float:
        return self.delivered_luminosity_in_json + self.total_delivered_luminosity_lost

    @property
    def luminosity_in(self) -> Luminosity:
        return Luminosity(self.recorded_luminosity_in_json, self.delivered_luminosity_in_json)

    @property
    def luminosity_lost(self) -> Luminosity:
        return Luminosity(self.total_recorded_luminosity_lost, self.total_delivered_luminosity_lost)

    def to_row(self) -> dict[str, Any]:
        """The row's luminosity and loss fields, in the service's order."""
        row: dict[str, Any] = {
            "total_delivered_luminosity": self.total_delivered_luminosity,
            "total_recorded_luminosity": self.total_recorded_luminosity,
        }
        for item in fields(self):
            value = getattr(self, item.name)
            row[item.name] = _plain(value) if isinstance(value, Mapping) else value
        return row

    @classmethod
    def from_row(cls, row: JsonPortalRow) -> LossAccounting | None:
        """The figures of a finished row (``None`` while unfinished or when the service sent none)."""
        figures = {item.name: getattr(row, item.name) for item in fields(cls)}
        if not row.finished or any(value is None for value in figures.values()):
            return None
        figures["runs_lumisections_responsible_for_rule"] = {
            key: {name: [list(r) for r in ranges] for name, ranges in named.items()}
            for key, named in row.runs_lumisections_responsible_for_rule.items()
        }
        return cls(**figures)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class ClauseLoss:
    """One clause of the service's accounting: the removed lumisections where it was false (``false_*``, whatever
    the others say) and where it was the only false clause (``alone_*``); ``clause`` is its compact JSON."""

    clause: str
    false_lumisections: int
    false_recorded: float
    alone_lumisections: int
    alone_recorded: float


@dataclass(frozen=True)
class LossReport:
    """The friendly view of a :class:`LossAccounting`: per clause, most recorded luminosity lost first; then the
    lumisections blamed on several clauses together, what was kept and what was removed.

    >>> accounting = LossAccounting(90, 99, 10, 11, 100, 110,
    ...     {'{"var":"a"}': 10, '{"var":"b"}': 4}, {'[{"var":"a"}]': 6, '[{"var":"a"},{"var":"b"}]': 4},
    ...     {'[{"var":"a"}]': {"7-/A/B/DQM": [[1, 3]]}, '[{"var":"a"},{"var":"b"}]': {"7-/A/B/DQM": [[9, 9]]}})
    >>> print(LossReport.of(accounting, kept_lumisections=5).to_table())
    clause                   lumisections false  recorded false (/ub)  lumisections alone  recorded alone (/ub)
    {"var":"a"}                               4                    10                   3                     6
    {"var":"b"}                               1                     4                   0                     0
    (several clauses false)                   -                     -                   1                     4
    kept (golden JSON): 5 lumisections, recorded 90 /ub, delivered 99 /ub
    removed (anti-JSON): 4 lumisections, recorded 10 /ub, delivered 11 /ub
    luminosity: sums of the per-lumisection recorded/delivered values (µb⁻¹), shown in the unit that fits
    """

    clauses: tuple[ClauseLoss, ...]
    several_lumisections: int
    several_recorded: float
    kept_lumisections: int
    kept: Luminosity
    removed_lumisections: int
    removed: Luminosity

    @classmethod
    def of(cls, accounting: LossAccounting, *, kept_lumisections: int) -> LossReport:
        """Derive the report from the service's figures (lumisections from the responsible ranges)."""
        counts = {
            key: sum(length(_as_ranges(ranges)) for ranges in named.values())
            for key, named in accounting.runs_lumisections_responsible_for_rule.items()
        }
        false_counts: dict[str, int] = {}
        several = [0, 0.0]
        for key, recorded in accounting.rules_flagged_false_combination_luminosity.items():
            members = _members(key)
            for member in members:
                false_counts[member] = false_counts.get(member, 0) + counts.get(key, 0)
            if len(members) > 1:
                several = [several[0] + counts.get(key, 0), several[1] + recorded]
        combination = accounting.rules_flagged_false_combination_luminosity
        clauses = tuple(
            ClauseLoss(
                clause,
                false_counts.get(clause, 0),
                recorded,
                counts.get(f"[{clause}]", 0),
                combination.get(f"[{clause}]", 0),
            )
            for clause, recorded in sorted(
                accounting.rules_flagged_false_quantity_luminosity.items(), key=lambda kv: (-kv[1], kv[0])
            )
        )
        return cls(
            clauses=clauses,
            several_lumisections=int(several[0]),
            several_recorded=several[1],
            kept_lumisections=kept_lumisections,
            kept=accounting.luminosity_in,
            removed_lumisections=sum(counts.values()),
            removed=accounting.luminosity_lost,
        )

    def rows(self) -> list[tuple[str, int | None, float | None, int, float]]:
        """Table rows ``(clause, lumisections false, recorded false, lumisections alone, recorded alone)``, the
        row of lumisections blamed on several clauses last."""
        rows: list[tuple[str, int | None, float | None, int, float]] = [
            (c.clause, c.false_lumisections, float(c.false_recorded), c.alone_lumisections, float(c.alone_recorded))
            for c in self.clauses
        ]
        rows.append(("(several clauses false)", None, None, self.several_lumisections, float(self.several_recorded)))
        return rows

    def scaled(self) -> tuple[tuple[str, ...], list[tuple[str, int | None, float | None, int, float]]]:
        """The table's header and :meth:`rows` with luminosity in the one unit that fits them all (/ub to /fb)."""
        rows = self.rows()
        unit, factor = luminosity_unit(max([self.kept.recorded, *(r[2] or 0.0 for r in rows)]))
        header = ("clause", "lumisections false", f"recorded false ({unit})", "lumisections alone",
                  f"recorded alone ({unit})")  # fmt: skip
        return header, [(c, nf, None if rf is None else rf * factor, na, ra * factor) for c, nf, rf, na, ra in rows]

    def _totals(self) -> tuple[tuple[str, int, Luminosity], ...]:
        return (
            ("kept (golden JSON)", self.kept_lumisections, self.kept),
            ("removed (anti-JSON)", self.removed_lumisections, self.removed),
        )

    def _repr_html_(self) -> str:
        """The notebook display: :meth:`scaled` rows, then what was kept and removed; every clause escaped."""
        header, rows = self.scaled()
        totals = "".join(
            f"<p>{html.escape(label)}: {count:,} lumisections, {html.escape(str(lumi))}</p>"
            for label, count, lumi in self._totals()
        )
        return _html_table(header, rows, caption="Luminosity removed, per clause of the rule") + totals

    def to_table(self) -> str:
        """A plain-text table of :meth:`scaled` rows, then what was kept and removed."""
        lines = [_format_table(*self.scaled())]
        lines += [f"{label}: {count} lumisections, {lumi}" for label, count, lumi in self._totals()]
        lines.append(
            "luminosity: sums of the per-lumisection recorded/delivered values (µb⁻¹), shown in the unit that fits"
        )
        return "\n".join(lines)


def _members(key: str) -> list[str]:
    """The clauses of a combination key (compact JSON list), each as the service writes it."""
    try:
        clauses = json.loads(key)
    except json.JSONDecodeError:
        return [key]
    return [js_stringify(clause) for clause in clauses] if isinstance(clauses, list) else [key]


def _as_ranges(ranges: Sequence[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(first), int(last)) for first, last in ranges)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, caption: str) -> str:
    """A small HTML table; every cell is escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_html_cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    title = f"<caption>{html.escape(caption)}</caption>"
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_cell(index: int, value: object) -> str:
    text = html.escape(_cell(value))
    return f"<td><code>{text}</code></td>" if index == 0 else f"<td style='text-align:right'>{text}</td>"


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


def _by_dataset(named: Mapping[str, Sequence[Sequence[int]]]) -> dict[str, LumiMask]:
    """``{"<run>-<dataset>": ranges}`` → dataset name → mask."""
    per_dataset: dict[str, dict[int, list[tuple[int, int]]]] = {}
    for key, ranges in named.items():
        run, name = _split_dataset_key(key)
        per_dataset.setdefault(name, {}).setdefault(run, []).extend(_as_ranges(ranges))
    return {name: LumiMask(runs) for name, runs in sorted(per_dataset.items())}


def _named(by_dataset: Mapping[str, LumiMask]) -> dict[str, list[list[int]]]:
    """Dataset name → mask as ``{"<run>-<dataset>": ranges}``, ordered by run, then dataset name."""
    entries = [(run, name, ranges) for name, mask in by_dataset.items() for run, ranges in mask.items()]
    return {f"{run}-{name}": [list(r) for r in ranges] for run, name, ranges in sorted(entries)}


@dataclass(frozen=True)
class GoldenJson:
    """The result of a good-run-list rule, from either engine.

    ``mask`` is the golden JSON (when several datasets of one run match, their lumisections are united; the
    real service concatenates them instead, see ``server_row``); ``by_dataset`` keeps each dataset apart;
    ``anti_mask`` (``anti_by_dataset``) holds the evaluated lumisections that failed the rule. ``min_run_number``
    and ``max_run_number`` span the matching datasets. Luminosity is ``None`` when it was not computed;
    ``accounting`` holds the service's own loss figures (``None`` unless computed, or while the service has
    not finished them) and ``losses`` their friendly table. ``requests``: how many requests the local engine
    sent (listing pages and lumisection requests; ``None`` for the server engine).

    >>> g = GoldenJson(mask=LumiMask({315000: [(1, 40)]}),
    ...                by_dataset={"/PromptReco/Collisions2018A/DQM": LumiMask({315000: [(1, 40)]})})
    >>> g.run_count, g.lumisection_count, g.with_dataset_names()
    (1, 40, {'315000-/PromptReco/Collisions2018A/DQM': [[1, 40]]})
    """

    mask: LumiMask
    by_dataset: Mapping[str, LumiMask] = field(default_factory=dict)
    anti_mask: LumiMask = field(default_factory=LumiMask)
    anti_by_dataset: Mapping[str, LumiMask] = field(default_factory=dict)
    luminosity_in: Luminosity | None = None
    luminosity_out: Luminosity | None = None
    accounting: LossAccounting | None = None
    min_run_number: int | None = None
    max_run_number: int | None = None
    rule: Any = None
    dataset_name_filter: str | None = None
    engine: Literal["local", "server"] = "local"
    server_row: JsonPortalRow | None = None
    requests: int | None = None

    @property
    def run_count(self) -> int:
        return self.mask.run_count

    @property
    def lumisection_count(self) -> int:
        return self.mask.lumisection_count

    @property
    def runs(self) -> tuple[int, ...]:
        return self.mask.runs

    @property
    def requests_per_kept_lumisection(self) -> float | None:
        """:attr:`requests` per lumisection in the golden JSON (``None`` when unknown or nothing was kept).

        >>> GoldenJson(mask=LumiMask({315000: [(1, 40)]}), requests=4).requests_per_kept_lumisection
        0.1
        """
        if self.requests is None or not self.lumisection_count:
            return None
        return self.requests / self.lumisection_count

    @property
    def losses(self) -> LossReport | None:
        """The friendly loss table, derived from :attr:`accounting` (``None`` without it)."""
        if self.accounting is None:
            return None
        kept = sum(mask.lumisection_count for mask in self.by_dataset.values())
        return LossReport.of(self.accounting, kept_lumisections=kept)

    def __repr__(self) -> str:
        lumi = "" if self.luminosity_in is None else f", luminosity_in={self.luminosity_in!r}"
        return (
            f"GoldenJson(engine={self.engine!r}, dataset_name_filter={self.dataset_name_filter!r}, "
            f"runs={self.run_count}, lumisections={self.lumisection_count}{lumi})"
        )

    def _repr_html_(self) -> str:
        """The notebook display: what was kept and excluded, luminosity with units, and the loss report."""
        rows: list[tuple[str, object]] = [
            ("engine", self.engine),
            ("datasets", self.dataset_name_filter),
            ("kept (golden JSON)", f"{self.run_count:,} runs, {self.lumisection_count:,} lumisections"),
            ("excluded (anti-JSON)", f"{self.anti_mask.run_count:,} runs, {self.anti_mask.lumisection_count:,} ls"),
        ]
        for side, lumi in (("luminosity in", self.luminosity_in), ("luminosity lost", self.luminosity_out)):
            if lumi is not None:
                rows.append((side, str(lumi)))
        losses = self.losses
        return _html_table(("", ""), rows, caption="Golden JSON") + ("" if losses is None else losses._repr_html_())

    def with_dataset_names(self) -> dict[str, list[list[int]]]:
        """The per-dataset form with ``"<run>-<dataset>"`` keys, like the service's
        ``generated_json_with_dataset_names`` (ordered by run, then dataset name)."""
        return _named(self.by_dataset)

    def anti_with_dataset_names(self) -> dict[str, list[list[int]]]:
        """``generated_anti_json_with_dataset_names``: the anti-JSON per dataset."""
        return _named(self.anti_by_dataset)

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the golden JSON (the mask) as a CMS JSON file."""
        self.mask.to_file(path)

    def to_row(self) -> dict[str, Any]:
        """The service's json_portal row: its own row for ``engine="server"``, else the same fields built here.

        >>> g = GoldenJson(mask=LumiMask({315000: [(1, 40)]}), luminosity_in=Luminosity(1.5, 2.0),
        ...                min_run_number=315000, max_run_number=315002)
        >>> row = g.to_row()
        >>> row["generated_json"], row["max_run_number"], row["recorded_luminosity_in_json"]
        ({'315000': [[1, 40]]}, 315002, 1.5)
        """
        if self.server_row is not None:
            return self.server_row.to_wire()
        row: dict[str, Any] = {
            "dataset_name_filter": self.dataset_name_filter,
            "json_logic": self.rule,
            "generated_json": self.mask.to_dict(),
            "generated_json_with_dataset_names": self.with_dataset_names(),
            "generated_anti_json": self.anti_mask.to_dict(),
            "generated_anti_json_with_dataset_names": self.anti_with_dataset_names(),
            "min_run_number": self.min_run_number,
            "max_run_number": self.max_run_number,
        }
        if self.accounting is not None:
            row.update(self.accounting.to_row())
        else:
            for side, lumi in (
                ("{}_luminosity_in_json", self.luminosity_in),
                ("total_{}_luminosity_lost", self.luminosity_out),
            ):
                if lumi is not None:
                    row[side.format("recorded")], row[side.format("delivered")] = lumi.recorded, lumi.delivered
        return row

    def __getitem__(self, key: str) -> Any:
        """A field of :meth:`to_row`, so scripts ported from ``runregistry`` keep ``result["generated_json"]``."""
        return self.to_row()[key]

    @classmethod
    def from_server_row(cls, row: JsonPortalRow | Mapping[str, Any]) -> GoldenJson:
        """Wrap a json_portal row; the whole row stays available as ``server_row``. Luminosity in is
        ``*_luminosity_in_json``, out is ``total_*_luminosity_lost`` (``None`` while the row is unfinished).

        >>> g = GoldenJson.from_server_row({"generated_json": {"315000": [[1, 5], [3, 9]]},
        ...     "generated_json_with_dataset_names": {"315000-/A/B/DQM": [[1, 5]], "315000-/A/C/DQM": [[3, 9]]},
        ...     "dataset_name_filter": "/A/%/DQM", "recorded_luminosity_in_json": 7,
        ...     "delivered_luminosity_in_json": 8, "total_recorded_luminosity_lost": -1})
        >>> g.mask.to_dict(), sorted(g.by_dataset), g.luminosity_in, g.luminosity_out
        ({'315000': [[1, 9]]}, ['/A/B/DQM', '/A/C/DQM'], Luminosity(recorded=7 /ub, delivered=8 /ub), None)
        """
        if not isinstance(row, JsonPortalRow):
            row = JsonPortalRow.model_validate(row)
        return cls(
            mask=LumiMask(row.generated_json),
            by_dataset=_by_dataset(row.generated_json_with_dataset_names),
            anti_mask=LumiMask(row.generated_anti_json),
            anti_by_dataset=_by_dataset(row.generated_anti_json_with_dataset_names),
            luminosity_in=_pair(row.recorded_luminosity_in_json, row.delivered_luminosity_in_json),
            luminosity_out=_pair(row.total_recorded_luminosity_lost, row.total_delivered_luminosity_lost),
            accounting=LossAccounting.from_row(row),
            min_run_number=row.min_run_number,
            max_run_number=row.max_run_number,
            rule=_decode_rule(row.json_logic),
            dataset_name_filter=row.dataset_name_filter,
            engine="server",
            server_row=row,
        )


def _pair(recorded: float | None, delivered: float | None) -> Luminosity | None:
    """Recorded and delivered luminosity of a row, ``None`` when absent or not yet computed (−1)."""
    if recorded is None or delivered is None or recorded < 0 or delivered < 0:
        return None
    return Luminosity(recorded, delivered)


def _decode_rule(rule: object) -> Any:
    """The rule as data (a service that stored it as a JSON string gives it back parsed when it parses)."""
    if isinstance(rule, str):
        try:
            return json.loads(rule)
        except json.JSONDecodeError:
            return rule
    return rule
