"""Evaluate a planned golden-JSON rule on a run's lumisection *ranges*: once per constant segment.

A run's lumisections are cut wherever a value the residual reads can change (an RR status range of a component
it reads, an OMS range, a change of luminosity when it reads luminosity), so the residual is evaluated once per
segment instead of once per lumisection, with the same result.

The per-lumisection data object is the service's (``rr-protocol.md`` §8), built by :func:`lumisection_data`,
with the convention the embedded json_portal and the client share (:func:`expand_rr_ranges`): a run (dataset)
without any RR status range is never in a golden JSON; otherwise every lumisection ``1..n`` is evaluated, and
``lumisection.rr`` holds the components with a status there, ``EMPTY`` (no value) counting as absent (``null``).

Around the evaluation, what lets a client ask for less: :func:`rr_ranges_from_summary` and
:func:`oms_ranges_from_summary` turn a dataset's triplet summary and a run's DCS summary into ranges when what the
rule reads keeps one value over the run; :meth:`CompiledPlan.keeps_nothing` says when a run's OMS data cannot
change what is kept; :class:`CumulativeLuminosity` sums luminosity over the resulting ranges.

>>> from querylang.rules import plan_rule
>>> plan = plan_rule({"and": [{">=": [{"var": "run.oms.energy"}, 6000]},
...                           {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
...                           {"==": [{"var": "lumisection.oms.bpix_ready"}, True]}]})
>>> engine = compile_plan(plan)
>>> result = engine.evaluate(
...     RunContext(run_number=316000, oms={"energy": 6500}),
...     lumisection_count=10,
...     rr_ranges={"dt-dt": [{"status": "GOOD", "start": 1, "end": 6}, {"status": "BAD", "start": 7, "end": 10}]},
...     oms_ranges=[{"bpix_ready": False, "start": 1, "end": 2}, {"bpix_ready": True, "start": 3, "end": 10}],
... )
>>> result.kept, result.segments
(((3, 6),), 3)
>>> result.removed_alone            # per clause of the plan: the lumisections only that clause removed
((), ((7, 10),), ((1, 2),))
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from querylang.errors import RuleError
from querylang.jsonlogic import compile_predicate, js_number
from querylang.losses import Blame, UnaccountableError, combination_key, compile_blame
from querylang.ranges import Ranges, merge
from querylang.rules import Clause, RulePlan, rule_variables

__all__ = [
    "CompiledPlan",
    "CumulativeLuminosity",
    "LossTally",
    "RunContext",
    "RunEvaluation",
    "compile_plan",
    "expand_rr_ranges",
    "luminosity_value",
    "lumisection_data",
    "oms_ranges_from_summary",
    "plain_sum",
    "rr_ranges_from_summary",
]

_LUMINOSITY = ("recorded", "delivered")
_DCS_VALUES: Final[Mapping[str, bool | None]] = {"TRUE": True, "FALSE": False, "NULL": None, "EMPTY": None}


@dataclass(frozen=True)
class RunContext:
    """The run-level part of the data object: the run's OMS and RR attributes and its dataset."""

    run_number: int
    oms: Mapping[str, Any] = field(default_factory=dict)
    rr: Mapping[str, Any] = field(default_factory=dict)
    dataset_name: str = "online"
    dataset_attributes: Mapping[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        """The ``run`` and ``dataset`` keys of the data object (all a run-level clause reads)."""
        run = {"oms": dict(self.oms), "rr": dict(self.rr), "run_number": self.run_number}
        return {"run": run, "dataset": {"name": self.dataset_name, **self.dataset_attributes}}


def lumisection_data(
    context: RunContext, lumisection_number: int, oms: Mapping[str, Any], rr: Mapping[str, str]
) -> dict[str, Any]:
    """The object the service evaluates a rule on for one lumisection (``rr`` maps components to statuses).

    >>> lumisection_data(RunContext(1), 3, {"bpix_ready": True}, {"dt-dt": "GOOD"})["lumisection"]
    {'lumisection_number': 3, 'oms': {'bpix_ready': True}, 'rr': {'dt-dt': 'GOOD'}}
    """
    data = context.data()
    data["lumisection"] = {"lumisection_number": lumisection_number, "oms": dict(oms), "rr": dict(rr)}
    return data


def expand_rr_ranges(
    rr_ranges: Mapping[str, Sequence[Mapping[str, Any]]], lumisection_count: int
) -> list[dict[str, str] | None]:
    """``lumisection.rr`` of every lumisection (index ``k - 1``); ``None`` for all when there is no RR status.

    >>> expand_rr_ranges({"dt-dt": [{"status": "GOOD", "start": 2, "end": 2}],
    ...                   "csc-csc": [{"status": "BAD", "start": 2, "end": 3},
    ...                               {"status": "EMPTY", "start": 4, "end": 4}]}, 4)
    [{}, {'dt-dt': 'GOOD', 'csc-csc': 'BAD'}, {'csc-csc': 'BAD'}, {}]
    """
    if not rr_ranges:
        return [None] * lumisection_count
    columns = {
        c: _table(_checked_ranges(c, ranges, lumisection_count), lumisection_count, functools.partial(_status, c))
        for c, ranges in rr_ranges.items()
    }
    return [
        {c: column[k] for c, column in columns.items() if column[k] not in (None, "EMPTY")}
        for k in range(1, lumisection_count + 1)
    ]


#: ``(start, end, range)`` of ranges clipped to a run.
_Checked = list[tuple[int, int, Mapping[str, Any]]]


def _checked_ranges(name: str, ranges: Sequence[Mapping[str, Any]], count: int) -> _Checked:
    """``(start, end, range)`` of each range, clipped to the run; malformed ranges are errors."""
    checked = []
    for index, item in enumerate(ranges):
        start, end = item.get("start"), item.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 1 <= start <= end):
            raise RuleError("a lumisection range needs integer start <= end from 1", path=(name, index), value=item)
        if start <= count:
            checked.append((start, min(end, count), item))
    return checked


