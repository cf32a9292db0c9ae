"""The local golden-JSON engine: the service's json_portal answer, computed on the client from lumisection ranges.

Steps (one sans-I/O operation, so the same code runs under ``RunRegistry`` and ``AsyncRunRegistry``):

1. the rule is checked and planned (:func:`querylang.rules.plan_rule`): an invalid rule raises
   :class:`querylang.RuleError` before any request, and so does an invalid dataset pattern (``FilterError``);
2. candidate datasets are listed once, with the rule's run/dataset-level prefilter and the pattern's ``like``
   prefilter pushed down to ``/datasets_filtered_ordered`` (the run's attributes come with each dataset); names
   are then matched exactly against the ``SIMILAR TO`` regex;
3. only what can change the answer is fetched, concurrently: a dataset's RR status ranges by component unless its
   triplet summary shows every component the rule reads with one status over the run (or no status at all),
   or the dataset fails the rule's run-level clauses (its statuses then matter to the loss report only), and a
   run's OMS bit ranges when the rule reads bits its DCS summary does not show constant and one of its datasets
   can keep something whatever they say (or the per-lumisection OMS values when the rule reads luminosity or
   prescales, or luminosity is asked for: one request per run with a dataset that has RR statuses, every run for
   the loss report; the only route with luminosity besides the joint ranges, which repeat every RR status per
   lumisection); each reply is decoded and reduced in the worker that received it, to the values the rule reads
   and running luminosity totals (per-lumisection OMS replies straight into those columns: :mod:`client.omscolumns`);
4. :mod:`querylang.segments` evaluates the run-level clauses once per dataset and the lumisection-level residual
   once per constant segment (a stretch of lumisections where every value the rule reads is constant), never
   per lumisection; with ``report=True`` it also blames each removed segment on clauses the way the service
   does (:mod:`querylang.losses`), and the luminosity of every run from the first to the last matching run
   (``*_from_run_range``) is fetched in step 3's round, the run range listed before it.

Semantics are the service's (``rr-protocol.md`` §8, json-logic-js 1.2.3): a component without a status at a
lumisection (``EMPTY``) is absent from ``lumisection.rr``; a dataset without any RR status is in neither the JSON
nor the anti-JSON. Where several matching datasets of one run pass, the mask is their **union** (the service
concatenates their ranges under one run key); ``by_dataset`` keeps them apart. Luminosity figures are plain sums
of the per-lumisection values, each counted as the service counts it (``+value || 0``, negative as 0:
:func:`querylang.segments.luminosity_value`), under the service's names (``GoldenJson.accounting``).
Pushdown (the default unless ``with_luminosity`` or ``report``) evaluates only the datasets that passed the
prefilter, so the anti-JSON, ``min_run_number`` and the losses then cover those only; without it they are exactly
the service's.

The facade runs it: ``RunRegistry.create_json(rule, pattern, engine="local", ...)`` (options ``with_luminosity``,
``report``, ``pushdown``; concurrency is the client's); :func:`golden_operation` only builds the operation.

>>> from client.api import RunRegistry
>>> rule = {"and": [{">=": [{"var": "run.oms.energy"}, 6000]}, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]}
>>> with RunRegistry(target="embedded", embedded_options={"runs": 30, "years": [2018]}) as rr:  # synthetic data
...     golden = rr.create_json(rule, "/PromptReco/Collisions2018%/DQM", engine="local", report=True)
>>> golden.engine, golden.lumisection_count == golden.losses.kept_lumisections > 0
('local', True)
>>> golden.accounting.total_recorded_luminosity == golden["recorded_luminosity_in_json"] + golden[
...     "total_recorded_luminosity_lost"]
True
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from client.calls import lumisection_call, range_status
from client.engine import Batch, Operation, unwrap
from client.errors import ArgumentError, ServiceError
from client.omscolumns import OmsColumnDecoder, columns_of
from client.pagination import ListingQuery, fetch_listing
from client.progress import Progress, RequestCounter
from client.transport import Call, Reply, err_text
from querylang.ast import And, Comparison, Node
from querylang.catalogue import default_catalogue
from querylang.compile import compile_filter, compile_node
from querylang.ranges import Range, merge
from querylang.rules import RulePlan, plan_rule
from querylang.segments import (
    CompiledPlan,
    CumulativeLuminosity,
    LossTally,
    RunContext,
    RunEvaluation,
    compile_plan,
    oms_ranges_from_summary,
    rr_ranges_from_summary,
)
from querylang.similar import SimilarPattern, compile_similar
from schemas.golden import GoldenJson, LossAccounting, LumiMask, Luminosity

__all__ = ["golden_operation"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

_PER_LUMISECTION_OMS = frozenset({"recorded", "delivered", "prescale_index", "prescale_name"})
_LUMINOSITY = ("recorded", "delivered")


def golden_operation(
    json_logic: Any,
    dataset_name_filter: str,
    *,
    with_luminosity: bool = False,
    report: bool = False,
    pushdown: bool | None = None,
    page_size: int = 5000,
    progress: Progress | None = None,
) -> Operation[GoldenJson]:
    """The local engine as a sans-I/O operation evaluating ``json_logic`` on the datasets matching
    ``dataset_name_filter`` (see the module doc); the result's ``requests`` counts every request it sent.

    ``with_luminosity`` fetches per-lumisection luminosity for the totals in and lost; ``report`` (which implies
    it) computes the service's loss accounting (``GoldenJson.accounting``, ``.losses``). ``pushdown`` defaults
    to ``True`` unless either is asked for: the service's figures cover every matching dataset. ``progress(done,
    total)`` counts the lumisection requests. ``RunRegistry.create_json(..., engine="local")`` runs it.
    """
    sent = _Sent()
    golden = yield from sent.counting(
        _golden(json_logic, dataset_name_filter, with_luminosity, report, pushdown, page_size, progress)
    )
    return dataclasses.replace(golden, requests=sent.requests)


def _golden(
    json_logic: Any,
    dataset_name_filter: str,
    with_luminosity: bool,
    report: bool,
    pushdown: bool | None,
    page_size: int,
    progress: Progress | None,
) -> Operation[GoldenJson]:
    plan = plan_rule(json_logic)
    pattern = compile_similar(dataset_name_filter)
    engine = compile_plan(plan)
    with_luminosity = with_luminosity or report
    pushdown = not with_luminosity if pushdown is None else pushdown
    datasets = yield from _candidate_datasets(plan, pattern, pushdown=pushdown, page_size=page_size)
    per_lumisection_oms = with_luminosity or bool(plan.oms_values & _PER_LUMISECTION_OMS)
    statuses_unread = None if report else engine.fails_at_run_level
    known = _told_by_summaries(plan, datasets, per_lumisection_oms=per_lumisection_oms, statuses_unread=statuses_unread)
    oms_endpoint = "oms_lumisections" if per_lumisection_oms else "oms_lumisection_ranges"
    need = _OmsNeed.EVERY_RUN if report else _OmsNeed.EVALUATED if per_lumisection_oms else _OmsNeed.ANSWER
    range_runs: list[int] = []
    if report and datasets:  # the run range's luminosity comes in the same round as the candidates' data
        range_runs = yield from _runs_between(datasets[0].run_number, datasets[-1].run_number, page_size=page_size)
    yield from _fetch_unknown(
        engine, datasets, known, oms_endpoint, need=need, luminosity_of=range_runs, progress=progress
    )
    builder = _ResultBuilder(with_luminosity=with_luminosity, report=report)
    for dataset in datasets:
        oms = known.oms.get(dataset.run_number, _NO_OMS)
        evaluation = _evaluate(engine, dataset, known.rr[dataset.key], oms, account=report)
        builder.add(dataset, evaluation, oms.cumulative)
    run_range = _run_range_luminosity(range_runs, known) if report and datasets else None
    return builder.finish(json_logic, dataset_name_filter, datasets, run_range)


class _Sent:
    """Counts the requests of the batches an operation yields."""

    def __init__(self) -> None:
        self.requests = 0

    def counting(self, operation: Operation[T]) -> Operation[T]:
        value: Any = None
        while True:
            try:
                step = operation.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(step, Batch):
                self.requests += len(step.calls)
            value = yield step


# ---- 2. candidate datasets -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dataset:
    """A candidate dataset: what a rule reads of its run and of itself (``context``)."""

    context: RunContext
    triplet_summary: Mapping[str, Any] | None = None
    dcs_summary: Mapping[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> _Dataset:
        run = row.get("Run") or {}
        cache = row.get("DatasetTripletCache") or {}
        context = RunContext(
            run_number=row["run_number"],
            oms=run.get("oms_attributes") or {},
            rr=run.get("rr_attributes") or {},
            dataset_name=row["name"],
            dataset_attributes=row.get("dataset_attributes") or {},
        )
        return cls(context, _mapping(cache.get("triplet_summary")), _mapping(cache.get("dcs_summary")))

    @property
    def run_number(self) -> int:
        return self.context.run_number

    @property
    def name(self) -> str:
        return self.context.dataset_name

    @property
    def key(self) -> tuple[int, str]:
        return self.context.run_number, self.context.dataset_name


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _listing_filter(plan: RulePlan, pattern: SimilarPattern, pushdown: bool) -> Node:
    """The datasets listing's filter: the rule's pushdown (if asked) and the name pattern's ``like`` prefilter."""
    parts: list[Node] = []
    if pushdown and plan.datasets_filter is not None:
        parts.append(plan.datasets_filter)
    if pattern.like.strip("%"):
        parts.append(Comparison(default_catalogue().dataset_attribute("dataset_name"), "like", pattern.like))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _candidate_datasets(
    plan: RulePlan, pattern: SimilarPattern, *, pushdown: bool, page_size: int
) -> Operation[list[_Dataset]]:
    compiled = compile_node(_listing_filter(plan, pattern, pushdown), kind="datasets")
    query = ListingQuery("datasets", compiled.filters, (), page_size=page_size)
    listing = yield from fetch_listing(query, list)
    datasets = [_Dataset.from_row(row) for row in listing.rows if pattern.matches(row["name"])]
    datasets.sort(key=lambda d: d.key)
    logger.debug("%d candidate datasets (%d listed)", len(datasets), len(listing.rows))
    return datasets


