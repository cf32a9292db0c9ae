"""The ``runql golden`` and ``runql lumimask`` subcommands.

``add_golden_parser(subparsers)`` and ``add_lumimask_parser(subparsers)`` register them on an ``argparse``
subparsers object; each sets ``handler`` (``Namespace -> int`` exit code) as its default. The handlers can also
be driven directly:

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="runql")
>>> subparsers = parser.add_subparsers(dest="command")
>>> add_lumimask_parser(subparsers)
>>> args = parser.parse_args(["lumimask", "union", "a.json", "b.json", "-o", "out.json"])
>>> args.operation, args.files, args.output
('union', ['a.json', 'b.json'], 'out.json')

Exit codes: 0 success (``compare``: the masks are equal), 1 ``compare`` found differences, 2 bad input (an
unreadable or malformed file, an invalid rule) or a failed request; errors go to stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import reduce
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from client.errors import RunQLError
from client.jsoninput import MAX_INPUT_BYTES, JsonInputError, load_json, read_json_file
from client.progress import job_reporting, on_terminal
from querylang.errors import RuleError
from schemas.golden import GoldenJson, LumiMask, LumiMaskError, luminosity_unit

if TYPE_CHECKING:
    from client.api import RunRegistry

__all__ = [
    "add_golden_parser",
    "add_lumimask_parser",
    "plot_golden",
    "run_golden",
    "run_lumimask",
    "summary_lines",
]

_OPERATIONS: dict[str, Callable[[LumiMask, LumiMask], LumiMask]] = {
    "union": lambda a, b: a | b,
    "intersect": lambda a, b: a & b,
    "subtract": lambda a, b: a - b,
}


class _UsageError(RunQLError):
    """A problem with the command line or its input files, reported as one line on stderr."""


# ---- lumimask --------------------------------------------------------------------------------------------------
def add_lumimask_parser(subparsers: Any) -> None:
    """Register ``runql lumimask union|intersect|subtract|compare a.json b.json [...] [-o out.json]``."""
    parser = subparsers.add_parser(
        "lumimask",
        help="set algebra on CMS golden JSON files",
        description="union/intersect: all files; subtract: the first minus the others; compare: exactly two files "
        "(exit 1 when they differ, -o writes their symmetric difference).",
    )
    parser.add_argument("operation", choices=[*_OPERATIONS, "compare"])
    parser.add_argument("files", nargs="+", metavar="file.json", help='CMS JSON files ({"<run>": [[a, b]]})')
    parser.add_argument("-o", "--output", help="write the resulting mask here instead of stdout")
    parser.set_defaults(handler=run_lumimask)


def run_lumimask(args: argparse.Namespace, *, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Handle ``runql lumimask``."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        masks = [_read_mask(path) for path in args.files]
        if len(masks) < 2:
            raise _UsageError(f"{args.operation} needs at least two files, got {len(masks)}")
        if args.operation == "compare":
            return _compare(args, masks, out)
        result = reduce(_OPERATIONS[args.operation], masks)
        _write_mask(result, args.output, out)
    except _UsageError as exc:
        print(f"runql lumimask: error: {exc}", file=err)
        return 2
    return 0


def _compare(args: argparse.Namespace, masks: list[LumiMask], out: IO[str]) -> int:
    if len(masks) != 2:
        raise _UsageError(f"compare takes exactly two files, got {len(masks)}")
    a, b = masks
    only_a, only_b, both = a - b, b - a, a & b
    rows = [
        ("only in " + args.files[0], only_a),
        ("only in " + args.files[1], only_b),
        ("in both", both),
    ]
    for label, mask in rows:
        print(f"{label}: {mask.lumisection_count} lumisections in {mask.run_count} runs", file=out)
    for run in sorted(set(only_a.runs) | set(only_b.runs)):
        print(f"  run {run}: -{only_a.count(run)} +{only_b.count(run)}", file=out)
    if args.output:
        _save_mask(only_a | only_b, args.output)
    return 0 if a == b else 1


def _read_mask(path: str) -> LumiMask:
    try:
        return LumiMask.from_file(path)
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except LumiMaskError as exc:  # names the file
        raise _UsageError(str(exc)) from None


def _write_mask(mask: LumiMask, output: str | None, out: IO[str]) -> None:
    if output is None:
        print(mask.to_json(), file=out)
    else:
        _save_mask(mask, output)


def _save_mask(mask: LumiMask, output: str) -> None:
    try:
        mask.to_file(output)
    except OSError as exc:
        raise _UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


# ---- golden ----------------------------------------------------------------------------------------------------
def add_golden_parser(subparsers: Any) -> None:
    """Register ``runql golden --rule rule.json --dataset PATTERN [-o golden.json] [--report] [--plot out.png]``."""
    parser = subparsers.add_parser(
        "golden",
        help="build a golden JSON from a json-logic good-run-list rule",
        description="Evaluate a json-logic rule (rr-protocol.md §8) on the datasets whose name matches a SQL "
        "SIMILAR TO pattern and write the golden JSON.",
    )
    parser.add_argument("--rule", required=True, help="a file holding the json-logic rule ('-' reads stdin)")
    parser.add_argument("--dataset", required=True, help="dataset name pattern (SIMILAR TO), e.g. '/PromptReco/%%'")
    parser.add_argument("-o", "--output", help="write the golden JSON here (default: stdout)")
    parser.add_argument("--engine", choices=["local", "server"], default="local")
    parser.add_argument("--report", action="store_true", help="print the per-clause loss report")
    parser.add_argument("--plot", metavar="PNG", help="draw the losses and per-run kept fraction (needs matplotlib)")
    parser.add_argument("--target", default=None, help="production, development, local, embedded or a base URL")
    parser.set_defaults(handler=run_golden)


def run_golden(
    args: argparse.Namespace,
    *,
    registry: RunRegistry | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Handle ``runql golden``; ``registry`` (a ``RunRegistry``) overrides ``--target``."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        rule = _read_rule(args.rule)
        golden = _create(args, rule, registry, err)
        _write_mask(golden.mask, args.output, out)
        info = out if args.output else err
        for line in summary_lines(golden):
            print(line, file=info)
        if args.report:
            print(_report_text(golden), file=info)
        if args.plot:
            plot_golden(golden, args.plot)
    except RunQLError as exc:  # usage, filter, rule and service errors alike
        print(f"runql golden: error: {exc}", file=err)
        return 2
    return 0


def _read_rule(source: str) -> Any:
    """The rule of ``--rule`` (a file, or ``-`` for stdin): JSON within the input limits, and an object."""
    try:
        if source == "-":
            stdin = getattr(sys.stdin, "buffer", sys.stdin)  # bytes from a real stdin, text from a stand-in
            rule = load_json(stdin.read(MAX_INPUT_BYTES + 1), source="the rule on stdin")
        else:
            rule = read_json_file(source)
    except JsonInputError as exc:
        raise _UsageError(str(exc)) from None
    if not isinstance(rule, dict):
        raise RuleError(f"a rule must be a json-logic operation (a JSON object), not a {type(rule).__name__}")
    return rule


def _create(args: argparse.Namespace, rule: Any, registry: RunRegistry | None, err: IO[str]) -> GoldenJson:
    if registry is not None:
        return _evaluate(args, rule, registry, err)
    from client.api import RunRegistry

    with RunRegistry(target=args.target) as owned:
        if owned.synthetic:
            print("runql: synthetic data (embedded demo registry, not CMS data)", file=err)
        return _evaluate(args, rule, owned, err)


def _evaluate(args: argparse.Namespace, rule: Any, registry: RunRegistry, err: IO[str]) -> GoldenJson:
    if args.engine == "server":
        with job_reporting(err.isatty(), "json_portal job", file=err) as show:
            return registry.create_json(rule, args.dataset, engine="server", on_progress=show)
    # the service's loss figures cover every matching dataset: report=True evaluates them all (no pushdown)
    with on_terminal(err, "lumisection ranges") as progress:
        return registry.create_json(
            rule, args.dataset, engine="local", report=bool(args.report or args.plot), progress=progress
        )


def summary_lines(golden: GoldenJson) -> list[str]:
    """One-line totals of a result: runs, lumisections and (when known) luminosity in and lost."""
    lines = [f"golden JSON: {golden.run_count} runs, {golden.lumisection_count} lumisections ({golden.engine} engine)"]
    lines.append(f"excluded (anti-JSON): {golden.anti_mask.run_count} runs, {golden.anti_mask.lumisection_count} ls")
    for side, lumi in (("in the JSON", golden.luminosity_in), ("lost", golden.luminosity_out)):
        if lumi is not None:
            lines.append(f"luminosity {side}: {lumi} (sums of per-lumisection values)")
    if (per_kept := golden.requests_per_kept_lumisection) is not None:
        lines.append(f"requests: {golden.requests} ({per_kept:.2g} per lumisection kept)")
    return lines


def _report_text(golden: GoldenJson) -> str:
    if golden.losses is None:
        return "loss report: not available (the service's accounting does not finish for this rule)"
    return golden.losses.to_table()


# ---- plot ------------------------------------------------------------------------------------------------------
def plot_golden(golden: GoldenJson, path: str | Path) -> None:
    """Draw :func:`loss_figure` to a PNG. Needs the optional extra ``plot`` (matplotlib)."""
    figure = loss_figure(golden)
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise _UsageError(f"cannot write {path}: {exc}") from exc


def loss_figure(golden: GoldenJson) -> Any:
    """A figure readable on its own: a title with what was kept, the per-clause loss (the service's accounting,
    luminosity in the unit that fits) and the per-run fraction kept. Uses the Agg canvas: no window ever opens."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise _UsageError("--plot needs matplotlib: pip install 'runql[plot]'") from exc
    figure = Figure(figsize=(10, 7), layout="constrained")
    figure.suptitle(_plot_title(golden), fontsize=10)
    losses_axes, runs_axes = figure.subplots(2, 1)
    _draw_losses(golden, losses_axes)
    _draw_kept_fraction(golden, runs_axes)
    FigureCanvasAgg(figure)
    return figure


