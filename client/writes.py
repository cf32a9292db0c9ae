"""Writes (``rr-protocol.md`` §9), applied run by run, each answered by a per-run :class:`WriteReport`.

The builders validate their arguments and return a :class:`WritePlan` (one call per run) without sending
anything; :func:`apply_writes` is the operation that sends them in order and records, for every run, whether
it was changed (``done``), refused (``failed``, with the service's message), not attempted after a failure
(``skipped``) or, with ``dry_run``, what would be sent (``planned``).

>>> plan = move_runs_plan("OPEN", "SIGNOFF", runs=[315000, 315001])
>>> [(run, call.route) for run, call in plan.calls]
[(315000, 'POST /runs/move_run/OPEN/SIGNOFF'), (315001, 'POST /runs/move_run/OPEN/SIGNOFF')]
>>> from client.engine import run_sync
>>> report = run_sync(apply_writes(plan, dry_run=True), transport=None, pool=None)
>>> report.planned, report.ok
([315000, 315001], True)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from client.calls import get_call, require_run_number
from client.engine import Batch, Operation
from client.errors import RunQLError, ServiceError
from client.transport import Call
from querylang.catalogue import DATASET_STATES, LUMISECTION_STATUSES, RUN_STATES

__all__ = [
    "WriteOutcome",
    "WritePlan",
    "WriteReport",
    "apply_writes",
    "change_run_class_plan",
    "edit_rr_lumisections_plan",
    "make_significant_runs_plan",
    "manually_refresh_plan",
    "move_datasets_plan",
    "move_runs_plan",
    "reset_and_refresh_plan",
    "runs_argument",
]

Status = Literal["done", "failed", "skipped", "planned"]


@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one run: ``status``, the service's message on failure, its answer on success."""

    run_number: int
    status: Status
    message: str = ""
    response: Any = None


@dataclass(frozen=True)
class WritePlan:
    """A validated write: a description and one call per run, in order."""

    action: str
    calls: tuple[tuple[int, Call], ...]


@dataclass(frozen=True)
class WriteReport(Sequence[WriteOutcome]):
    """Per-run outcomes of a write, in the order they were applied (a sequence of :class:`WriteOutcome`)."""

    action: str
    outcomes: tuple[WriteOutcome, ...]
    dry_run: bool = False

    @overload
    def __getitem__(self, index: int) -> WriteOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[WriteOutcome]: ...
    def __getitem__(self, index: int | slice) -> WriteOutcome | Sequence[WriteOutcome]:
        return self.outcomes[index]

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[WriteOutcome]:
        return iter(self.outcomes)

    def _runs(self, status: Status) -> list[int]:
        return [o.run_number for o in self.outcomes if o.status == status]

    @property
    def done(self) -> list[int]:
        """Runs the service changed."""
        return self._runs("done")

    @property
    def failed(self) -> list[int]:
        return self._runs("failed")

    @property
    def skipped(self) -> list[int]:
        """Runs not attempted because an earlier one failed (``stop_on_error=True``)."""
        return self._runs("skipped")

    @property
    def planned(self) -> list[int]:
        return self._runs("planned")

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def responses(self) -> list[Any]:
        """The service's answers for the runs that were changed (what the public client returns)."""
        return [o.response for o in self.outcomes if o.status == "done"]

    def summary(self) -> str:
        """One line: counts per status, and each failure with its message."""
        parts = [f"{self.action}: {len(self.done)} done, {len(self.failed)} failed, {len(self.skipped)} skipped"]
        if self.dry_run:
            parts = [f"{self.action} (dry run): {len(self.planned)} planned"]
        parts += [f"run {o.run_number}: {o.message}" for o in self.outcomes if o.status == "failed"]
        return "; ".join(parts)


def apply_writes(plan: WritePlan, *, dry_run: bool = False, stop_on_error: bool = True) -> Operation[WriteReport]:
    """Send the plan's calls one at a time; never hides which runs were already changed."""
    if dry_run:
        return WriteReport(plan.action, tuple(WriteOutcome(r, "planned") for r, _ in plan.calls), dry_run=True)
    outcomes: list[WriteOutcome] = []
    for position, (run_number, call) in enumerate(plan.calls):
        (result,) = yield Batch([call])
        if isinstance(result, RunQLError):
            outcomes.append(WriteOutcome(run_number, "failed", _message(result)))
            if stop_on_error:
                outcomes += [WriteOutcome(r, "skipped") for r, _ in plan.calls[position + 1 :]]
                break
        else:
            outcomes.append(WriteOutcome(run_number, "done", response=result.data))
    return WriteReport(plan.action, tuple(outcomes))


def _message(error: RunQLError) -> str:
    return error.message if isinstance(error, ServiceError) else str(error)


# -- argument checks ------------------------------------------------------------------------------------------


def runs_argument(run: object = None, runs: object = None, *, function: str) -> tuple[int, ...]:
    """The runs of ``run=`` or ``runs=`` (an int, a digit string, or a list of ints), checked; not both."""
    if run is not None and runs is not None:
        raise ValueError(f"{function}(): give either run= or runs=, not both")
    given = run if run is not None else runs
    if given is None or (isinstance(given, (list, tuple)) and not given):
        raise ValueError(f"{function}(): no run given (run= or runs=)")
    if isinstance(given, str) and given.strip().isdigit():
        given = int(given)
    items = list(given) if isinstance(given, (list, tuple)) else [given]
    numbers = tuple(require_run_number(n, what=f"{function}(): run number") for n in items)
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ValueError(f"{function}(): runs listed more than once: {duplicates}")
    return numbers