# ---- 3. ranges -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RrData:
    """A dataset's RR status ranges by component (``/rr_lumisection_ranges_by_component``; ``{}``: no RR status)
    and its lumisection count (0 when unknown)."""

    ranges: dict[str, list[dict[str, Any]]]
    lumisection_count: int


@dataclass(frozen=True)
class _RunOms:
    """One run's OMS data: ranges of constant values of the OMS values the rule reads (luminosity aside), the
    lumisection count and, when fetched per lumisection, its luminosity: running totals (``cumulative``) and,
    only for a rule that reads it, the per-lumisection values (``per_lumisection[k - 1]``: lumisection k's
    ``recorded``, ``delivered``)."""

    ranges: list[dict[str, Any]]
    lumisection_count: int
    cumulative: CumulativeLuminosity | None = None
    per_lumisection: list[dict[str, Any]] | None = None


#: A run whose OMS data cannot change the answer: the rule reads no OMS value or none of its datasets can keep
#: anything (their lumisection counts come with their RR data).
_NO_OMS = _RunOms([], 0)


@dataclass
class _Known:
    rr: dict[tuple[int, str], _RrData] = field(default_factory=dict)
    oms: dict[int, _RunOms] = field(default_factory=dict)


def _told_by_summaries(
    plan: RulePlan,
    datasets: Sequence[_Dataset],
    *,
    per_lumisection_oms: bool,
    statuses_unread: Callable[[RunContext], bool] | None = None,
) -> _Known:
    """What the listing's summaries already tell, exactly: RR ranges of datasets without any status, whose
    components the rule reads keep one status over the run, or whose statuses cannot matter (``statuses_unread``
    says so: only their lumisection count does) (triplet summary); OMS ranges of runs whose bits the rule reads
    keep one value (DCS summary). Everything else is fetched."""
    known = _Known()
    for dataset in datasets:
        triplet = dataset.triplet_summary
        if triplet is not None and not triplet:
            known.rr[dataset.key] = _RrData({}, 0)
        elif triplet is not None:
            unread = statuses_unread is not None and statuses_unread(dataset.context)
            if (told := rr_ranges_from_summary(triplet, () if unread else plan.rr_components)) is not None:
                known.rr[dataset.key] = _RrData(told[1], told[0])
        dcs = dataset.dcs_summary
        if per_lumisection_oms or dcs is None or dataset.run_number in known.oms:
            continue
        if (told_oms := oms_ranges_from_summary(dcs, plan.oms_bits)) is not None:
            known.oms[dataset.run_number] = _RunOms(told_oms[1], told_oms[0])
    return known


