"""The Run-Registry-compatible HTTP service (Starlette): routes of ``rr-protocol.md`` §3, §7, §8 and §9.

Conventions of the real service, kept on purpose: every error is HTTP 500 ``{"err": message}`` (database errors
included), a missing run or dataset is 200 ``null`` and missing lumisections 200 ``[]``; there is no ``/api``
prefix (local mode) and the ``email`` header is accepted and ignored. With auth enabled, 401 ``{"message"}``.

Hostile requests cannot wedge it: bodies are size- and depth-limited (:mod:`backend.jsonbody`), handlers run on a
bounded pool of worker threads (never on the event loop) under a per-request time budget that interrupts SQLite
statements (:mod:`backend.budget`), and ``like`` patterns match in linear time. Each of these answers ``{"err"}``.

Reads not described by the protocol answer these shapes (synthetic but plausible):

* ``GET /workspaces/online|offline`` → ``[{"workspace": "csc", "columns": ["csc", "csctf", ...]}, ...]``;
* ``GET /cycles/global`` → one cycle per offline dataset name still being certified:
  ``[{"id_cycle": 1, "cycle_name": "/PromptReco/Collisions2018D/DQM", "deadline": null, "cycle_attributes": {},
  "datasets": [{"run_number": 320673, "name": "/PromptReco/Collisions2018D/DQM"}, ...]}]``;
* ``GET /datasets_accepted`` → ``[{"id": 1, "name": "/PromptReco/Collisions2018A/DQM", "regexp": <same name>,
  "class": "Collisions18", "enabled": true, "run_from": 315252, "run_to": 316995}, ...]``.

>>> from backend.store import Store
>>> app = create_app(Store.open())
>>> sorted({r.path for r in app.routes})[:2]
['/cycles/global', '/datasets/get_dataset']
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from backend import lumisections, writes
from backend.auth import AuthConfig, AuthError, TokenIssuer, basic_credentials, bearer_token, parse_form
from backend.budget import Budget, run_guarded
from backend.dials import DialsUniverse, create_dials_app
from backend.dispatch import RouteTable
from backend.errors import Answer, RequestError, StoreError, error_body, request_int
from backend.faults import FaultInjector, FaultPlan
from backend.jsonbody import MAX_BODY_BYTES, parse_json
from backend.jsonportal import JsonPortal
from backend.listing import list_page
from backend.stats import ServerStats
from backend.store import Store
from backend.workers import WorkerPool
from querylang.catalogue import default_catalogue
from querylang.errors import ArgumentError

__all__ = ["HandlerCall", "Limits", "Service", "create_app"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What one request may take: ``request_seconds`` of time (a json_portal job ``job_seconds``), a body of
    ``body_bytes``; at most ``workers`` requests run at once (on worker threads, never on the event loop)."""

    request_seconds: float = 30.0
    job_seconds: float = 600.0
    workers: int = 8
    body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not (self.request_seconds >= 0 and self.job_seconds >= 0 and self.workers >= 1 and self.body_bytes >= 0):
            raise ArgumentError(f"invalid limits: {self}")