def _state(value: object, allowed: Sequence[str], *, function: str, what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{function}(): {what} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def _text(value: object, *, function: str, what: str, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise TypeError(f"{function}(): {what} must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return value


# -- the writes -----------------------------------------------------------------------------------------------


def move_runs_plan(from_: str, to_: str, run: object = None, runs: object = None) -> WritePlan:
    """``POST /runs/move_run/:from/:to {run_number}`` per run (states OPEN, SIGNOFF, COMPLETED)."""
    f = _state(from_, RUN_STATES, function="move_runs", what="from_")
    t = _state(to_, RUN_STATES, function="move_runs", what="to_")
    numbers = runs_argument(run, runs, function="move_runs")
    path = get_call("runs", "move_run", f, t).path
    return WritePlan(f"move runs {f} → {t}", tuple((n, _write("POST", path, {"run_number": n})) for n in numbers))


def make_significant_runs_plan(run: object = None, runs: object = None) -> WritePlan:
    """``POST /runs/mark_significant {run_number}`` per run."""
    numbers = runs_argument(run, runs, function="make_significant_runs")
    calls = tuple((n, _write("POST", "/runs/mark_significant", {"run_number": n})) for n in numbers)
    return WritePlan("make runs significant", calls)


def reset_and_refresh_plan(runs: object) -> WritePlan:
    """``POST /runs/reset_and_refresh_run/:n`` per run."""
    numbers = runs_argument(None, runs, function="reset_RR_attributes_and_refresh_runs")
    calls = tuple((n, _write("POST", f"/runs/reset_and_refresh_run/{n}")) for n in numbers)
    return WritePlan("reset RR attributes and refresh runs", calls)


def manually_refresh_plan(runs: object) -> WritePlan:
    """``POST /runs/refresh_run/:n`` per run."""
    numbers = runs_argument(None, runs, function="manually_refresh_components_statuses_for_runs")
    calls = tuple((n, _write("POST", f"/runs/refresh_run/{n}")) for n in numbers)
    return WritePlan("refresh component statuses", calls)


def change_run_class_plan(run_numbers: object, new_class: object) -> WritePlan:
    """``PUT /manual_run_edit/:n/class {"class": new_class}`` per run."""
    cls = _text(new_class, function="change_run_class", what="new_class")
    numbers = runs_argument(None, run_numbers, function="change_run_class")
    calls = tuple((n, _write("PUT", f"/manual_run_edit/{n}/class", {"class": cls})) for n in numbers)
    return WritePlan(f"change run class to {cls}", calls)


def move_datasets_plan(
    from_: str, to_: str, dataset_name: str, workspace: str = "global", run: object = None, runs: object = None
) -> WritePlan:
    """``POST /datasets/:workspace/move_dataset/:from/:to {run_number, dataset_name, workspace}`` per run."""
    f = _state(from_, DATASET_STATES, function="move_datasets", what="from_")
    t = _state(to_, DATASET_STATES, function="move_datasets", what="to_")
    name = _text(dataset_name, function="move_datasets", what="dataset_name")
    ws = _text(workspace, function="move_datasets", what="workspace")
    numbers = runs_argument(run, runs, function="move_datasets")
    path = get_call("datasets", ws, "move_dataset", f, t).path
    calls = tuple((n, _write("POST", path, {"run_number": n, "dataset_name": name, "workspace": ws})) for n in numbers)
    return WritePlan(f"move {name} ({ws}) {f} → {t}", calls)


def edit_rr_lumisections_plan(
    run: int,
    lumi_start: int,
    lumi_end: int,
    component: str,
    status: str,
    comment: str = "",
    cause: str = "",
    dataset_name: str = "online",
) -> WritePlan:
    """``PUT /lumisections/edit_rr_lumisections`` for lumisections ``lumi_start..lumi_end`` (inclusive)."""
    fn = "edit_rr_lumisections"
    number = require_run_number(run, what=f"{fn}(): run")
    start = require_run_number(lumi_start, what=f"{fn}(): lumi_start")
    end = require_run_number(lumi_end, what=f"{fn}(): lumi_end")
    if end < start:
        raise ValueError(f"{fn}(): lumi_end ({end}) is before lumi_start ({start})")
    body = {
        "run_number": number,
        "dataset_name": _text(dataset_name, function=fn, what="dataset_name"),
        "component": _text(component, function=fn, what="component"),
        "new_lumisection_range": {
            "start": start,
            "end": end,
            "status": _state(status, LUMISECTION_STATUSES, function=fn, what="status"),
            "comment": _text(comment, function=fn, what="comment", empty=True),
            "cause": _text(cause, function=fn, what="cause", empty=True),
        },
    }
    action = f"set {component} lumisections {start}-{end} of run {number} to {status}"
    return WritePlan(action, ((number, _write("PUT", "/lumisections/edit_rr_lumisections", body)),))


def _write(method: str, path: str, body: object = None) -> Call:
    # every write here sets values or a state: resending it after a lost answer leaves the same result
    return Call(method, path, json=body, idempotent=False, repeatable=True)