class _OmsNeed(enum.Enum):
    """Which runs' OMS data to fetch."""

    ANSWER = "runs where it can change the golden JSON"
    EVALUATED = "runs with a dataset evaluated (luminosity, or values only the per-lumisection route has)"
    EVERY_RUN = "every run (the loss report's run range needs them all anyway)"


def _fetch_unknown(
    engine: CompiledPlan,
    datasets: Sequence[_Dataset],
    known: _Known,
    oms_endpoint: str,
    *,
    need: _OmsNeed,
    luminosity_of: Sequence[int] = (),
    progress: Progress | None,
) -> Operation[None]:
    """Fetch into ``known`` what it lacks and ``need`` asks for, concurrently, in at most two rounds: the RR
    ranges not told, the OMS data of runs that need it and the per-lumisection OMS data of the runs
    ``luminosity_of`` (for their luminosity) not fetched otherwise; then the OMS data of runs that turned out to
    need it once their datasets' RR ranges arrived (see :func:`_run_needs_oms`)."""
    if luminosity_of and oms_endpoint != "oms_lumisections":
        raise ArgumentError("luminosity comes per lumisection only: luminosity_of needs the oms_lumisections route")
    rr = [d for d in datasets if d.key not in known.rr]
    runs: dict[int, list[_Dataset]] = {}
    for dataset in datasets:
        if dataset.run_number not in known.oms:
            runs.setdefault(dataset.run_number, []).append(dataset)
    others = [run for run in luminosity_of if run not in runs and _lacks_luminosity(known, run)]

    def verdict(run: int) -> bool | None:
        if need is _OmsNeed.EVERY_RUN:
            return True
        if need is _OmsNeed.EVALUATED:
            return _any_evaluated(runs[run], known)
        return _run_needs_oms(engine, runs[run], known)

    verdicts = {run: verdict(run) for run in runs}
    later = [run for run, needed in verdicts.items() if needed is None]
    counter = RequestCounter(progress, total=len(rr) + len(runs) - list(verdicts.values()).count(False) + len(others))
    counter.report()
    oms = _OmsReader(oms_endpoint, engine.plan)
    yield from _fetch(known, rr, sorted([*(run for run, needed in verdicts.items() if needed), *others]), oms, counter)
    needed_later = [run for run in later if verdict(run)]
    counter.skip(len(later) - len(needed_later))
    yield from _fetch(known, [], needed_later, oms, counter)


