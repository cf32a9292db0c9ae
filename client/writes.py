"""Writes (``rr-protocol.md`` §9), applied run by run, each answered by a per-run :class:`WriteReport`.

The builders validate their arguments and return a :class:`WritePlan` (one call per run) without sending
anything; :func:`apply_writes` is the operation that sends them in order and records, for every run, whether
it was changed (``done``), refused (``failed``, with the service's message), not attempted (``skipped``: after
a failure, or because its current state does not allow it) or, with ``dry_run``, what would be sent
(``planned``).

The real service is laxer than its rules (§10), so a plan can carry a :class:`Watch`: what to read before
sending, what to refuse then (a run or dataset not in the ``from`` state is skipped; a lumisection edit on a
component the catalogue does not know for that dataset, past the run's last lumisection or BAD without a
comment fails before sending), and what to read back after a 5xx (the service can commit and then fail), so
the report says "applied, the service reported an error afterwards" or "not applied".

>>> plan = move_runs_plan("OPEN", "SIGNOFF", runs=[315000, 315001])
>>> [(run, call.route) for run, call in plan.calls]
[(315000, 'POST /runs/move_run/OPEN/SIGNOFF'), (315001, 'POST /runs/move_run/OPEN/SIGNOFF')]
>>> from client.engine import run_sync
>>> report = run_sync(apply_writes(manually_refresh_plan([315000, 315001]), dry_run=True), transport=None, pool=None)
>>> report.planned, report.ok
([315000, 315001], True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from client.calls import get_call, lumisection_call, require_run_number
from client.engine import Batch, Operation
from client.errors import ArgumentError, ArgumentTypeError, RunQLError, ServiceError, TransportError
from client.progress import Progress, ProgressOption
from client.transport import Call, Reply
from querylang.catalogue import DATASET_STATES, LUMISECTION_STATUSES, RUN_STATES, default_catalogue

__all__ = [
    "RunNumbers",
    "Watch",
    "WriteOptions",
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
#: The runs of a write: one run number (an int or a digit string) or a list of them.
RunNumbers = int | str | list[int] | tuple[int, ...] | None
APPLIED_DESPITE_ERROR = "applied, the service reported an error afterwards"
NOT_APPLIED = "not applied"


@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one run: ``status``, the service's message on failure, its answer on success."""

    run_number: int
    status: Status
    message: str = ""
    response: Any = None


@dataclass(frozen=True)
class Watch:
    """How a write is checked before it is sent and verified after a 5xx.

    ``reads(run)``: the calls that read what the write changes; ``refuse(run, answers)``: why not to send it
    (``None``: send), reported with status ``refusal``; ``observe(run, answers)``: the watched value;
    ``target(run)``: that value once the write is applied.
    """

    reads: Callable[[int], tuple[Call, ...]]
    observe: Callable[[int, Sequence[Any]], object]
    target: Callable[[int], object]
    refuse: Callable[[int, Sequence[Any]], str | None]
    refusal: Status = "skipped"


@dataclass(frozen=True)
class WriteOptions:
    """How the API applies a write (the keyword-only options of every write method).

    ``dry_run``: send nothing, report the plan; ``stop_on_error``: skip the runs after a failure;
    ``raise_on_error``: raise ``WriteError`` (carrying the report) when a run failed; ``progress``: ``True`` for a
    ``tqdm`` bar of the runs, or a callable ``progress(runs_done, runs_total)``.
    """

    dry_run: bool = False
    stop_on_error: bool = True
    raise_on_error: bool = True
    progress: ProgressOption = False


