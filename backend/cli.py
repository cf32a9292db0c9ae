"""``runql serve``: serve the synthetic demo Run Registry until interrupted.

    runql serve [--host 127.0.0.1] [--port 9500] [--db PATH] [--runs N] [--seed S] [--years YEAR ...]
                [--rr-quirks] [--faults RATE] [--fault-seed S] [--fault-delay SECONDS]
                [--auth-clients-file PATH] [--auth-client ID:SECRET:ROLE ...] [--token-path PATH]
                [--token-expires SECONDS]

``--db PATH`` keeps the registry in a SQLite file (reused on the next start; ``--runs``/``--seed``/``--years``
that contradict what it holds are an error); without it the registry lives on a scratch file. ``--years 2018
2024`` keeps the eras of those years only (``--runs`` then samples them). Token auth is on when clients are given
(role ``reader`` or ``writer``): ``ID:SECRET:ROLE`` entries, one per line, in a private file
(``--auth-clients-file``, mode 0600) or separated by whitespace in ``$RUNQL_SERVE_AUTH_CLIENTS``, which keep the
secrets out of ``ps``; ``--auth-client`` on the command line is also accepted. The port is bound before the
registry is built and held until the server serves on it, so no other process takes it meanwhile. Every error is
one line on stderr (exit 1; usage errors exit 2), Ctrl-C exits 130.

>>> main(["--port", "0", "--db", "/no/such/directory/rr.db"])  # prints: runql serve: error: --db ...
1
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import stat
import sys
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

from backend.auth import AuthConfig, Role
from backend.demo import DEFAULT_RUNS
from backend.eras import ERAS, era_of
from backend.errors import BackendError, StoreError
from backend.server import EmbeddedServer
from backend.store import stored_registry
from querylang.errors import ArgumentError

__all__ = ["AUTH_CLIENTS_VARIABLE", "ServeError", "build_parser", "main"]

#: The environment variable holding ``ID:SECRET:ROLE`` entries (whitespace-separated).
AUTH_CLIENTS_VARIABLE = "RUNQL_SERVE_AUTH_CLIENTS"
DEFAULT_SEED = 2018
Clients = dict[str, tuple[str, Role]]


class ServeError(BackendError):
    """A bad option or an unusable file, reported as one line."""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and a pointer to ``--help``, not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be within [0, 65535], got {text}")
    return value


def _year(text: str) -> int:
    value = int(text)
    years = sorted({era.year for era in ERAS})
    if value not in years:
        raise argparse.ArgumentTypeError(f"no era in {text}: the registry spans {', '.join(map(str, years))}")
    return value


def _client(text: str) -> tuple[str, str, Role]:
    client_id, _, rest = text.partition(":")
    secret, _, role = rest.rpartition(":")
    if not client_id or not secret or role not in ("reader", "writer"):
        raise argparse.ArgumentTypeError("expected ID:SECRET:ROLE with ROLE reader or writer")
    return client_id, secret, "writer" if role == "writer" else "reader"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="runql serve", description="Serve a synthetic Run Registry (demo data).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=9500)
    parser.add_argument("--db", help="SQLite file to keep the registry in (reused if it exists)")
    parser.add_argument("--runs", type=_non_negative, help=f"runs to generate (default {DEFAULT_RUNS})")
    parser.add_argument("--seed", type=int, help=f"seed of the generated year (default {DEFAULT_SEED})")
    parser.add_argument("--years", type=_year, nargs="+", metavar="YEAR", help="keep the eras of these years only")
    parser.add_argument(
        "--rr-quirks",
        action="store_true",
        help="reproduce the real service's quirks and laxness (rr-protocol.md §4, §10)",
    )
    parser.add_argument("--faults", type=_rate, default=0.0, help="fraction of requests that fail at random")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--fault-delay", type=float, default=2.0, help="seconds a delayed request waits")
    parser.add_argument(
        "--auth-clients-file", metavar="PATH", help="private file (0600) of ID:SECRET:ROLE lines; turns on auth"
    )
    parser.add_argument(
        "--auth-client",
        type=_client,
        action="append",
        default=[],
        metavar="ID:SECRET:ROLE",
        help=f"a client on the command line (visible to other users: prefer the file or ${AUTH_CLIENTS_VARIABLE})",
    )
    parser.add_argument("--token-path", default="/auth/token")
    parser.add_argument("--token-expires", type=_non_negative, default=300)
    return parser


# -- checks made before anything is built ---------------------------------------------------------------------
def auth_clients(args: argparse.Namespace, environ: Mapping[str, str]) -> Clients:
    """The clients of the command line, ``$RUNQL_SERVE_AUTH_CLIENTS`` and the clients file (one id once)."""
    entries: list[tuple[str, str]] = [("--auth-client", f"{c}:{s}:{r}") for c, s, r in args.auth_client]
    entries += [(f"${AUTH_CLIENTS_VARIABLE}", item) for item in environ.get(AUTH_CLIENTS_VARIABLE, "").split()]
    if args.auth_clients_file:
        path = args.auth_clients_file
        entries += [(path, line.strip()) for line in _private_text(path).splitlines() if _is_entry(line)]
    clients: Clients = {}
    for origin, entry in entries:
        try:
            client_id, secret, role = _client(entry)
        except argparse.ArgumentTypeError as exc:
            raise ServeError(f"{origin}: {exc}") from None  # the entry itself may be a secret: not shown
        if client_id in clients:
            raise ServeError(f"{origin}: client {client_id!r} is given more than once")
        clients[client_id] = (secret, role)
    return clients


def _is_entry(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _private_text(path: str) -> str:
    """The text of a secrets file that only the current user can read, else a :class:`ServeError`."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ServeError(f"cannot read the clients file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if not stat.S_ISREG(info.st_mode) or not owner_ok or info.st_mode & 0o077:
            raise ServeError(
                f"the clients file {path} must be a regular file of yours with mode 0600 "
                f"(it is {stat.filemode(info.st_mode)}, uid {info.st_uid}): chmod 600 {path}"
            )
        try:
            return handle.read(1 << 20).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ServeError(f"the clients file {path} is not UTF-8 text (byte {exc.start})") from None


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, held until the server serves on it: a busy or forbidden
    port is reported before any work, and no other process can take the port while the registry is built."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def check_db(path: str, *, runs: int | None, seed: int | None, years: Collection[int] | None = None) -> None:
    """A clear error if ``path`` cannot hold the registry, or holds one that ``runs``/``seed``/``years``
    contradict."""
    file = Path(path)
    if not file.parent.is_dir():
        raise ServeError(f"--db {path}: the directory {file.parent} does not exist")
    if file.is_dir():
        raise ServeError(f"--db {path}: is a directory")
    if not file.exists() or file.stat().st_size == 0:
        return
    stored = _stored(path)
    if stored.runs == 0:
        return
    if runs is not None and runs != stored.runs:
        raise ServeError(
            f"--db {path} holds {stored.runs} runs, not --runs {runs}: drop --runs to reuse it, or use another file"
        )
    if seed is not None and stored.seed is not None and str(seed) != stored.seed:
        raise ServeError(
            f"--db {path} was generated with seed {stored.seed}, not --seed {seed}: drop --seed to reuse it, "
            "or use another file"
        )
    if years is not None and not stored.years <= set(years):
        raise ServeError(
            f"--db {path} holds runs of {_listed(stored.years)}, not only of --years {_listed(years)}: "
            "drop --years to reuse it, or use another file"
        )