def rr_ranges_from_summary(
    summary: Mapping[str, Mapping[str, Any]], components: Iterable[str]
) -> tuple[int, dict[str, list[dict[str, Any]]]] | None:
    """The RR ranges of ``components`` told by a dataset's triplet summary (lumisections per status, per
    component), when each of them has one status over the whole run: ``(lumisection_count, rr_ranges)``, else
    ``None`` (fetch the ranges). A component the summary lacks has no status. The summary's other components
    appear with no range: evaluation reads only the plan's components, and they say the dataset has RR statuses.
    ``None`` too when the summary is empty (no status, no count) or is not one the service lists: its components
    disagree on the count (the service counts every lumisection of each, holes as ``EMPTY``) or one is no object
    of counts.

    >>> summary = {"dt-dt": {"GOOD": 5, "comments": []}, "csc-csc": {"GOOD": 2, "BAD": 3, "EMPTY": 0}}
    >>> rr_ranges_from_summary(summary, ["dt-dt"])
    (5, {'dt-dt': [{'status': 'GOOD', 'start': 1, 'end': 5}], 'csc-csc': []})
    >>> rr_ranges_from_summary(summary, ["dt-dt", "csc-csc"]) is None
    True
    """
    told = _constants(summary, [c for c in components if c in summary], agreeing=list(summary))
    if told is None:
        return None
    count, statuses = told
    ranges: dict[str, list[dict[str, Any]]] = {component: [] for component in summary}
    ranges.update({c: [{"status": status, "start": 1, "end": count}] for c, status in statuses.items()})
    return count, ranges


def _constants(
    summary: Mapping[str, Mapping[str, Any]], keys: Sequence[str], *, agreeing: Sequence[str]
) -> tuple[int, dict[str, str]] | None:
    """``(count, {key: the one value counted})`` when each of ``keys`` counts one value and they and the entries
    ``agreeing`` all count the same ``count >= 1`` lumisections, else ``None`` (also when an entry is no object
    of counts)."""
    counted = {}
    for key in [*keys, *agreeing]:
        if (counts := _counts(summary[key])) is None:
            return None
        counted[key] = counts
    totals = {sum(counts.values()) for counts in counted.values()}
    if len(totals) != 1 or (count := totals.pop()) < 1:
        return None
    constants = {}
    for key in keys:
        values = [value for value, n in counted[key].items() if n]
        if len(values) != 1:
            return None
        constants[key] = values[0]
    return count, constants