@dataclass(frozen=True)
class WritePlan:
    """A validated write: a description, one call per run in order, and optionally its :class:`Watch`."""

    action: str
    calls: tuple[tuple[int, Call], ...]
    watch: Watch | None = None


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
        """Runs the service changed (including those it changed before answering an error)."""
        return self._runs("done")

    @property
    def failed(self) -> list[int]:
        return self._runs("failed")

    @property
    def skipped(self) -> list[int]:
        """Runs not sent: an earlier one failed (``stop_on_error=True``), or their state did not allow it."""
        return self._runs("skipped")

    @property
    def planned(self) -> list[int]:
        return self._runs("planned")

    @property
    def applied_despite_error(self) -> list[int]:
        """Runs the service changed although it answered an error (read back to find out)."""
        return [
            o.run_number for o in self.outcomes if o.status == "done" and o.message.startswith(APPLIED_DESPITE_ERROR)
        ]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def responses(self) -> list[Any]:
        """The service's answers for the runs that were changed (what the public client returns)."""
        return [o.response for o in self.outcomes if o.status == "done"]

    def summary(self) -> str:
        """One line: counts per status, and each failure or skip with its message."""
        parts = [f"{self.action}: {len(self.done)} done, {len(self.failed)} failed, {len(self.skipped)} skipped"]
        if self.dry_run:
            parts = [f"{self.action} (dry run): {len(self.planned)} planned"]
        parts += [f"run {o.run_number}: {o.message}" for o in self.outcomes if o.status != "done" and o.message]
        return "; ".join(parts)


def apply_writes(
    plan: WritePlan, *, dry_run: bool = False, stop_on_error: bool = True, progress: Progress | None = None
) -> Operation[WriteReport]:
    """Check the plan's runs (when it has a :class:`Watch`), then send its calls one at a time; never hides
    which runs were already changed. ``progress(runs_done, runs_total)`` is called after each run."""
    checked: dict[int, tuple[Status, str, object]] = {}
    if plan.watch is not None:
        checked = yield from _check_before(plan.watch, [run for run, _ in plan.calls])
    if dry_run:
        outcomes = tuple(WriteOutcome(r, *checked.get(r, ("planned", "", None))[:2]) for r, _ in plan.calls)
        return WriteReport(plan.action, outcomes, dry_run=True)
    sent: list[WriteOutcome] = []
    for position, (run_number, call) in enumerate(plan.calls):
        status, message, before = checked.get(run_number, ("planned", "", None))
        if status == "planned":
            outcome = yield from _send(plan.watch, run_number, call, before)
        else:
            outcome = WriteOutcome(run_number, status, message)
        sent.append(outcome)
        if outcome.status == "failed" and stop_on_error:
            sent += [WriteOutcome(r, "skipped") for r, _ in plan.calls[position + 1 :]]
        if progress is not None:
            progress(len(sent), len(plan.calls))
        if len(sent) == len(plan.calls):
            break
    return WriteReport(plan.action, tuple(sent))


def _check_before(watch: Watch, runs: Sequence[int]) -> Operation[dict[int, tuple[Status, str, object]]]:
    """Per run: ``("planned", what would change, the watched value)`` or the refusal and why."""
    reads = [watch.reads(run) for run in runs]
    answers = yield Batch([call for calls in reads for call in calls])
    checked: dict[int, tuple[Status, str, object]] = {}
    position = 0
    for run, calls in zip(runs, reads, strict=True):
        mine, position = answers[position : position + len(calls)], position + len(calls)
        error = next((a for a in mine if isinstance(a, RunQLError)), None)
        if error is not None:
            checked[run] = ("failed", f"not sent: reading its current state failed: {_message(error)}", None)
            continue
        data = [a.data for a in mine]
        reason = watch.refuse(run, data)
        if reason is not None:
            checked[run] = (watch.refusal, f"not sent: {reason}", None)
            continue
        now = watch.observe(run, data)
        checked[run] = ("planned", f"checked: now {now!r}, once applied {watch.target(run)!r}", now)
    return checked