@dataclass(frozen=True)
class _Stored:
    runs: int
    seed: str | None
    years: frozenset[int]


def _listed(years: Collection[int]) -> str:
    return " ".join(map(str, sorted(years)))


def _stored(path: str) -> _Stored:
    """How many runs the file holds, its seed and the years of its runs, read without changing it."""
    try:
        numbers, seed = stored_registry(path)
    except StoreError as exc:
        raise ServeError(f"--db {path}: {exc}") from None
    years = frozenset(era.year for era in map(era_of, numbers) if era is not None)
    return _Stored(runs=len(numbers), seed=seed, years=years)


class _StopSignal:
    """SIGTERM and SIGINT as ``KeyboardInterrupt``, remembering that one came: a signal that lands while SQLite
    runs a statement surfaces as SQLite's own "interrupted" error, which must still end as a stop (exit 130)."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        raise KeyboardInterrupt


def main(argv: list[str], *, environ: Mapping[str, str] | None = None) -> int:
    """Run ``runql serve`` with ``argv``; returns the exit status. ``environ``: instead of ``os.environ``."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a one-line usage error already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    stop = _StopSignal()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS} if in_main_thread else {}
    try:
        return _serve(args, os.environ if environ is None else environ)
    except ServeError as exc:
        if not stop.received:
            print(f"runql serve: error: {exc}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    print("runql serve: interrupted", file=sys.stderr)
    return 130


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _serve(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    auth = _auth(args, auth_clients(args, environ))
    if args.db:
        check_db(args.db, runs=args.runs, seed=args.seed, years=args.years)
    sock = listen(args.host, args.port)
    server = EmbeddedServer(
        runs=args.runs,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        db=args.db,
        rr_quirks=args.rr_quirks,
        faults=args.faults,
        fault_seed=args.fault_seed,
        fault_delay=args.fault_delay,
        auth=auth,
        years=args.years,
        sock=sock,
    )
    try:
        server.start()
    except (BackendError, RuntimeError, OSError, sqlite3.Error, ValueError) as exc:
        server.stop()
        raise ServeError(" ".join(str(exc).split()) or type(exc).__name__) from None
    except BaseException:  # Ctrl-C or SIGTERM while the registry is being built
        server.stop()
        raise
    finally:
        if not server.serving:
            sock.close()  # never served on: not leaked (once served, the server owns and closes it)
    try:
        print(
            f"runql: serving a SYNTHETIC Run Registry (generated demo data, not real CMS data) at {server.url}",
            flush=True,
        )
        if server.token_url:
            print(f"runql: token endpoint {server.token_url}", flush=True)
        print(f"runql: DIALS stand-in (synthetic) at {server.url}/dials/", flush=True)
        print("runql: press Ctrl-C to stop", flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _auth(args: argparse.Namespace, clients: Clients) -> AuthConfig | None:
    """The token auth of the options (checked before any work), or ``None`` without clients."""
    if not clients:
        return None
    try:
        return AuthConfig(clients=clients, token_path=args.token_path, expires_in=args.token_expires)
    except ArgumentError as exc:
        raise ServeError(str(exc)) from None
