"""The json_portal (``rr-protocol.md`` §8): golden-JSON jobs run in the background and are polled.

``submit`` checks the request like the service (the rule must be a JSON string of a non-empty rule, the pattern
must match some dataset), compiles the rule once (:mod:`querylang.jsonlogic`) and queues a job. ``poll`` answers
like the service: 203 queued, 202 ``{"progress": 0..1}`` while running, 200 ``{"final_json": row}`` once the row
is stored, 500 ``{"err"}`` when the job failed or the id is unknown. Jobs live in memory.

The rule is evaluated once per lumisection of every matching dataset that has RR statuses, on
``{"run": {"oms", "rr", "run_number"}, "dataset": {"name", <dataset attributes>}, "lumisection":
{"lumisection_number", "oms": {<bits>, "prescale_index", "prescale_name", "recorded", "delivered"},
"rr": {"<ws>-<col>": "<status>"}}}``. Lumisections of datasets without RR statuses are in neither the JSON nor
the anti-JSON. The row has the service's fields, types and values (:func:`row_fields`): luminosity as plain sums
of the per-lumisection values, the loss accounting of :mod:`querylang.losses`, ``json_logic`` and the other
JSONB columns with PostgreSQL's JSONB key order, ``runregistry_version`` a string (a BIGINT).

With ``rr_quirks`` the row goes through the service's two phases: it is first stored with
``generated_anti_json`` ``{}`` and every ``*_lost`` field at −1, and filled in ``finish_delay`` seconds later
(on the injectable ``clock``); when several datasets of a run match, their ranges are concatenated under the
run key in no fixed order. Without quirks the row is complete when first seen and a run's ranges are merged.
Either way, where the service's accounting throws (:class:`querylang.losses.UnaccountableError`) the row
stays unfinished, as on the service.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from backend.budget import Budget, BudgetExceededError
from backend.errors import Answer, RequestError, error_body
from backend.lumiranges import expand
from backend.omsbits import oms_values
from backend.rows import OmsRange
from backend.store import DatasetLumis, Store
from querylang.errors import QueryLangError
from querylang.jsonlogic import compile_predicate
from querylang.losses import Blame, UnaccountableError, compile_blame
from querylang.ranges import from_numbers
from querylang.segments import LossTally, luminosity_value, plain_sum
from querylang.similar import compile_similar

__all__ = ["QUIRKS_FINISH_DELAY", "JsonPortal", "jsonb", "row_fields", "to_ranges"]

logger = logging.getLogger(__name__)

#: Seconds between the two phases of a row under ``rr_quirks`` (the real service takes tens of seconds).
QUIRKS_FINISH_DELAY: Final = 0.25
_LOST_FIELDS: Final = (
    "total_recorded_luminosity_lost",
    "total_delivered_luminosity_lost",
    "total_recorded_luminosity_from_run_range",
    "total_delivered_luminosity_from_run_range",
)


def to_ranges(numbers: list[int]) -> list[list[int]]:
    """Lumisection numbers, in the order given, as JSON ``[first, last]`` ranges (``ranges.from_numbers``).

    >>> to_ranges([1, 2, 3, 7, 9, 10]), to_ranges([5, 6, 1, 2])
    ([[1, 3], [7, 7], [9, 10]], [[5, 6], [1, 2]])
    """
    return [list(r) for r in from_numbers(numbers)]


def jsonb(value: Any) -> Any:
    """``value`` as PostgreSQL gives a JSONB value back: object keys ordered by length, then bytes.

    >>> jsonb({"or": [{"var": "b"}], "and": 1, "if": {"zz": 1, "a": 2}})
    {'if': {'a': 2, 'zz': 1}, 'or': [{'var': 'b'}], 'and': 1}
    """
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {key: jsonb(value[key]) for key in keys}
    if isinstance(value, list):
        return [jsonb(item) for item in value]
    return value


def row_fields() -> tuple[str, ...]:
    """The row's fields in the service's order (the ``GeneratedJson`` model)."""
    return (
        "id",
        "dataset_name_filter",
        "tags",
        "created_by",
        "official",
        "runregistry_version",
        "json_logic",
        "generated_json",
        "generated_json_with_dataset_names",
        "generated_anti_json",
        "generated_anti_json_with_dataset_names",
        "min_run_number",
        "max_run_number",
        "total_delivered_luminosity",
        "total_recorded_luminosity",
        "recorded_luminosity_in_json",
        "delivered_luminosity_in_json",
        *_LOST_FIELDS,
        "rules_flagged_false_quantity_luminosity",
        "rules_flagged_false_combination_luminosity",
        "runs_lumisections_responsible_for_rule",
        "deleted",
        "createdAt",
        "updatedAt",
    )


# ---- submission ------------------------------------------------------------------------------------------------
@dataclass
class _Job:
    id: int
    rule: Any
    pattern: str
    tags: str
    official: bool
    predicate: Callable[[Any], bool]
    state: str = "queued"  # queued | running | done | failed
    progress: float = 0.0
    stored: dict[str, Any] = field(default_factory=dict)  # the row as first stored
    finished: dict[str, Any] | None = None  # the row once filled in (None: the accounting threw)
    finish_at: float = 0.0
    error: str = ""
    ended: threading.Event = field(default_factory=threading.Event)


def _parse_rule(json_logic: object) -> tuple[Any, Callable[[Any], bool]]:
    if not isinstance(json_logic, str):
        raise RequestError(f"json_logic must be a JSON string, got {type(json_logic).__name__}")
    try:
        rule = json.loads(json_logic)
    except json.JSONDecodeError as exc:
        raise RequestError(f"json_logic is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError("json_logic is nested too deeply") from None
    if not isinstance(rule, (dict, list, str)) or not rule:  # the service: !rule || !Object.keys(rule).length
        raise RequestError("Empty json logic sent")
    try:
        return rule, compile_predicate(rule)
    except QueryLangError as exc:
        raise RequestError(f"invalid json_logic: {exc}") from None


def _name_matcher(pattern: object) -> Callable[[str], bool]:
    if not pattern:
        raise RequestError("No dataset name specified (dataset_name_filter)")
    if not isinstance(pattern, str):
        raise RequestError(f"dataset_name_filter must be a string (a SIMILAR TO pattern), got {pattern!r}")
    try:
        return compile_similar(pattern).matches
    except QueryLangError as exc:
        raise RequestError(f"invalid dataset_name_filter: {exc}") from None


# ---- evaluation ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RunData:
    run: dict[str, Any]
    oms_ranges: list[OmsRange]
    recorded: list[int]
    delivered: list[int]


def _lumisection_objects(run: _RunData, lumis: DatasetLumis, attributes: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The data object of every lumisection of a dataset with RR statuses (none without)."""
    n = lumis.lumisections
    if not lumis.statuses:
        return
    per_component = {c: expand(r, n) for c, r in lumis.statuses.items()}
    oms_per_ls: list[dict[str, Any] | None] = [None] * n
    for rng in run.oms_ranges:
        values = oms_values(rng)
        for ls in range(rng.start, min(rng.end, n) + 1):
            oms_per_ls[ls - 1] = values
    dataset = {"name": lumis.name, **attributes}
    for index in range(n):
        rr = {c: hit.status for c, per_ls in per_component.items() if (hit := per_ls[index]) is not None}
        oms = dict(oms_per_ls[index] or {})
        if index < min(len(run.recorded), len(run.delivered)):  # past the OMS list (a lax RR edit): no luminosity
            oms["recorded"], oms["delivered"] = run.recorded[index], run.delivered[index]
        yield {
            "run": run.run,
            "dataset": dataset,
            "lumisection": {"lumisection_number": index + 1, "oms": oms, "rr": rr},
        }