def _run_needs_oms(engine: CompiledPlan, datasets: Sequence[_Dataset], known: _Known) -> bool | None:
    """Whether the answer needs the run's OMS data: for the OMS clauses of a dataset that can keep something
    (:meth:`CompiledPlan.keeps_nothing`); ``None`` while some dataset's RR ranges are unknown. A dataset that
    keeps nothing is then evaluated without OMS data: its verdict is the same whatever they are (the loss report,
    which splits it by clause, fetches them). A dataset without RR status is not evaluated at all.
    """
    return _any_of(_needs_oms(engine, dataset, known.rr.get(dataset.key)) for dataset in datasets)


def _needs_oms(engine: CompiledPlan, dataset: _Dataset, rr: _RrData | None) -> bool | None:
    if rr is None:
        return None
    return bool(
        rr.ranges
        and engine.plan.oms_bits
        and not engine.keeps_nothing(dataset.context, lumisection_count=rr.lumisection_count, rr_ranges=rr.ranges)
    )


def _any_evaluated(datasets: Sequence[_Dataset], known: _Known) -> bool | None:
    """Whether one of the run's datasets has RR statuses (so is evaluated and needs the run's luminosity), from
    its RR data or, before that, its triplet summary (a non-empty one says so); ``None`` while unknown."""
    return _any_of(
        bool(rr.ranges) if (rr := known.rr.get(d.key)) is not None else _summary_has_status(d) for d in datasets
    )