def _counts(values: object) -> dict[str, int] | None:
    """A summary entry's lumisection counts per value; ``None`` when it is no object of counts."""
    if not isinstance(values, Mapping):
        return None
    counts = {k: v for k, v in values.items() if type(v) is int and k not in ("comments", "causes")}
    return None if any(n < 0 for n in counts.values()) else counts


def oms_ranges_from_summary(
    summary: Mapping[str, Mapping[str, Any]], bits: Iterable[str]
) -> tuple[int, list[dict[str, Any]]] | None:
    """The OMS ranges of ``bits`` told by a run's DCS summary (per bit, lumisections ``TRUE``, ``FALSE``,
    ``NULL`` or ``EMPTY``: not covered by OMS), when each bit has one value over the whole run:
    ``(lumisection_count, oms_ranges)``, else ``None`` (fetch them).

    >>> summary = {"bpix_ready": {"TRUE": 8, "FALSE": 0, "NULL": 0, "EMPTY": 0},
    ...            "fpix_ready": {"TRUE": 3, "FALSE": 5, "NULL": 0, "EMPTY": 0}}
    >>> oms_ranges_from_summary(summary, ["bpix_ready"])
    (8, [{'bpix_ready': True, 'start': 1, 'end': 8}])
    >>> oms_ranges_from_summary(summary, ["bpix_ready", "fpix_ready"]) is None
    True
    """
    wanted = list(bits)
    agreeing = [] if wanted else list(summary)[:1]  # no bit read: the first entry gives the run's count
    told = _constants(summary, wanted, agreeing=agreeing) if all(bit in summary for bit in wanted) else None
    if told is None or not set(told[1].values()) <= set(_DCS_VALUES):
        return None
    count, constants = told
    if "EMPTY" in constants.values():  # no OMS range covers the run (then no bit has a value anywhere)
        return (count, []) if set(constants.values()) == {"EMPTY"} else None
    return count, [{**{bit: _DCS_VALUES[v] for bit, v in constants.items()}, "start": 1, "end": count}]


@dataclass(frozen=True)
class CumulativeLuminosity:
    """Running totals of a run's recorded and delivered luminosity: sums over lumisection ranges without a loop
    over lumisections. Values count as :func:`luminosity_value` says (missing or ``null``: 0), and a lumisection past
    the end as 0.

    Integer sums are exact in any order, but a float sum depends on it: :meth:`added_to` adds as the service does,
    one lumisection after another, whenever a float is involved (``values`` keeps the counted values of a run
    that has one).

    >>> lumi = CumulativeLuminosity.of([{"recorded": 5, "delivered": 6}, {"recorded": None, "delivered": 2},
    ...                                 {"recorded": 1, "delivered": 1}])
    >>> lumi.over([(1, 1), (3, 9)]), lumi.over([])
    ((6, 7), (0, 0))
    >>> CumulativeLuminosity.of_columns([0.1, 0.2, 0.3], [0, 0, 0]).added_to((0, 0), [(1, 3)])
    (0.6000000000000001, 0)
    """

    recorded: tuple[float, ...] = (0,)
    delivered: tuple[float, ...] = (0,)
    values: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    @classmethod
    def of(cls, luminosity: Sequence[Mapping[str, Any]]) -> CumulativeLuminosity:
        """From per-lumisection values (``luminosity[k - 1]`` holds lumisection k's ``recorded``/``delivered``);
        like the service, a value that is missing, not a number or negative counts as 0."""
        return cls.of_columns(*([item.get(key) for item in luminosity] for key in _LUMINOSITY))

    @classmethod
    def of_columns(cls, recorded: Iterable[Any], delivered: Iterable[Any]) -> CumulativeLuminosity:
        """From the columns of per-lumisection ``recorded`` and ``delivered`` values (index ``k - 1``:
        lumisection k), counted like :meth:`of`.

        >>> CumulativeLuminosity.of_columns([5, None, 1], [6, "2", -1]).total
        (6, 8)
        """
        counted = _counted(recorded), _counted(delivered)
        exact = all(set(map(type, column)) <= {int} for column in counted)
        return cls(_running(counted[0]), _running(counted[1]), None if exact else counted)

    @property
    def total(self) -> tuple[float, float]:
        """``(recorded, delivered)`` of the whole run."""
        return self.recorded[-1], self.delivered[-1]

    @property
    def exact(self) -> bool:
        """Whether every counted value is an integer (so sums are exact in any order)."""
        return self.values is None

    def over(self, ranges: Iterable[tuple[int, int]]) -> tuple[float, float]:
        """``(recorded, delivered)`` summed over inclusive lumisection ranges (assumed not to overlap) through the
        running totals: the service's sum when :attr:`exact`, else within rounding of it (see :meth:`added_to`)."""
        recorded: float = 0
        delivered: float = 0
        top = len(self.recorded) - 1
        for first, last in ranges:
            start, end = min(first - 1, top), min(last, top)
            recorded += self.recorded[end] - self.recorded[start]
            delivered += self.delivered[end] - self.delivered[start]
        return recorded, delivered

    def added_to(self, start: tuple[float, float], ranges: Iterable[tuple[int, int]]) -> tuple[float, float]:
        """``start`` plus the ``(recorded, delivered)`` of ``ranges`` (in increasing order), added the service's
        way: one lumisection after another; through the running totals when all are integers (then equal)."""
        if self.exact and type(start[0]) is int and type(start[1]) is int:
            recorded, delivered = self.over(ranges)
            return start[0] + recorded, start[1] + delivered
        totals = list(start)
        for first, last in ranges:
            for side in (0, 1):
                for value in self.lumisection_values(side, first, last):
                    totals[side] += value
        return totals[0], totals[1]

    def lumisection_values(self, side: int, first: int, last: int) -> Iterable[float]:
        """The counted values of lumisections ``first..last`` (0 past the end), recorded (``side`` 0) or
        delivered (1): kept, or the running totals' differences (exact for integers)."""
        end = max(first - 1, min(last, len(self.recorded) - 1))
        past_end = itertools.repeat(0, last - end)
        if self.values is not None:
            return itertools.chain(self.values[side][first - 1 : end], past_end)
        running = (self.recorded, self.delivered)[side]
        return itertools.chain(map(operator.sub, running[first : end + 1], running[first - 1 : end]), past_end)