def _send(watch: Watch | None, run_number: int, call: Call, before: object) -> Operation[WriteOutcome]:
    (result,) = yield Batch([call])
    if not isinstance(result, RunQLError):
        assert isinstance(result, Reply)
        return WriteOutcome(run_number, "done", response=result.data)
    if watch is None or not _may_have_been_applied(result):
        return WriteOutcome(run_number, "failed", _message(result))
    answers = yield Batch(list(watch.reads(run_number)))
    error = next((a for a in answers if isinstance(a, RunQLError)), None)
    if error is not None:
        return WriteOutcome(run_number, "failed", f"{_message(result)}; reading it back failed: {_message(error)}")
    after, target = watch.observe(run_number, [a.data for a in answers]), watch.target(run_number)
    if after == target and before != target:
        return WriteOutcome(run_number, "done", f"{APPLIED_DESPITE_ERROR}: {_message(result)}")
    return WriteOutcome(run_number, "failed", f"{NOT_APPLIED}: {_message(result)}")


def _may_have_been_applied(error: RunQLError) -> bool:
    """A 5xx or a lost answer: the service may have committed the write before failing."""
    return isinstance(error, TransportError) or (
        isinstance(error, ServiceError) and error.status is not None and error.status >= 500
    )


def _message(error: RunQLError) -> str:
    return error.message if isinstance(error, ServiceError) else str(error)


# -- argument checks ------------------------------------------------------------------------------------------


def runs_argument(run: object = None, runs: object = None, *, function: str) -> tuple[int, ...]:
    """The runs of ``run=`` or ``runs=`` (an int, a digit string, or a list of ints), checked; not both."""
    if run is not None and runs is not None:
        raise ArgumentError(f"{function}(): give either run= or runs=, not both")
    given = run if run is not None else runs
    if given is None or (isinstance(given, (list, tuple)) and not given):
        raise ArgumentError(f"{function}(): no run given (run= or runs=)")
    if isinstance(given, str) and given.strip().isdigit():
        given = int(given)
    items = list(given) if isinstance(given, (list, tuple)) else [given]
    numbers = tuple(require_run_number(n, what=f"{function}(): run number") for n in items)
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise ArgumentError(f"{function}(): runs listed more than once: {duplicates}")
    return numbers


