"""The local golden-JSON engine: the service's json_portal answer, computed on the client from lumisection ranges.

Steps (one sans-I/O operation, so the same code runs under ``RunRegistry`` and ``AsyncRunRegistry``):

1. the rule is checked and planned (:func:`querylang.rules.plan_rule`): an invalid rule raises
   :class:`querylang.RuleError` before any request, and so does an invalid dataset pattern (``FilterError``);
2. candidate datasets are listed once, with the rule's run/dataset-level prefilter and the pattern's ``like``
   prefilter pushed down to ``/datasets_filtered_ordered`` (the run's attributes come with each dataset); names
   are then matched exactly against the ``SIMILAR TO`` regex;
3. for every candidate, concurrently: the dataset's RR status ranges by component, and per run the OMS bit ranges
   (or the per-lumisection OMS values when the rule reads luminosity or prescales, or luminosity is asked for);
4. the run-level clauses are evaluated once per dataset and the lumisection-level residual once per constant
   segment (a stretch of lumisections where every value the rule reads is constant), never per lumisection.

Semantics are the service's (``rr-protocol.md`` §8, json-logic-js 1.2.3): a component without a status at a
lumisection (``EMPTY``) is absent from ``lumisection.rr``; a dataset without any RR status contributes nothing
to the JSON (all its lumisections go to the anti-JSON). Where several matching datasets of one run pass, the
mask is their **union** (the service concatenates their ranges under one run key); ``by_dataset`` keeps them
apart. Luminosity totals are in /pb (per-lumisection values are /ub), summed per dataset lumisection like the
service. With ``pushdown=False`` every dataset matching the pattern is evaluated, so the anti-JSON and the loss
report cover the run-level clauses too (exactly the service's anti-JSON); with the default pushdown they cover
the datasets that passed the prefilter.

>>> from client.api import RunRegistry
>>> rule = {"and": [{">=": [{"var": "run.oms.energy"}, 6000]}, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]}
>>> with RunRegistry(target="embedded", embedded_options={"runs": 30}) as rr:    # synthetic demo data
...     golden = create_json_local(rr, rule, "/PromptReco/Collisions2018%/DQM", report=True)
>>> golden.engine, golden.lumisection_count == golden.losses.kept_lumisections > 0
('local', True)
>>> print(golden.losses.to_table().splitlines()[0])
clause                                          lumisections  recorded  delivered
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from client.calls import lumisection_call
from client.engine import Batch, Operation
from client.errors import RunQLError, ServiceError
from client.pagination import ListingQuery, fetch_listing
from client.transport import Call, Reply
from querylang.compile import compile_filter
from querylang.jsonlogic import compile_predicate
from querylang.rules import RulePlan, plan_rule
from querylang.similar import SimilarPattern, compile_similar
from schemas.golden import ClauseLoss, GoldenJson, LossReport, LumiMask, Luminosity, Range

if TYPE_CHECKING:
    from client.api import AsyncRunRegistry, RunRegistry

__all__ = ["create_json_local", "create_json_local_async", "golden_operation"]

logger = logging.getLogger(__name__)

#: ``progress(done, total)``: lumisection requests completed so far.
Progress = Callable[[int, int], None]
_UB_PER_PB = 1e6
_PER_LUMISECTION_OMS = frozenset({"recorded", "delivered", "prescale_index", "prescale_name"})
_EMPTY = "EMPTY"


def create_json_local(
    registry: RunRegistry,
    json_logic: Any,
    dataset_name_filter: str,
    *,
    with_luminosity: bool = False,
    report: bool = False,
    pushdown: bool = True,
    progress: Progress | None = None,
) -> GoldenJson:
    """Evaluate ``json_logic`` on the datasets matching ``dataset_name_filter``, locally (see the module doc).

    ``with_luminosity`` fetches per-lumisection luminosity for the totals in/out (and the loss report's
    luminosity columns); ``report`` builds the per-clause loss report. Concurrency is the client's
    (``RunRegistry(concurrency=...)``).
    """
    operation = golden_operation(
        json_logic,
        dataset_name_filter,
        with_luminosity=with_luminosity,
        report=report,
        pushdown=pushdown,
        page_size=registry.settings.page_size,
        progress=progress,
    )
    return registry._run(operation)


async def create_json_local_async(
    registry: AsyncRunRegistry,
    json_logic: Any,
    dataset_name_filter: str,
    *,
    with_luminosity: bool = False,
    report: bool = False,
    pushdown: bool = True,
    progress: Progress | None = None,
) -> GoldenJson:
    """:func:`create_json_local` for an ``AsyncRunRegistry``."""
    operation = golden_operation(
        json_logic,
        dataset_name_filter,
        with_luminosity=with_luminosity,
        report=report,
        pushdown=pushdown,
        page_size=registry.settings.page_size,
        progress=progress,
    )
    return await registry._run(operation)


def golden_operation(
    json_logic: Any,
    dataset_name_filter: str,
    *,
    with_luminosity: bool = False,
    report: bool = False,
    pushdown: bool = True,
    page_size: int = 5000,
    progress: Progress | None = None,
) -> Operation[GoldenJson]:
    """The local engine as a sans-I/O operation (run it with ``client.engine.run_sync`` / ``run_async``)."""
    plan = plan_rule(json_logic)
    pattern = compile_similar(dataset_name_filter)
    evaluator = _Evaluator(plan, per_clause=report)
    datasets = yield from _candidate_datasets(plan, pattern, pushdown=pushdown, page_size=page_size)
    per_lumisection_oms = with_luminosity or bool(plan.oms_values & _PER_LUMISECTION_OMS)
    fetched = yield from _fetch_ranges(datasets, per_lumisection_oms, progress)
    builder = _ResultBuilder(plan, with_luminosity=with_luminosity, report=report)
    for dataset in datasets:
        rr_ranges = fetched.rr[(dataset.run_number, dataset.name)]
        oms = fetched.oms[dataset.run_number]
        builder.add(dataset, evaluator.evaluate(dataset, rr_ranges, oms))
    return builder.finish(json_logic, dataset_name_filter)


# ---- 2. candidate datasets -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dataset:
    run_number: int
    name: str
    run: Mapping[str, Any]
    dataset: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> _Dataset:
        run = row.get("Run") or {}
        run_number = row["run_number"]
        return cls(
            run_number=run_number,
            name=row["name"],
            run={"oms": run.get("oms_attributes"), "rr": run.get("rr_attributes"), "run_number": run_number},
            dataset={"name": row["name"], **(row.get("dataset_attributes") or {})},
        )


def _listing_filter(plan: RulePlan, pattern: SimilarPattern, pushdown: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if pushdown and plan.datasets_filter is not None:
        parts.append(plan.datasets_filter)
    if pattern.like.strip("%"):
        parts.append({"dataset_name": {"like": pattern.like}})
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"and": parts}


def _candidate_datasets(
    plan: RulePlan, pattern: SimilarPattern, *, pushdown: bool, page_size: int
) -> Operation[list[_Dataset]]:
    compiled = compile_filter(_listing_filter(plan, pattern, pushdown), kind="datasets")
    query = ListingQuery("datasets", compiled.filters, (), page_size=page_size)
    listing = yield from fetch_listing(query, list)
    datasets = [_Dataset.from_row(row) for row in listing.rows if pattern.matches(row["name"])]
    datasets.sort(key=lambda d: (d.run_number, d.name))
    logger.debug("%d candidate datasets (%d listed)", len(datasets), len(listing.rows))
    return datasets


# ---- 3. ranges -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Span:
    """Lumisections ``start..end`` over which ``values`` are constant."""

    start: int
    end: int
    values: Mapping[str, Any]


@dataclass
class _Fetched:
    rr: dict[tuple[int, str], dict[str, list[_Span]]] = field(default_factory=dict)
    oms: dict[int, list[_Span]] = field(default_factory=dict)


def _fetch_ranges(
    datasets: Sequence[_Dataset], per_lumisection_oms: bool, progress: Progress | None
) -> Operation[_Fetched]:
    runs = sorted({d.run_number for d in datasets})
    oms_endpoint = "oms_lumisections" if per_lumisection_oms else "oms_lumisection_ranges"
    calls = [lumisection_call("rr_lumisection_ranges_by_component", d.run_number, d.name) for d in datasets]
    calls += [lumisection_call(oms_endpoint, run, "online") for run in runs]
    counter = _Counter(len(calls), progress)
    outcomes = yield Batch(calls, parse=_parse_reply, on_each=counter.tick)
    fetched = _Fetched()
    for dataset, outcome in zip(datasets, outcomes, strict=False):
        fetched.rr[(dataset.run_number, dataset.name)] = _rr_spans(_data(outcome))
    for run, outcome in zip(runs, outcomes[len(datasets) :], strict=True):
        data = _data(outcome)
        fetched.oms[run] = _oms_per_lumisection(data) if per_lumisection_oms else _oms_spans(data)
    return fetched


class _Counter:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress
        if progress is not None:
            progress(0, total)

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _parse_reply(call: Call, reply: Reply) -> tuple[Call, Any]:
    return call, reply.data


def _data(outcome: object) -> tuple[Call, Any]:
    if isinstance(outcome, RunQLError):
        raise outcome
    assert isinstance(outcome, tuple)
    return outcome


def _rr_spans(outcome: tuple[Call, Any]) -> dict[str, list[_Span]]:
    """``{"dt-dt": [{"status", "start", "end"}, ...]}`` → spans of the status (``EMPTY`` → ``None``)."""
    call, data = outcome
    if data in ([], None):
        return {}
    if not isinstance(data, dict):
        raise ServiceError(f"expected a JSON object, got {type(data).__name__}", status=200, route=call.route)
    spans: dict[str, list[_Span]] = {}
    for component, ranges in data.items():
        spans[component] = [
            _Span(r["start"], r["end"], {"status": None if r.get("status") == _EMPTY else r.get("status")})
            for r in _list(ranges, call)
        ]
    return spans


def _oms_spans(outcome: tuple[Call, Any]) -> list[_Span]:
    call, data = outcome
    return [
        _Span(r["start"], r["end"], {k: v for k, v in r.items() if k not in ("start", "end")})
        for r in _list(data, call)
    ]


def _oms_per_lumisection(outcome: tuple[Call, Any]) -> list[_Span]:
    call, data = outcome
    return [_Span(index, index, values) for index, values in enumerate(_list(data, call), start=1)]


def _list(data: Any, call: Call) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ServiceError("expected a JSON list of objects", status=200, route=call.route)
    return data


# ---- 4. evaluation ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Segment:
    """Lumisections ``start..end`` with one outcome: ``failed`` holds the indexes of the false clauses."""

    start: int
    end: int
    failed: tuple[int, ...]
    recorded: int = 0
    delivered: int = 0

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class _Outcome:
    certified: bool
    segments: tuple[_Segment, ...]


class _Evaluator:
    """Compiled clauses of one rule; evaluates one dataset at a time."""

    def __init__(self, plan: RulePlan, *, per_clause: bool) -> None:
        self.plan = plan
        self.per_clause = per_clause
        self.run_test = compile_predicate(plan.run_rule)
        self.residual_test = compile_predicate(plan.residual)
        self.clause_tests = [(c.index, c.level, compile_predicate(c.rule)) for c in plan.clauses]
        self.components = sorted(plan.rr_components)
        self.oms_keys = sorted(plan.oms_values)
        self.per_lumisection = "lumisection.lumisection_number" in plan.variables

    def evaluate(self, dataset: _Dataset, rr: Mapping[str, list[_Span]], oms: Sequence[_Span]) -> _Outcome:
        base = {"run": dataset.run, "dataset": dataset.dataset}
        count = _lumisection_count(rr, oms)
        if not rr:
            return _Outcome(False, tuple(_luminous(_Segment(1, count, ()), oms)) if count else ())
        if self.per_clause:
            run_failed = tuple(i for i, level, test in self.clause_tests if level != "lumisection" and not test(base))
        else:
            run_failed = () if self.run_test(base) else (-1,)
            if run_failed:
                return _Outcome(True, tuple(_luminous(_Segment(1, count, run_failed), oms)))
        segments = []
        for start, end, data in self._segments(base, rr, oms, count):
            failed = run_failed + self._residual_failures(data)
            segments.append(_Segment(start, end, failed))
        return _Outcome(True, tuple(_with_luminosity(segments, oms)))

    def _residual_failures(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        if not self.per_clause:
            return () if self.residual_test(data) else (-1,)
        return tuple(i for i, level, test in self.clause_tests if level == "lumisection" and not test(data))

    def _segments(
        self, base: Mapping[str, Any], rr: Mapping[str, list[_Span]], oms: Sequence[_Span], count: int
    ) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """Constant stretches of every value the residual reads, with the data object json-logic sees."""
        sources = [(component, rr.get(component, [])) for component in self.components]
        bounds = {1, count + 1}
        for _, spans in sources:
            bounds.update(s.start for s in spans)
        if self.oms_keys:
            bounds.update(s.start for s in oms)
        if self.per_lumisection:
            bounds.update(range(1, count + 1))
        cuts = sorted(b for b in bounds if 1 <= b <= count + 1)
        cursors = _Cursors(sources, oms if self.oms_keys else [])
        for start, after in itertools.pairwise(cuts):
            statuses, oms_values = cursors.at(start)
            lumisection = {
                "lumisection_number": start,
                "oms": {key: oms_values[key] for key in self.oms_keys if key in oms_values},
                "rr": {c: status for c, status in statuses.items() if status is not None},
            }
            yield start, after - 1, {**base, "lumisection": lumisection}


class _Cursors:
    """Walks sorted spans forward: the status of each component and the OMS values at a lumisection."""

    def __init__(self, sources: Sequence[tuple[str, list[_Span]]], oms: Sequence[_Span]) -> None:
        self.sources = sources
        self.oms = oms
        self.positions = [0] * len(sources)
        self.oms_position = 0

    def at(self, lumisection: int) -> tuple[dict[str, str | None], Mapping[str, Any]]:
        statuses: dict[str, str | None] = {}
        for slot, (component, spans) in enumerate(self.sources):
            span, self.positions[slot] = _advance(spans, self.positions[slot], lumisection)
            statuses[component] = None if span is None else span.values["status"]
        span, self.oms_position = _advance(self.oms, self.oms_position, lumisection)
        return statuses, ({} if span is None else span.values)


def _advance(spans: Sequence[_Span], position: int, lumisection: int) -> tuple[_Span | None, int]:
    while position < len(spans) and spans[position].end < lumisection:
        position += 1
    if position < len(spans) and spans[position].start <= lumisection:
        return spans[position], position
    return None, position


def _lumisection_count(rr: Mapping[str, list[_Span]], oms: Sequence[_Span]) -> int:
    ends = [spans[-1].end for spans in rr.values() if spans]
    if not ends and oms:
        ends.append(oms[-1].end)
    return max(ends, default=0)


def _with_luminosity(segments: Sequence[_Segment], oms: Sequence[_Span]) -> Iterator[_Segment]:
    for segment in segments:
        yield from _luminous(segment, oms)


def _luminous(segment: _Segment, oms: Sequence[_Span]) -> Iterator[_Segment]:
    """The segment with its summed luminosity (0 when per-lumisection values were not fetched)."""
    if not oms or oms[0].start != oms[0].end or "recorded" not in oms[0].values:
        yield segment
        return
    chosen = oms[segment.start - 1 : segment.end]
    recorded = sum(s.values.get("recorded") or 0 for s in chosen)
    delivered = sum(s.values.get("delivered") or 0 for s in chosen)
    yield _Segment(segment.start, segment.end, segment.failed, recorded, delivered)


# ---- 5. the result ---------------------------------------------------------------------------------------------
class _ResultBuilder:
    def __init__(self, plan: RulePlan, *, with_luminosity: bool, report: bool) -> None:
        self.plan = plan
        self.with_luminosity = with_luminosity
        self.report = report
        self.passed: dict[str, dict[int, list[Range]]] = {}
        self.failed: dict[int, list[Range]] = {}
        self.lumi_in = [0, 0]
        self.lumi_out = [0, 0]
        self.alone: dict[int, list[int]] = {c.index: [0, 0, 0] for c in plan.clauses}
        self.several = [0, 0, 0]
        self.uncertified = [0, 0, 0]
        self.universe = [0, 0, 0]

    def add(self, dataset: _Dataset, outcome: _Outcome) -> None:
        for segment in outcome.segments:
            span = (segment.start, segment.end)
            lumi = (segment.length, segment.recorded, segment.delivered)
            kept = outcome.certified and not segment.failed
            if kept:
                self.passed.setdefault(dataset.name, {}).setdefault(dataset.run_number, []).append(span)
                _accumulate(self.lumi_in, lumi[1:])
            else:
                self.failed.setdefault(dataset.run_number, []).append(span)
                _accumulate(self.lumi_out, lumi[1:])
            if not self.report:
                continue
            if not outcome.certified:
                _accumulate(self.uncertified, lumi)
                continue
            _accumulate(self.universe, lumi)
            if len(segment.failed) == 1:
                _accumulate(self.alone[segment.failed[0]], lumi)
            elif segment.failed:
                _accumulate(self.several, lumi)

    def finish(self, rule: Any, pattern: str) -> GoldenJson:
        by_dataset = {name: LumiMask(runs) for name, runs in sorted(self.passed.items())}
        return GoldenJson(
            mask=LumiMask.union(by_dataset.values()),
            by_dataset=by_dataset,
            anti_mask=LumiMask(self.failed),
            luminosity_in=_pb(self.lumi_in) if self.with_luminosity else None,
            luminosity_out=_pb(self.lumi_out) if self.with_luminosity else None,
            losses=self._losses() if self.report else None,
            rule=rule,
            dataset_name_filter=pattern,
            engine="local",
        )

    def _losses(self) -> LossReport:
        def lumi(totals: Sequence[int]) -> Luminosity | None:
            return _pb(totals[1:]) if self.with_luminosity else None

        clauses = tuple(
            ClauseLoss(c.index, c.rule, self.alone[c.index][0], lumi(self.alone[c.index])) for c in self.plan.clauses
        )
        kept = self.universe[0] - self.several[0] - sum(c.lumisections for c in clauses)
        return LossReport(
            clauses=clauses,
            several_lumisections=self.several[0],
            universe_lumisections=self.universe[0],
            kept_lumisections=kept,
            several_luminosity=lumi(self.several),
            universe_luminosity=lumi(self.universe),
            uncertified_lumisections=self.uncertified[0],
            uncertified_luminosity=lumi(self.uncertified),
        )


def _accumulate(totals: list[int], values: Sequence[int]) -> None:
    for i, value in enumerate(values):
        totals[i] += value


def _pb(totals: Sequence[int]) -> Luminosity:
    return Luminosity(totals[0] / _UB_PER_PB, totals[1] / _UB_PER_PB)