@dataclass
class _Runner:
    """Runs request work on a pool of ``limits.workers`` threads, each call under its own time budget (measured on
    ``clock``, monotonic seconds)."""

    limits: Limits
    stop: threading.Event
    clock: Callable[[], float] = time.monotonic
    pool: WorkerPool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pool = WorkerPool(self.limits.workers)

    async def run(self, work: Callable[[], Answer]) -> Answer:
        budget = Budget(self.limits.request_seconds, self.stop, clock=self.clock)  # waiting for a thread counts
        return await self.pool.run(functools.partial(_within, budget, work))

    async def read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The body, refused as soon as it is larger than ``limits.body_bytes`` (``ClientDisconnect``: the client
        went away while sending it)."""
        limit = self.limits.body_bytes
        declared = _header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise RequestError(f"the request body is larger than {limit} bytes")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect
                raise ClientDisconnect
            chunk, more = message.get("body", b""), message.get("more_body", False)
            size += len(chunk)
            if size > limit:
                raise RequestError(f"the request body is larger than {limit} bytes")
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of the header ``name`` (lower case) in an ASGI scope, as Starlette's ``Headers`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _within(budget: Budget, work: Callable[[], Answer]) -> Answer:
    budget.check()  # it may have run out while the request waited for a worker
    with budget.running():
        return run_guarded(budget, work)


#: An integer as text: ASCII digits (``str.isdigit`` also takes "²" and "٣"), at most 18 characters (so within
#: 64 bits).
_DECIMAL = re.compile(r"-?[0-9]+")


def _as_int(value: object, what: str) -> int:
    """A path segment of ASCII digits, or a JSON integer within 64 bits (:func:`~backend.errors.request_int`)."""
    if isinstance(value, str) and len(value) < 19 and _DECIMAL.fullmatch(value):
        return int(value)
    return request_int(value, what)


@dataclass(frozen=True)
class HandlerCall:
    """One request as handlers see it: path parameters and the parsed JSON body (``None`` when empty)."""

    params: Mapping[str, str]
    body: Any


class Service:
    """The route handlers (synchronous; the app runs them in a thread pool)."""

    def __init__(self, store: Store, *, quirks: bool, portal: JsonPortal) -> None:
        self.store = store
        self.quirks = quirks
        self.portal = portal

    # -- §3 reads ---------------------------------------------------------------------------------------------
    def runs_filtered(self, call: HandlerCall) -> Answer:
        return 200, list_page(self.store, "runs", call.body, quirks=self.quirks)

    def datasets_filtered(self, call: HandlerCall) -> Answer:
        return 200, list_page(self.store, "datasets", call.body, quirks=self.quirks)

    def run(self, call: HandlerCall) -> Answer:
        return 200, self.store.run_json(_as_int(call.params["run_number"], "run_number"))

    def dataset(self, call: HandlerCall) -> Answer:
        run_number, name = self._dataset_key(call.body, default=None)
        return 200, self.store.dataset_json(run_number, name)

    def dataset_names(self, call: HandlerCall) -> Answer:
        return 200, json.dumps(self.store.dataset_names(_as_int(call.params["run_number"], "run_number")))

    def workspaces(self, call: HandlerCall) -> Answer:
        if call.params["table"] not in ("online", "offline"):
            raise RequestError(f"unknown workspace table {call.params['table']!r}; use online or offline")
        online = call.params["table"] == "online"
        by_ws: dict[str, list[str]] = {}
        for flag in default_catalogue().flags(**({"online": True} if online else {"offline": True})):
            by_ws.setdefault(flag.workspace, []).append(flag.column)
        return 200, json.dumps([{"workspace": ws, "columns": cols} for ws, cols in sorted(by_ws.items())])

    def cycles(self, call: HandlerCall) -> Answer:
        cycles: dict[str, list[dict[str, Any]]] = {}
        for name, run_number in self.store.open_datasets():
            cycles.setdefault(name, []).append({"run_number": run_number, "name": name})
        reply: list[dict[str, Any]] = [
            {"id_cycle": i, "cycle_name": name, "deadline": None, "cycle_attributes": {}, "datasets": datasets}
            for i, (name, datasets) in enumerate(cycles.items(), start=1)
        ]
        return 200, json.dumps(reply)

    def datasets_accepted(self, call: HandlerCall) -> Answer:
        reply = [
            {"id": i, "name": n, "regexp": n, "class": c, "enabled": True, "run_from": lo, "run_to": hi}
            for i, (n, lo, hi, c) in enumerate(self.store.dataset_name_spans(), start=1)
        ]
        return 200, json.dumps(reply)

    # -- §7 lumisections --------------------------------------------------------------------------------------
    @staticmethod
    def _dataset_key(body: object, *, default: str | None = "online") -> tuple[int, str]:
        """``run_number`` and ``dataset_name`` (``default`` when absent; ``None``: required, as the service's dataset
        and RR queries need it, while its OMS ones read ``dataset_name || 'online'``)."""
        if not isinstance(body, dict):
            raise RequestError("the body must be a JSON object with run_number and dataset_name")
        if default is None and "dataset_name" not in body:
            raise RequestError("dataset_name is required")
        name = body.get("dataset_name", default)
        if not isinstance(name, str):
            raise RequestError(f"dataset_name must be a string, got {name!r}")
        return _as_int(body.get("run_number"), "run_number"), name

    def rr_lumisections(self, call: HandlerCall, encode: Callable[..., str | bytes], missing: str = "[]") -> Answer:
        lumis = self.store.dataset_lumis(*self._dataset_key(call.body, default=None))
        return 200, encode(lumis.statuses, lumis.lumisections) if lumis else missing

    def oms_lumisections(self, call: HandlerCall, *, ranges: bool) -> Answer:
        run_number, _ = self._dataset_key(call.body)
        if ranges:
            stored = self.store.oms_ranges(run_number)
            return 200, "[]" if stored is None else lumisections.oms_ranges_json(stored)
        oms = self.store.oms_lumis(run_number)
        if oms is None:
            return 200, "[]"
        n, stored, recorded, delivered = oms
        return 200, lumisections.oms_per_lumisection_json(stored, n, recorded, delivered)

    def joint_lumisections(self, call: HandlerCall) -> Answer:
        run_number, name = self._dataset_key(call.body, default=None)
        lumis, oms = self.store.dataset_lumis(run_number, name), self.store.oms_lumis(run_number)
        if lumis is None or oms is None:
            return 200, "[]"
        n, oms_ranges, recorded, delivered = oms
        return 200, lumisections.joint_ranges_json(
            lumis.statuses, oms_ranges, n, recorded, delivered, rr_lumisections=lumis.lumisections
        )

    # -- §8 json portal ----------------------------------------------------------------------------------------
    def json_generate(self, call: HandlerCall) -> Answer:
        body = call.body if isinstance(call.body, dict) else {}
        job_id = self.portal.submit(
            body.get("json_logic"),
            body.get("dataset_name_filter"),
            tags=body.get("tags"),
            official=body.get("official"),
        )
        return 200, json.dumps({"id": job_id})

    def json_poll(self, call: HandlerCall) -> Answer:
        body = call.body if isinstance(call.body, dict) else {}
        return self.portal.poll(_as_int(body.get("id_json"), "id_json"))

    # -- §9 writes ---------------------------------------------------------------------------------------------
    def move_run(self, call: HandlerCall) -> Answer:
        return 200, writes.move_run(
            self.store, call.params["from_state"], call.params["to_state"], call.body, lax=self.quirks
        )

    def mark_significant(self, call: HandlerCall) -> Answer:
        return 200, writes.mark_significant(self.store, call.body, lax=self.quirks)

    def refresh_run(self, call: HandlerCall, *, reset: bool) -> Answer:
        return 200, writes.refresh_run(self.store, _as_int(call.params["run_number"], "run_number"), reset=reset)

    def edit_class(self, call: HandlerCall) -> Answer:
        return 200, writes.edit_class(self.store, _as_int(call.params["run_number"], "run_number"), call.body)

    def edit_lumisections(self, call: HandlerCall) -> Answer:
        return 200, json.dumps(writes.edit_lumisections(self.store, call.body, lax=self.quirks))

    def move_dataset(self, call: HandlerCall) -> Answer:
        p = call.params
        return 200, writes.move_dataset(
            self.store, p["workspace"], p["from_state"], p["to_state"], call.body, lax=self.quirks
        )


Handler = Callable[[Service, HandlerCall], Answer]


def _dumps(shape: Callable[..., Any]) -> Callable[..., str]:
    """``shape``'s value as JSON text."""
    return lambda *args: json.dumps(shape(*args))