def _summary_has_status(dataset: _Dataset) -> bool | None:
    return None if dataset.triplet_summary is None else bool(dataset.triplet_summary)


def _any_of(verdicts: Iterable[bool | None]) -> bool | None:
    """``True`` once one verdict is ``True``; otherwise ``None`` if one is still unknown, else ``False``.

    >>> _any_of([None, True]), _any_of([False, None]), _any_of([False])
    (True, None, False)
    """
    undecided = False
    for verdict in verdicts:
        if verdict:
            return True
        undecided = undecided or verdict is None
    return None if undecided else False


def _fetch(
    known: _Known, rr: Sequence[_Dataset], oms_runs: Sequence[int], oms: _OmsReader, counter: RequestCounter
) -> Operation[None]:
    """One concurrent round; each reply is decoded and reduced to what the engine needs in the worker that
    received it, so per-lumisection lists never outlive their reply."""
    calls = [_raw(lumisection_call("rr_lumisection_ranges_by_component", d.run_number, d.name)) for d in rr]
    calls += [_raw(lumisection_call(oms.endpoint, run, "online")) for run in oms_runs]
    parse = functools.partial(_parse_lumisections, oms)
    outcomes = (yield Batch(calls, parse=parse, on_each=counter.tick)) if calls else []
    for dataset, outcome in zip(rr, outcomes, strict=False):
        known.rr[dataset.key] = unwrap(outcome)
    for run, outcome in zip(oms_runs, outcomes[len(rr) :], strict=True):
        known.oms[run] = unwrap(outcome)


def _raw(call: Call) -> Call:
    """``call`` answered with the reply's bytes, decoded by :func:`_decode` (orjson: about half the time of
    pydantic-core and of ``json.loads`` on the demo year's replies) or :class:`~client.omscolumns.OmsColumnDecoder`
    (per-lumisection OMS replies: about 40% of orjson's time)."""
    return dataclasses.replace(call, raw=True)


def _decode(call: Call, reply: Reply) -> Any:
    """The reply's JSON (a transport that ignores ``raw`` hands it over decoded already)."""
    if not isinstance(reply.data, (bytes, str)):
        return reply.data
    try:
        return orjson.loads(reply.data) if reply.data.strip() else None
    except orjson.JSONDecodeError as error:
        raise ServiceError(f"the reply is not JSON: {error}", status=reply.status, route=call.route) from None


def _parse_lumisections(oms: _OmsReader, call: Call, reply: Reply) -> _RrData | _RunOms:
    if call.path == f"/lumisections/{oms.endpoint}":
        return oms.read(call, reply)
    return _rr_data(call, _decode(call, reply))


def _rr_data(call: Call, data: Any) -> _RrData:
    """``{"dt-dt": [{"status", "start", "end", ...}, ...]}``; ``{}`` for a dataset without any RR status."""
    if data in ([], None, {}):
        return _RrData({}, 0)
    if not isinstance(data, dict):
        raise ServiceError(f"expected a JSON object, got {type(data).__name__}", status=200, route=call.route)
    ranges = {component: _with_status(_ranges(items, call)) for component, items in data.items()}
    for items in ranges.values():
        if not all(isinstance(item["status"], str) for item in items):
            raise ServiceError("an RR status range whose status is no string", status=200, route=call.route)
    return _RrData(ranges, max((r["end"] for items in ranges.values() for r in items), default=0))


