"""``runql dials``, ``runql login`` and ``runql golden --exclude-ml``: DIALS from the shell.

::

    runql dials RESOURCE [--filter JSON|@file.json] [--format table|json|csv] [--columns a,b] [--max-pages N]
                         [--workspace WS] [--target production|embedded|URL] [--explain]
    runql login [--keycloak URL]                  (device authorization; the token is cached in ~/.cache/runql)
    runql golden ... --exclude-ml '{"model_ids": [1, 2], "workspace": "tracker"}'

Credentials, outside the embedded target: ``DIALS_CLIENT_ID`` + ``DIALS_CLIENT_SECRET`` (client credentials),
else ``DIALS_SECRET_KEY`` (the legacy header), else the cached ``runql login``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from client.cli import UsageError, _add_format, _json_argument, _write_frame
from client.dials import ClientCredentials, DeviceLogin, Dials, Keycloak, SecretKey
from client.dials.auth import KEYCLOAK_URL, DialsCredentials, default_cache_path
from client.errors import AuthError
from client.progress import on_terminal
from querylang.dials_catalogue import DIALS_RESOURCES, dials_resource

__all__ = ["add_dials_parsers"]


def add_dials_parsers(subparsers: Any) -> None:
    """Register ``dials`` and ``login``, and add ``--exclude-ml`` to ``golden`` (when it is registered)."""
    parser = subparsers.add_parser("dials", help="list a DIALS resource matching a filter")
    parser.add_argument("resource", help=", ".join(DIALS_RESOURCES) + " (or cmsdials names: h1d, h2d, lumi, ...)")
    parser.add_argument("--filter", type=_json_argument, default={}, help="filter as JSON, or @file.json")
    parser.add_argument("--columns", help="comma-separated columns (default: all but histogram data)")
    parser.add_argument("--max-pages", type=int, default=None, help="pages per request at most")
    parser.add_argument("--workspace", default=None)
    parser.add_argument("--target", default="production", help="production, embedded or a DIALS base URL")
    parser.add_argument("--explain", action="store_true", help="show the DIALS requests only (none is sent)")
    _add_format(parser)
    parser.set_defaults(handler=_dials)
    login = subparsers.add_parser("login", help="log in to DIALS (device authorization) and cache the token")
    login.add_argument("--keycloak", default=KEYCLOAK_URL, help="Keycloak base URL")
    login.set_defaults(handler=_login)
    golden = subparsers.choices.get("golden")
    if golden is not None:
        golden.add_argument("--exclude-ml", type=_json_argument, default=None, metavar="JSON", help=_EXCLUDE_HELP)
        golden.add_argument(
            "--dials-target",
            default=None,
            help="DIALS: production or a base URL (default: the "
            "embedded stand-in for --target embedded, else production)",
        )
        golden.set_defaults(handler=_golden_excluding_ml(golden.get_default("handler")))


_EXCLUDE_HELP = 'subtract lumisections flagged by DIALS ML models: {"model_ids": [1, 2], "workspace": "tracker"}'


def credentials(target: str, environ: dict[str, str] | None = None) -> DialsCredentials:
    """The credentials of ``target`` from the environment (see the module docstring)."""
    env = os.environ if environ is None else environ
    if target == "embedded":
        return SecretKey("embedded")
    if env.get("DIALS_CLIENT_ID") and env.get("DIALS_CLIENT_SECRET"):
        return ClientCredentials(env["DIALS_CLIENT_ID"], env["DIALS_CLIENT_SECRET"], cache_path=default_cache_path())
    if env.get("DIALS_SECRET_KEY"):
        return SecretKey(env["DIALS_SECRET_KEY"])
    login = DeviceLogin(cache_path=default_cache_path())
    if not login.logged_in:
        raise AuthError("no DIALS credentials: run `runql login`, or set DIALS_CLIENT_ID/DIALS_CLIENT_SECRET")
    return login


def _dials(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    dials_resource(args.resource)  # an unknown resource fails before anything starts
    if args.explain:
        from querylang.dials import explain_dials

        out.write(explain_dials(args.filter, args.resource) + "\n")
        return 0
    with Dials(credentials(args.target), target=args.target, workspace=args.workspace) as dials:
        if args.target == "embedded":
            print("runql: synthetic data (embedded DIALS stand-in, not CMS data)", file=err)
        with on_terminal(err, f"DIALS {args.resource} pages") as progress:
            rows = dials.list(args.resource, args.filter, max_pages=args.max_pages, progress=progress)
    if not rows.complete:
        print(f"runql dials: stopped after --max-pages {args.max_pages}; more rows exist", file=err)
    if args.format == "json" and not args.columns:
        json.dump([row.model_dump(mode="json") for row in rows], out, indent=1)
        out.write("\n")
        return 0
    frame = rows.to_pandas()
    if "data" in frame:
        frame["data"] = frame["data"].map(lambda values: values.tolist())
    columns = args.columns.split(",") if args.columns else [c for c in frame.columns if c != "data"]
    unknown = [c for c in columns if c not in frame.columns and not frame.empty]
    if unknown:
        raise UsageError(f"unknown column(s) {', '.join(unknown)}; available: {', '.join(frame.columns)}")
    _write_frame(frame, [c for c in columns if c in frame.columns], args.format, out)
    return 0


def _login(args: argparse.Namespace) -> int:
    login = DeviceLogin(keycloak=Keycloak(url=args.keycloak), cache_path=default_cache_path(), prompt=print)
    login.login()
    print(f"runql login: logged in; token cached in {default_cache_path()}", file=sys.stderr)
    return 0


def _golden_excluding_ml(original: Any) -> Any:
    """Wrap ``runql golden``: with ``--exclude-ml``, its registry's ``create_json`` also subtracts ML verdicts."""

    def handler(args: argparse.Namespace) -> int:
        if args.exclude_ml is None:
            return int(original(args))
        from client.api import RunRegistry

        with RunRegistry(target=args.target) as registry:
            if registry.synthetic:
                print("runql: synthetic data (embedded demo registry, not CMS data)", file=sys.stderr)
            dials_target = args.dials_target or (None if registry.synthetic else "production")
            dials = None if dials_target is None else Dials(credentials(dials_target), target=dials_target)
            try:
                return int(original(args, registry=_ExcludingML(registry, args.exclude_ml, dials)))
            finally:
                if dials is not None:
                    dials.close()

    return handler


class _ExcludingML:
    """A registry whose ``create_json`` subtracts the ML-flagged lumisections (what ``run_golden`` calls)."""

    def __init__(self, registry: Any, spec: Any, dials: Dials | None) -> None:
        self._registry, self._spec, self._dials = registry, spec, dials
        self.synthetic = registry.synthetic

    def create_json(self, json_logic: object, dataset_name_filter: str, **options: Any) -> Any:
        from client.dials_golden import create_json_excluding_ml

        return create_json_excluding_ml(
            self._registry, json_logic, dataset_name_filter, exclude_ml=self._spec, dials=self._dials, **options
        )