def _plot_title(golden: GoldenJson) -> str:
    kept = f"{golden.run_count:,} runs, {golden.lumisection_count:,} lumisections kept"
    lumi = "" if golden.luminosity_in is None else f"; luminosity in: {golden.luminosity_in}"
    return f"golden JSON of {golden.dataset_name_filter or 'the datasets'} ({golden.engine} engine): {kept}{lumi}"


def _draw_losses(golden: GoldenJson, axes: Any) -> None:
    report = golden.losses
    if report is None:
        axes.text(0.5, 0.5, "no loss accounting", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    labels = [_short(c.clause) for c in report.clauses]
    positions = range(len(report.clauses))
    unit, factor = luminosity_unit(max((c.false_recorded for c in report.clauses), default=0.0))
    false = [c.false_recorded * factor for c in report.clauses]
    alone = [c.alone_recorded * factor for c in report.clauses]
    axes.barh(positions, false, color="tab:orange", label="false (any others)")
    axes.barh(positions, alone, color="tab:red", label="the only false clause")
    axes.set_yticks(positions, labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel(f"recorded luminosity removed ({unit})")
    axes.set_ylabel("clause of the rule")
    axes.set_title("removed lumisections, per clause (the service's rules_flagged_false_* figures)")
    axes.legend(fontsize=7)


def _draw_kept_fraction(golden: GoldenJson, axes: Any) -> None:
    evaluated = golden.mask | golden.anti_mask
    runs = evaluated.runs
    fractions = [golden.mask.count(run) / evaluated.count(run) for run in runs]
    axes.bar([str(run) for run in runs], fractions, color="tab:green", width=1.0)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("fraction of lumisections kept")
    axes.set_xlabel("run")
    if len(runs) > 30:
        step = max(1, len(runs) // 15)
        axes.set_xticks(range(0, len(runs), step), [str(r) for r in runs[::step]], rotation=45, fontsize=7)
    axes.set_title(f"per-run fraction kept ({len(runs)} runs)")


def _short(label: str, width: int = 60) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