def _with_status(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ranges without a status (the component has none there) with ``EMPTY`` (:func:`client.calls.range_status`)."""
    if all("status" in item for item in items):
        return items
    return [item if "status" in item else {**item, "status": range_status(item)} for item in items]


class _OmsReader:
    """Reads a run's OMS reply from ``endpoint``: ranges as they are, or per-lumisection values (decoded into the
    columns the rule reads, :mod:`client.omscolumns`) reduced to ranges of the bits the rule reads (the only
    values its evaluation looks up) plus the run's luminosity as running totals."""

    def __init__(self, endpoint: str, plan: RulePlan) -> None:
        self.endpoint = endpoint
        self.plan = plan
        self._bits = sorted(plan.oms_bits)
        self._decoder = OmsColumnDecoder([*self._bits, *_LUMINOSITY]) if endpoint == "oms_lumisections" else None

    def read(self, call: Call, reply: Reply) -> _RunOms:
        if self._decoder is None:
            ranges = _ranges(_decode(call, reply), call)
            return _RunOms(ranges, max((r["end"] for r in ranges), default=0))
        columns = self._decoder.decode(reply.data) if isinstance(reply.data, bytes) else None
        if columns is None:  # decoded already, or a reply only orjson can judge (it says what is wrong)
            columns = columns_of(_list(_decode(call, reply), call), self._decoder.keys)
        per_lumisection = columns.objects(_LUMINOSITY) if self.plan.needs_luminosity else None
        cumulative = CumulativeLuminosity.of_columns(*(columns[key] for key in _LUMINOSITY))
        return _RunOms(columns.ranges(self._bits), columns.count, cumulative, per_lumisection)


def _ranges(data: Any, call: Call) -> list[dict[str, Any]]:
    """A list of ``{..., "start", "end"}`` objects with integer bounds ``1 <= start <= end``."""
    ranges = _list(data, call)
    for item in ranges:
        start, end = item.get("start"), item.get("end")
        if not (type(start) is int and type(end) is int and 1 <= start <= end):
            raise ServiceError(f"malformed lumisection range {item!r}", status=200, route=call.route)
    return ranges


def _list(data: Any, call: Call) -> list[dict[str, Any]]:
    if data is None:
        return []
    if isinstance(data, dict) and "err" in data:  # the service's error, even under an accepted status
        raise ServiceError(err_text(data["err"]), status=200, route=call.route)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ServiceError("expected a JSON list of objects", status=200, route=call.route)
    return data


def _runs_between(first: int, last: int, *, page_size: int) -> Operation[list[int]]:
    """The numbers of the runs ``first..last``: the run range of ``*_from_run_range``."""
    plan = compile_filter({"run_number": {">=": first, "<=": last}}, kind="runs")
    listing = yield from fetch_listing(ListingQuery("runs", plan.filters, (), page_size=page_size), list)
    return sorted({row["run_number"] for row in listing.rows})


def _lacks_luminosity(known: _Known, run: int) -> bool:
    return (oms := known.oms.get(run)) is None or oms.cumulative is None


def _run_range_luminosity(runs: Sequence[int], known: _Known) -> Luminosity:
    """Luminosity of every lumisection of ``runs`` (``*_from_run_range``): each was fetched with the candidates.
    Plain sums run after run (``sum`` of floats is compensated from Python 3.12; the service's sums are not)."""
    return sum((Luminosity(*_cumulative(known, run).total) for run in runs), Luminosity())


def _cumulative(known: _Known, run: int) -> CumulativeLuminosity:
    oms = known.oms.get(run)
    if oms is None or oms.cumulative is None:  # _fetch_unknown fetches it: never silently counted as 0
        raise RuntimeError(f"run {run}'s luminosity was not fetched")
    return oms.cumulative


# ---- 4. evaluation (querylang.segments) ------------------------------------------------------------------------
def _evaluate(
    engine: CompiledPlan, dataset: _Dataset, rr: _RrData, oms: _RunOms, *, account: bool
) -> RunEvaluation | None:
    """A dataset's evaluation; ``None`` when it has no RR status (it is in neither the JSON nor the anti-JSON)."""
    if not rr.ranges:
        return None
    return engine.evaluate(
        dataset.context,
        lumisection_count=rr.lumisection_count,
        rr_ranges=rr.ranges,
        oms_ranges=oms.ranges,
        luminosity=oms.per_lumisection,
        account=account,
    )


