"""``runql``: the Run Registry from the shell.

::

    runql runs     [--filter JSON|@file.json] [--format table|json|csv] [--columns a,b] [--limit N] [--target T]
    runql datasets [same options]
    runql run N    [--format table|json] [--target T]
    runql lumis N  [--dataset NAME] [--ranges] [--format table|json|csv] [--target T]
    runql explain  'JSON' [--json] [--datasets]
    runql serve    [...]                                   (the embedded service, see ``runql serve --help``)

Each subcommand is registered by one ``add_<name>`` function (see :data:`SUBCOMMANDS`); other modules plug in
theirs the same way (``golden`` and ``lumimask`` from ``client.cli_golden``). Errors print one line on stderr,
never a traceback, and exit 1 (usage errors and unusable inputs exit 2, Ctrl-C 130, a closed output pipe 141
quietly); the embedded target's data is labelled synthetic on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from client.api import RunRegistry
from client.errors import RunQLError
from client.jsoninput import JsonInputError, argument_json
from client.progress import on_terminal
from querylang import explain

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

DEFAULT_COLUMNS = {
    "runs": ["run_number", "class", "state", "significant", "energy", "b_field", "fill_number", "start_time"],
    "datasets": ["run_number", "name", "global_state", "class", "state"],
}
Handler = Callable[[argparse.Namespace], int]


class UsageError(RunQLError):
    """A bad command-line value (reported as one line, exit code 2)."""


# -- shared options ----------------------------------------------------------------------------------------


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", help="production, development, local, embedded or a base URL (default: ENVIRONMENT)"
    )


def _add_format(parser: argparse.ArgumentParser, choices: Sequence[str] = ("table", "json", "csv")) -> None:
    parser.add_argument("--format", choices=list(choices), default="table")


def _json_argument(text: str) -> Any:
    """A JSON value, or ``@path`` to read it from a file (size, depth and UTF-8 checked)."""
    try:
        return argument_json(text)
    except JsonInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _client(args: argparse.Namespace, err: IO[str]) -> RunRegistry:
    registry = RunRegistry(args.target)
    if registry.synthetic:
        print("runql: synthetic data (embedded demo registry, not CMS data)", file=err)
    return registry


# -- runs and datasets -------------------------------------------------------------------------------------


def add_listing(subparsers: Any, kind: str) -> None:
    parser = subparsers.add_parser(kind, help=f"list the {kind} matching a filter")
    parser.add_argument("--filter", type=_json_argument, default={}, help="filter as JSON, or @file.json")
    parser.add_argument("--raw", action="store_true", help="send the filter as written (ignore_filter_transformation)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--columns", help="comma-separated columns (default: a short selection; 'all' for every one)")
    _add_format(parser)
    _add_target(parser)
    parser.set_defaults(handler=_listing, kind=kind)


def _listing(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    with _client(args, err) as rr, on_terminal(err, f"{args.kind} pages") as progress:
        fetch = rr.get_runs if args.kind == "runs" else rr.get_datasets
        common = {"filter": args.filter, "limit": args.limit, "ignore_filter_transformation": args.raw}
        if args.format == "json" and not args.columns:
            rows = fetch(compress_attributes=False, progress=progress, **common)
            json.dump(list(rows), out, indent=1)
            out.write("\n")
        else:
            frame = fetch(output="dataframe", progress=progress, **common)
            _write_frame(frame, _columns(args, frame), args.format, out)
    return 0


def _columns(args: argparse.Namespace, frame: Any) -> list[str]:
    if args.columns == "all" or (args.columns is None and args.format == "csv"):
        return list(frame.columns)
    wanted = args.columns.split(",") if args.columns else DEFAULT_COLUMNS[args.kind]
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown and args.columns:
        raise UsageError(f"unknown column(s) {', '.join(unknown)}; available: {', '.join(frame.columns)}")
    return [c for c in wanted if c in frame.columns]


def _write_frame(frame: Any, columns: list[str], fmt: str, out: IO[str]) -> None:
    selected = frame[columns]
    if fmt == "csv":
        selected.to_csv(out, index=False)
    elif fmt == "json":
        out.write(selected.to_json(orient="records", date_format="iso") + "\n")
    elif selected.empty:
        out.write("(no rows)\n")
    else:
        out.write(selected.to_string(index=False) + "\n")


# -- one run -----------------------------------------------------------------------------------------------


def add_run(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="one run, every attribute")
    parser.add_argument("run_number", type=int)
    _add_format(parser, ("table", "json"))
    _add_target(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    with _client(args, err) as rr:
        run = rr.get_run(args.run_number, compress_attributes=False)
    if not run:
        raise RunQLError(f"run {args.run_number} not found")
    if args.format == "json":
        out.write(json.dumps(run, indent=1) + "\n")
        return 0
    width = max(len(k) for k in _flatten(run))
    for key, value in _flatten(run).items():
        out.write(f"{key:<{width}}  {value}\n")
    return 0


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


# -- lumisections ------------------------------------------------------------------------------------------


def add_lumis(subparsers: Any) -> None:
    parser = subparsers.add_parser("lumis", help="the lumisection statuses of a run (per lumisection or as ranges)")
    parser.add_argument("run_number", type=int)
    parser.add_argument("--dataset", default="online")
    parser.add_argument("--ranges", action="store_true", help="merged ranges instead of one row per lumisection")
    _add_format(parser)
    _add_target(parser)
    parser.set_defaults(handler=_lumis)


def _lumis(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    import pandas as pd

    with _client(args, err) as rr:
        fetch = rr.get_lumisection_ranges if args.ranges else rr.get_lumisections
        rows = fetch(args.run_number, args.dataset, output="dicts")
    if not rows:
        raise RunQLError(f"no lumisections for run {args.run_number}, dataset {args.dataset!r}")
    if args.format == "json":
        out.write(json.dumps(rows, indent=1) + "\n")
        return 0
    records = [_status_row(row, None if args.ranges else number) for number, row in enumerate(rows, 1)]
    frame = pd.DataFrame.from_records(records)
    _write_frame(frame, list(frame.columns), args.format, out)
    return 0


def _status_row(row: dict[str, Any], number: int | None) -> dict[str, Any]:
    head: dict[str, Any] = {"lumisection": number} if number is not None else {"start": row["start"], "end": row["end"]}
    return head | {k: v.get("status") for k, v in row.items() if isinstance(v, dict)}


# -- explain and serve -------------------------------------------------------------------------------------


def add_explain(subparsers: Any) -> None:
    parser = subparsers.add_parser("explain", help="how a filter compiles (no request is sent)")
    parser.add_argument("filter", type=_json_argument, help="filter as JSON, or @file.json")
    parser.add_argument("--json", action="store_true", help="the plan as JSON")
    parser.add_argument("--datasets", action="store_true", help="a dataset filter")
    parser.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    sys.stdout.write(explain(args.filter, kind="datasets" if args.datasets else "runs", as_json=args.json) + "\n")
    return 0


def add_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="serve the synthetic demo Run Registry", add_help=False)
    parser.add_argument("serve_args", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    serve_main: Callable[[list[str]], int] = importlib.import_module("backend.cli").main
    return serve_main(list(args.serve_args))


def _add_golden_commands(subparsers: Any) -> None:
    try:
        module = importlib.import_module("client.cli_golden")
    except ModuleNotFoundError:
        return
    module.add_golden_parser(subparsers)
    module.add_lumimask_parser(subparsers)


def _add_dials_commands(subparsers: Any) -> None:
    importlib.import_module("client.cli_dials").add_dials_parsers(subparsers)


#: The subcommand registrations, in ``--help`` order.
SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (
    lambda s: add_listing(s, "runs"),
    lambda s: add_listing(s, "datasets"),
    add_run,
    add_lumis,
    add_explain,
    add_serve,
    _add_golden_commands,
    _add_dials_commands,
)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line and a pointer to ``--help`` (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="runql", description="Query the CMS Run Registry (or runql's demo).")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


#: Exit status of a command whose output pipe was closed early (``| head``), as if killed by SIGPIPE.
EXIT_BROKEN_PIPE = 128 + 13


def main(argv: Sequence[str] | None = None) -> int:
    """The ``runql`` console script; returns the exit code. Never lets a traceback reach the user."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments and not arguments[0].startswith("-") else ""
    try:
        code = _dispatch(arguments)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print(f"{_prog(command)}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _dispatch(arguments: list[str]) -> int:
    if arguments[:1] == ["serve"]:  # everything after "serve" belongs to the backend's own parser
        args = argparse.Namespace(command="serve", handler=_serve, serve_args=arguments[1:])
    else:
        try:
            args = build_parser().parse_args(arguments)
        except SystemExit as exit_:  # --help, or a one-line usage error already printed
            return exit_.code if isinstance(exit_.code, int) else 2
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        print("runql: error: a command is required (see runql --help)", file=sys.stderr)
        return 2
    try:
        return handler(args)
    except UsageError as exc:
        print(f"runql {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (RunQLError, ValueError, TypeError, OSError, RecursionError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"runql {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"runql {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


def _prog(command: str) -> str:
    return f"runql {command}" if command else "runql"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain about the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output)
        pass


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 2000 else text[:2000] + "..."


if __name__ == "__main__":
    sys.exit(main())