@dataclass
class LossTally:
    """The service's three loss maps, summed as removed lumisections are blamed (:mod:`querylang.losses`):
    recorded luminosity per clause and per combination of clauses, and the combinations' ranges per
    ``"<run>-<dataset>"``.

    >>> tally = LossTally()
    >>> tally.add(('{"var":"a"}',), "7-/A/B/DQM", [(3, 4)], 10)
    >>> tally.add(('{"var":"a"}', '{"var":"b"}'), "7-/A/B/DQM", [(5, 5)], 2)
    >>> tally.add(('{"var":"a"}',), "7-/A/B/DQM", [(5, 6)], 1)
    >>> tally.quantity, tally.responsible_ranges()['[{"var":"a"}]']
    ({'{"var":"a"}': 13, '{"var":"b"}': 2}, {'7-/A/B/DQM': [[3, 6]]})
    """

    quantity: dict[str, float] = field(default_factory=dict)
    combination: dict[str, float] = field(default_factory=dict)
    responsible: dict[str, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)

    def add(self, blame: Blame, identifier: str, ranges: Iterable[tuple[int, int]], recorded: float) -> None:
        """Removed lumisections ``ranges`` of dataset ``identifier``, blamed on ``blame``, with their luminosity."""
        self.add_each(blame, identifier, ranges, (recorded,))

    def add_each(
        self, blame: Blame, identifier: str, ranges: Iterable[tuple[int, int]], recorded: Iterable[float]
    ) -> None:
        """:meth:`add` with the luminosity of each lumisection, added one after another as the service adds them
        (a float sum depends on its order).

        >>> tally = LossTally()
        >>> tally.add_each(('{"var":"a"}',), "7-/A/B/DQM", [(1, 3)], [0.1, 0.2, 0.3])
        >>> tally.quantity
        {'{"var":"a"}': 0.6000000000000001}
        """
        key = combination_key(blame)
        self.responsible.setdefault(key, {}).setdefault(identifier, []).extend(ranges)
        for value in recorded:
            self.combination[key] = self.combination.get(key, 0) + value
            for clause in blame:
                self.quantity[clause] = self.quantity.get(clause, 0) + value

    def responsible_ranges(self) -> dict[str, dict[str, list[list[int]]]]:
        """``runs_lumisections_responsible_for_rule``: merged ``[first, last]`` ranges."""
        return {
            key: {identifier: [list(r) for r in merge(ranges)] for identifier, ranges in named.items()}
            for key, named in self.responsible.items()
        }


