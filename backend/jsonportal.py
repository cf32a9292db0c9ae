"""The json_portal (``rr-protocol.md`` §8): golden-JSON jobs run in the background and are polled.

``submit`` validates the rule (json-logic, compiled once with :mod:`querylang.jsonlogic`) and the dataset-name
pattern (SQL ``SIMILAR TO``, :mod:`querylang.similar`), queues a job and returns its id. ``poll`` answers like the
service: 203 queued, 202 ``{"progress": 0..1}`` while running, 200 ``{"final_json": row}`` when done, 500
``{"err"}`` when the job failed or the id is unknown. Jobs live in memory (they do not survive a restart).

The rule is evaluated once per lumisection of every dataset whose name matches, on
``{"run": {"oms", "rr", "run_number"}, "dataset": {"name", <dataset attributes>}, "lumisection":
{"lumisection_number", "oms": {<bits>, "prescale_index", "prescale_name", "recorded", "delivered"},
"rr": {"<ws>-<col>": "<status>"}}}`` (statuses as plain strings; uncovered components absent). Datasets without
any RR status (runs never significant) contribute nothing to the JSON.

The finished row: ``id``, ``json_logic``, ``dataset_name_filter``, ``generated_json`` (``{"<run>": [[first, last],
...]}``; when several datasets of one run match, their ranges are concatenated under the run key, in dataset name
order, like the service), ``generated_json_with_dataset_names`` (``"<run>-<dataset>"`` keys),
``generated_anti_json`` (the evaluated lumisections that failed the rule, same layout), ``min_run_number``,
``max_run_number`` (``null`` when empty) and the luminosity totals in inverse picobarns
``total_recorded_luminosity``, ``total_delivered_luminosity`` (lumisections in the JSON) and
``anti_total_recorded_luminosity``, ``anti_total_delivered_luminosity`` (lumisections out of it), summed per
dataset lumisection.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from backend.budget import Budget, BudgetExceededError
from backend.demo import OmsRange
from backend.errors import RequestError
from backend.lumiranges import expand
from backend.store import DatasetLumis, Store
from querylang.catalogue import OMS_LUMISECTION_BITS
from querylang.errors import QueryLangError
from querylang.jsonlogic import compile_predicate
from querylang.similar import compile_similar

__all__ = ["JsonPortal", "evaluate_dataset", "to_ranges"]

logger = logging.getLogger(__name__)

Reply = tuple[int, str]
_UB_PER_PB = 1e6


@dataclass
class _Job:
    id: int
    json_logic: str
    pattern: str
    predicate: Callable[[Any], bool]
    matches: Callable[[str], bool]
    state: str = "queued"  # queued | running | done | failed
    progress: float = 0.0
    row: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def to_ranges(numbers: list[int]) -> list[list[int]]:
    """Sorted lumisection numbers as inclusive ``[first, last]`` ranges.

    >>> to_ranges([1, 2, 3, 7, 9, 10])
    [[1, 3], [7, 7], [9, 10]]
    """
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and ranges[-1][1] + 1 == number:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ranges


def _name_matcher(pattern: object) -> Callable[[str], bool]:
    if not isinstance(pattern, str):
        raise RequestError(f"dataset_name_filter must be a string (a SIMILAR TO pattern), got {pattern!r}")
    try:
        return compile_similar(pattern).matches
    except QueryLangError as exc:
        raise RequestError(f"invalid dataset_name_filter: {exc}") from None


def _parse_rule(json_logic: object) -> tuple[str, Callable[[Any], bool]]:
    if isinstance(json_logic, str):
        try:
            rule = json.loads(json_logic)
        except json.JSONDecodeError as exc:
            raise RequestError(f"json_logic is not valid JSON: {exc}") from None
        except RecursionError:
            raise RequestError("json_logic is nested too deeply") from None
        text = json_logic
    elif isinstance(json_logic, dict):
        rule, text = json_logic, json.dumps(json_logic)
    else:
        raise RequestError(f"json_logic must be a JSON string (or object), got {json_logic!r}")
    try:
        return text, compile_predicate(rule)
    except QueryLangError as exc:
        raise RequestError(f"invalid json_logic: {exc}") from None


def _oms_values(rng: OmsRange) -> dict[str, Any]:
    bits: dict[str, Any] = {
        bit: None if rng.null_bits >> i & 1 else bool(rng.true_bits >> i & 1)
        for i, bit in enumerate(OMS_LUMISECTION_BITS)
    }
    bits["prescale_index"] = rng.prescale_index
    bits["prescale_name"] = rng.prescale_name
    return bits


@dataclass(frozen=True)
class _RunData:
    run: dict[str, Any]
    oms_ranges: list[OmsRange]
    recorded: list[int]
    delivered: list[int]


def evaluate_dataset(
    predicate: Callable[[Any], bool], run: _RunData, lumis: DatasetLumis, attributes: dict[str, Any]
) -> tuple[list[int], list[int]]:
    """Lumisection numbers of one dataset that pass and that fail the rule (evaluated per lumisection)."""
    n = lumis.lumisections
    if not lumis.statuses:
        return [], list(range(1, n + 1))
    per_component = {c: expand(r, n) for c, r in lumis.statuses.items()}
    oms_per_ls: list[dict[str, Any] | None] = [None] * n
    for rng in run.oms_ranges:
        values = _oms_values(rng)
        for ls in range(rng.start, min(rng.end, n) + 1):
            oms_per_ls[ls - 1] = values
    dataset = {"name": lumis.name, **attributes}
    passed: list[int] = []
    failed: list[int] = []
    for index in range(n):
        rr = {c: hit.status for c, per_ls in per_component.items() if (hit := per_ls[index]) is not None}
        oms = dict(oms_per_ls[index] or {})
        oms["recorded"], oms["delivered"] = run.recorded[index], run.delivered[index]
        data = {
            "run": run.run,
            "dataset": dataset,
            "lumisection": {"lumisection_number": index + 1, "oms": oms, "rr": rr},
        }
        (passed if predicate(data) else failed).append(index + 1)
    return passed, failed


def _guarded(predicate: Callable[[Any], bool], budget: Budget) -> Callable[[Any], bool]:
    """``predicate``, stopping the job (:class:`BudgetExceededError`) once its budget is spent or the server stops."""

    def test(data: Any) -> bool:
        budget.check()
        return predicate(data)

    return test


class JsonPortal:
    """Golden-JSON jobs over a store, run one at a time on a background thread.

    Jobs are bounded: at most ``max_waiting`` queued or running (more are refused), each stops after
    ``job_seconds`` or as soon as ``stop`` is set (the server is stopping), and only the last ``max_kept``
    finished jobs are remembered.
    """

    def __init__(
        self,
        store: Store,
        *,
        stop: threading.Event | None = None,
        job_seconds: float = 600.0,
        max_waiting: int = 16,
        max_kept: int = 256,
    ) -> None:
        self.store = store
        self.job_seconds, self.max_waiting, self.max_kept = job_seconds, max_waiting, max_kept
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runql-json-portal")
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._closed = stop if stop is not None else threading.Event()

    def submit(self, json_logic: object, dataset_name_filter: object) -> int:
        """Validate and queue a job; returns its id (:class:`RequestError` for a bad rule or pattern)."""
        text, predicate = _parse_rule(json_logic)
        matches = _name_matcher(dataset_name_filter)
        with self._lock:
            if sum(j.state in ("queued", "running") for j in self._jobs.values()) >= self.max_waiting:
                raise RequestError(f"{self.max_waiting} json_portal jobs are already queued or running; retry later")
            job = _Job(next(self._ids), text, str(dataset_name_filter), predicate, matches)
            self._jobs[job.id] = job
            self._forget_old_jobs()
        self._executor.submit(self._run, job)
        return job.id

    def _forget_old_jobs(self) -> None:
        finished = [i for i, j in self._jobs.items() if j.state in ("done", "failed")]
        for job_id in finished[: max(0, len(finished) - self.max_kept)]:
            del self._jobs[job_id]

    def poll(self, job_id: int) -> Reply:
        """The service's polling reply for a job."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return 500, json.dumps({"err": f"there is no json with id {job_id}"})
        if job.state == "queued":
            return 203, json.dumps({"message": "queued"})
        if job.state == "running":
            return 202, json.dumps({"progress": round(job.progress, 4)})
        if job.state == "failed":
            return 500, json.dumps({"err": job.error})
        return 200, json.dumps({"final_json": job.row})

    def close(self) -> None:
        """Stop: queued jobs are cancelled, a running job stops at its next dataset (waited for)."""
        self._closed.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    # -- the job --------------------------------------------------------------------------------------------
    def _run(self, job: _Job) -> None:
        job.state = "running"
        budget = Budget(self.job_seconds, self._closed, what="json generation")
        job.predicate = _guarded(job.predicate, budget)
        try:
            with budget.running():
                job.row = self._generate(job)
            job.state = "done"
        except QueryLangError as exc:
            job.error, job.state = f"json_logic failed: {exc}", "failed"
        except (BudgetExceededError, sqlite3.OperationalError) as exc:
            job.error, job.state = str(budget.error() if budget.spent() else exc), "failed"
        except Exception as exc:
            logger.exception("json_portal job %d failed", job.id)
            job.error, job.state = f"json generation failed: {type(exc).__name__}", "failed"

    def _datasets(self, job: _Job) -> list[tuple[int, str, str]]:
        names = [n for (n,) in self.store.query("SELECT DISTINCT name FROM dataset WHERE deleted = 0")]
        wanted = sorted(n for n in names if job.matches(n))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        return [
            (r[0], r[1], r[2])
            for r in self.store.query(
                f"SELECT run_number, name, dataset_attributes FROM dataset WHERE deleted = 0 AND name IN ({marks}) "
                "ORDER BY run_number, name",
                wanted,
            )
        ]

    def _generate(self, job: _Job) -> dict[str, Any]:
        datasets = self._datasets(job)
        row = _RowBuilder(job)
        for done, (run_number, name, attributes) in enumerate(datasets):
            if self._closed.is_set():
                raise BudgetExceededError("the json generation was cancelled: the server is stopping")
            run = self._run_data(run_number)
            lumis = self.store.dataset_lumis(run_number, name)
            if run is not None and lumis is not None:
                passed, failed = evaluate_dataset(job.predicate, run, lumis, json.loads(attributes))
                row.add(run_number, name, passed, failed, run)
            job.progress = (done + 1) / len(datasets)
        return row.finish()

    def _run_data(self, run_number: int) -> _RunData | None:
        rows = self.store.query("SELECT oms_attributes, rr_attributes FROM run WHERE run_number = ?", (run_number,))
        oms = self.store.oms_lumis(run_number)
        if not rows or oms is None:
            return None
        run = {"oms": json.loads(rows[0][0]), "rr": json.loads(rows[0][1]), "run_number": run_number}
        return _RunData(run, oms[1], oms[2], oms[3])