# ---- 5. the result ---------------------------------------------------------------------------------------------
class _Accounting:
    """The service's loss accounting, summed over datasets (see :class:`schemas.golden.LossAccounting`)."""

    def __init__(self) -> None:
        self.tally = LossTally()
        self.accountable = True
        self.exact = True  # every luminosity so far an integer: sums through running totals are the service's

    def add(self, identifier: str, evaluation: RunEvaluation, lumi: CumulativeLuminosity) -> None:
        self.accountable = self.accountable and evaluation.accountable
        self.exact = self.exact and lumi.exact
        if self.exact:
            for blame, ranges in evaluation.blamed:
                self.tally.add(blame, identifier, ranges, lumi.over(ranges)[0])
            return
        segments = sorted((first, last, blame) for blame, ranges in evaluation.blamed for first, last in ranges)
        for first, last, blame in segments:  # the service's order: lumisection after lumisection
            self.tally.add_each(blame, identifier, [(first, last)], lumi.lumisection_values(0, first, last))

    def figures(self, kept: Luminosity, lost: Luminosity, run_range: Luminosity) -> LossAccounting | None:
        """The figures, or ``None`` where the service's accounting throws (it never finishes the row)."""
        if not self.accountable:
            return None
        return LossAccounting(
            kept.recorded,
            kept.delivered,
            lost.recorded,
            lost.delivered,
            run_range.recorded,
            run_range.delivered,
            self.tally.quantity,
            self.tally.combination,
            self.tally.responsible_ranges(),
        )


class _ResultBuilder:
    def __init__(self, *, with_luminosity: bool, report: bool) -> None:
        self.with_luminosity = with_luminosity
        self.kept: dict[str, dict[int, list[Range]]] = {}
        self.removed: dict[str, dict[int, list[Range]]] = {}
        self.luminosity = {"kept": Luminosity(), "removed": Luminosity()}
        self.accounting = _Accounting() if report else None

    def add(self, dataset: _Dataset, evaluation: RunEvaluation | None, lumi: CumulativeLuminosity | None) -> None:
        if evaluation is None:
            return
        lumi = lumi or CumulativeLuminosity()
        removed = merge([*itertools.chain(*evaluation.removed_alone), *evaluation.removed_by_several])
        for side, ranges, target in (("kept", evaluation.kept, self.kept), ("removed", removed, self.removed)):
            if ranges:
                target.setdefault(dataset.name, {})[dataset.run_number] = list(ranges)
                total = self.luminosity[side]
                self.luminosity[side] = Luminosity(*lumi.added_to((total.recorded, total.delivered), ranges))
        if self.accounting is not None:
            self.accounting.add(f"{dataset.run_number}-{dataset.name}", evaluation, lumi)

    def finish(self, rule: Any, pattern: str, datasets: Sequence[_Dataset], run_range: Luminosity | None) -> GoldenJson:
        by_dataset = {name: LumiMask(runs) for name, runs in sorted(self.kept.items())}
        anti_by_dataset = {name: LumiMask(runs) for name, runs in sorted(self.removed.items())}
        kept, removed = self.luminosity["kept"], self.luminosity["removed"]
        accounting = None
        if self.accounting is not None and run_range is not None:
            accounting = self.accounting.figures(kept, removed, run_range)
        return GoldenJson(
            mask=LumiMask.union(by_dataset.values()),
            by_dataset=by_dataset,
            anti_mask=LumiMask.union(anti_by_dataset.values()),
            anti_by_dataset=anti_by_dataset,
            luminosity_in=kept if self.with_luminosity else None,
            luminosity_out=removed if self.with_luminosity else None,
            accounting=accounting,
            min_run_number=datasets[0].run_number if datasets else None,
            max_run_number=datasets[-1].run_number if datasets else None,
            rule=rule,
            dataset_name_filter=pattern,
            engine="local",
        )