_ROUTES: tuple[tuple[str, str, Handler, bool], ...] = (  # method, path, handler, is a write
    ("POST", "/runs_filtered_ordered", Service.runs_filtered, False),
    ("POST", "/datasets_filtered_ordered", Service.datasets_filtered, False),
    ("GET", "/runs/{run_number}", Service.run, False),
    ("POST", "/datasets/get_dataset", Service.dataset, False),
    ("GET", "/get_all_dataset_names_of_run/{run_number}", Service.dataset_names, False),
    ("GET", "/workspaces/{table}", Service.workspaces, False),
    ("GET", "/cycles/global", Service.cycles, False),
    ("GET", "/datasets_accepted", Service.datasets_accepted, False),
    (
        "POST",
        "/lumisections/rr_lumisections",
        lambda s, c: s.rr_lumisections(c, lumisections.rr_per_lumisection_json),
        False,
    ),
    (
        "POST",
        "/lumisections/rr_lumisection_ranges",
        lambda s, c: s.rr_lumisections(c, lumisections.rr_ranges_json),
        False,
    ),
    (
        "POST",
        "/lumisections/rr_lumisection_ranges_by_component",
        lambda s, c: s.rr_lumisections(c, _dumps(lumisections.rr_by_component), missing="{}"),
        False,
    ),
    ("POST", "/lumisections/oms_lumisections", lambda s, c: s.oms_lumisections(c, ranges=False), False),
    ("POST", "/lumisections/oms_lumisection_ranges", lambda s, c: s.oms_lumisections(c, ranges=True), False),
    ("POST", "/lumisections/joint_lumisection_ranges", Service.joint_lumisections, False),
    ("POST", "/json_portal/generate", Service.json_generate, False),
    ("POST", "/json_portal/json", Service.json_poll, False),
    ("POST", "/runs/move_run/{from_state}/{to_state}", Service.move_run, True),
    ("POST", "/runs/mark_significant", Service.mark_significant, True),
    ("POST", "/runs/reset_and_refresh_run/{run_number}", lambda s, c: s.refresh_run(c, reset=True), True),
    ("POST", "/runs/refresh_run/{run_number}", lambda s, c: s.refresh_run(c, reset=False), True),
    ("PUT", "/manual_run_edit/{run_number}/class", Service.edit_class, True),
    ("PUT", "/lumisections/edit_rr_lumisections", Service.edit_lumisections, True),
    ("POST", "/datasets/{workspace}/move_dataset/{from_state}/{to_state}", Service.move_dataset, True),
)