class _RowBuilder:
    """Accumulates per-dataset results into the service's row layout."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.json: dict[str, list[list[int]]] = {}
        self.with_names: dict[str, list[list[int]]] = {}
        self.anti: dict[str, list[list[int]]] = {}
        self.lumi = {"in": [0, 0], "out": [0, 0]}

    def add(self, run_number: int, name: str, passed: list[int], failed: list[int], run: _RunData) -> None:
        key = str(run_number)
        if passed:
            self.json.setdefault(key, []).extend(to_ranges(passed))  # several datasets: concatenated (quirk)
            self.with_names[f"{run_number}-{name}"] = to_ranges(passed)
        if failed:
            self.anti.setdefault(key, []).extend(to_ranges(failed))
        for side, numbers in (("in", passed), ("out", failed)):
            self.lumi[side][0] += sum(run.recorded[n - 1] for n in numbers)
            self.lumi[side][1] += sum(run.delivered[n - 1] for n in numbers)

    def finish(self) -> dict[str, Any]:
        runs = [int(k) for k in self.json]
        return {
            "id": self.job.id,
            "json_logic": self.job.json_logic,
            "dataset_name_filter": self.job.pattern,
            "generated_json": dict(sorted(self.json.items(), key=lambda kv: int(kv[0]))),
            "generated_json_with_dataset_names": self.with_names,
            "generated_anti_json": dict(sorted(self.anti.items(), key=lambda kv: int(kv[0]))),
            "min_run_number": min(runs) if runs else None,
            "max_run_number": max(runs) if runs else None,
            "total_recorded_luminosity": self.lumi["in"][0] / _UB_PER_PB,
            "total_delivered_luminosity": self.lumi["in"][1] / _UB_PER_PB,
            "anti_total_recorded_luminosity": self.lumi["out"][0] / _UB_PER_PB,
            "anti_total_delivered_luminosity": self.lumi["out"][1] / _UB_PER_PB,
        }