@dataclass(frozen=True)
class RunEvaluation:
    """What a rule keeps of one run (and dataset), with the per-clause loss accounting.

    ``removed_alone[i]`` holds the lumisections that clause ``i`` of the plan (``plan.clauses[i]``) removed while
    every other clause accepted them; ``removed_by_several`` those that two or more clauses rejected.
    ``candidates`` are the evaluated lumisections: all of them, or none when the run has no RR status.
    With ``account=True``, ``blamed`` holds the service's own accounting of the removed lumisections
    (:mod:`querylang.losses`): each combination of blamed clauses with its ranges, in order of appearance;
    ``accountable`` is ``False`` where the service's accounting throws (``blamed`` is then empty).
    """

    run_number: int
    dataset_name: str
    candidates: Ranges
    kept: Ranges
    removed_alone: tuple[Ranges, ...]
    removed_by_several: Ranges
    segments: int
    blamed: tuple[tuple[Blame, Ranges], ...] = ()
    accountable: bool = True

    @property
    def golden_ranges(self) -> list[list[int]]:
        """``kept`` in golden-JSON form: ``[[first, last], ...]``."""
        return [[first, last] for first, last in self.kept]


class CompiledPlan:
    """A :class:`RulePlan` with every clause compiled once; evaluate it run after run."""

    def __init__(self, plan: RulePlan) -> None:
        self.plan = plan
        self._clauses: list[tuple[int, Callable[[Any], bool]]] = [
            (clause.index, compile_predicate(clause.rule)) for clause in plan.clauses
        ]
        self._run_level = [(i, test) for i, test in self._clauses if plan.clauses[i].level != "lumisection"]
        self._lumisection_level = [(i, test) for i, test in self._clauses if plan.clauses[i].level == "lumisection"]
        self._oms_free = [(i, test) for i, test in self._lumisection_level if not _reads_oms(plan.clauses[i])]
        self._per_lumisection = "lumisection.lumisection_number" in plan.variables
        self._blame = compile_blame(plan.rule)

    def fails_at_run_level(self, context: RunContext) -> bool:
        """Whether some run- or dataset-level clause fails for ``context``: every lumisection of the dataset is
        then removed, whatever its statuses and OMS values.

        >>> from querylang.rules import plan_rule
        >>> engine = compile_plan(plan_rule({"and": [{">=": [{"var": "run.oms.energy"}, 6000]},
        ...                                          {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]}))
        >>> engine.fails_at_run_level(RunContext(1, oms={"energy": 900})), engine.fails_at_run_level(
        ...     RunContext(1, oms={"energy": 6500}))
        (True, False)
        """
        base = context.data()
        return any(not test(base) for _, test in self._run_level)

    def keeps_nothing(
        self, context: RunContext, *, lumisection_count: int, rr_ranges: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> bool:
        """Whether the rule keeps no lumisection of the run *whatever its OMS values*: some run-level clause fails,
        or at every segment some clause reading no ``lumisection.oms`` value fails. Then the run's OMS data
        cannot change :attr:`RunEvaluation.kept` (only the loss accounting, which reads them).

        >>> from querylang.rules import plan_rule
        >>> engine = compile_plan(plan_rule({"and": [{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
        ...                                          {"var": "lumisection.oms.bpix_ready"}]}))
        >>> engine.keeps_nothing(RunContext(1), lumisection_count=4,
        ...                      rr_ranges={"dt-dt": [{"status": "BAD", "start": 1, "end": 4}]})
        True
        """
        if self.fails_at_run_level(context):
            return True
        base = context.data()
        for _, _, lumisection in self._segments(lumisection_count, rr_ranges, oms_ranges=(), luminosity=None):
            data = {**base, "lumisection": lumisection}
            if all(test(data) for _, test in self._oms_free):
                return False
        return True

    def evaluate(
        self,
        context: RunContext,
        *,
        lumisection_count: int,
        rr_ranges: Mapping[str, Sequence[Mapping[str, Any]]],
        oms_ranges: Sequence[Mapping[str, Any]] = (),
        luminosity: Sequence[Mapping[str, Any]] | None = None,
        account: bool = False,
    ) -> RunEvaluation:
        """Evaluate the rule on one run's ranges (``luminosity[k - 1]``: recorded/delivered of lumisection k; a
        lumisection past its end has none, as past the OMS ranges' end); ``account``: also blame the removed
        lumisections as the service does (:attr:`RunEvaluation.blamed`)."""
        if self.plan.needs_luminosity and luminosity is None:
            raise RuleError("the rule reads lumisection.oms.recorded/delivered: pass luminosity per lumisection")
        base = context.data()
        run_failures = [i for i, test in self._run_level if not test(base)]
        segments = self._segments(lumisection_count, rr_ranges, oms_ranges, luminosity)
        candidates: list[tuple[int, int]] = []
        kept: list[tuple[int, int]] = []
        several: list[tuple[int, int]] = []
        alone: list[list[tuple[int, int]]] = [[] for _ in self._clauses]
        blamed: dict[Blame, list[tuple[int, int]]] | None = {} if account else None
        for first, last, lumisection in segments:
            candidates.append((first, last))
            data = {**base, "lumisection": lumisection}
            failures = run_failures + [i for i, test in self._lumisection_level if not test(data)]
            if not failures:
                kept.append((first, last))
                continue
            (alone[failures[0]] if len(failures) == 1 else several).append((first, last))
            if blamed is not None:
                blamed = self._account(blamed, data, (first, last))
        return RunEvaluation(
            run_number=context.run_number,
            dataset_name=context.dataset_name,
            candidates=merge(candidates),
            kept=merge(kept),
            removed_alone=tuple(merge(ranges) for ranges in alone),
            removed_by_several=merge(several),
            segments=len(segments),
            blamed=tuple((blame, merge(ranges)) for blame, ranges in (blamed or {}).items()),
            accountable=not account or blamed is not None,
        )

    def _account(
        self, blamed: dict[Blame, list[tuple[int, int]]], data: Any, segment: tuple[int, int]
    ) -> dict[Blame, list[tuple[int, int]]] | None:
        """Add ``segment`` under the clauses the service blames for it; ``None`` once the service would throw."""
        try:
            blamed.setdefault(self._blame(data), []).append(segment)
        except UnaccountableError:
            return None
        return blamed

    def _segments(
        self,
        count: int,
        rr_ranges: Mapping[str, Sequence[Mapping[str, Any]]],
        oms_ranges: Sequence[Mapping[str, Any]],
        luminosity: Sequence[Mapping[str, Any]] | None,
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """``(first, last, lumisection)`` for each constant segment (none when the run has no RR status);
        ``lumisection`` is the ``lumisection`` key of the data object at ``first``."""
        if count <= 0 or not rr_ranges:
            return []
        statuses = {
            c: _checked_ranges(c, rr_ranges[c], count) for c in sorted(self.plan.rr_components & set(rr_ranges))
        }
        oms = _checked_ranges("oms_ranges", oms_ranges, count) if self.plan.oms_bits else []
        starts = self._boundaries(count, [*statuses.values(), oms], luminosity)
        status_at = {c: _table(checked, count, functools.partial(_status, c)) for c, checked in statuses.items()}
        oms_at = _table(oms, count, _oms_values) if self.plan.oms_bits else None
        segments: list[tuple[int, int, dict[str, Any]]] = []
        for first, after in zip(starts, [*starts[1:], count + 1], strict=True):
            rr = {c: at[first] for c, at in status_at.items() if at[first] not in (None, "EMPTY")}
            values = dict(oms_at[first] or {}) if oms_at else {}
            if self.plan.needs_luminosity and luminosity is not None:
                values.update(_luminosity_at(luminosity, first))
            segments.append((first, after - 1, {"lumisection_number": first, "oms": values, "rr": rr}))
        return segments

    def _boundaries(
        self, count: int, checked: Iterable[_Checked], luminosity: Sequence[Mapping[str, Any]] | None
    ) -> list[int]:
        """The first lumisection of every segment (where a range of ``checked`` starts or ends), sorted."""
        if self._per_lumisection:
            return list(range(1, count + 1))
        cuts = {1}
        for ranges in checked:
            for first, last, _ in ranges:
                cuts.update((first, last + 1))
        if self.plan.needs_luminosity and luminosity is not None:
            cuts.update(k for k in range(2, min(count, len(luminosity) + 1) + 1) if _changes(luminosity, k))
        return sorted(c for c in cuts if c <= count)


def compile_plan(plan: RulePlan) -> CompiledPlan:
    """Compile every clause of ``plan`` once (see :class:`CompiledPlan`)."""
    return CompiledPlan(plan)


def _table(checked: _Checked, count: int, value: Callable[[Mapping[str, Any]], Any]) -> list[Any]:
    """``table[k]``: ``value(range)`` of the last range covering lumisection ``k`` (``None`` if none)."""
    table: list[Any] = [None] * (count + 1)
    for first, last, item in checked:
        table[first : last + 1] = [value(item)] * (last - first + 1)
    return table


def _status(component: str, item: Mapping[str, Any]) -> str:
    status = item.get("status")
    if not isinstance(status, str):
        raise RuleError("an RR range needs a status string", path=(component,), value=item)
    return status


def _oms_values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: v for key, v in item.items() if key not in ("start", "end")}


def _reads_oms(clause: Clause) -> bool:
    return any(v.name.startswith("lumisection.oms.") for v in rule_variables(clause.node))


def luminosity_value(value: Any) -> float:
    """A per-lumisection luminosity as the service adds it up: JavaScript's ``+value || 0``, negative as 0 (so
    missing, ``null``, not a number or negative count as 0, and a numeric string or ``true`` as its number; an
    integral one as an ``int``, as the service's sums print it).

    >>> [luminosity_value(v) for v in (12, 0.5, -3, None, "7", " 2.5 ", True, "abc", [4], {})]
    [12, 0.5, 0, 0, 7, 2.5, 1, 0, 4, 0]
    """
    if type(value) in _NUMBERS:
        return value if value > 0 else 0
    if type(value) not in _COERCED:  # None, and a key the reply lacks (a decoder's sentinel)
        return 0
    number = js_number(value)
    if not number > 0:  # NaN too
        return 0
    return int(number) if number.is_integer() and number <= _MAX_SAFE_INTEGER else number


def _counted(values: Iterable[Any]) -> tuple[float, ...]:
    """:func:`luminosity_value` of each of ``values`` (numbers inlined: a year has 10^6 of them)."""
    return tuple(
        (v if v > 0 else 0) if type(v) in _NUMBERS else luminosity_value(v) if type(v) in _COERCED else 0
        for v in values
    )


def plain_sum(values: Iterable[float]) -> float:
    """``values`` added one after another from 0, as the service adds (``sum`` compensates floats from Python
    3.12 on; an ``int`` total stays an ``int``).

    >>> plain_sum([1, 2, 3]), plain_sum([0.1] * 10) == 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1
    (6, True)
    """
    total: float = 0
    for value in values:
        total += value
    return total


def _running(counted: Iterable[float]) -> tuple[float, ...]:
    """Running sums of ``counted`` from 0, added in order."""
    return tuple(itertools.accumulate(counted, initial=0))


_NUMBERS = (int, float)
_COERCED = (str, bool, list, tuple, dict)  # JSON values JavaScript's unary + turns into a number (or NaN)
_MAX_SAFE_INTEGER = 2**53 - 1


def _luminosity_at(luminosity: Sequence[Mapping[str, Any]], lumisection: int) -> dict[str, Any]:
    """Lumisection ``lumisection``'s ``recorded`` and ``delivered`` (those it has; none past the list's end)."""
    item = luminosity[lumisection - 1] if lumisection <= len(luminosity) else {}
    return {key: item[key] for key in _LUMINOSITY if key in item}


def _changes(luminosity: Sequence[Mapping[str, Any]], lumisection: int) -> bool:
    """Whether lumisection ``lumisection``'s luminosity differs from the one before (the first past the list's
    end has none)."""
    return _luminosity_at(luminosity, lumisection) != _luminosity_at(luminosity, lumisection - 1)