def _json_response(status: int, text: str) -> Response:
    return Response(text, status_code=status, media_type="application/json")


def _denied(issuer: TokenIssuer | None, scope: Scope, write: bool) -> Answer | None:
    """``None`` when the request may proceed, else the 401 answer."""
    if issuer is None:
        return None
    try:
        role = issuer.role_of(bearer_token(_header(scope, b"authorization")))
    except AuthError as exc:
        return 401, json.dumps({"message": f"unauthorized: {exc}"})
    if write and role != "writer":
        return 401, json.dumps({"message": "unauthorized: this write needs a writer token"})
    return None


async def _send(send: Send, status: int, body: bytes, *, json_body: bool = True) -> None:
    """What ``Response(body, status_code=status, media_type="application/json" or None)`` sends, without the
    object."""
    headers = [(b"content-length", b"%d" % len(body))]
    if json_body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class _Endpoint:
    """One route as a plain ASGI app: auth, the body read within its limit, the handler on a worker thread, every
    failure answered ``{"err"}``."""

    service: Service
    path: str
    handler: Handler
    write: bool
    stats: ServerStats
    issuer: TokenIssuer | None
    runner: _Runner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.count_request(self.path)
        denied = _denied(self.issuer, scope, self.write)
        if denied is not None:
            await _send(send, *_encoded(denied))
            return
        try:
            raw, params = await self.runner.read_body(scope, receive), scope.get("path_params", {})
            answer = await self.runner.run(lambda: self.handler(self.service, HandlerCall(params, parse_json(raw))))
        except ClientDisconnect:  # the client gave up (e.g. its read timeout passed): nobody to answer
            await _send(send, 499, b"", json_body=False)
            return
        except (RequestError, StoreError) as exc:  # StoreError: the server is stopping and closed its store
            answer = 500, error_body(str(exc))
        except sqlite3.Error as exc:  # raw database errors, like the service
            answer = 500, error_body(f"database error: {exc}")
        except Exception:
            logger.exception("unexpected error on %s %s", scope["method"], self.path)
            answer = 500, error_body("internal server error")
        await _send(send, *_encoded(answer))


