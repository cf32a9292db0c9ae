"""``runql serve``: serve the synthetic demo Run Registry until interrupted.

    runql serve [--host 127.0.0.1] [--port 9500] [--db PATH] [--runs N] [--seed S] [--rr-quirks] [--faults RATE]
                [--fault-seed S] [--fault-delay SECONDS] [--auth-client ID:SECRET:ROLE ...] [--token-path PATH]
                [--token-expires SECONDS]

``--db PATH`` keeps the registry in a SQLite file (reused on the next start); without it the registry lives in
memory. ``--auth-client`` (repeatable) turns on token auth with those clients (role ``reader`` or ``writer``).
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from backend.auth import AuthConfig, Role
from backend.demo import DEFAULT_RUNS
from backend.server import EmbeddedServer

__all__ = ["build_parser", "main"]


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


def _client(text: str) -> tuple[str, str, Role]:
    client_id, _, rest = text.partition(":")
    secret, _, role = rest.rpartition(":")
    if not client_id or not secret or role not in ("reader", "writer"):
        raise argparse.ArgumentTypeError("expected ID:SECRET:ROLE with ROLE reader or writer")
    return client_id, secret, "writer" if role == "writer" else "reader"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runql serve", description="Serve a synthetic Run Registry (demo data).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9500)
    parser.add_argument("--db", help="SQLite file to keep the registry in (reused if it exists)")
    parser.add_argument("--runs", type=_non_negative, help=f"runs to generate (default {DEFAULT_RUNS})")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument(
        "--rr-quirks",
        action="store_true",
        help="reproduce the real service's quirks and laxness (rr-protocol.md §4, §10)",
    )
    parser.add_argument("--faults", type=_rate, default=0.0, help="fraction of requests that fail at random")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--fault-delay", type=float, default=2.0, help="seconds a delayed request waits")
    parser.add_argument("--auth-client", type=_client, action="append", default=[], metavar="ID:SECRET:ROLE")
    parser.add_argument("--token-path", default="/auth/token")
    parser.add_argument("--token-expires", type=_non_negative, default=300)
    return parser


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    """Run ``runql serve`` with ``argv``; returns the exit status."""
    args = build_parser().parse_args(argv)
    auth = None
    if args.auth_client:
        clients = {cid: (secret, role) for cid, secret, role in args.auth_client}
        auth = AuthConfig(clients=clients, token_path=args.token_path, expires_in=args.token_expires)
    server = EmbeddedServer(
        runs=args.runs,
        seed=args.seed,
        db=args.db,
        rr_quirks=args.rr_quirks,
        faults=args.faults,
        fault_seed=args.fault_seed,
        fault_delay=args.fault_delay,
        auth=auth,
        host=args.host,
        port=args.port,
    )
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"runql serve: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(
        f"runql: serving a SYNTHETIC Run Registry (generated demo data, not real CMS data) at {server.url}", flush=True
    )
    print(f"runql: DIALS stand-in (synthetic) at {server.url}/dials/", flush=True)
    if server.token_url:
        print(f"runql: token endpoint {server.token_url}", flush=True)
    print("runql: press Ctrl-C to stop", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