def _state(value: object, allowed: Sequence[str], *, function: str, what: str) -> str:
    if value not in allowed:
        raise ArgumentError(f"{function}(): {what} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def _text(value: object, *, function: str, what: str, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ArgumentTypeError(f"{function}(): {what} must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return value


# -- the writes -----------------------------------------------------------------------------------------------


def _run_watch(
    target: object, observe: Callable[[dict[str, Any]], object], refuse: Callable[[dict[str, Any]], str | None]
) -> Watch:
    """A watch on one value of the run (``GET /runs/:n``); a run that does not exist is never sent."""

    def run_of(answers: Sequence[Any]) -> dict[str, Any]:
        return answers[0] if isinstance(answers[0], dict) else {}

    return Watch(
        reads=lambda run: (get_call("runs", run),),
        observe=lambda run, answers: observe(run_of(answers)),
        target=lambda run: target,
        refuse=lambda run, answers: refuse(run_of(answers)) if run_of(answers) else f"run {run} does not exist",
    )


def _rr(run: dict[str, Any], name: str) -> Any:
    return (run.get("rr_attributes") or {}).get(name)


def move_runs_plan(from_: str, to_: str, run: object = None, runs: object = None) -> WritePlan:
    """``POST /runs/move_run/:from/:to {run_number}`` per run (states OPEN, SIGNOFF, COMPLETED); a run not in
    ``from_`` is skipped (the service does not check it)."""
    f = _state(from_, RUN_STATES, function="move_runs", what="from_")
    t = _state(to_, RUN_STATES, function="move_runs", what="to_")
    numbers = runs_argument(run, runs, function="move_runs")
    path = get_call("runs", "move_run", f, t).path
    watch = _run_watch(
        t,
        lambda r: _rr(r, "state"),
        lambda r: None if _rr(r, "state") == f else f"run {r.get('run_number')} is {_rr(r, 'state')}, not {f}",
    )
    calls = tuple((n, _write("POST", path, {"run_number": n})) for n in numbers)
    return WritePlan(f"move runs {f} → {t}", calls, watch)


def make_significant_runs_plan(run: object = None, runs: object = None) -> WritePlan:
    """``POST /runs/mark_significant {run_number}`` per run; a run already significant is skipped."""
    numbers = runs_argument(run, runs, function="make_significant_runs")
    watch = _run_watch(
        True,
        lambda r: _rr(r, "significant") is True,
        lambda r: f"run {r.get('run_number')} is already significant" if _rr(r, "significant") is True else None,
    )
    calls = tuple((n, _write("POST", "/runs/mark_significant", {"run_number": n})) for n in numbers)
    return WritePlan("make runs significant", calls, watch)


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
    return WritePlan(f"change run class to {cls}", calls, _run_watch(cls, lambda r: _rr(r, "class"), lambda r: None))


def move_datasets_plan(
    from_: str, to_: str, dataset_name: str, workspace: str = "global", run: object = None, runs: object = None
) -> WritePlan:
    """``POST /datasets/:workspace/move_dataset/:from/:to {run_number, dataset_name, workspace}`` per run; a
    dataset whose ``<workspace>_state`` is not ``from_`` is skipped (the service does not check it)."""
    f = _state(from_, DATASET_STATES, function="move_datasets", what="from_")
    t = _state(to_, DATASET_STATES, function="move_datasets", what="to_")
    name = _text(dataset_name, function="move_datasets", what="dataset_name")
    ws = _text(workspace, function="move_datasets", what="workspace")
    numbers = runs_argument(run, runs, function="move_datasets")
    path = get_call("datasets", ws, "move_dataset", f, t).path
    calls = tuple((n, _write("POST", path, {"run_number": n, "dataset_name": name, "workspace": ws})) for n in numbers)
    return WritePlan(f"move {name} ({ws}) {f} → {t}", calls, _dataset_watch(name, ws, f, t))


def _dataset_watch(name: str, workspace: str, from_: str, to_: str) -> Watch:
    def state(answers: Sequence[Any]) -> object:
        dataset = answers[0] if isinstance(answers[0], dict) else {}
        return (dataset.get("dataset_attributes") or {}).get(f"{workspace}_state")

    def refuse(run: int, answers: Sequence[Any]) -> str | None:
        if not isinstance(answers[0], dict):
            return f"dataset {name!r} of run {run} does not exist"
        now = state(answers)
        return None if now == from_ else f"dataset {name!r} of run {run} is {now} in {workspace}, not {from_}"

    return Watch(
        reads=lambda run: (Call("POST", "/datasets/get_dataset", json={"run_number": run, "dataset_name": name}),),
        observe=lambda run, answers: state(answers),
        target=lambda run: to_,
        refuse=refuse,
    )


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
    """``PUT /lumisections/edit_rr_lumisections`` for lumisections ``lumi_start..lumi_end`` (inclusive).

    Checked before sending (the service accepts them all): the component exists in the catalogue for that
    dataset (online or offline), the range ends at or before the run's last lumisection, BAD has a comment of
    3+ characters.
    """
    fn = "edit_rr_lumisections"
    number = require_run_number(run, what=f"{fn}(): run")
    start = require_run_number(lumi_start, what=f"{fn}(): lumi_start")
    end = require_run_number(lumi_end, what=f"{fn}(): lumi_end")
    if end < start:
        raise ArgumentError(f"{fn}(): lumi_end ({end}) is before lumi_start ({start})")
    name = _text(dataset_name, function=fn, what="dataset_name")
    new = {
        "start": start,
        "end": end,
        "status": _state(status, LUMISECTION_STATUSES, function=fn, what="status"),
        "comment": _text(comment, function=fn, what="comment", empty=True),
        "cause": _text(cause, function=fn, what="cause", empty=True),
    }
    known = _catalogue_component(_text(component, function=fn, what="component"), online=name == "online")
    body = {"run_number": number, "dataset_name": name, "component": known or component, "new_lumisection_range": new}
    action = f"set {component} lumisections {start}-{end} of run {number} to {status}"
    watch = _LumisectionWatch(
        name, known or component, new, problem=None if known else _unknown_component(component, name)
    )
    return WritePlan(action, ((number, _write("PUT", "/lumisections/edit_rr_lumisections", body)),), watch.watch())


def _catalogue_component(component: str, *, online: bool) -> str | None:
    try:
        flag = default_catalogue().status_flag(component)
    except KeyError:
        return None
    return flag.name if (flag.online if online else flag.offline) else None


def _unknown_component(component: str, dataset_name: str) -> str:
    online = dataset_name == "online"
    names = default_catalogue().flag_names(**({"online": True} if online else {"offline": True}))
    workspace = component.partition("-")[0]
    hint = default_catalogue().suggest(component, names) or [n for n in names if n.startswith(f"{workspace}-")][:3]
    where = "online" if online else "offline"
    return f"component {component!r} is not in the catalogue for {where} datasets" + (
        f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
    )


@dataclass(frozen=True)
class _LumisectionWatch:
    """Reads a run's RR ranges of one component and its OMS ranges (for its last lumisection)."""

    dataset_name: str
    component: str
    new: dict[str, Any]
    problem: str | None

    def watch(self) -> Watch:
        return Watch(
            reads=self.reads,
            observe=lambda run, answers: self.covering(answers[0]),
            target=lambda run: ((self.new["start"], self.new["end"], *self.value(self.new)),),
            refuse=self.refuse,
            refusal="failed",
        )

    def reads(self, run: int) -> tuple[Call, ...]:
        return (
            lumisection_call("rr_lumisection_ranges_by_component", run, self.dataset_name),
            lumisection_call("oms_lumisection_ranges", run, "online"),
        )

    @staticmethod
    def value(rng: dict[str, Any]) -> tuple[Any, ...]:
        return rng.get("status"), rng.get("comment") or "", rng.get("cause") or ""

    def covering(self, by_component: object) -> tuple[tuple[Any, ...], ...]:
        """The component's ranges over the edited lumisections, clipped to them."""
        ranges = by_component.get(self.component, []) if isinstance(by_component, dict) else []
        start, end = self.new["start"], self.new["end"]
        return tuple(
            (max(r["start"], start), min(r["end"], end), *self.value(r))
            for r in ranges
            if isinstance(r, dict) and r.get("start", end + 1) <= end and r.get("end", 0) >= start
        )

    def refuse(self, run: int, answers: Sequence[Any]) -> str | None:
        if self.problem is not None:
            return self.problem
        if self.new["status"] == "BAD" and len(self.new["comment"].strip()) < 3:
            return "a BAD range needs a comment of at least 3 characters"
        last = _last_lumisection(answers)
        if last == 0:
            return f"run {run} has no lumisections (or does not exist)"
        if self.new["end"] > last:
            return f"lumisections {self.new['start']}-{self.new['end']} go past the run's last lumisection ({last})"
        return None


def _last_lumisection(answers: Sequence[Any]) -> int:
    """The run's last lumisection: the end of its OMS ranges, else of its RR ranges."""
    by_component, oms = answers
    ends = [r.get("end", 0) for r in oms if isinstance(r, dict)] if isinstance(oms, list) else []
    if not ends and isinstance(by_component, dict):
        ends = [r.get("end", 0) for ranges in by_component.values() for r in ranges if isinstance(r, dict)]
    return max(ends, default=0)


def _write(method: str, path: str, body: object = None) -> Call:
    # every write here sets values or a state: resending it after a lost answer leaves the same result
    return Call(method, path, json=body, idempotent=False, repeatable=True)