def _guarded(predicate: Callable[[Any], bool], budget: Budget) -> Callable[[Any], bool]:
    """``predicate``, stopping the job (:class:`BudgetExceededError`) once its budget is spent or the server stops."""

    def test(data: Any) -> bool:
        budget.check()
        return predicate(data)

    return test


class JsonPortal:
    """Golden-JSON jobs over a store, run one at a time on a background thread (see the module doc).

    Jobs are bounded: at most ``max_waiting`` queued or running (more are refused), each stops after
    ``job_seconds`` or as soon as ``stop`` is set (the server is stopping), and only the last ``max_kept``
    finished jobs are remembered.
    """

    def __init__(
        self,
        store: Store,
        *,
        rr_quirks: bool = False,
        finish_delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        stop: threading.Event | None = None,
        job_seconds: float = 600.0,
        max_waiting: int = 16,
        max_kept: int = 256,
    ) -> None:
        self.store = store
        self.rr_quirks = rr_quirks
        self.finish_delay = (QUIRKS_FINISH_DELAY if rr_quirks else 0.0) if finish_delay is None else finish_delay
        self.clock, self.now = clock, now
        self.job_seconds, self.max_waiting, self.max_kept = job_seconds, max_waiting, max_kept
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runql-json-portal")
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._closed = stop if stop is not None else threading.Event()

    def submit(
        self, json_logic: object, dataset_name_filter: object, *, tags: object = "", official: object = False
    ) -> int:
        """Check and queue a job; returns its id (:class:`RequestError` for a bad rule or pattern)."""
        rule, predicate = _parse_rule(json_logic)
        matches = _name_matcher(dataset_name_filter)
        if not self._datasets(matches):
            raise RequestError("No datasets matched that dataset name")
        with self._lock:
            if sum(j.state in ("queued", "running") for j in self._jobs.values()) >= self.max_waiting:
                raise RequestError(f"{self.max_waiting} json_portal jobs are already queued or running; retry later")
            job = _Job(next(self._ids), rule, str(dataset_name_filter), str(tags or ""), official is True, predicate)
            self._jobs[job.id] = job
            self._forget_old_jobs()
        self._executor.submit(self._run, job, matches)
        return job.id

    def _forget_old_jobs(self) -> None:
        finished = [i for i, j in self._jobs.items() if j.state in ("done", "failed")]
        for job_id in finished[: max(0, len(finished) - self.max_kept)]:
            del self._jobs[job_id]

    def poll(self, job_id: int) -> Answer:
        """The service's polling reply for a job."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return 500, error_body(f"there is no json with id {job_id}")
        if job.state == "queued":
            return 203, ""
        if job.state == "running":
            return 202, json.dumps({"progress": round(job.progress, 4)})
        if job.state == "failed":
            return 500, error_body(job.error)
        ready = job.finished is not None and self.clock() >= job.finish_at
        return 200, json.dumps({"final_json": job.finished if ready else job.stored})

    def close(self) -> None:
        """Stop: queued jobs are cancelled, a running job stops at its next dataset (waited for)."""
        self._closed.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    # -- the job --------------------------------------------------------------------------------------------
    def _run(self, job: _Job, matches: Callable[[str], bool]) -> None:
        job.state = "running"
        budget = Budget(self.job_seconds, self._closed, what="json generation")
        job.predicate = _guarded(job.predicate, budget)
        try:
            with budget.running():
                builder = self._evaluate(job, self._datasets(matches))
                created = self.now()
                job.stored = builder.stored_row(self._header(job, created))
            job.finished = builder.finished_row(job.stored, created + timedelta(seconds=self.finish_delay))
            job.finish_at = self.clock() + self.finish_delay
            job.state = "done"
        except QueryLangError as exc:
            job.error, job.state = f"json_logic failed: {exc}", "failed"
        except (BudgetExceededError, sqlite3.OperationalError) as exc:
            job.error, job.state = str(budget.error() if budget.spent() else exc), "failed"
        except Exception as exc:
            logger.exception("json_portal job %d failed", job.id)
            job.error, job.state = f"json generation failed: {type(exc).__name__}", "failed"
        finally:
            job.ended.set()

    def _datasets(self, matches: Callable[[str], bool]) -> list[tuple[int, str, str]]:
        """``(run_number, name, attributes)`` of every dataset whose name matches, by run number then name."""
        return [dataset for dataset in self.store.datasets() if matches(dataset[1])]

    def _evaluate(self, job: _Job, datasets: list[tuple[int, str, str]]) -> _RowBuilder:
        builder = _RowBuilder(compile_blame(job.rule), merge=not self.rr_quirks, order_seed=job.id)
        for done, (run_number, name, attributes) in enumerate(datasets):
            if self._closed.is_set():
                raise BudgetExceededError("the json generation was cancelled: the server is stopping")
            run = self._run_data(run_number)
            lumis = self.store.dataset_lumis(run_number, name)
            if run is not None and lumis is not None:
                for data in _lumisection_objects(run, lumis, json.loads(attributes)):
                    builder.add(run_number, name, data, job.predicate(data))
            job.progress = done / len(datasets)
        first, last = datasets[0][0], datasets[-1][0]
        builder.run_range(first, last, self._run_range_luminosity(first, last))
        return builder

    def _header(self, job: _Job, created: datetime) -> dict[str, Any]:
        return {
            "id": job.id,
            "dataset_name_filter": job.pattern,
            "tags": job.tags,
            "created_by": "runql-embedded",
            "official": job.official,
            "runregistry_version": str(self.store.registry_version()),
            "json_logic": jsonb(job.rule),
            "createdAt": _timestamp(created),
        }

    def _run_data(self, run_number: int) -> _RunData | None:
        attributes, oms = self.store.run_attributes(run_number), self.store.oms_lumis(run_number)
        if attributes is None or oms is None:
            return None
        run = {"oms": attributes[0], "rr": attributes[1], "run_number": run_number}
        return _RunData(run, oms[1], oms[2], oms[3])

    def _run_range_luminosity(self, first: int, last: int) -> tuple[float, float]:
        """Recorded and delivered luminosity of every lumisection of the runs ``first..last``."""
        recorded: float = 0
        delivered: float = 0
        for run_number in self.store.run_numbers(first, last):
            oms = self.store.oms_lumis(run_number)
            if oms is not None:
                recorded += plain_sum(luminosity_value(v) for v in oms[2])
                delivered += plain_sum(luminosity_value(v) for v in oms[3])
        return recorded, delivered


def _timestamp(moment: datetime) -> str:
    """``2018-06-01T12:00:00.000Z``, as the service's JSON dates."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _RowBuilder:
    """Accumulates per-lumisection verdicts into the service's row, the way its worker does."""

    def __init__(self, blame: Callable[[Any], Blame], *, merge: bool, order_seed: int) -> None:
        self.blame: Callable[[Any], Blame] | None = blame
        self.merge, self.order_seed = merge, order_seed
        self.kept: dict[tuple[int, str], list[int]] = {}
        self.removed: dict[tuple[int, str], list[int]] = {}
        self.lumi: dict[str, list[float]] = {"in": [0, 0], "lost": [0, 0]}
        self.tally = LossTally()
        self.range: tuple[int, int, float, float] = (0, 0, 0, 0)

    def add(self, run_number: int, name: str, data: dict[str, Any], passed: bool) -> None:
        number = data["lumisection"]["lumisection_number"]
        oms = data["lumisection"]["oms"]
        recorded, delivered = luminosity_value(oms.get("recorded")), luminosity_value(oms.get("delivered"))
        side = "in" if passed else "lost"
        (self.kept if passed else self.removed).setdefault((run_number, name), []).append(number)
        self.lumi[side][0] += recorded
        self.lumi[side][1] += delivered
        if not passed and self.blame is not None:
            self._account(f"{run_number}-{name}", number, data, recorded)

    def _account(self, identifier: str, number: int, data: dict[str, Any], recorded: float) -> None:
        assert self.blame is not None
        try:
            blamed = self.blame(data)
        except UnaccountableError:
            self.blame = None  # the service's worker throws: the row is never filled in
            return
        self.tally.add(blamed, identifier, [(number, number)], recorded)

    def run_range(self, first: int, last: int, luminosity: tuple[float, float]) -> None:
        self.range = (first, last, *luminosity)

    def _by_run(self, per_dataset: dict[tuple[int, str], list[int]]) -> dict[str, list[list[int]]]:
        runs: dict[int, list[tuple[int, str]]] = {}
        for key in per_dataset:
            runs.setdefault(key[0], []).append(key)
        by_run = {}
        for run, keys in sorted(runs.items()):
            if self.merge:
                numbers = sorted({n for key in keys for n in per_dataset[key]})
            else:  # the service concatenates the datasets of a run, in the order its workers finish them
                random.Random(f"{self.order_seed}-{run}").shuffle(keys)
                numbers = [n for key in keys for n in per_dataset[key]]
            by_run[str(run)] = to_ranges(numbers)
        return by_run

    @staticmethod
    def _named(per_dataset: dict[tuple[int, str], list[int]]) -> dict[str, list[list[int]]]:
        return {f"{run}-{name}": to_ranges(numbers) for (run, name), numbers in sorted(per_dataset.items())}

    def stored_row(self, header: dict[str, Any]) -> dict[str, Any]:
        """The row as first stored: JSON and luminosity in, no anti-JSON, every ``*_lost`` at −1."""
        recorded_in, delivered_in = self.lumi["in"]
        values = {
            **header,
            "generated_json": jsonb(self._by_run(self.kept)),
            "generated_json_with_dataset_names": jsonb(self._named(self.kept)),
            "generated_anti_json": {},
            "generated_anti_json_with_dataset_names": {},
            "min_run_number": self.range[0],
            "max_run_number": self.range[1],
            "total_delivered_luminosity": delivered_in + self.lumi["lost"][1],
            "total_recorded_luminosity": recorded_in + self.lumi["lost"][0],
            "recorded_luminosity_in_json": recorded_in,
            "delivered_luminosity_in_json": delivered_in,
            **dict.fromkeys(_LOST_FIELDS, -1),
            "rules_flagged_false_quantity_luminosity": {},
            "rules_flagged_false_combination_luminosity": {},
            "runs_lumisections_responsible_for_rule": {},
            "deleted": False,
            "updatedAt": header["createdAt"],
        }
        return {name: values[name] for name in row_fields()}

    def finished_row(self, stored: dict[str, Any], updated: datetime) -> dict[str, Any] | None:
        """The row once filled in (``None`` when the service's accounting threw)."""
        if self.blame is None:
            return None
        return {
            **stored,
            "generated_anti_json": jsonb(self._by_run(self.removed)),
            "generated_anti_json_with_dataset_names": jsonb(self._named(self.removed)),
            "total_recorded_luminosity_lost": self.lumi["lost"][0],
            "total_delivered_luminosity_lost": self.lumi["lost"][1],
            "total_recorded_luminosity_from_run_range": self.range[2],
            "total_delivered_luminosity_from_run_range": self.range[3],
            "rules_flagged_false_quantity_luminosity": jsonb(self.tally.quantity),
            "rules_flagged_false_combination_luminosity": jsonb(self.tally.combination),
            "runs_lumisections_responsible_for_rule": jsonb(self.tally.responsible_ranges()),
            "updatedAt": _timestamp(updated),
        }