def _encoded(answer: Answer) -> tuple[int, bytes]:
    status, body = answer
    return status, body.encode() if isinstance(body, str) else body


def _token_endpoint(issuer: TokenIssuer, stats: ServerStats, runner: _Runner) -> Callable[[Request], Any]:
    async def token(request: Request) -> Response:
        stats.count_token_request()
        try:
            form = parse_form(await runner.read_body(request.scope, request.receive))
        except RequestError as exc:
            return _json_response(400, json.dumps({"error": "invalid_request", "error_description": str(exc)}))
        if form.get("grant_type") != "client_credentials":
            return _json_response(400, json.dumps({"error": "unsupported_grant_type"}))
        credentials = basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            credentials = (form.get("client_id", ""), form.get("client_secret", ""))
        try:
            return _json_response(200, json.dumps(issuer.issue(*credentials)))
        except AuthError as exc:
            return _json_response(401, json.dumps({"error": "invalid_client", "error_description": str(exc)}))

    return token


class _ServiceApp(Starlette):
    """Starlette, with the service's routes found in a :class:`~backend.dispatch.RouteTable`: a request to one
    goes straight to its endpoint (the endpoints answer every error themselves). Requests to ``/dials``, those no
    route takes (404, 405, trailing slashes), under a ``root_path``, or through middleware (fault injection) take
    Starlette's way, to the same endpoints."""

    def __init__(self, table: RouteTable[ASGIApp], **options: Any) -> None:
        super().__init__(**options)
        self._table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.user_middleware and not scope.get("root_path"):
            found = self._table.find(scope["method"], scope["path"])
            if found is not None:
                endpoint, scope["path_params"] = found
                scope["app"] = self
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    store: Store,
    *,
    rr_quirks: bool = False,
    auth: AuthConfig | None = None,
    faults: float = 0.0,
    fault_seed: int = 0,
    fault_delay: float = 2.0,
    stats: ServerStats | None = None,
    limits: Limits | None = None,
    stop: threading.Event | None = None,
) -> Starlette:
    """The ASGI app over ``store``; with ``faults`` > 0 the returned app's middleware injects failures.

    Each request runs on a worker thread within ``limits``; setting ``stop`` (the server is stopping) makes
    running requests and json_portal jobs end at their next check with an ``{"err"}``.
    """
    counters = stats if stats is not None else ServerStats()
    runner = _Runner(limits or Limits(), stop if stop is not None else threading.Event())
    portal = JsonPortal(store, rr_quirks=rr_quirks, stop=runner.stop, job_seconds=runner.limits.job_seconds)
    service = Service(store, quirks=rr_quirks, portal=portal)
    issuer = TokenIssuer(auth) if auth is not None else None
    endpoints = {
        (method, path): _Endpoint(service, path, handler, write, counters, issuer, runner)
        for method, path, handler, write in _ROUTES
    }
    routes = [Route(path, endpoint, methods=[method]) for (method, path), endpoint in endpoints.items()]
    if issuer is not None and auth is not None:
        routes.append(Route(auth.token_path, _token_endpoint(issuer, counters, runner), methods=["POST"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        portal.close()
        runner.pool.close()

    app = _ServiceApp(RouteTable[ASGIApp](endpoints), routes=routes, lifespan=lifespan)
    app.mount("/dials", create_dials_app(DialsUniverse(store.registry_runs)))
    if faults > 0:
        exempt = [auth.token_path] if auth is not None else []
        app.add_middleware(
            FaultInjector, plan=FaultPlan(faults, fault_seed), stats=counters, delay=fault_delay, exempt=exempt
        )
    return app
